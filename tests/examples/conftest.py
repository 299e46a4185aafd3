"""Fixtures of the example tests: a tiny MNIST. The examples are not
installed; they import from the repository root, which pytest puts on the
import path because ``tests`` is a package."""
import numpy
import pytest

from blocks.data.idx import write_idx

TINY_SIZES = {'train': 120, 'test': 40}
FILES = {'train': ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte'),
         'test': ('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte')}


def tiny_set(count, rng):
    """Learnable stand-ins for digits: each label lights up its own band of
    rows, plus noise."""
    labels = rng.randint(0, 10, size=count).astype('uint8')
    images = rng.randint(0, 64, size=(count, 28, 28))
    for image, label in zip(images, labels):
        image[2 * label:2 * label + 4] += 190
    return images.astype('uint8'), labels


@pytest.fixture
def tiny_mnist(tmp_path, monkeypatch):
    """A 120/40-example MNIST in a temporary BLOCKS_DATA_PATH; the test
    runs in a temporary directory (checkpoints and plots land there)."""
    rng = numpy.random.RandomState(0)
    directory = tmp_path / 'data' / 'mnist'
    directory.mkdir(parents=True)
    for which_set, (images_name, labels_name) in FILES.items():
        images, labels = tiny_set(TINY_SIZES[which_set], rng)
        write_idx(str(directory / images_name), images)
        write_idx(str(directory / labels_name), labels)
    monkeypatch.setenv('BLOCKS_DATA_PATH', str(tmp_path / 'data'))
    monkeypatch.chdir(tmp_path)
    return tmp_path
