import pickle

import numpy
import pytensor
import pytensor.tensor as pt
import pytest

from blocks.compilation import compile_function
from blocks.algorithms import GradientDescent, Scale
from blocks.bricks import Tanh
from blocks.bricks.attention import SequenceContentAttention
from blocks.bricks.recurrent import GatedRecurrent, SimpleRecurrent
from blocks.bricks.sequence_generators import (
    AbstractEmitter, FakeAttentionRecurrent, LookupFeedback, Readout,
    SequenceGenerator, SoftmaxEmitter, TrivialEmitter, TrivialFeedback)
from blocks.bricks.base import application
from blocks.extensions import FinishAfter
from blocks.filter import VariableFilter
from blocks.graph import ComputationGraph
from blocks.initialization import Constant, IsotropicGaussian
from blocks.main_loop import MainLoop
from blocks.model import Model
from blocks.roles import COST

floatX = pytensor.config.floatX
VOCABULARY, FEEDBACK, DIM, STEPS, BATCH = 5, 3, 4, 6, 3
ATTENDED, T_A = 2, 4


def softmax_generator(attention=False, theano_seed=1, seed=2):
    transition = SimpleRecurrent(dim=DIM, activation=Tanh(),
                                 name='transition')
    sources = ['states', 'feedback']
    attention_brick = None
    if attention:
        attention_brick = SequenceContentAttention(
            state_names=transition.apply.states, attended_dim=ATTENDED,
            match_dim=3, name='attention')
        sources.append('weighted_averages')
    readout = Readout(readout_dim=VOCABULARY, source_names=sources,
                      emitter=SoftmaxEmitter(theano_seed=theano_seed),
                      feedback_brick=LookupFeedback(VOCABULARY, FEEDBACK),
                      name='readout')
    generator = SequenceGenerator(
        readout, transition, attention=attention_brick,
        weights_init=IsotropicGaussian(0.5),
        biases_init=IsotropicGaussian(0.5), seed=seed, name='generator')
    generator.initialize()
    return generator


@pytest.fixture(scope='module')
def generator():
    return softmax_generator()


@pytest.fixture(scope='module')
def attention_generator():
    return softmax_generator(attention=True)


def symbols_and_mask(rng):
    outputs = rng.randint(VOCABULARY, size=(STEPS, BATCH)).astype('int64')
    mask = numpy.ones((STEPS, BATCH), dtype=floatX)
    mask[4:, 0] = 0
    mask[1:, 2] = 0
    return outputs, mask


def log_softmax(readouts):
    shifted = readouts - readouts.max(axis=-1, keepdims=True)
    return shifted - numpy.log(numpy.exp(shifted).sum(axis=-1,
                                                      keepdims=True))


def numpy_cost_matrix(generator, outputs, mask):
    """Minus the log-likelihood of each output given the previous ones:
    readouts from the previous state and the previous output's embedding,
    then the new state from the current output's embedding."""
    readout = generator.readout
    embeddings = readout.feedback_brick.lookup.W.get_value()
    fork = generator.fork.transforms[0]
    transition = generator.transition.transition
    W, initial = (parameter.get_value()
                  for parameter in transition.parameters)
    from_states, from_feedback = (
        transform.W.get_value() for transform in readout.merge.transforms)
    bias = readout.post_merge.b.get_value()
    states = numpy.tile(initial, (BATCH, 1))
    feedback = embeddings[numpy.zeros(BATCH, dtype=int)]
    costs = numpy.zeros(outputs.shape)
    for step, symbols in enumerate(outputs):
        readouts = states.dot(from_states) + feedback.dot(from_feedback) + \
            bias
        costs[step] = -log_softmax(readouts)[numpy.arange(BATCH), symbols]
        feedback = embeddings[symbols]
        new = numpy.tanh(feedback.dot(fork.W.get_value()) +
                         fork.b.get_value() + states.dot(W))
        step_mask = mask[step][:, None]
        states = step_mask * new + (1 - step_mask) * states
    return costs * mask


