"""Row-by-row MNIST: an LSTM, or a batch-normalized LSTM, reads each image
one row of 28 pixels at a time and classifies it from its last state.

The 28 rows are the 28 time steps: the images come from the stream as
(batch, 1, 28, 28) and the graph turns them into the time-major sequences
(28, batch, 28) the recurrent bricks take. Two models (``--model``):

``lstm``
    Linear(28 -> 4 * dim) -> :class:`~blocks.bricks.recurrent.LSTM`
    (dim) -> its last state -> Linear(dim -> 10) -> softmax;
``bnlstm``
    the same with the batch-normalized LSTM of Cooijmans et al. (2016),
    which normalizes the input and recurrent terms of the gates
    separately, and the cell before its output nonlinearity, with
    statistics per time step for the recurrent term and the cell, and by
    default input-term statistics shared over the rows and noise on the
    initial states in training (see :func:`main` for why).

Both train on minibatches with the cross-entropy (the BN-LSTM in training
mode, normalizing each minibatch with its own statistics, its population
statistics following them as moving averages), and are evaluated after
every epoch on the test set in inference mode (the BN-LSTM with its
population statistics). The forget gates' biases start at 1 (Gers et al.;
so does the paper), other biases at 0, weights from N(0, 1 / fan-in).

Each run adds its learning curve (test error after every epoch, training
error of every epoch, seconds of training per epoch and in all) to a JSON
file, under the model's name, and draws every curve of that file in one
PNG: run the two models one after the other with the same ``--curves``
file to compare them::

    python -m examples.mnist_rnn --model lstm --num-epochs 5
    python -m examples.mnist_rnn --model bnlstm --num-epochs 5

The measured curves, settings and wall times are in
``benchmarks/results.md``.
"""
import json
import os
import sys

from pytensor import tensor

from blocks.algorithms import (Adam, CompositeRule, GradientDescent,
                               StepClipping)
from blocks.bricks import Linear, Softmax
from blocks.bricks.cost import CategoricalCrossEntropy, MisclassificationRate
from blocks.bricks.recurrent import LSTM
from blocks.bricks.recurrent.bn import BatchNormalizedLSTM
from blocks.extensions import (FinishAfter, ProgressBar, SimpleExtension,
                               Timing)
from blocks.extensions.monitoring import (DataStreamMonitoring,
                                          TrainingDataMonitoring)
from blocks.extensions.saveload import Checkpoint
from blocks.graph import (ComputationGraph, apply_batch_normalization,
                          get_population_moving_average_updates)
from blocks.initialization import Constant, IsotropicGaussian
from blocks.main_loop import MainLoop
from blocks.model import Model
from blocks.monitoring import aggregation
from blocks.scripts.continue_training import interrupted_exit_status

from examples import (PrintErrors, float32, mnist_parser, mnist_stream,
                      report)

ROWS = PIXELS = 28
CLASSES = 10
MODELS = ('lstm', 'bnlstm')
INPUT_STATISTICS = ('shared', 'per-step')


def recurrent_brick(model, dim, input_statistics='shared',
                    initial_state_noise=0.1):
    """The LSTM of `model` (its inputs have 4 * dim features); the last two
    arguments are the BN-LSTM's (see :func:`main`)."""
    weights = IsotropicGaussian(dim ** -0.5)
    if model == 'lstm':
        return LSTM(dim, name='lstm', weights_init=weights)
    if input_statistics not in INPUT_STATISTICS:
        raise ValueError('input_statistics must be one of {}, got {!r}'
                         .format(INPUT_STATISTICS, input_statistics))
    if model == 'bnlstm':
        # Recurrent statistics of its own for every row: an image has 28.
        return BatchNormalizedLSTM(
            dim, T_max=ROWS, name='bnlstm', weights_init=weights,
            share_input_statistics=input_statistics == 'shared',
            initial_state_noise=initial_state_noise)
    raise ValueError('model must be one of {}, got {!r}'.format(MODELS,
                                                                model))


def gate_biases(model, x_to_h, rnn):
    """The shared variable holding the gates' biases: the projection's
    for the LSTM, the shift of the recurrent term's normalization for the
    BN-LSTM (which normalizes the projection, so a bias there would be
    cancelled)."""
    if model == 'bnlstm':
        return rnn.state_normalization.shift
    return x_to_h.b


def build_model(model, dim, **bn_options):
    """The initialized bricks and the (inference-mode) cost and error rate
    of a batch of images (`bn_options` go to :func:`recurrent_brick`)."""
    x_to_h = Linear(PIXELS, 4 * dim, name='x_to_h',
                    weights_init=IsotropicGaussian(PIXELS ** -0.5),
                    biases_init=Constant(0), use_bias=model == 'lstm')
    rnn = recurrent_brick(model, dim, **bn_options)
    h_to_o = Linear(dim, CLASSES, name='h_to_o',
                    weights_init=IsotropicGaussian(dim ** -0.5),
                    biases_init=Constant(0))
    for brick in (x_to_h, rnn, h_to_o):
        brick.initialize()
    # The gates' blocks are input, forget, cell, output (Blocks' order).
    biases = gate_biases(model, x_to_h, rnn)
    value = biases.get_value()
    value[dim:2 * dim] = 1
    biases.set_value(value)

    images = tensor.tensor4('features')
    labels = tensor.lmatrix('targets').flatten()
    states = rnn.apply(x_to_h.apply(time_major_rows(images)))[0]
    probs = Softmax().apply(h_to_o.apply(states[-1]))
    cost = CategoricalCrossEntropy().apply(labels, probs)
    cost.name = 'cost'
    error_rate = MisclassificationRate().apply(labels, probs)
    error_rate.name = 'error_rate'
    return (x_to_h, rnn, h_to_o), cost, error_rate


