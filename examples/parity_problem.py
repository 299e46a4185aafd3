"""The parity problem: an LSTM learns whether a sequence of 0s and 1s has
an odd number of 1s.

The task (Schmidhuber's LSTM tutorial) needs a memory of one bit, kept
over the whole sequence: a feedforward network would need an input per
position, an LSTM with a single cell handles any length. The model is
Blocks': Linear(1 -> 4 * lstm_dim, ``x_to_h``) -> LSTM(lstm_dim) -> the
last state -> Linear(lstm_dim -> 1, ``h_to_o``) -> Logistic, trained with
the binary cross-entropy by Adam (learning rate 0.002). Every weight is
drawn from N(0, 1), the biases are zero.

Each training epoch is a fixed set of `num_batches` batches; each batch
has its own length, drawn uniformly from 1 to `max_seq_length` (seeing
several lengths is what makes the network learn to count rather than to
recognise one length), with inputs of shape (time, batch, 1) and parity
targets of shape (batch, 1). The test set is 100 more batches drawn the
same way. After every epoch the example reports the test cost and the
average training cost of the epoch; at the end it prints the learned
weights.

Run it with::

    python -m examples.parity_problem --max-seq-length 100 --lstm-dim 1 \\
        --batch-size 10 --num-batches 1000 --num-epochs 30

With these settings (Blocks' defaults) the network usually converges
within 20-30 epochs, and the test cost stays close to the training cost:
so few parameters cannot overfit.
"""
import argparse
import sys

import numpy
import pytensor
from pytensor import tensor

from blocks.algorithms import Adam, GradientDescent
from blocks.bricks import Linear, Logistic
from blocks.bricks.cost import BinaryCrossEntropy
from blocks.bricks.recurrent import LSTM
from blocks.data import DataStream, IterableDataset
from blocks.extensions import FinishAfter, Printing, ProgressBar
from blocks.extensions.monitoring import (DataStreamMonitoring,
                                          TrainingDataMonitoring)
from blocks.graph import ComputationGraph
from blocks.initialization import Constant, IsotropicGaussian
from blocks.main_loop import MainLoop
from blocks.model import Model
from blocks.scripts.continue_training import interrupted_exit_status

from examples import float32

TEST_BATCHES = 100


def parity_batches(max_seq_length, batch_size, num_batches, rng):
    """`num_batches` batches of random 0/1 sequences and their parities.

    Returns
    -------
    dict
        ``'x'``: arrays of shape (length, `batch_size`, 1), one length per
        batch, from 1 to `max_seq_length`; ``'y'``: arrays of shape
        (`batch_size`, 1), 1 where the sequence has an odd number of 1s.

    """
    floatx = pytensor.config.floatX
    inputs, targets = [], []
    for _ in range(num_batches):
        length = rng.randint(1, max_seq_length + 1)
        bits = rng.randint(0, 2, size=(length, batch_size, 1))
        inputs.append(bits.astype(floatx))
        targets.append((bits.sum(axis=0) % 2).astype(floatx))
    return {'x': inputs, 'y': targets}


def build_model(lstm_dim):
    """The three bricks, initialized, and the cost of a batch."""
    init = dict(weights_init=IsotropicGaussian(), biases_init=Constant(0))
    x_to_h = Linear(1, 4 * lstm_dim, name='x_to_h', **init)
    lstm = LSTM(lstm_dim, name='lstm', **init)
    h_to_o = Linear(lstm_dim, 1, name='h_to_o', **init)
    for brick in (x_to_h, lstm, h_to_o):
        brick.initialize()
    x = tensor.tensor3('x')
    y = tensor.matrix('y')
    states, _ = lstm.apply(x_to_h.apply(x))
    # Only the last state is classified: it has read the whole sequence.
    probability = Logistic().apply(h_to_o.apply(states[-1]))
    cost = BinaryCrossEntropy().apply(y, probability)
    cost.name = 'cost'
    return (x_to_h, lstm, h_to_o), cost


def main(max_seq_length=100, lstm_dim=1, batch_size=10, num_batches=1000,
         num_epochs=30, seed=1, verbose=True):
    """Train the LSTM on the parity problem; return the main loop.

    Parameters
    ----------
    max_seq_length : int
        The longest sequence; each batch has a length from 1 to this.
    lstm_dim : int
        The number of LSTM cells.
    batch_size : int
        Sequences per batch.
    num_batches : int
        Training batches per epoch (the same batches every epoch).
    num_epochs : int
        Training epochs.
    seed : int
        Seed of the data and of the weights.
    verbose : bool
        Print the log every epoch, show a progress bar and print the
        learned weights at the end.

    """
    with float32():
        rng = numpy.random.RandomState(seed)
        train = IterableDataset(parity_batches(max_seq_length, batch_size,
                                               num_batches, rng))
        test = IterableDataset(parity_batches(max_seq_length, batch_size,
                                              TEST_BATCHES, rng))
        bricks, cost = build_model(lstm_dim)
        algorithm = GradientDescent(
            cost=cost, parameters=ComputationGraph(cost).parameters,
            step_rule=Adam())
        extensions = [
            DataStreamMonitoring([cost], DataStream(test), prefix='test'),
            TrainingDataMonitoring([cost], prefix='train', after_epoch=True),
            FinishAfter(after_n_epochs=num_epochs)]
        if verbose:
            extensions += [Printing(), ProgressBar()]
        main_loop = MainLoop(algorithm, DataStream(train), model=Model(cost),
                             extensions=extensions)
        main_loop.run()
    if verbose:
        print_weights(bricks)
    return main_loop


def print_weights(bricks):
    print('Learned weights:')
    for brick in bricks:
        print("Layer '{}':".format(brick.name))
        for parameter in brick.parameters:
            print('  {}: {}'.format(parameter.name, parameter.get_value()))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train an LSTM to tell whether a 0/1 sequence has an odd '
                    'number of 1s (the Blocks parity example).')
    parser.add_argument('--max-seq-length', type=int, default=100,
                        help='longest sequence (default 100)')
    parser.add_argument('--lstm-dim', type=int, default=1,
                        help='number of LSTM cells (default 1)')
    parser.add_argument('--batch-size', type=int, default=10,
                        help='sequences per batch (default 10)')
    parser.add_argument('--num-batches', type=int, default=1000,
                        help='training batches per epoch (default 1000)')
    parser.add_argument('--num-epochs', type=int, default=30,
                        help='number of epochs (default 30)')
    parser.add_argument('--seed', type=int, default=1,
                        help='seed of the data and weights (default 1)')
    return parser.parse_args(argv)


def cli(argv=None):
    """Train as the command line says and print the cost per epoch;
    returns the exit status: 0, or 130 / 143 when SIGINT / SIGTERM
    stopped the training (as shells report such a program)."""
    args = parse_args(argv)
    main_loop = main(args.max_seq_length, args.lstm_dim, args.batch_size,
                     args.num_batches, args.num_epochs, seed=args.seed)
    print('Cost per epoch (train, test):')
    for epoch, row in enumerate(epoch_rows(main_loop.log), 1):
        print('  {:3d}: {:.4f} {:.4f}'.format(
            epoch, float(row['train_cost']), float(row['test_cost'])))
    return interrupted_exit_status(main_loop)


def epoch_rows(log):
    """The log rows written at the end of each epoch."""
    return [row for row in log.to_records() if 'train_cost' in row]


if __name__ == '__main__':
    sys.exit(cli())
