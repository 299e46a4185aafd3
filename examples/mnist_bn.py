"""A batch-normalized MLP on MNIST: train with minibatch statistics,
evaluate with population statistics.

Every hidden layer of ``BatchNormalizedMLP`` is Linear -> batch
normalization -> activation. Bricks compute in *inference mode* by default
(normalizing with their population statistics), so the graph built from
the bricks is the one to evaluate with. Training needs *training mode*
(normalizing with the statistics of the minibatch);
:func:`~blocks.graph.apply_batch_normalization` rewrites a copy of the
graph into it. While training, the population statistics follow the
minibatch statistics as a moving average,
``population <- (1 - alpha) * population + alpha * minibatch``, updated in
the same compiled function as the gradient step.

The test error is measured after every epoch in inference mode; the
training error is averaged over the epoch's minibatches in training mode.
At the end the example saves a checkpoint (with the population statistics)
and a learning-curve PNG.

Run it with::

    python -m examples.mnist_bn --num-epochs 5

Five epochs of the default network ([784, 500, 500, 10], ReLU, Adam,
batches of 100) reach 1.7% test error, in well under a minute once
PyTensor has compiled the functions; ``make demo`` runs this.
"""
import sys

from pytensor import tensor

from blocks.algorithms import GradientDescent, Adam
from blocks.bricks import BatchNormalizedMLP, Rectifier, Softmax
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


def plot_learning_curve(log, path):
    """Save the per-epoch error rates recorded in `log` as a PNG."""
    import matplotlib
    matplotlib.use('Agg')  # no display needed
    from matplotlib import pyplot

    records = [record for record in log.to_records()
               if 'test_error_rate' in record]
    figure, axes = pyplot.subplots(figsize=(6, 4))
    axes.plot(range(len(records)),
              [100 * record['test_error_rate'] for record in records],
              'o-', label='test (inference mode)')
    trained = [(epoch, record['train_error_rate'])
               for epoch, record in enumerate(records)
               if 'train_error_rate' in record]
    axes.plot([epoch for epoch, _ in trained],
              [100 * error for _, error in trained],
              's-', label='training batches (training mode)')
    axes.set_xlabel('epoch')
    axes.set_ylabel('error rate (%)')
    axes.set_yscale('log')
    axes.set_title('Batch-normalized MLP on MNIST')
    axes.grid(True, which='both', alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)


def main(save_to='mnist_bn.tar', plot_to='mnist_bn.png', num_epochs=5,
         hidden_dims=(500, 500), batch_size=100, learning_rate=0.002,
         alpha=0.1, test_batch_size=1000, subset=None, test_subset=None,
         progress_bar=True):
    """Train the batch-normalized MLP and return the finished main loop.

    Parameters
    ----------
    save_to : str
        Where the checkpoint goes.
    plot_to : str or None
        Where the learning-curve PNG goes; None for no plot.
    num_epochs : int
        How many passes over the training set.
    hidden_dims : sequence of int
        The widths of the hidden layers.
    batch_size : int
        Training minibatch size.
    learning_rate : float
        Adam's learning rate.
    alpha : float
        The weight of each minibatch in the moving averages of the
        population statistics.
    test_batch_size : int
        Minibatch size for evaluation (any size: inference mode does not
        depend on the batch).
    subset, test_subset : int, optional
        Use only the first examples of the training / test set.
    progress_bar : bool
        Show a progress bar of each epoch.

    """
    with float32():
        dims = [784] + list(hidden_dims) + [10]
        activations = [Rectifier() for _ in hidden_dims] + [Softmax()]
        mlp = BatchNormalizedMLP(activations, dims,
                                 weights_init=IsotropicGaussian(0.01),
                                 biases_init=Constant(0), seed=1)
        mlp.initialize()

        # The inference graph: batch normalization uses the population
        # statistics. We evaluate (and save) the model with it.
        x = tensor.matrix('features')
        y = tensor.lmatrix('targets')
        probs = mlp.apply(x)
        cost = CategoricalCrossEntropy().apply(y.flatten(), probs)
        cost.name = 'cost'
        error_rate = MisclassificationRate().apply(y.flatten(), probs)
        error_rate.name = 'error_rate'

        # The training graph: the same network, normalizing each minibatch
        # with its own statistics.
        training_graph = apply_batch_normalization(
            ComputationGraph([cost, error_rate]))
        training_cost, training_error_rate = training_graph.outputs

        algorithm = GradientDescent(
            cost=training_cost, parameters=training_graph.parameters,
            step_rule=Adam(learning_rate))
        # Population statistics are not parameters: they are updated with
        # moving averages, in the same function as the gradient step.
        algorithm.add_updates(
            get_population_moving_average_updates(training_graph,
                                                  alpha=alpha))

        extensions = [
            Timing(),
            FinishAfter(after_n_epochs=num_epochs),
            DataStreamMonitoring(
                [cost, error_rate],
                mnist_stream('test', test_batch_size, test_subset),
                prefix='test'),
            TrainingDataMonitoring(
                [aggregation.mean(training_cost),
                 aggregation.mean(training_error_rate)],
                prefix='train', after_epoch=True),
            Checkpoint(save_to)]
        if progress_bar:
            extensions.append(ProgressBar())
        extensions.append(PrintErrors())  # after the bar has finished
        main_loop = MainLoop(
            algorithm,
            mnist_stream('train', batch_size, subset, shuffled=True),
            model=Model(cost), extensions=extensions)
        main_loop.run()

    if plot_to:
        plot_learning_curve(main_loop.log, plot_to)
    return main_loop


def parse_args(argv=None):
    parser = mnist_parser(
        'Train a batch-normalized MLP on MNIST; report the test error in '
        'inference mode (population statistics).',
        num_epochs=5, batch_size=100, save_to='mnist_bn.tar',
        learning_rate=0.002, progress_bar_option=True)
    parser.add_argument('--hidden-dims', type=int, nargs='+',
                        default=[500, 500],
                        help='hidden layer widths (default 500 500)')
    parser.add_argument('--alpha', type=float, default=0.1,
                        help='moving-average weight of each minibatch in '
                             'the population statistics (default 0.1)')
    parser.add_argument('--plot-to', default='mnist_bn.png',
                        help='learning-curve PNG (default mnist_bn.png)')
    return parser.parse_args(argv)


def cli(argv=None):
    """Run the example from the command line and report where things are."""
    args = parse_args(argv)
    main_loop = main(save_to=args.save_to, plot_to=args.plot_to,
                     num_epochs=args.num_epochs,
                     hidden_dims=args.hidden_dims,
                     batch_size=args.batch_size,
                     learning_rate=args.learning_rate, alpha=args.alpha,
                     subset=args.subset,
                     progress_bar=not args.no_progress_bar)
    report(main_loop, ', in inference mode',
           files=[('Checkpoint', args.save_to),
                  ('Learning curve', args.plot_to)])
    return interrupted_exit_status(main_loop)


if __name__ == '__main__':
    # Run the imported module rather than this __main__ copy, so that the
    # checkpoint never refers to a class of __main__ and can be loaded
    # from any script (blocks-continue, for one).
    from examples.mnist_bn import cli
    sys.exit(cli())