def time_major_rows(images):
    """(batch, 1, 28, 28) images as (28 rows = time, batch, 28 pixels)."""
    return images[:, 0].dimshuffle(1, 0, 2)


class RecordCurve(SimpleExtension):
    """After every epoch, add the errors and times to the curve of `model`
    in the JSON file `path` (nothing written if `path` is None)."""
    def __init__(self, model, path, settings, **kwargs):
        kwargs.setdefault('after_epoch', True)
        super().__init__(**kwargs)
        self.model = model
        self.path = path
        self.settings = settings
        self.curve = {'epoch': [], 'test_error': [], 'train_error': [],
                      'epoch_seconds': [], 'total_seconds': []}

    def do(self, which_callback, *args):
        log = self.main_loop.log
        row = log.current_row
        values = {'epoch': log.status['epochs_done'],
                  'test_error': float(row['test_error_rate']),
                  'train_error': float(row['train_error_rate']),
                  'epoch_seconds': float(row['time_train_this_epoch']),
                  'total_seconds': float(row['time_train_total'])}
        for name, value in values.items():
            self.curve[name].append(value)
        if self.path:
            save_curve(self.path, self.model,
                       dict(self.curve, settings=self.settings))


def load_curves(path):
    if not os.path.exists(path):
        return {}
    with open(path) as file:
        return json.load(file)


def save_curve(path, model, curve):
    """Replace `model`'s curve in the JSON file, keeping the others."""
    curves = load_curves(path)
    curves[model] = curve
    with open(path + '.tmp', 'w') as file:
        json.dump(curves, file, indent=1)
    os.replace(path + '.tmp', path)


def plot_curves(curves, path):
    """Draw the test (and training) error of every model per epoch."""
    import matplotlib
    matplotlib.use('Agg')  # no display needed
    from matplotlib import pyplot, ticker

    figure, axes = pyplot.subplots(figsize=(6, 4))
    for (model, curve), color in zip(sorted(curves.items()),
                                     ('C0', 'C1', 'C2', 'C3')):
        axes.plot(curve['epoch'], [100 * e for e in curve['test_error']],
                  'o-', color=color, label='{} test'.format(model))
        axes.plot(curve['epoch'], [100 * e for e in curve['train_error']],
                  's--', color=color, alpha=0.6,
                  label='{} training batches'.format(model))
    axes.set_xlabel('epoch')
    axes.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    axes.set_ylabel('error rate (%)')
    axes.set_yscale('log')
    # Plain numbers (1, 2, 3 ... 10) rather than powers of ten.
    axes.yaxis.set_major_formatter(ticker.FormatStrFormatter('%g'))
    axes.yaxis.set_minor_formatter(ticker.FormatStrFormatter('%g'))
    axes.set_title('Row-by-row MNIST (28 steps of 28 pixels)')
    axes.grid(True, which='both', alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)


