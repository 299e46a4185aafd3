"""Every brick class of blocks.bricks keeps the contract of
:mod:`tests.brick_contract`.

A new brick class needs a :class:`BrickCase` in ``CASES`` (or, for a base
class without applications of its own, a place in ``ABSTRACT``):
:func:`test_every_brick_class_has_a_case` fails until it has one.
"""
import importlib
import pkgutil

import numpy
import pytensor
import pytest

import blocks.bricks
from blocks.bricks import (MLP, Activation, BatchNormalization,
                           BatchNormalizedMLP, Bias, Brick,
                           FeedforwardSequence, Feedforward, Identity,
                           Initializable, LeakyRectifier, Linear,
                           LinearLike, LinearMaxout, Logistic, Maxout,
                           NDimensionalSoftmax, Random, Rectifier, Sequence,
                           Softmax, Softplus, SpatialBatchNormalization, Tanh)
from blocks.bricks.conv import (AveragePooling, Convolutional,
                                ConvolutionalSequence,
                                ConvolutionalTranspose, Flattener,
                                MaxPooling, Pooling)
from blocks.bricks.cost import (AbsoluteError, BinaryCrossEntropy,
                                CategoricalCrossEntropy, Cost, CostMatrix,
                                MisclassificationRate, SquaredError)
from blocks.bricks.lookup import LookupTable
from blocks.bricks.parallel import Distribute, Fork, Merge, Parallel
from blocks.bricks.recurrent import (LSTM, BaseRecurrent, Bidirectional,
                                     GatedRecurrent, RecurrentStack,
                                     SimpleRecurrent, BatchNormalizedLSTM,
                                     RecurrentBatchNormalization)
from blocks.bricks.attention import (AbstractAttention,
                                     AbstractAttentionRecurrent,
                                     AttentionRecurrent,
                                     GenericSequenceAttention,
                                     SequenceContentAttention,
                                     ShallowEnergyComputer)
from blocks.bricks.sequence_generators import (
    AbstractEmitter, AbstractFeedback, AbstractReadout,
    BaseSequenceGenerator, FakeAttentionRecurrent, LookupFeedback, Readout,
    SequenceGenerator, SoftmaxEmitter, TrivialEmitter, TrivialFeedback)
from blocks.initialization import Constant, IsotropicGaussian
from blocks.roles import (BATCH_NORM_POPULATION_MEAN,
                          BATCH_NORM_POPULATION_STDEV,
                          BATCH_NORM_SCALE_PARAMETER,
                          BATCH_NORM_SHIFT_PARAMETER, BIAS, FILTER,
                          INITIAL_STATE, WEIGHT)

from tests.brick_contract import BrickCase, check_brick

INIT = dict(weights_init=IsotropicGaussian(0.1), biases_init=Constant(0.1))
AFFINE = {WEIGHT: 1, BIAS: 1}
BN = {BATCH_NORM_SCALE_PARAMETER: 1, BATCH_NORM_SHIFT_PARAMETER: 1}
POPULATION = {BATCH_NORM_POPULATION_MEAN: 1, BATCH_NORM_POPULATION_STDEV: 1}
LABELS = numpy.array([0, 2])
PROBABILITIES = numpy.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]],
                            dtype=pytensor.config.floatX)
TARGETS = numpy.array([[1, 0, 1], [0, 0, 1]], dtype=pytensor.config.floatX)


def twice(counts):
    return {role: 2 * count for role, count in counts.items()}


#: Base classes: they define no application of their own to check.
ABSTRACT = {Brick, Activation, Feedforward, Initializable, LinearLike,
            Random, Cost, CostMatrix, Pooling, BaseRecurrent,
            AbstractAttention, GenericSequenceAttention,
            AbstractAttentionRecurrent, AbstractReadout, AbstractEmitter,
            AbstractFeedback, BaseSequenceGenerator}

FLOAT_ONES = numpy.ones((5, 2), dtype=pytensor.config.floatX)
SYMBOLS = numpy.array([[1, 2], [0, 4], [3, 3], [2, 0]])


def readout_of_states(**kwargs):
    # the generator sets source_dims; alone, the readout needs it by hand
    readout = Readout(source_names=['states'], **kwargs)
    readout.source_dims = [2]
    return readout


