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
``reverse_words``
    Blocks' attention encoder-decoder that learns to reverse the letters
    of every word, on a corpus it generates; beam search decoding.
``sqrt``
    Blocks' smallest example: an MLP regresses the square root.
``parity_problem``
    Blocks' LSTM example: one cell learns the parity of 0/1 sequences.
``markov_chain``
    Blocks' sequence generator learns a three-state Markov chain and
    samples from it.
``mnist_rnn``
    Row-by-row MNIST with an LSTM or a batch-normalized LSTM (Cooijmans
    et al.), both learning curves in one plot.
``machine_translation``
    Blocks-examples' attention encoder-decoder on a synthetic language
    pair, decoded by beam search and scored with BLEU (sacrebleu, the
    ``examples`` extra).

Each module has a ``main()`` taking keyword arguments (the command-line
options, plus ``subset`` to train on a few examples) and returning the
finished :class:`~blocks.main_loop.MainLoop`. The MNIST examples read the
data from ``$BLOCKS_DATA_PATH/mnist`` (``~/.local/share/blocks/mnist``
by default, where ``make data`` puts it).

The MNIST examples share their command line (:func:`mnist_parser`), their
per-epoch line (:class:`PrintErrors`) and their final report
(:func:`report`); what they build and train, each shows in full.

The examples compute in float32 (``pytensor.config.floatX``), which is
about twice as fast as float64 on a CPU and loses no accuracy here; they
set it only while they run, with :func:`float32`. Their layers are small:
on a busy machine, one BLAS thread (``OPENBLAS_NUM_THREADS=1``, as ``make
demo`` sets) is several times faster per step than two.
"""
import argparse
import os
from contextlib import contextmanager

import pytensor

from blocks.data import (MNIST, DataStream, Flatten, SequentialScheme,
                         ShuffledScheme)
from blocks.extensions import SimpleExtension

__all__ = ['float32', 'mnist_stream', 'mnist_parser', 'PrintErrors',
           'report']


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


def mnist_parser(description, num_epochs, batch_size, save_to,
                 learning_rate=None, progress_bar_option=False):
    """The command line every MNIST example takes, to add its own options
    to.

    Parameters
    ----------
    description : str
        What the example does, for ``--help``.
    num_epochs, batch_size : int
        The defaults of ``--num-epochs`` and ``--batch-size``.
    save_to : str
        The default checkpoint file (the optional positional argument).
    learning_rate : float, optional
        Add ``--learning-rate`` (of Adam) with this default.
    progress_bar_option : bool, optional
        Add ``--no-progress-bar``.

    Examples
    --------
    >>> parser = mnist_parser('Train.', 2, 50, 'model.tar')
    >>> args = parser.parse_args(['--subset', '100'])
    >>> args.num_epochs, args.subset, args.save_to
    (2, 100, 'model.tar')

    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('--num-epochs', type=int, default=num_epochs,
                        help='number of training epochs (default {})'.format(
                            num_epochs))
    parser.add_argument('--batch-size', type=int, default=batch_size,
                        help='training minibatch size (default {})'.format(
                            batch_size))
    if learning_rate is not None:
        parser.add_argument('--learning-rate', type=float,
                            default=learning_rate,
                            help="Adam's learning rate (default {})".format(
                                learning_rate))
    parser.add_argument('--subset', type=int, default=None,
                        help='train on the first SUBSET examples only')
    if progress_bar_option:
        parser.add_argument('--no-progress-bar', action='store_true',
                            help='do not draw a progress bar')
    parser.add_argument('save_to', nargs='?', default=save_to,
                        help='checkpoint file (default {})'.format(save_to))
    return parser


class PrintErrors(SimpleExtension):
    """Print one line per epoch with the training error (of the epoch's
    batches, in training mode) and the test error (inference mode)."""
    def __init__(self, **kwargs):
        kwargs.setdefault('after_epoch', True)
        super().__init__(**kwargs)

    def do(self, which_callback, *args):
        log = self.main_loop.log
        row = log.current_row
        print('Epoch {}: train error {:.2%} (training mode), test error '
              '{:.2%} (inference mode), {:.1f} s'.format(
                  log.status['epochs_done'], float(row['train_error_rate']),
                  float(row['test_error_rate']),
                  row.get('time_train_this_epoch', float('nan'))),
              flush=True)


def report(main_loop, how='', files=()):
    """Print the test error of the last epoch, then where each file went.

    Parameters
    ----------
    main_loop : :class:`~blocks.main_loop.MainLoop`
        A finished main loop whose log has ``test_error_rate``, or one a
        signal interrupted.
    how : str, optional
        Said after the number of epochs (``', in inference mode'``).
    files : list of (str, str or None)
        What each file is and its path; None paths are skipped.

    """
    if getattr(main_loop, 'interrupted_by', None) is not None:
        print('Interrupted by signal {} after {} batches; '
              'blocks-continue CHECKPOINT resumes the run'.format(
                  main_loop.interrupted_by,
                  main_loop.status['iterations_done']))
    else:
        print('Test error after {} epochs{}: {:.2%}'.format(
            main_loop.status['epochs_done'], how,
            float(main_loop.log.last_epoch_row['test_error_rate'])))
    for what, path in files:
        if path:
            print('{}: {}'.format(what, os.path.abspath(path)))
