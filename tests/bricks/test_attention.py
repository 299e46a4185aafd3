import pickle

import numpy
import pytensor
import pytensor.tensor as pt
import pytest

from blocks.compilation import compile_function
from blocks.bricks import Identity, Tanh
from blocks.bricks.attention import (AttentionRecurrent,
                                     GenericSequenceAttention,
                                     SequenceContentAttention,
                                     ShallowEnergyComputer)
from blocks.bricks.recurrent import SimpleRecurrent
from blocks.initialization import IsotropicGaussian

floatX = pytensor.config.floatX
T_A, BATCH, STATE, ATTENDED, MATCH = 5, 3, 2, 3, 4


@pytest.fixture(scope='module')
def attention():
    brick = SequenceContentAttention(
        state_names=['states'], state_dims=[STATE], attended_dim=ATTENDED,
        match_dim=MATCH, weights_init=IsotropicGaussian(0.5),
        biases_init=IsotropicGaussian(0.5), seed=3)
    brick.initialize()
    return brick


@pytest.fixture(scope='module')
def glimpse_function(attention):
    states, attended = pt.matrix('states'), pt.tensor3('attended')
    mask = pt.matrix('mask')
    outputs = attention.take_glimpses(attended, attended_mask=mask,
                                      states=states)
    return compile_function([states, attended, mask], outputs)


def attended_values(rng):
    mask = numpy.ones((T_A, BATCH), dtype=floatX)
    mask[3:, 1] = 0  # example 1 has 3 positions
    mask[:, 2] = 0  # example 2 has none
    return (rng.randn(BATCH, STATE).astype(floatX),
            rng.randn(T_A, BATCH, ATTENDED).astype(floatX), mask)


def numpy_content_attention(attention, states, attended, mask):
    """Energies ``v . tanh(A W_a + b + s U)``, softmax over the unmasked
    positions; returns (weighted averages, weights (batch, T_a))."""
    preprocess = attention.attended_transformer
    matched = (attended.dot(preprocess.W.get_value()) +
               preprocess.b.get_value() +
               states.dot(attention.state_transformers.transforms[0]
                          .W.get_value()))
    energies = numpy.tanh(matched).dot(
        attention.energy_computer.children[1].W.get_value())[..., 0]
    weights = numpy.zeros_like(energies)
    for example in range(energies.shape[1]):
        kept = mask[:, example] == 1
        if kept.any():
            exps = numpy.exp(energies[kept, example])
            weights[kept, example] = exps / exps.sum()
    return (weights[:, :, None] * attended).sum(axis=0), weights.T


def test_glimpses_match_numpy(attention, glimpse_function):
    states, attended, mask = attended_values(numpy.random.RandomState(1))
    averages, weights = glimpse_function(states, attended, mask)
    assert averages.shape == (BATCH, ATTENDED)
    assert weights.shape == (BATCH, T_A)
    expected_averages, expected_weights = numpy_content_attention(
        attention, states, attended, mask)
    numpy.testing.assert_allclose(weights, expected_weights, rtol=1e-5)
    numpy.testing.assert_allclose(averages, expected_averages, rtol=1e-5,
                                  atol=1e-7)


def test_weights_sum_to_one_over_unmasked_positions(glimpse_function):
    states, attended, mask = attended_values(numpy.random.RandomState(2))
    _, weights = glimpse_function(states, attended, mask)
    numpy.testing.assert_allclose(weights[:2].sum(axis=1), [1, 1],
                                  rtol=1e-6)
    assert (weights[mask.T == 0] == 0).all()
    assert (weights[mask.T == 1] > 0).all()
    # The fully masked example gets finite zero weights and glimpse.
    assert numpy.isfinite(weights).all()
    assert (weights[2] == 0).all()


def test_compute_weights_is_stable_and_takes_no_mask():
    energies, mask = pt.matrix('energies'), pt.matrix('mask')
    compute = compile_function(
        [energies, mask],
        GenericSequenceAttention.compute_weights(energies, mask))
    large = numpy.array([[800., -790.], [850., -750.]], dtype=floatX)
    weights = compute(large, numpy.ones((2, 2), dtype=floatX))
    assert numpy.isfinite(weights).all()
    numpy.testing.assert_allclose(weights.sum(axis=0), [1, 1], rtol=1e-6)
    zero_mask = compute(large, numpy.zeros((2, 2), dtype=floatX))
    assert (zero_mask == 0).all()
    unmasked = GenericSequenceAttention.compute_weights(energies, None)
    values = unmasked.eval({energies: numpy.zeros((4, 1), dtype=floatX)})
    numpy.testing.assert_allclose(values, numpy.full((4, 1), 0.25))


def test_attention_names_dims_and_errors(attention):
    assert attention.take_glimpses.outputs == ['weighted_averages',
                                               'weights']
    assert attention.take_glimpses.inputs == [
        'attended', 'preprocessed_attended', 'attended_mask', 'states']
    assert [attention.get_dim(name) for name in
            ('weighted_averages', 'weights', 'attended', 'attended_mask',
             'preprocessed_attended')] == [ATTENDED, 0, ATTENDED, 0,
                                           ATTENDED]
    with pytest.raises(ValueError, match='needs state_names'):
        SequenceContentAttention(match_dim=3)
    with pytest.raises(ValueError, match=r'/sequencecontentattention: '
                       r"take_glimpses expected the states \['states'\]"):
        attention.take_glimpses(pt.tensor3(), cells=pt.matrix())


def test_shallow_energy_computer_proxies_its_linear():
    computer = ShallowEnergyComputer(input_dim=3, output_dim=1)
    linear = computer.children[1]
    assert (linear.input_dim, linear.output_dim, linear.use_bias) == \
        (3, 1, False)
    computer.input_dim = 5
    assert linear.input_dim == computer.input_dim == 5
    assert ShallowEnergyComputer(use_bias=True).children[1].use_bias


