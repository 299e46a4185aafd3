"""A recurrent network learns a Markov chain, then samples from it.

The chain has three states and the transition probabilities of
:data:`TRANSITIONS` (row: from, column: to); every sequence starts in
state 0. The model is Blocks': a
:class:`~blocks.bricks.sequence_generators.SequenceGenerator` whose
transition is a :class:`~blocks.bricks.recurrent.GatedRecurrent` (10
units, tanh, orthogonal recurrent weights), whose readout sees the states,
emits through a softmax and feeds each emitted state back through a
lookup table of 8-dimensional embeddings. Other weights are drawn from
N(0, 0.01^2), the biases are zero. It is trained by SGD (learning rate
0.001) on endless batches of 50 sequences of 100 steps, minimizing the
negative log-likelihood per sequence; the smallest possible value is the
chain's entropy rate times 100 (:func:`entropy_rate`).

``sample`` loads a checkpoint, generates one long sequence and compares
its state and transition frequencies with the chain's.

Run it with::

    python -m examples.markov_chain train chain.tar --num-batches 1000
    python -m examples.markov_chain sample chain.tar --steps 1000

Blocks' 1000 training batches learn how often each state occurs; the
transitions take longer (the previous state reaches the readout through
small initial weights that must grow first): ``--num-batches 10000``
comes close to the least cost and samples the chain's transition
probabilities (figures in ``benchmarks/results.md``).
"""
import argparse
import sys

import numpy
from pytensor import tensor

from blocks.algorithms import GradientDescent, Scale
from blocks.bricks import Tanh
from blocks.bricks.recurrent import GatedRecurrent
from blocks.bricks.sequence_generators import (LookupFeedback, Readout,
                                               SequenceGenerator,
                                               SoftmaxEmitter)
from blocks.compilation import compile_function
from blocks.data import ConstantScheme, DataStream
from blocks.data.datasets import Dataset
from blocks.extensions import FinishAfter, Printing
from blocks.extensions.monitoring import TrainingDataMonitoring
from blocks.extensions.saveload import Checkpoint
from blocks.graph import ComputationGraph
from blocks.initialization import Constant, IsotropicGaussian, Orthogonal
from blocks.main_loop import MainLoop
from blocks.model import Model
from blocks.scripts.continue_training import interrupted_exit_status
from blocks.monitoring import aggregation
from blocks.select import Selector
from blocks.serialization import load

from examples import float32

TRANSITIONS = numpy.array([[0.1, 0.5, 0.4],
                           [0.1, 0.9, 0.0],
                           [0.3, 0.3, 0.4]])
NUM_STATES = len(TRANSITIONS)


def equilibrium():
    """The stationary distribution of the chain."""
    values, vectors = numpy.linalg.eig(TRANSITIONS.T)
    stationary = numpy.real(vectors[:, numpy.argmax(numpy.real(values))])
    return stationary / stationary.sum()


def entropy_rate():
    """Nats per step of the chain at equilibrium."""
    logs = numpy.log(numpy.where(TRANSITIONS > 0, TRANSITIONS, 1))
    return -(equilibrium()[:, None] * TRANSITIONS * logs).sum()


class MarkovChainDataset(Dataset):
    """Endless batches of chains of `length` steps, from state 0, as
    (time, batch) int64 arrays."""
    provides_sources = ('data',)

    def __init__(self, rng, length, **kwargs):
        super().__init__(**kwargs)
        self.rng = rng
        self.length = length

    def get_data(self, state=None, request=None):
        if request is None:
            raise ValueError('MarkovChainDataset needs a batch size as '
                             'request')
        chains = numpy.zeros((self.length, request), dtype='int64')
        cumulative = TRANSITIONS.cumsum(axis=1)
        for t in range(1, self.length):
            draws = self.rng.uniform(size=request)[:, None]
            chains[t] = (draws > cumulative[chains[t - 1]]).sum(axis=1)
        return (chains,)


def build_generator():
    transition = GatedRecurrent(name='transition', dim=10, activation=Tanh())
    generator = SequenceGenerator(
        Readout(readout_dim=NUM_STATES, source_names=['states'],
                emitter=SoftmaxEmitter(name='emitter'),
                feedback_brick=LookupFeedback(NUM_STATES, 8,
                                              name='feedback'),
                name='readout'),
        transition, weights_init=IsotropicGaussian(0.01),
        biases_init=Constant(0), name='generator')
    generator.push_initialization_config()
    # After the push: only the transition's weights become orthogonal.
    transition.weights_init = Orthogonal()
    generator.initialize()
    return generator


