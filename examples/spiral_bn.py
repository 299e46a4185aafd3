"""Blocks' batch normalization example: a deep logistic MLP on a spiral.

Three arms of a noisy spiral (10,000 points, 8,000 for training and 2,000
for testing) are classified by an MLP with three hidden layers of 5
logistic units: [2, 5, 5, 5, 3]. Such a network trains slowly without
batch normalization; with it, two epochs are enough to do clearly better
than chance (2/3 misclassification).

This example spells out the population statistics updates with
:func:`~blocks.graph.get_batch_normalization_updates`, which pairs each
population statistic with its minibatch estimate; ``examples.mnist_bn``
uses the one-call :func:`~blocks.graph.get_population_moving_average_updates`
instead.

Run it with::

    python -m examples.spiral_bn --num-epochs 2
    python -m examples.spiral_bn --num-epochs 2 --no-batch-normalize

"""
import argparse
import sys

from pytensor import tensor

from blocks.algorithms import GradientDescent, Adam
from blocks.bricks import MLP, BatchNormalizedMLP, Logistic, Softmax
from blocks.bricks.cost import CategoricalCrossEntropy, MisclassificationRate
from blocks.data import Spiral, DataStream, ShuffledScheme, SequentialScheme
from blocks.extensions import FinishAfter, Printing
from blocks.extensions.monitoring import DataStreamMonitoring
from blocks.graph import (ComputationGraph, apply_batch_normalization,
                          get_batch_normalization_updates)
from blocks.initialization import IsotropicGaussian, Constant
from blocks.main_loop import MainLoop
from blocks.scripts.continue_training import interrupted_exit_status

from examples import float32


def main(num_epochs=50, batch_normalized=True, alpha=0.1, printing=True):
    """Train on the spiral and return the finished main loop.

    Parameters
    ----------
    num_epochs : int
        How many passes over the 8,000 training points.
    batch_normalized : bool
        Use BatchNormalizedMLP (True) or a plain MLP (False).
    alpha : float
        The weight of each minibatch in the moving averages of the
        population statistics.
    printing : bool
        Print the log after every epoch.

    """
    with float32():
        activations = [Logistic(), Logistic(), Logistic(), Softmax()]
        dims = [2, 5, 5, 5, 3]
        # A fixed seed: the weights do not depend on what else the
        # process built before.
        init = dict(weights_init=IsotropicGaussian(0.2),
                    biases_init=Constant(0), seed=1)
        if batch_normalized:
            # conserve_memory=False: the plain expression, a little faster
            # than the fused memory-saving operation on such small layers.
            mlp = BatchNormalizedMLP(activations, dims,
                                     conserve_memory=False, **init)
        else:
            mlp = MLP(activations, dims, **init)
        mlp.initialize()

        dataset = Spiral(num_examples=10000, classes=3, noise=0.05,
                         sources=('features', 'label'))
        train_stream = DataStream(
            dataset, iteration_scheme=ShuffledScheme(8000, batch_size=20))
        # Inference mode does not depend on how examples are batched, so
        # the model is evaluated in large batches.
        train_monitoring_stream = DataStream(
            dataset, iteration_scheme=SequentialScheme(8000, batch_size=2000))
        test_stream = DataStream(
            dataset, iteration_scheme=SequentialScheme(
                list(range(8000, 10000)), batch_size=2000))

        # The graph built from the bricks is in inference mode: batch
        # normalization uses the population statistics.
        features = tensor.matrix('features')
        label = tensor.lvector('label')
        prediction = mlp.apply(features)
        cost = CategoricalCrossEntropy().apply(label, prediction)
        cost.name = 'cost'
        misclass = MisclassificationRate().apply(label, prediction)
        misclass.name = 'misclass'
        inference_graph = ComputationGraph([cost, misclass])

        if batch_normalized:
            # Train with minibatch statistics, and let the population
            # statistics follow them as moving averages.
            training_graph = apply_batch_normalization(inference_graph)
            population_updates = [
                (population, (1 - alpha) * population + alpha * minibatch)
                for population, minibatch
                in get_batch_normalization_updates(training_graph)]
        else:
            training_graph = inference_graph
            population_updates = []

        algorithm = GradientDescent(cost=training_graph.outputs[0],
                                    parameters=training_graph.parameters,
                                    step_rule=Adam(0.001))
        algorithm.add_updates(population_updates)

        # Monitor the inference graph, as the trained model will be used.
        extensions = [
            DataStreamMonitoring([cost, misclass], train_monitoring_stream,
                                 prefix='train'),
            DataStreamMonitoring([cost, misclass], test_stream,
                                 prefix='test'),
            FinishAfter(after_n_epochs=num_epochs)]
        if printing:
            extensions.append(Printing())
        main_loop = MainLoop(algorithm, train_stream, extensions=extensions)
        main_loop.run()
    return main_loop


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Classify the arms of a spiral with a deep logistic MLP, '
                    'with or without batch normalization.')
    parser.add_argument('-n', '--num-epochs', type=int, default=50,
                        help='number of training epochs (default 50)')
    parser.add_argument('-N', '--no-batch-normalize', action='store_true',
                        help='use a plain MLP')
    parser.add_argument('-A', '--alpha', type=float, default=0.1,
                        help='moving-average weight of each minibatch in '
                             'the population statistics (default 0.1)')
    return parser.parse_args(argv)


if __name__ == '__main__':
    args = parse_args()
    main_loop = main(num_epochs=args.num_epochs,
                     batch_normalized=not args.no_batch_normalize,
                     alpha=args.alpha)
    sys.exit(interrupted_exit_status(main_loop))