DIM, STEPS = 3, 4


@pytest.fixture(scope='module')
def attention_recurrent():
    transition = SimpleRecurrent(dim=DIM, activation=Tanh())
    attention = SequenceContentAttention(
        state_names=transition.apply.states, attended_dim=ATTENDED,
        match_dim=MATCH)
    brick = AttentionRecurrent(transition, attention,
                               weights_init=IsotropicGaussian(0.5),
                               biases_init=IsotropicGaussian(0.5), seed=5)
    brick.initialize()
    # A non-zero initial state makes the first glimpse depend on it.
    transition.parameters[1].set_value(
        numpy.array([0.3, -0.2, 0.5], dtype=floatX))
    return brick


def recurrent_values(rng):
    _, attended, attended_mask = attended_values(rng)
    inputs = rng.randn(STEPS, BATCH, DIM).astype(floatX)
    mask = numpy.ones((STEPS, BATCH), dtype=floatX)
    mask[2:, 0] = 0  # example 0 has 2 steps
    return inputs, mask, attended, attended_mask


def numpy_attention_recurrent(brick, inputs, mask, attended, attended_mask):
    """Glimpses from the previous states, then the new states from the
    inputs plus the distributed glimpse; masked steps keep the states."""
    transition, attention = brick.transition, brick.attention
    W = transition.parameters[0].get_value()
    distribute = brick.distribute.transforms[0].W.get_value()
    state = numpy.tile(transition.parameters[1].get_value(), (BATCH, 1))
    all_states, all_averages, all_weights = [], [], []
    for step in range(STEPS):
        averages, weights = numpy_content_attention(
            attention, state, attended, attended_mask)
        new = numpy.tanh(inputs[step] + averages.dot(distribute) +
                         state.dot(W))
        step_mask = mask[step][:, None]
        state = step_mask * new + (1 - step_mask) * state
        all_states.append(state)
        all_averages.append(averages)
        all_weights.append(weights)
    return [numpy.array(values)
            for values in (all_states, all_averages, all_weights)]


def test_attention_recurrent_matches_numpy(attention_recurrent):
    brick = attention_recurrent
    inputs, mask = pt.tensor3('inputs'), pt.matrix('mask')
    attended, attended_mask = pt.tensor3('attended'), pt.matrix('amask')
    outputs = brick.apply(inputs=inputs, mask=mask, attended=attended,
                          attended_mask=attended_mask)
    assert [output.tag.name for output in outputs] == [
        'states', 'weighted_averages', 'weights']
    values = recurrent_values(numpy.random.RandomState(4))
    computed = compile_function([inputs, mask, attended, attended_mask],
                                 outputs)(*values)
    assert [value.shape for value in computed] == [
        (STEPS, BATCH, DIM), (STEPS, BATCH, ATTENDED), (STEPS, BATCH, T_A)]
    for value, expected in zip(computed,
                               numpy_attention_recurrent(brick, *values)):
        numpy.testing.assert_allclose(value, expected, rtol=1e-5,
                                      atol=1e-7)
    states, _, weights = computed
    # After its input ends, example 0 keeps its state and so its weights.
    numpy.testing.assert_allclose(states[3, 0], states[1, 0])
    numpy.testing.assert_allclose(weights[3, 0], weights[2, 0])
    assert (weights[:, 1, 3:] == 0).all()


def test_attention_recurrent_names_dims_and_children(attention_recurrent):
    brick = attention_recurrent
    assert brick.apply.contexts == ['attended', 'attended_mask']
    assert brick.do_apply.contexts == ['attended', 'attended_mask',
                                       'preprocessed_attended']
    assert brick.do_apply.states == ['states', 'weighted_averages',
                                     'weights']
    assert brick.take_glimpses.outputs == ['weighted_averages', 'weights']
    assert brick.compute_states.outputs == ['states']
    assert brick.previous_glimpses_needed == []
    assert [brick.get_dim(name) for name in
            ('states', 'weighted_averages', 'weights', 'attended',
             'attended_mask', 'preprocessed_attended')] == [
                 DIM, ATTENDED, 0, ATTENDED, 0, ATTENDED]
    assert brick.distribute.target_names == ['inputs']
    assert brick.distribute.source_name == 'weighted_averages'
    assert [child.name for child in brick.children] == [
        'simplerecurrent', 'sequencecontentattention', 'distribute']


def test_attention_recurrent_without_added_contexts():
    transition = SimpleRecurrent(dim=DIM, activation=Identity())
    attention = SequenceContentAttention(
        state_names=['states'], attended_dim=ATTENDED, match_dim=MATCH)
    with pytest.raises(ValueError, match='first two contexts'):
        AttentionRecurrent(transition, attention, add_contexts=False)


def test_attention_bricks_pickle(attention_recurrent, glimpse_function):
    copy = pickle.loads(pickle.dumps(attention_recurrent))
    inputs, attended = pt.tensor3('inputs'), pt.tensor3('attended')
    attended_mask = pt.matrix('amask')
    states = copy.apply(inputs=inputs, attended=attended,
                        attended_mask=attended_mask)[0]
    original = attention_recurrent.apply(
        inputs=inputs, attended=attended, attended_mask=attended_mask)[0]
    values, mask, attended_value, attended_mask_value = recurrent_values(
        numpy.random.RandomState(6))
    function = compile_function([inputs, attended, attended_mask],
                                 [states, original])
    copied, expected = function(values, attended_value, attended_mask_value)
    numpy.testing.assert_allclose(copied, expected)
    energy = pickle.loads(pickle.dumps(ShallowEnergyComputer(input_dim=2)))
    assert energy.input_dim == 2