@pytest.fixture(scope='module')
def cost_graph(generator):
    outputs, mask = pt.lmatrix('outputs'), pt.matrix('mask')
    cost_matrix = generator.cost_matrix(outputs, mask)
    cost = generator.cost(outputs, mask)
    function = compile_function([outputs, mask], [cost_matrix, cost])
    return outputs, mask, cost, function


def test_cost_matrix_matches_numpy_log_likelihood(generator, cost_graph):
    values = symbols_and_mask(numpy.random.RandomState(1))
    cost_matrix, cost = cost_graph[-1](*values)
    expected = numpy_cost_matrix(generator, *values)
    numpy.testing.assert_allclose(cost_matrix, expected, rtol=1e-5)
    numpy.testing.assert_allclose(cost, expected.sum(axis=0).mean(),
                                  rtol=1e-5)
    assert (cost_matrix[values[1] == 0] == 0).all()


def test_padding_does_not_change_a_sequence_cost(cost_graph):
    outputs, mask = symbols_and_mask(numpy.random.RandomState(2))
    function = cost_graph[-1]
    costs = function(outputs, mask)[0]
    padded = numpy.concatenate([outputs, numpy.ones((2, BATCH), 'int64')])
    padded_mask = numpy.concatenate([mask, numpy.zeros((2, BATCH), floatX)])
    padded_costs = function(padded, padded_mask)[0]
    numpy.testing.assert_allclose(padded_costs.sum(axis=0),
                                  costs.sum(axis=0), rtol=1e-6)


def test_cost_role_and_per_sequence_element(generator, cost_graph):
    outputs, mask, cost, _ = cost_graph
    graph = ComputationGraph(cost)
    # As in Blocks, the role is on the value the application returned,
    # which its tagged output copies.
    marked, = VariableFilter(roles=[COST])(graph)
    assert marked is cost.owner.inputs[0]
    per_element, = VariableFilter(name='per_sequence_element')(graph)
    assert per_element.name == 'generator_cost_per_sequence_element'
    values = symbols_and_mask(numpy.random.RandomState(3))
    cost_matrix = numpy_cost_matrix(generator, *values)
    numpy.testing.assert_allclose(
        compile_function([outputs, mask], per_element)(*values),
        cost_matrix.sum() / values[1].sum(), rtol=1e-5)
    final_states, = VariableFilter(name='states_final_value')(graph)
    assert final_states.ndim == 2


def generate_function(generator, **contexts):
    """Sampling with the contexts given by name; the compiled function
    takes their values in the same order."""
    results = generator.generate(n_steps=STEPS, batch_size=BATCH,
                                 **contexts)
    updates = ComputationGraph(results).updates
    return results, compile_function(list(contexts.values()), results,
                                      updates=updates)


def test_generate_outputs_shapes_and_advancing_stream(generator):
    results, function = generate_function(generator)
    assert [result.tag.name for result in results] == ['states', 'outputs',
                                                       'costs']
    states, outputs, costs = function()
    assert states.shape == (STEPS, BATCH, DIM)
    assert outputs.shape == costs.shape == (STEPS, BATCH)
    assert outputs.dtype == numpy.int64
    assert ((0 <= outputs) & (outputs < VOCABULARY)).all()
    assert (costs > 0).all()
    # The random stream advances between calls.
    draws = [function()[1] for _ in range(3)]
    assert any((draw != outputs).any() for draw in draws)


def test_generate_costs_are_those_of_the_cost_matrix(generator, cost_graph):
    _, function = generate_function(generator)
    _, outputs, costs = function()
    cost_matrix = cost_graph[-1](outputs, numpy.ones_like(costs))[0]
    numpy.testing.assert_allclose(costs, cost_matrix, rtol=1e-5)