def main(model='bnlstm', num_epochs=5, dim=100, batch_size=100,
         learning_rate=0.001, clipping=1.0, alpha=0.05, save_to=None,
         curves='mnist_rnn_curves.json', plot_to='mnist_rnn.png',
         subset=None, test_subset=None, test_batch_size=1000,
         progress_bar=True, input_statistics='shared',
         initial_state_noise=0.1):
    """Train one model on row-by-row MNIST; return the main loop.

    Parameters
    ----------
    model : {'lstm', 'bnlstm'}
        The plain LSTM or the batch-normalized one.
    num_epochs : int
        Passes over the training set.
    dim : int
        LSTM units.
    batch_size : int
        Training minibatch size.
    learning_rate : float
        Adam's learning rate.
    clipping : float
        The largest norm of a step's gradient (StepClipping).
    alpha : float
        The weight of each minibatch in the moving averages of the
        BN-LSTM's population statistics.
    save_to : str, optional
        Checkpoint path, written after every epoch;
        ``mnist_rnn_<model>.tar`` by default.
    curves : str or None
        The JSON file of learning curves this run adds to.
    plot_to : str or None
        The PNG of every curve in `curves`.
    subset, test_subset : int, optional
        Use only the first examples of the training / test set.
    test_batch_size : int
        Minibatch size of the evaluation.
    progress_bar : bool
        Show a progress bar of each epoch.
    input_statistics : {'shared', 'per-step'}
        The BN-LSTM's input-term statistics: shared over the 28 rows (the
        paper's BN-e*; the default) or per row (its BN-LSTM). The top and
        bottom rows are blank in nearly every training image, so their
        per-row population variances are near zero, and a test image with
        ink there is magnified at inference.
    initial_state_noise : float
        The standard deviation of the noise added to the BN-LSTM's initial
        states in training (0.1, the paper's for sequential MNIST). This is
        what makes inference work: with one initial state and blank first
        rows, every image has the same state over the first steps, the
        recurrent and cell statistics there are those of a constant (stdev
        sqrt(epsilon)), and the few images that differ early are
        magnified.

    """
    if save_to is None:
        save_to = 'mnist_rnn_{}.tar'.format(model)
    settings = dict(model=model, dim=dim, batch_size=batch_size,
                    learning_rate=learning_rate, clipping=clipping,
                    alpha=alpha, subset=subset, test_subset=test_subset)
    bn_options = {}
    if model == 'bnlstm':
        bn_options = dict(input_statistics=input_statistics,
                          initial_state_noise=initial_state_noise)
        settings.update(bn_options)
    with float32():
        _, cost, error_rate = build_model(model, dim, **bn_options)
        training_graph = ComputationGraph([cost, error_rate])
        if model == 'bnlstm':
            training_graph = apply_batch_normalization(training_graph)
        training_cost, training_error_rate = training_graph.outputs
        algorithm = GradientDescent(
            cost=training_cost, parameters=training_graph.parameters,
            step_rule=CompositeRule([StepClipping(clipping),
                                     Adam(learning_rate)]))
        if model == 'bnlstm':
            algorithm.add_updates(get_population_moving_average_updates(
                training_graph, alpha=alpha))
        extensions = [
            Timing(),
            FinishAfter(after_n_epochs=num_epochs),
            DataStreamMonitoring(
                [cost, error_rate],
                mnist_stream('test', test_batch_size, test_subset,
                             flatten=False),
                prefix='test', before_training=False),
            TrainingDataMonitoring(
                [aggregation.mean(training_cost),
                 aggregation.mean(training_error_rate)],
                prefix='train', after_epoch=True),
            Checkpoint(save_to, after_epoch=True)]
        if progress_bar:
            extensions.append(ProgressBar())
        extensions.extend([PrintErrors(),  # after the bar has finished
                           RecordCurve(model, curves, settings)])
        main_loop = MainLoop(
            algorithm,
            mnist_stream('train', batch_size, subset, shuffled=True,
                         flatten=False),
            model=Model(cost), extensions=extensions)
        main_loop.run()
    if curves and plot_to:
        plot_curves(load_curves(curves), plot_to)
    return main_loop


def parse_args(argv=None):
    parser = mnist_parser(
        'Classify MNIST digits row by row with an LSTM or a batch-normalized '
        'LSTM; add the learning curve to a JSON file and plot every curve '
        'in it.', num_epochs=5, batch_size=100,
        save_to='mnist_rnn_MODEL.tar', learning_rate=0.001,
        progress_bar_option=True)
    parser.add_argument('--model', choices=MODELS, default='bnlstm',
                        help='lstm or bnlstm (default bnlstm)')
    parser.add_argument('--dim', type=int, default=100,
                        help='LSTM units (default 100)')
    parser.add_argument('--input-statistics', choices=INPUT_STATISTICS,
                        default='shared',
                        help="the BN-LSTM's input-term statistics: shared "
                             "over the rows, or per row (default shared)")
    parser.add_argument('--initial-state-noise', type=float, default=0.1,
                        help="noise on the BN-LSTM's initial states in "
                             "training (default 0.1)")
    parser.add_argument('--test-subset', type=int, default=None,
                        help='test on the first TEST_SUBSET examples only')
    parser.add_argument('--curves', default='mnist_rnn_curves.json',
                        help='JSON file of learning curves '
                             '(default mnist_rnn_curves.json)')
    parser.add_argument('--plot-to', default='mnist_rnn.png',
                        help='PNG of all the curves (default mnist_rnn.png)')
    return parser.parse_args(argv)


def cli(argv=None):
    """Train as the command line says; returns the exit status: 0, or
    130 / 143 when SIGINT / SIGTERM stopped the training."""
    args = parse_args(argv)
    save_to = args.save_to.replace('MODEL', args.model)
    main_loop = main(model=args.model, num_epochs=args.num_epochs,
                     dim=args.dim, batch_size=args.batch_size,
                     learning_rate=args.learning_rate, save_to=save_to,
                     curves=args.curves, plot_to=args.plot_to,
                     subset=args.subset, test_subset=args.test_subset,
                     progress_bar=not args.no_progress_bar,
                     input_statistics=args.input_statistics,
                     initial_state_noise=args.initial_state_noise)
    report(main_loop, ' ({}, inference mode)'.format(args.model),
           [('Checkpoint', save_to), ('Learning curves', args.plot_to)])
    return interrupted_exit_status(main_loop)


if __name__ == '__main__':
    # Run the imported module, so that the checkpoint refers to
    # examples.mnist_rnn.RecordCurve rather than to __main__.
    from examples.mnist_rnn import cli
    sys.exit(cli())