def attention():
    return SequenceContentAttention(state_names=['states'], state_dims=[2],
                                    attended_dim=3, match_dim=4)

ACTIVATIONS = [Identity, Tanh, Logistic, Softplus, Rectifier,
               LeakyRectifier]

CASES = [
    # simple
    BrickCase(Linear, lambda: Linear(3, 4, **INIT), {'input_': (2, 3)},
              AFFINE, wrong_ndim=0),
    BrickCase(Bias, lambda: Bias(3, biases_init=Constant(0.1)),
              {'input_': (2, 3)}, {BIAS: 1}, wrong_ndim=0),
    BrickCase(Maxout, lambda: Maxout(2), {'input_': (2, 4)}, dims=False,
              wrong_ndim=0),
    BrickCase(LinearMaxout, lambda: LinearMaxout(3, 2, 2, **INIT),
              {'input_': (2, 3)}, AFFINE, wrong_ndim=0),
    *[BrickCase(activation, activation, {'input_': (2, 3)}, dims=False)
      for activation in ACTIVATIONS],
    *[BrickCase(Softmax, Softmax, {'input_': (2, 3)}, application=name,
                dims=False, wrong_ndim=3)
      for name in ('apply', 'log_probabilities')],
    BrickCase(Softmax, Softmax, {'y': LABELS, 'x': (2, 3)},
              application='categorical_cross_entropy', dims=False,
              wrong_ndim=3),
    BrickCase(NDimensionalSoftmax, NDimensionalSoftmax,
              {'input_': (2, 2, 3)}, kwargs={'extra_ndim': 1}, dims=False,
              wrong_ndim=4),
    # sequences
    BrickCase(Sequence, lambda: Sequence([Linear(3, 4, **INIT).apply,
                                          Tanh()]),
              {'input_': (2, 3)}, AFFINE, dims=False, wrong_ndim=0),
    BrickCase(FeedforwardSequence,
              lambda: FeedforwardSequence([Linear(3, 4, **INIT), Tanh()]),
              {'input_': (2, 3)}, AFFINE, dims=False, wrong_ndim=0),
    BrickCase(MLP, lambda: MLP([Tanh(), None], [3, 4, 2], **INIT),
              {'input_': (2, 3)}, twice(AFFINE), dims=False, wrong_ndim=0),
    # batch normalization
    BrickCase(BatchNormalization, lambda: BatchNormalization(3),
              {'input_': (4, 3)}, BN, POPULATION, wrong_ndim=3),
    BrickCase(SpatialBatchNormalization,
              lambda: SpatialBatchNormalization((2, 3, 3)),
              {'input_': (2, 2, 3, 3)}, BN, POPULATION, wrong_ndim=3),
    BrickCase(BatchNormalizedMLP,
              lambda: BatchNormalizedMLP([Tanh(), Tanh()], [3, 4, 2],
                                         **INIT),
              {'input_': (2, 3)}, {WEIGHT: 2, **twice(BN)},
              twice(POPULATION), dims=False, wrong_ndim=0),
    # convolution
    BrickCase(Convolutional,
              lambda: Convolutional((2, 2), 3, 2, image_size=(4, 4), **INIT),
              {'input_': (2, 2, 4, 4)}, {FILTER: 1, BIAS: 1}, wrong_ndim=3),
    BrickCase(ConvolutionalTranspose,
              lambda: ConvolutionalTranspose((2, 2), 2, 3, image_size=(3, 3),
                                             **INIT),
              {'input_': (2, 3, 3, 3)}, {FILTER: 1, BIAS: 1}, wrong_ndim=3),
    *[BrickCase(pooling, lambda pooling=pooling: pooling((2, 2),
                                                         input_dim=(2, 4, 4)),
                {'input_': (2, 2, 4, 4)}, wrong_ndim=1)
      for pooling in (MaxPooling, AveragePooling)],
    BrickCase(ConvolutionalSequence,
              lambda: ConvolutionalSequence(
                  [Convolutional((2, 2), 3), Rectifier(), MaxPooling((2, 2))],
                  num_channels=2, image_size=(5, 5), **INIT),
              {'input_': (2, 2, 5, 5)}, {FILTER: 1, BIAS: 1}, wrong_ndim=3),
    BrickCase(Flattener, Flattener, {'input_': (2, 2, 3)}, dims=False,
              wrong_ndim=1),
    # costs: scalars, without dimension information
    BrickCase(BinaryCrossEntropy, BinaryCrossEntropy,
              {'y': TARGETS, 'y_hat': PROBABILITIES}, dims=False,
              wrong_ndim=1),
    *[BrickCase(cost, cost, {'y': (2, 3), 'y_hat': (2, 3)}, dims=False,
                wrong_ndim=1)
      for cost in (AbsoluteError, SquaredError)],
    BrickCase(CategoricalCrossEntropy, CategoricalCrossEntropy,
              {'y': LABELS, 'y_hat': PROBABILITIES}, dims=False,
              wrong_ndim=3),
    BrickCase(MisclassificationRate, MisclassificationRate,
              {'y': LABELS, 'y_hat': (2, 3)}, dims=False, wrong_ndim=2),
    # lookup: indices of any number of axes
    BrickCase(LookupTable, lambda: LookupTable(5, 3, **INIT),
              {'indices': numpy.array([[0, 4], [2, 1]])}, {WEIGHT: 1}),
    # parallel; Parallel's outputs are named after its inputs and get_dim
    # gives the input's dimension (as in Blocks), hence equal dimensions
    BrickCase(Parallel,
              lambda: Parallel(['a', 'b'], [2, 3], [2, 3], Linear(), **INIT),
              {'a': (2, 2), 'b': (2, 3)}, twice(AFFINE), wrong_ndim=0),
    BrickCase(Fork, lambda: Fork(['m', 's'], 3, output_dims=[2, 4], **INIT),
              {'input_': (2, 3)}, twice(AFFINE), wrong_ndim=0),
    BrickCase(Distribute,
              lambda: Distribute(['a', 'b'], 'source', input_dim=3,
                                 output_dims=[2, 4], **INIT),
              # Blocks' prototype is Linear(use_bias=False)
              {'source': (2, 3), 'a': (2, 2), 'b': (2, 4)}, {WEIGHT: 2},
              by_name=True, wrong_ndim=0),
    BrickCase(Merge, lambda: Merge(['a', 'b'], [2, 3], 4, **INIT),
              {'a': (2, 2), 'b': (2, 3)}, {WEIGHT: 2}, wrong_ndim=0),
    # recurrent: (time, batch, features) sequences
    BrickCase(SimpleRecurrent, lambda: SimpleRecurrent(3, Tanh(), **INIT),
              {'inputs': (4, 2, 3)}, {WEIGHT: 1, INITIAL_STATE: 1},
              wrong_ndim=2),
    BrickCase(LSTM, lambda: LSTM(2, **INIT), {'inputs': (4, 2, 8)},
              {WEIGHT: 4, INITIAL_STATE: 2}, wrong_ndim=2),
    BrickCase(GatedRecurrent, lambda: GatedRecurrent(2, **INIT),
              {'inputs': (4, 2, 2), 'gate_inputs': (4, 2, 4),
               'mask': numpy.ones((4, 2), dtype=pytensor.config.floatX)},
              {WEIGHT: 2, INITIAL_STATE: 1}, by_name=True, wrong_ndim=2),
    BrickCase(Bidirectional,
              lambda: Bidirectional(SimpleRecurrent(3, Tanh()), **INIT),
              {'inputs': (4, 2, 3)}, {WEIGHT: 2, INITIAL_STATE: 2},
              wrong_ndim=2),
    # the fork between the layers is a Linear with biases
    BrickCase(RecurrentStack,
              lambda: RecurrentStack([SimpleRecurrent(3, Tanh()),
                                      LSTM(2)], **INIT),
              {'inputs': (4, 2, 3)},
              {WEIGHT: 6, BIAS: 1, INITIAL_STATE: 3}, wrong_ndim=2),
    BrickCase(BatchNormalizedLSTM, lambda: BatchNormalizedLSTM(2, 3, **INIT),
              {'inputs': (4, 2, 8)},
              {WEIGHT: 1, INITIAL_STATE: 2, BATCH_NORM_SCALE_PARAMETER: 3,
               BATCH_NORM_SHIFT_PARAMETER: 2},
              {BATCH_NORM_POPULATION_MEAN: 3, BATCH_NORM_POPULATION_STDEV: 3},
              wrong_ndim=2),
    # attention and sequence generation
    BrickCase(ShallowEnergyComputer,
              lambda: ShallowEnergyComputer(input_dim=4, output_dim=1,
                                            **INIT),
              {'input_': (2, 4)}, {WEIGHT: 1}, dims=False, wrong_ndim=None),
    BrickCase(SequenceContentAttention, lambda: attention().__class__(
        state_names=['states'], state_dims=[2], attended_dim=3, match_dim=4,
        **INIT), {'attended': (5, 2, 3), 'attended_mask': FLOAT_ONES,
                  'states': (2, 2)},
              {WEIGHT: 3, BIAS: 1}, application='take_glimpses',
              by_name=True, dims=('weighted_averages',), wrong_ndim=None),
    BrickCase(AttentionRecurrent,
              lambda: AttentionRecurrent(SimpleRecurrent(2, Tanh()),
                                         attention(), **INIT),
              {'inputs': (4, 2, 2), 'attended': (5, 2, 3),
               'attended_mask': FLOAT_ONES},
              {WEIGHT: 5, BIAS: 1, INITIAL_STATE: 1}, by_name=True,
              dims=('states', 'weighted_averages'), wrong_ndim=2),
    BrickCase(FakeAttentionRecurrent,
              lambda: FakeAttentionRecurrent(SimpleRecurrent(2, Tanh()),
                                             **INIT),
              {'inputs': (4, 2, 2)}, {WEIGHT: 1, INITIAL_STATE: 1},
              wrong_ndim=2),
    BrickCase(TrivialEmitter, lambda: TrivialEmitter(3),
              {'readouts': (2, 3)}, application='emit', dims=(),
              wrong_ndim=None),
    BrickCase(SoftmaxEmitter, lambda: SoftmaxEmitter(**INIT),
              {'readouts': (2, 3)}, application='probs', dims=False,
              wrong_ndim=None),
    BrickCase(TrivialFeedback, lambda: TrivialFeedback(3),
              {'outputs': (2, 3)}, application='feedback',
              dims=('feedback',), wrong_ndim=None),
    BrickCase(LookupFeedback, lambda: LookupFeedback(5, 3, **INIT),
              {'outputs': SYMBOLS}, {WEIGHT: 1}, application='feedback',
              dims=(), wrong_ndim=None),
    BrickCase(Readout,
              lambda: readout_of_states(readout_dim=3, **INIT),
              {'states': (2, 2)}, AFFINE, application='readout',
              by_name=True, dims=(), wrong_ndim=None),
    BrickCase(SequenceGenerator,
              lambda: SequenceGenerator(
                  Readout(readout_dim=5, source_names=['states'],
                          emitter=SoftmaxEmitter(),
                          feedback_brick=LookupFeedback(5, 3)),
                  SimpleRecurrent(2, Tanh()), **INIT),
              {'outputs': SYMBOLS}, {WEIGHT: 4, BIAS: 2, INITIAL_STATE: 1},
              application='cost_matrix', dims=False, wrong_ndim=None),
    BrickCase(RecurrentBatchNormalization,
              lambda: RecurrentBatchNormalization(3, 2),
              {'input_': (2, 3), 'time': numpy.array(4)}, BN, POPULATION,
              dims=('output',), wrong_ndim=3),
]


def brick_classes():
    """The Brick subclasses defined in the modules of blocks.bricks."""
    classes = set()
    for info in pkgutil.walk_packages(blocks.bricks.__path__,
                                      prefix='blocks.bricks.'):
        module = importlib.import_module(info.name)
        classes.update(
            obj for obj in vars(module).values()
            if isinstance(obj, type) and issubclass(obj, Brick)
            and obj.__module__ == module.__name__)
    return classes


def test_every_brick_class_has_a_case():
    found = brick_classes()
    covered = {case.brick_class for case in CASES}
    missing = sorted(cls.__qualname__ for cls in found - covered - ABSTRACT)
    assert not missing, ('add a BrickCase to {} for: {}'.format(
        __name__, ', '.join(missing)))
    assert ABSTRACT <= found


@pytest.mark.parametrize('case', CASES, ids=[case.id for case in CASES])
def test_brick_contract(case, rng, tolerance):
    check_brick(case, rng, tolerance)