def test_generate_is_deterministic_under_a_seed():
    samples = [generate_function(softmax_generator(theano_seed=seed))[1]()[1]
               for seed in (7, 7, 8)]
    numpy.testing.assert_array_equal(samples[0], samples[1])
    assert (samples[0] != samples[2]).any()


@pytest.fixture(scope='module')
def attended_values():
    rng = numpy.random.RandomState(4)
    attended = rng.randn(T_A, BATCH, ATTENDED).astype(floatX)
    attended_mask = numpy.ones((T_A, BATCH), dtype=floatX)
    attended_mask[2:, 1] = 0
    return attended, attended_mask


def test_attention_generator_costs_and_outputs(attention_generator,
                                               attended_values):
    attended, attended_mask = pt.tensor3('attended'), pt.matrix('amask')
    results, function = generate_function(
        attention_generator, attended=attended, attended_mask=attended_mask)
    assert [result.tag.name for result in results] == [
        'states', 'outputs', 'weighted_averages', 'weights', 'costs']
    states, outputs, averages, weights, costs = function(*attended_values)
    assert averages.shape == (STEPS, BATCH, ATTENDED)
    assert weights.shape == (STEPS, BATCH, T_A)
    numpy.testing.assert_allclose(weights.sum(axis=2), 1, rtol=1e-6)
    assert (weights[:, 1, 2:] == 0).all()
    symbols, mask = pt.lmatrix('outputs'), pt.matrix('mask')
    cost_matrix = attention_generator.cost_matrix(
        symbols, mask, attended=attended, attended_mask=attended_mask)
    teacher = compile_function([symbols, mask, attended, attended_mask],
                               cost_matrix)(outputs, numpy.ones_like(costs),
                                            *attended_values)
    numpy.testing.assert_allclose(costs, teacher, rtol=1e-5)


def test_generator_names_and_dims(attention_generator):
    generator = attention_generator
    assert generator.transition.name == 'att_trans'
    assert generator.generate.states == ['states', 'outputs',
                                         'weighted_averages', 'weights']
    assert generator.generate.contexts == ['attended', 'attended_mask']
    assert [generator.get_dim(name) for name in
            ('states', 'outputs', 'weighted_averages', 'attended')] == [
                DIM, 0, ATTENDED, ATTENDED]
    assert generator.readout.source_dims == [DIM, FEEDBACK, ATTENDED]
    assert generator.fork.input_dim == FEEDBACK
    assert generator.fork.output_dims == [DIM]


def test_without_attention_the_transition_is_wrapped(generator):
    assert isinstance(generator.transition, FakeAttentionRecurrent)
    assert generator.transition.name == 'with_fake_attention'
    assert generator.transition.take_glimpses.outputs == []
    assert generator.transition.compute_states.outputs == ['states']


def test_emitters_and_feedbacks():
    initial = SoftmaxEmitter(initial_output=3).initial_outputs(2).eval()
    assert initial.dtype == numpy.int64 and initial.tolist() == [3, 3]
    trivial = TrivialEmitter(readout_dim=2)
    assert trivial.initial_outputs(3).eval().shape == (3, 2)
    assert trivial.get_dim('outputs') == 2
    assert TrivialFeedback(output_dim=4).get_dim('feedback') == 4
    readouts = pt.tensor3('readouts')
    probs = SoftmaxEmitter().probs(readouts).eval(
        {readouts: numpy.zeros((2, 1, 4), floatX)})
    numpy.testing.assert_allclose(probs, 0.25)
    feedback = LookupFeedback(3, 2)
    feedback.output_dim = 2
    with pytest.raises(ValueError, match='/lookupfeedback: LookupFeedback '
                       'feeds back integer outputs'):
        feedback.feedback(pt.lvector())