def train(save_to, num_batches=1000, batch_size=50, length=100,
          printing=True):
    """Train the generator; return the finished main loop."""
    with float32():
        generator = build_generator()
        x = tensor.lmatrix('data')
        cost = aggregation.mean(generator.cost_matrix(x).sum(), x.shape[1])
        cost.name = 'sequence_log_likelihood'
        algorithm = GradientDescent(
            cost=cost,
            parameters=list(Selector(generator).get_parameters().values()),
            step_rule=Scale(0.001))
        extensions = [
            FinishAfter(after_n_batches=num_batches),
            TrainingDataMonitoring([cost], prefix='this_step',
                                   after_batch=True),
            TrainingDataMonitoring([cost], prefix='average',
                                   every_n_batches=100),
            Checkpoint(save_to, every_n_batches=500)]
        if printing:
            extensions.append(Printing(every_n_batches=100))
        main_loop = MainLoop(
            algorithm, DataStream(MarkovChainDataset(
                numpy.random.RandomState(1), length),
                iteration_scheme=ConstantScheme(batch_size)),
            model=Model(cost), extensions=extensions)
        main_loop.run()
    return main_loop


def sample(save_to, steps=1000):
    """Generate `steps` states with a trained generator; returns the
    outputs, the generation cost and the state and transition
    frequencies."""
    with float32():
        main_loop = load(save_to)
        generator, = [brick for brick in main_loop.model.get_top_bricks()
                      if isinstance(brick, SequenceGenerator)]
        graph = ComputationGraph(generator.generate(
            n_steps=steps, batch_size=1, iterate=True))
        function = compile_function([], graph.outputs,
                                    updates=graph.updates)
        states, outputs, costs = [data[:, 0] for data in function()]
    frequencies = numpy.bincount(outputs, minlength=NUM_STATES) / steps
    transitions = numpy.zeros((NUM_STATES, NUM_STATES))
    for a, b in zip(outputs, outputs[1:]):
        transitions[a, b] += 1
    transitions /= numpy.maximum(transitions.sum(axis=1), 1)[:, None]
    return outputs, float(costs.sum()), frequencies, transitions


def main(mode, save_to, steps=None, num_batches=1000):
    """Blocks' entry point: ``main('train', path, None, 1000)`` or
    ``main('sample', path, 1000)``."""
    if mode == 'train':
        return train(save_to, num_batches)
    if mode == 'sample':
        return sample(save_to, steps or 1000)
    raise ValueError("mode must be 'train' or 'sample', got {!r}".format(
        mode))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train a recurrent network on a Markov chain, or sample '
                    'from a trained one (the Blocks markov_chain example).')
    parser.add_argument('mode', choices=('train', 'sample'))
    parser.add_argument('save_to', help='checkpoint file')
    parser.add_argument('--steps', type=int, default=1000,
                        help='states to sample (default 1000)')
    parser.add_argument('--num-batches', type=int, default=1000,
                        help='training batches (default 1000)')
    return parser.parse_args(argv)


def cli(argv=None):
    """Train or sample as the command line says; returns the exit
    status: 0, or 130 / 143 when SIGINT / SIGTERM stopped the training
    (as shells report such a program)."""
    args = parse_args(argv)
    if args.mode == 'train':
        print('Entropy rate of the chain: {:.3f} nats per step; the least '
              'cost per sequence of 100 is {:.1f}'.format(
                  entropy_rate(), 100 * entropy_rate()))
        main_loop = main('train', args.save_to, num_batches=args.num_batches)
        return interrupted_exit_status(main_loop)
    _, cost, frequencies, transitions = main('sample', args.save_to,
                                             args.steps)
    numpy.set_printoptions(precision=3, suppress=True)
    print('Generation cost: {:.1f}'.format(cost))
    print('Frequencies: {} vs {}'.format(frequencies, equilibrium()))
    print('Transition frequencies:\n{}\nvs\n{}'.format(transitions,
                                                      TRANSITIONS))
    return 0


if __name__ == '__main__':
    from examples.markov_chain import cli
    sys.exit(cli())
