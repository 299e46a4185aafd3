"""Blocks' smallest example: an MLP learns the square root.

The network is MLP([Tanh, Identity], [1, 10, 1]) with weights drawn from
N(0, 0.01^2) and zero biases (seed 1). It regresses sqrt(x) for x in
0..99 with the squared error, by SGD with learning rate 0.001 on batches
of 20 (five batches per epoch); after every epoch it reports the cost on
x in 100..199 (numbers it never saw, so the test cost measures
extrapolation) and the average cost over the epoch's training batches.
It stops after a given number of batches and saves a checkpoint, whose
path goes to the log's ``saved_to`` record of the last row.

Run it with::

    python -m examples.sqrt --num-batches 1000 sqrt.tar

The training data are an :class:`~blocks.data.datasets.IterableDataset`
of plain numbers grouped by :class:`~blocks.data.Batch`, as in Blocks:
the stream ends each epoch when the numbers run out.
"""
import argparse
import sys

import numpy
import pytensor
from pytensor import tensor

from blocks.algorithms import GradientDescent, Scale
from blocks.bricks import MLP, Identity, Tanh
from blocks.bricks.cost import SquaredError
from blocks.data import Batch, ConstantScheme, DataStream, IterableDataset
from blocks.extensions import FinishAfter, Printing, Timing
from blocks.extensions.monitoring import (DataStreamMonitoring,
                                          TrainingDataMonitoring)
from blocks.extensions.saveload import Checkpoint
from blocks.graph import ComputationGraph
from blocks.initialization import Constant, IsotropicGaussian
from blocks.main_loop import MainLoop
from blocks.model import Model
from blocks.scripts.continue_training import interrupted_exit_status

from examples import float32


def roots_stream(numbers, batch_size=20):
    """Batches of ``numbers`` and their ``roots``, in order."""
    numbers = numpy.asarray(numbers, dtype=pytensor.config.floatX)
    dataset = IterableDataset({'numbers': numbers,
                               'roots': numpy.sqrt(numbers)})
    return Batch(DataStream(dataset), ConstantScheme(batch_size))


def main(save_to='sqrt.tar', num_batches=1000, printing=True):
    """Train the MLP for `num_batches` batches; return the main loop.

    Parameters
    ----------
    save_to : str
        Where the checkpoint goes.
    num_batches : int
        How many training batches (five make an epoch).
    printing : bool
        Print the log after every epoch.

    """
    with float32():
        mlp = MLP([Tanh(), Identity()], [1, 10, 1],
                  weights_init=IsotropicGaussian(0.01),
                  biases_init=Constant(0), seed=1)
        mlp.initialize()
        x = tensor.vector('numbers')
        y = tensor.vector('roots')
        cost = SquaredError().apply(y[:, None], mlp.apply(x[:, None]))
        cost.name = 'cost'

        extensions = [
            Timing(),
            FinishAfter(after_n_batches=num_batches),
            DataStreamMonitoring([cost], roots_stream(range(100, 200)),
                                 prefix='test'),
            TrainingDataMonitoring([cost], prefix='train', after_epoch=True),
            Checkpoint(save_to)]
        if printing:
            extensions.append(Printing())
        main_loop = MainLoop(
            GradientDescent(cost=cost,
                            parameters=ComputationGraph(cost).parameters,
                            step_rule=Scale(learning_rate=0.001)),
            roots_stream(range(100)), model=Model(cost),
            extensions=extensions)
        main_loop.run()
    return main_loop


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train an MLP to compute square roots (the Blocks sqrt '
                    'example).')
    parser.add_argument('--num-batches', type=int, default=1000,
                        help='number of training batches (default 1000)')
    parser.add_argument('save_to', nargs='?', default='sqrt.tar',
                        help='checkpoint file (default sqrt.tar)')
    return parser.parse_args(argv)


def cli(argv=None):
    args = parse_args(argv)
    main_loop = main(save_to=args.save_to, num_batches=args.num_batches)
    if main_loop.interrupted_by is not None:
        print('Interrupted after {} batches; blocks-continue {} resumes '
              'the run'.format(main_loop.status['iterations_done'],
                               args.save_to))
        return interrupted_exit_status(main_loop)
    row = main_loop.log.last_epoch_row
    print('After {} batches: train cost {:.4f}, test cost {:.4f}'.format(
        main_loop.status['iterations_done'], float(row['train_cost']),
        float(row['test_cost'])))
    return interrupted_exit_status(main_loop)


if __name__ == '__main__':
    sys.exit(cli())