class SquaredErrorEmitter(AbstractEmitter):
    """Emits the readouts; costs their squared distance to the outputs."""
    readout_dim = None

    @application
    def emit(self, readouts):
        return readouts

    @application
    def cost(self, readouts, outputs):
        return ((readouts - outputs) ** 2).sum(axis=-1)

    @application
    def initial_outputs(self, batch_size):
        return pt.zeros((batch_size, self.readout_dim), dtype=floatX)

    def get_dim(self, name):
        if name == 'outputs':
            return self.readout_dim
        return super().get_dim(name)


def test_continuous_outputs_with_a_gated_transition():
    readout = Readout(readout_dim=2, source_names=['states'],
                      emitter=SquaredErrorEmitter())
    generator = SequenceGenerator(
        readout, GatedRecurrent(dim=DIM),
        weights_init=IsotropicGaussian(0.3), biases_init=Constant(0),
        seed=1)
    generator.initialize()
    assert generator.fork.output_names == ['inputs', 'gate_inputs']
    states, outputs, costs = generator.generate(n_steps=3, batch_size=2)
    values = compile_function([], [states, outputs, costs])()
    assert [value.shape for value in values] == [(3, 2, DIM), (3, 2, 2),
                                                 (3, 2)]
    numpy.testing.assert_allclose(values[2], 0, atol=1e-12)
    sequences = pt.tensor3('sequences')
    cost_matrix = generator.cost_matrix(sequences)
    teacher = compile_function([sequences], cost_matrix)(values[1])
    numpy.testing.assert_allclose(teacher, 0, atol=1e-10)


def test_pickled_generator_computes_the_same_costs(attention_generator,
                                                   attended_values):
    copy = pickle.loads(pickle.dumps(attention_generator))
    symbols, mask = pt.lmatrix('outputs'), pt.matrix('mask')
    attended, attended_mask = pt.tensor3('attended'), pt.matrix('amask')
    costs = [brick.cost(symbols, mask, attended=attended,
                        attended_mask=attended_mask)
             for brick in (attention_generator, copy)]
    outputs, mask_value = symbols_and_mask(numpy.random.RandomState(5))
    values = compile_function([symbols, mask, attended, attended_mask],
                               costs)(outputs, mask_value, *attended_values)
    numpy.testing.assert_allclose(values[0], values[1])


def symbol_batches(count):
    rng = numpy.random.RandomState(6)
    return [dict(zip(('outputs', 'mask'), symbols_and_mask(rng)))
            for _ in range(count)]


class Batches:
    """A picklable stream of the same few batches every epoch."""
    sources = ('outputs', 'mask')

    def __init__(self, batches):
        self.batches = batches

    def get_epoch_iterator(self, as_dict=False):
        return iter(self.batches)


def test_pickled_main_loop_trains_on_exactly():
    generator = softmax_generator(seed=3)
    outputs, mask = pt.lmatrix('outputs'), pt.matrix('mask')
    cost = generator.cost(outputs, mask)
    model = Model(cost)
    algorithm = GradientDescent(cost=cost, parameters=model.parameters,
                                step_rule=Scale(0.1))
    loop = MainLoop(algorithm, Batches(symbol_batches(4)), model=model,
                    extensions=[FinishAfter(after_n_batches=2)])
    loop.run()
    copy = pickle.loads(pickle.dumps(loop))
    for each in (loop, copy):
        each.find_extension('FinishAfter').set_conditions(after_n_batches=4)
        each.run()
    original = model.get_parameter_values()
    resumed = copy.model.get_parameter_values()
    assert sorted(original) == sorted(resumed)
    for name in original:
        numpy.testing.assert_allclose(resumed[name], original[name])
    initial = softmax_generator(seed=3)
    initial_values = Model(initial.cost(outputs, mask)).get_parameter_values()
    assert any((initial_values[name] != original[name]).any()
               for name in original)


def test_an_abstract_emitter_names_what_it_lacks():
    emitter = AbstractEmitter(name='emitter')
    with pytest.raises(NotImplementedError,
                       match='^/emitter: AbstractEmitter does not implement '
                             'emit$'):
        emitter.emit(pt.matrix('readouts'))
