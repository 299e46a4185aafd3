"""Runnable examples, each a documented script: ``python -m examples.<name>``.

``mnist``
    Blocks' MNIST example: a tanh MLP trained with plain SGD.
``mnist_bn``
    A batch-normalized MLP on MNIST, trained with minibatch statistics and
    evaluated with population statistics (what ``make demo`` runs).
``mnist_lenet``
    LeNet with spatial batch normalization on MNIST.
``spiral_bn``
    Blocks' batch normalization example on a three-armed spiral.

Each module has a ``main()`` taking keyword arguments (the command-line
options, plus ``subset`` to train on a few examples) and returning the
finished :class:`~blocks.main_loop.MainLoop`. The MNIST examples read the
data from ``$BLOCKS_DATA_PATH/mnist``; ``make data`` puts it in ``./data``.

The examples compute in float32 (``pytensor.config.floatX``), which is
about twice as fast as float64 on a CPU and loses no accuracy here; they
set it only while they run, with :func:`float32`. Their layers are small:
on a busy machine, one BLAS thread (``OPENBLAS_NUM_THREADS=1``, as ``make
demo`` sets) is several times faster per step than two.
"""
from contextlib import contextmanager

import pytensor

from blocks.data import (MNIST, DataStream, Flatten, SequentialScheme,
                         ShuffledScheme)

__all__ = ['float32', 'mnist_stream']


@contextmanager
def float32():
    """Build and run graphs in float32 inside this block (PyTensor's
    default is float64), restoring the previous setting afterwards."""
    with pytensor.config.change_flags(floatX='float32'):
        yield


def mnist_stream(which_set, batch_size, subset=None, shuffled=False,
                 flatten=True):
    """Batches of MNIST images (floats in [0, 1]) and labels.

    Parameters
    ----------
    which_set : {'train', 'test'}
    batch_size : int
    subset : int, optional
        Keep only the first `subset` examples.
    shuffled : bool, optional
        Shuffle the examples every epoch (seeded); in order otherwise.
    flatten : bool, optional
        Give each image as 784 features (True) or as (1, 28, 28).

    """
    dataset = MNIST((which_set,),
                    subset=None if subset is None else slice(0, subset))
    scheme = (ShuffledScheme if shuffled else SequentialScheme)(
        dataset.num_examples, batch_size)
    stream = DataStream.default_stream(dataset, iteration_scheme=scheme)
    if flatten:
        stream = Flatten(stream, which_sources=('features',))
    return stream
