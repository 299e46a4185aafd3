"""LeNet with batch normalization on MNIST.

The network reads 28x28 grey images::

    conv 5x5, 20 filters -> batch norm -> ReLU -> max-pool 2x2
    conv 5x5, 50 filters -> batch norm -> ReLU -> max-pool 2x2
    flatten (50 x 4 x 4 = 800) -> dense 500 -> batch norm -> ReLU
    -> dense 10 -> batch norm -> softmax

The convolutional part is a :class:`~blocks.bricks.conv.ConvolutionalSequence`
with a :class:`~blocks.bricks.SpatialBatchNormalization` after each
convolution (one mean and stdev per channel, averaged over the batch and
the image); the dense part is a
:class:`~blocks.bricks.BatchNormalizedMLP`. Layers followed by batch
normalization have no biases: its shift plays their role. With
``--no-batch-normalize`` it is Blocks' plain LeNet instead, with biases.

Training and evaluation work as in ``examples.mnist_bn``: minibatch
statistics while training, population statistics (moving averages) for
the test error, which is measured after every epoch.

Run it with::

    python -m examples.mnist_lenet --num-epochs 5

Five epochs reach 0.75% test error (0.85% after the first); each epoch
takes about a minute on two busy CPU cores.
"""
import sys

from pytensor import tensor

from blocks.algorithms import GradientDescent, Adam
from blocks.bricks import (BatchNormalizedMLP, MLP, Rectifier, Softmax,
                           SpatialBatchNormalization)
from blocks.bricks.conv import (Convolutional, ConvolutionalSequence,
                                Flattener, MaxPooling)
from blocks.bricks.cost import CategoricalCrossEntropy, MisclassificationRate
from blocks.extensions import FinishAfter, ProgressBar, Timing
from blocks.extensions.monitoring import (DataStreamMonitoring,
                                          TrainingDataMonitoring)
from blocks.extensions.saveload import Checkpoint
from blocks.graph import (ComputationGraph, apply_batch_normalization,
                          get_population_moving_average_updates)
from blocks.initialization import IsotropicGaussian, Constant
from blocks.main_loop import MainLoop
from blocks.model import Model
from blocks.scripts.continue_training import interrupted_exit_status
from blocks.monitoring import aggregation

from examples import (PrintErrors, float32, mnist_parser, mnist_stream,
                      report)


def lenet(feature_maps=(20, 50), hidden=500, batch_normalized=True):
    """The convolutional and the dense part of LeNet, initialized."""
    # Sibling bricks need distinct names: parameters are saved by path.
    layers = []
    for i, num_filters in enumerate(feature_maps):
        layers.append(Convolutional((5, 5), num_filters,
                                    name='conv_{}'.format(i)))
        if batch_normalized:
            layers.append(SpatialBatchNormalization(name='bn_{}'.format(i)))
        layers.extend([Rectifier(name='relu_{}'.format(i)),
                       MaxPooling((2, 2), name='pool_{}'.format(i))])
    # Fixed seeds: the weights do not depend on what else the process built.
    init = dict(weights_init=IsotropicGaussian(0.05),
                biases_init=Constant(0), seed=1)
    convolutions = ConvolutionalSequence(
        layers, num_channels=1, image_size=(28, 28),
        use_bias=not batch_normalized, name='convolutions', **init)
    convolutions.initialize()

    # The dense part's input size is the convolutions' output size.
    channels, rows, columns = convolutions.get_dim('output')
    dims = [channels * rows * columns, hidden, 10]
    activations = [Rectifier(), Softmax()]
    if batch_normalized:
        dense = BatchNormalizedMLP(activations, dims, name='dense', **init)
    else:
        dense = MLP(activations, dims, name='dense', **init)
    dense.initialize()
    return convolutions, dense


def main(save_to='mnist_lenet.tar', num_epochs=5, batch_size=100,
         learning_rate=0.002, alpha=0.1, batch_normalized=True,
         feature_maps=(20, 50), hidden=500, test_batch_size=500,
         subset=None, test_subset=None, progress_bar=True):
    """Train LeNet and return the finished main loop.

    Parameters
    ----------
    save_to : str
        Where the checkpoint goes.
    num_epochs : int
        How many passes over the training set.
    batch_size : int
        Training minibatch size.
    learning_rate : float
        Adam's learning rate.
    alpha : float
        The weight of each minibatch in the moving averages of the
        population statistics.
    batch_normalized : bool
        Normalize after every convolution and dense layer.
    feature_maps : pair of int
        The number of filters of the two convolutions.
    hidden : int
        The width of the dense hidden layer.
    test_batch_size : int
        Minibatch size for evaluation.
    subset, test_subset : int, optional
        Use only the first examples of the training / test set.
    progress_bar : bool
        Show a progress bar of each epoch.

    """
    with float32():
        convolutions, dense = lenet(feature_maps, hidden, batch_normalized)
        x = tensor.tensor4('features')
        y = tensor.lmatrix('targets')
        probs = dense.apply(Flattener().apply(convolutions.apply(x)))
        cost = CategoricalCrossEntropy().apply(y.flatten(), probs)
        cost.name = 'cost'
        error_rate = MisclassificationRate().apply(y.flatten(), probs)
        error_rate.name = 'error_rate'

        graph = ComputationGraph([cost, error_rate])
        if batch_normalized:
            graph = apply_batch_normalization(graph)
        training_cost, training_error_rate = graph.outputs
        algorithm = GradientDescent(cost=training_cost,
                                    parameters=graph.parameters,
                                    step_rule=Adam(learning_rate))
        if batch_normalized:
            algorithm.add_updates(
                get_population_moving_average_updates(graph, alpha=alpha))

        extensions = [
            Timing(),
            FinishAfter(after_n_epochs=num_epochs),
            DataStreamMonitoring(
                [cost, error_rate],
                mnist_stream('test', test_batch_size, test_subset,
                             flatten=False),
                prefix='test'),
            TrainingDataMonitoring(
                [aggregation.mean(training_cost),
                 aggregation.mean(training_error_rate)],
                prefix='train', after_epoch=True),
            Checkpoint(save_to)]
        if progress_bar:
            extensions.append(ProgressBar())
        extensions.append(PrintErrors())
        main_loop = MainLoop(
            algorithm,
            mnist_stream('train', batch_size, subset, shuffled=True,
                         flatten=False),
            model=Model(cost), extensions=extensions)
        main_loop.run()
    return main_loop


def parse_args(argv=None):
    parser = mnist_parser(
        'Train LeNet with batch normalization on MNIST.',
        num_epochs=5, batch_size=100, save_to='mnist_lenet.tar',
        learning_rate=0.002, progress_bar_option=True)
    parser.add_argument('--no-batch-normalize', action='store_true',
                        help="Blocks' plain LeNet, without normalization")
    return parser.parse_args(argv)


def cli(argv=None):
    """Run the example from the command line."""
    args = parse_args(argv)
    main_loop = main(save_to=args.save_to, num_epochs=args.num_epochs,
                     batch_size=args.batch_size,
                     learning_rate=args.learning_rate,
                     batch_normalized=not args.no_batch_normalize,
                     subset=args.subset,
                     progress_bar=not args.no_progress_bar)
    report(main_loop)
    return interrupted_exit_status(main_loop)


if __name__ == '__main__':
    # As in examples.mnist_bn: run the imported module, so that checkpoints
    # refer to importable classes.
    from examples.mnist_lenet import cli
    sys.exit(cli())
