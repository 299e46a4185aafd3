"""Recurrent bricks: the loop of ``@recurrent`` and the cells, checked
against NumPy loops written from the equations."""
import logging
import pickle

import numpy
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.gradient import verify_grad
from pytensor.graph.traversal import ancestors
from pytensor.scan.op import Scan

from blocks.bricks import Identity, Linear, Tanh
from blocks.compilation import compile_function, default_mode
from blocks.bricks.recurrent import (BaseRecurrent, Bidirectional,
                                     GatedRecurrent, LSTM, RecurrentStack,
                                     SimpleRecurrent, recurrent)
from blocks.filter import VariableFilter
from blocks.graph import ComputationGraph
from blocks.initialization import (Constant, Identity as IdentityInit,
                                   IsotropicGaussian, Orthogonal)
from blocks.ops.scan_shapes import ShapeInferringScan
from blocks.roles import INITIAL_STATE, WEIGHT, has_roles
from blocks.utils.random_streams import RandomStream

FLOATX = pytensor.config.floatX
TOLERANCE = dict(rtol=1e-5, atol=1e-7) if FLOATX == 'float64' else \
    dict(rtol=1e-4, atol=1e-5)


def evaluate(outputs, givens=None):
    """Compile with blocks' mode (PyTensor's default, Numba, takes minutes
    to compile a scan) and run once."""
    givens = givens or {}
    return compile_function(list(givens), outputs)(*givens.values())


def scans(variable):
    return [var.owner.op for var in ancestors([variable])
            if var.owner is not None and isinstance(var.owner.op, Scan)]


def sigmoid(x):
    return 1 / (1 + numpy.exp(-x))


def numpy_loop(step, sequences, states, mask=None, reverse=False):
    """Run `step(elements, states) -> states` over the time axis of the
    arrays in `sequences`, with Blocks' mask rule; returns the stacked
    states (one array per state) in processing order."""
    steps = range(len(sequences[0]))
    if reverse:
        steps = reversed(steps)
    history = [[] for _ in states]
    for t in steps:
        new = step([sequence[t] for sequence in sequences], states)
        if mask is not None:
            keep = mask[t][:, None]
            new = [keep * n + (1 - keep) * s for n, s in zip(new, states)]
        states = new
        for record, state in zip(history, states):
            record.append(state)
    return [numpy.stack(record) for record in history]


def simple_step(W):
    def step(elements, states):
        (x,), (h,) = elements, states
        return [numpy.tanh(x + h.dot(W))]
    return step


def lstm_step(W, w_in, w_forget, w_out):
    dim = W.shape[0]

    def step(elements, states):
        (x,), (h, c) = elements, states
        a = x + h.dot(W)
        i = sigmoid(a[:, :dim] + c * w_in)
        f = sigmoid(a[:, dim:2 * dim] + c * w_forget)
        c_new = f * c + i * numpy.tanh(a[:, 2 * dim:3 * dim])
        o = sigmoid(a[:, 3 * dim:] + c_new * w_out)
        return [o * numpy.tanh(c_new), c_new]
    return step


def gru_step(state_to_state, state_to_gates):
    dim = state_to_state.shape[0]

    def step(elements, states):
        (x,), (h,) = elements, states
        gates = sigmoid(h.dot(state_to_gates) + x[:, dim:])
        update, reset = gates[:, :dim], gates[:, dim:]
        candidate = numpy.tanh((reset * h).dot(state_to_state) + x[:, :dim])
        return [update * candidate + (1 - update) * h]
    return step


def sequences_of(brick, x):
    """The input sequences of a cell cut from one array of features (the
    GRU's inputs and gate inputs side by side)."""
    if isinstance(brick, GatedRecurrent):
        return {'inputs': x[..., :brick.dim],
                'gate_inputs': x[..., brick.dim:]}
    return {'inputs': x}


def input_width(brick):
    return sum(brick.get_dim(name) for name in brick.apply.sequences
               if name != 'mask')


def values(brick):
    return [p.get_value() for p in brick.parameters]


def randomize_initial_states(brick, rng):
    for parameter in brick.parameters:
        if has_roles(parameter, [INITIAL_STATE]):
            parameter.set_value(rng.normal(
                size=parameter.get_value().shape).astype(FLOATX))


# --- the loop itself, on a brick written for the tests ---------------------

class Accumulator(BaseRecurrent):
    """Two states updated at different rates and a non-state output; the
    outputs are declared in another order than the states."""
    @recurrent(sequences=['inputs', 'mask'], states=['total', 'half_count'],
               outputs=['scaled', 'half_count', 'total'], contexts=[])
    def apply(self, inputs, total=None, half_count=None, mask=None):
        new_total = total + inputs
        return 10 * new_total, half_count + 0.5, new_total

    def get_dim(self, name):
        if name in ('inputs', 'total', 'half_count', 'scaled'):
            return 1
        if name == 'mask':
            return 0
        return super().get_dim(name)


def test_states_and_outputs_are_matched_by_name():
    x = pt.tensor3('x')
    scaled, half_count, total = Accumulator().apply(x)
    ones = numpy.ones((5, 1, 1), dtype=FLOATX)
    function = compile_function([x], [scaled, half_count, total])
    scaled, half_count, total = function(ones)
    steps = numpy.arange(1, 6)[:, None, None]
    numpy.testing.assert_allclose(total, steps)
    numpy.testing.assert_allclose(half_count, 0.5 * steps)
    numpy.testing.assert_allclose(scaled, 10 * steps)


def test_return_initial_states_only_prepends_to_states():
    x = pt.tensor3('x')
    outputs = Accumulator().apply(x, return_initial_states=True,
                                  as_dict=True)
    function = compile_function([x], list(outputs.values()))
    scaled, half_count, total = function(
        numpy.ones((3, 5, 1), dtype=FLOATX))
    assert scaled.shape == (3, 5, 1)
    assert half_count.shape == total.shape == (4, 5, 1)
    numpy.testing.assert_allclose(scaled[0], 10)
    numpy.testing.assert_allclose(total[0], 0)
    numpy.testing.assert_allclose(total[1:, :, 0], [[1] * 5, [2] * 5,
                                                    [3] * 5])


class TwoMethods(BaseRecurrent):
    """``initial_states`` only knows the states of ``apply``."""
    @recurrent(sequences=[], states=['states'], outputs=['states'],
               contexts=[])
    def apply(self, states):
        return states + 1

    @recurrent(sequences=[], states=['other'], outputs=['other'],
               contexts=[])
    def count(self, other):
        return other + 1

    def get_dim(self, name):
        return 2 if name in ('states', 'other') else super().get_dim(name)


def test_state_without_initial_value_is_a_key_error():
    brick = TwoMethods()
    states = brick.apply(n_steps=3, batch_size=5)
    assert evaluate(states).shape == (3, 5, 2)
    with pytest.raises(KeyError, match="no initial state for 'other' of the "
                       "brick /twomethods"):
        brick.count(n_steps=3, batch_size=5)


def test_without_sequences_n_steps_and_batch_size_are_required():
    with pytest.raises(ValueError, match='/twomethods: apply was given no '
                       'sequence, so it needs n_steps and batch_size; got '
                       'n_steps=3, batch_size=None'):
        TwoMethods().apply(n_steps=3)


def test_a_python_batch_size_of_one_makes_no_broadcastable_state():
    # The initial states must not be broadcastable (Theano issue 1772):
    # a state of static shape (1, dim) must still work.
    states = TwoMethods().apply(n_steps=2, batch_size=1)
    numpy.testing.assert_allclose(evaluate(states), [[[1, 1]], [[2, 2]]])


class Noisy(BaseRecurrent):
    """A step that draws random numbers and reads a context."""
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.stream = RandomStream(3)

    @recurrent(sequences=['inputs'], states=['states'], outputs=['states'],
               contexts=['offset'])
    def apply(self, inputs, states, offset, scale=None):
        noise = self.stream.uniform(0, 1, size=states.shape)
        return states + inputs + offset * scale + 0 * noise

    def get_dim(self, name):
        return 2 if name in ('inputs', 'states') else super().get_dim(name)


def test_scan_updates_contexts_and_the_inner_graph_are_recorded(caplog):
    x, offset = pt.tensor3('x'), pt.matrix('offset')
    brick = Noisy()
    scale = pytensor.shared(numpy.asarray(2, dtype=FLOATX), name='scale')
    with caplog.at_level(logging.WARNING):
        states = brick.apply(x, offset=offset, scale=scale)
    assert not caplog.records
    assert [op.name for op in scans(states)] == ['noisy_apply_scan']
    # the gradient of a deep stack infers its shapes layer by layer
    assert isinstance(scans(states)[0], ShapeInferringScan)
    call = states.tag.annotations[-1]
    assert len(call.updates) == 1
    assert len(call.inner_inputs) == 3  # the input, the state, the context
    assert call.inner_outputs[0].name == 'noisy_apply_states'
    value = evaluate(states, {x: numpy.ones((2, 3, 2), dtype=FLOATX),
                         offset: numpy.ones((3, 2), dtype=FLOATX)})
    numpy.testing.assert_allclose(value[:, 0, 0], [3, 6])


def test_non_shared_variable_not_given_to_scan_is_warned_about(caplog):
    x, offset, scale = pt.tensor3('x'), pt.matrix('o'), pt.scalar('scale')
    with caplog.at_level(logging.WARNING):
        Noisy().apply(x, offset=offset, scale=scale)
    assert 'unknown input scale' in caplog.text
    assert 'contexts' in caplog.text


def test_step_graph_is_the_same_as_one_step_alone():
    rnn = SimpleRecurrent(dim=2, activation=Tanh(), weights_init=Constant(1))
    rnn.initialize()
    x = pt.tensor3('x')
    states = rnn.apply(x)
    call = states.tag.annotations[-1]
    inner_x, inner_h = call.inner_inputs
    step = rnn.apply(inner_x, inner_h, iterate=False)
    assert pytensor.graph.basic.equal_computations(
        call.inner_outputs, [step])
    # the variables of the step are found by the computation graph
    inner = ComputationGraph(call.inner_outputs)
    assert VariableFilter(roles=[WEIGHT])(inner) == [rnn.W]


def test_decorator_needs_keywords_or_nothing():
    with pytest.raises(TypeError, match='not both positional and keyword'):
        recurrent(lambda self: None, states=['states'])


class Subclass(SimpleRecurrent):
    """Blocks #475: overriding the recurrent apply with an extra context
    and delegating one step to the parent's."""
    @recurrent(sequences=['inputs', 'mask'], states=['states'],
               outputs=['states'], contexts=['shift'])
    def apply(self, inputs, states, shift, mask=None):
        return SimpleRecurrent.apply(self, inputs + shift, states, mask=mask,
                                     iterate=False)


def test_subclass_can_reuse_the_parent_step():
    brick = Subclass(dim=1, activation=Identity(),
                     weights_init=IdentityInit())
    brick.initialize()
    x, shift = pt.tensor3('x'), pt.matrix('shift')
    states = brick.apply(x, shift=shift)
    value = evaluate(states, {x: numpy.ones((3, 1, 1), dtype=FLOATX),
                         shift: numpy.ones((1, 1), dtype=FLOATX)})
    numpy.testing.assert_allclose(value[:, 0, 0], [2, 4, 6])


# --- SimpleRecurrent and LSTM against NumPy --------------------------------

T, B = 4, 3
MASK = numpy.array([[1, 1, 1], [1, 1, 0], [1, 0, 0], [1, 1, 0]],
                   dtype=FLOATX)


def build(brick_class, dim, seed):
    brick = brick_class(dim=dim, weights_init=IsotropicGaussian(0.5),
                        seed=seed, **({'activation': Tanh()}
                                      if brick_class is SimpleRecurrent
                                      else {}))
    brick.initialize()
    randomize_initial_states(brick, numpy.random.RandomState(seed))
    return brick


def compile_cell(brick):
    """One function giving, for inputs x, a mask and initial states: the
    masked loop from the given states, the reversed masked loop from the
    trainable initial states, the loop with return_initial_states, and
    one step."""
    x, mask = pt.tensor3('x'), pt.matrix('mask')
    state_names = brick.apply.states
    given = [pt.matrix(name) for name in state_names]
    forward = brick.apply(mask=mask, as_list=True,
                          **dict(zip(state_names, given)),
                          **sequences_of(brick, x))
    backward = brick.apply(mask=mask, reverse=True, as_list=True,
                           **sequences_of(brick, x))
    with_initial = brick.apply(return_initial_states=True, as_list=True,
                               **sequences_of(brick, x))
    step = brick.apply(mask=mask[0], iterate=False, as_list=True,
                       **dict(zip(state_names, given)),
                       **sequences_of(brick, x[0]))
    return compile_function([x, mask] + given,
                             forward + backward + with_initial + step)


@pytest.fixture(scope='module')
def simple():
    brick = build(SimpleRecurrent, 3, seed=1)
    return brick, compile_cell(brick)


@pytest.fixture(scope='module')
def lstm():
    brick = build(LSTM, 2, seed=2)
    return brick, compile_cell(brick)


@pytest.fixture(scope='module')
def gru():
    brick = build(GatedRecurrent, 2, seed=3)
    return brick, compile_cell(brick)


def check_cell(brick, function, step):
    n_states = len(brick.apply.states)
    rng = numpy.random.RandomState(0)
    x = rng.normal(size=(T, B, input_width(brick))).astype(FLOATX)
    given = [rng.normal(size=(B, brick.dim)).astype(FLOATX)
             for _ in range(n_states)]
    results = function(x, MASK, *given)
    forward = results[:n_states]
    backward = results[n_states:2 * n_states]
    with_initial = results[2 * n_states:3 * n_states]
    one_step = results[3 * n_states:]
    trainable = [numpy.tile(p.get_value(), (B, 1))
                 for p in brick.parameters if has_roles(p, [INITIAL_STATE])]
    for actual, expected in zip(forward, numpy_loop(step, [x], given,
                                                    MASK)):
        numpy.testing.assert_allclose(actual, expected, **TOLERANCE)
    for actual, expected in zip(backward, numpy_loop(
            step, [x], trainable, MASK, reverse=True)):
        numpy.testing.assert_allclose(actual, expected, **TOLERANCE)
    for actual, expected, initial in zip(
            with_initial, numpy_loop(step, [x], trainable), trainable):
        numpy.testing.assert_allclose(actual[0], initial, **TOLERANCE)
        numpy.testing.assert_allclose(actual[1:], expected, **TOLERANCE)
    for actual, expected in zip(one_step, numpy_loop(
            step, [x[:1]], given, MASK[:1])):
        numpy.testing.assert_allclose(actual, expected[0], **TOLERANCE)


def test_simple_recurrent_against_numpy(simple):
    brick, function = simple
    check_cell(brick, function, simple_step(brick.W.get_value()))


def test_lstm_against_numpy(lstm):
    brick, function = lstm
    check_cell(brick, function, lstm_step(*values(brick)[:4]))


def test_gated_recurrent_against_numpy(gru):
    brick, function = gru
    check_cell(brick, function, gru_step(*values(brick)[:2]))


def test_lstm_gate_order_and_output_peephole():
    # All weights 2 but one block of the input at a time made large
    # negative: each gate shuts in turn, in the order i, f, candidate, o.
    lstm = LSTM(dim=1, weights_init=Constant(2))
    lstm.initialize()
    x, h, c = pt.matrix('x'), pt.matrix('h'), pt.matrix('c')
    states, cells = lstm.apply(x, h, c, iterate=False)
    function = compile_function([x, h, c], [states, cells])
    h0 = numpy.array([[0.5]], dtype=FLOATX)
    c0 = numpy.array([[0.25]], dtype=FLOATX)
    for block in range(4):
        inputs = numpy.full((1, 4), 0.1, dtype=FLOATX)
        inputs[0, block] = -100
        expected = lstm_step(numpy.full((1, 4), 2.), *[numpy.full(1, 2.)] * 3)(
            [inputs], [h0, c0])
        for actual, wanted in zip(function(inputs, h0, c0), expected):
            numpy.testing.assert_allclose(actual, wanted, rtol=1e-6)
    # the output peephole reads the new cell: with the input gate shut
    # and the forget gate open, c_new = sigmoid(...) * c0, not c0
    inputs = numpy.array([[-100, 100, 0, 0]], dtype=FLOATX)
    states, cells = function(inputs, h0, c0)
    c_new = sigmoid(100 + 2 * 0.5 + 2 * 0.25) * 0.25
    numpy.testing.assert_allclose(cells, [[c_new]], rtol=1e-6)
    numpy.testing.assert_allclose(
        states, [[sigmoid(2 * 0.5 + 2 * c_new) * numpy.tanh(c_new)]],
        rtol=1e-6)


def test_parameters_and_roles():
    rnn = SimpleRecurrent(dim=3, activation=Tanh())
    rnn.allocate()
    assert [p.name for p in rnn.parameters] == ['W', 'initial_state']
    lstm = LSTM(dim=2)
    lstm.allocate()
    assert [p.name for p in lstm.parameters] == [
        'W_state', 'W_cell_to_in', 'W_cell_to_forget', 'W_cell_to_out',
        'initial_state', 'initial_cells']
    assert [p.get_value().shape for p in lstm.parameters] == [
        (2, 8), (2,), (2,), (2,), (2,), (2,)]
    assert lstm.initial_state_ is lstm.parameters[4]
    for brick, count in ((rnn, 1), (lstm, 2)):
        initial = [p for p in brick.parameters
                   if has_roles(p, [INITIAL_STATE])]
        assert len(initial) == count
        numpy.testing.assert_array_equal(initial[0].get_value(), 0)
    assert [type(child).__name__ for child in lstm.children] == [
        'Tanh', 'Logistic']
    assert lstm.get_dims(['inputs', 'states', 'cells', 'mask']) == [
        8, 2, 2, 0]


def test_lstm_initializes_its_peepholes_with_weights_init():
    lstm = LSTM(dim=2, weights_init=Orthogonal())
    with pytest.raises(ValueError, match='Orthogonal needs a shape with at '
                       'least 2 axes'):
        lstm.initialize()


@pytest.mark.parametrize('cell', ['simple', 'lstm', 'gru'])
def test_gradients(cell, request):
    brick = request.getfixturevalue(cell)[0]
    state_names = brick.apply.states
    rng = numpy.random.RandomState(1)
    x = rng.normal(size=(2, 2, input_width(brick)))
    h0 = [rng.normal(size=(2, brick.dim)) for _ in state_names]

    def cost(x, *states):
        outputs = brick.apply(mask=MASK[1:3, :2], as_list=True,
                              **dict(zip(state_names, states)),
                              **sequences_of(brick, x))
        return sum((output ** 2).sum() for output in outputs)
    verify_grad(cost, [x] + h0, rng=rng, mode=default_mode())


def test_trainable_initial_states_get_gradients(simple):
    brick = simple[0]
    x = pt.tensor3('x')
    cost = brick.apply(x).sum()
    gradient = pytensor.grad(cost, brick.initial_state)
    value = evaluate(gradient, {x: numpy.zeros((1, 2, 3), dtype=FLOATX)})
    h0 = brick.initial_state.get_value()
    expected = 2 * (1 - numpy.tanh(h0.dot(brick.W.get_value())) ** 2).dot(
        brick.W.get_value().T)
    numpy.testing.assert_allclose(value, expected, **TOLERANCE)


def test_cells_pickle(simple, lstm, gru):
    x = pt.tensor3('x')
    outputs, copies = [], []
    for brick, _ in (simple, lstm, gru):
        copy = pickle.loads(pickle.dumps(brick))
        copies.append(copy)
        assert [p.name for p in copy.parameters] == [
            p.name for p in brick.parameters]
        width = input_width(brick)
        outputs += [cell.apply(as_list=True,
                               **sequences_of(cell, x[:, :, :width]))[0]
                    for cell in (brick, copy)]
    results = compile_function([x], outputs)(
        numpy.ones((2, 1, 8), dtype=FLOATX))
    for original, copy in zip(results[::2], results[1::2]):
        numpy.testing.assert_allclose(copy, original)


def test_combinations_pickle():
    bidirectional = Bidirectional(LSTM(dim=2), weights_init=Constant(1))
    stack = RecurrentStack([LSTM(dim=2), GatedRecurrent(dim=2)],
                           weights_init=Constant(1), biases_init=Constant(0))
    for brick in (bidirectional, stack):
        brick.initialize()
        copy = pickle.loads(pickle.dumps(brick))
        assert copy.apply.outputs == brick.apply.outputs
        assert copy.get_dim('states') == brick.get_dim('states')
        x = pt.tensor3('x')
        outputs = copy.apply(x, as_list=True)
        assert len(outputs) == len(brick.apply.outputs)
        # so do the graphs, scans included (a checkpoint holds them)
        assert pickle.loads(pickle.dumps(outputs))[0].name == \
            outputs[0].name


def test_the_package_is_not_hidden_by_the_decorator():
    import blocks.bricks
    import blocks.bricks.recurrent.base
    assert blocks.bricks.recurrent.base.recurrent is recurrent
    assert blocks.bricks.LSTM is LSTM


# --- GatedRecurrent ---------------------------------------------------------

def test_gated_recurrent_layout():
    gru = GatedRecurrent(dim=2, weights_init=IdentityInit())
    gru.initialize()
    assert [p.name for p in gru.parameters] == [
        'state_to_state', 'state_to_gates', 'initial_state']
    assert gru.apply.sequences == ['mask', 'inputs', 'gate_inputs']
    assert gru.get_dims(['inputs', 'gate_inputs', 'states', 'mask']) == [
        2, 4, 2, 0]
    # two square blocks side by side, not one (2, 4) draw
    numpy.testing.assert_array_equal(gru.state_to_gates.get_value(),
                                     numpy.hstack([numpy.eye(2)] * 2))
    numpy.testing.assert_array_equal(gru.initial_state.get_value(), 0)


# --- Bidirectional ----------------------------------------------------------

def test_bidirectional_halves():
    bidirectional = Bidirectional(SimpleRecurrent(dim=3, activation=Tanh()),
                                  weights_init=IsotropicGaussian(0.5),
                                  seed=4)
    bidirectional.initialize()
    forward, backward = bidirectional.children
    assert (forward.name, backward.name) == ('forward', 'backward')
    assert bidirectional.apply.outputs == ['states']
    assert bidirectional.get_dims(['states', 'inputs']) == [6, 3]
    x, mask = pt.tensor3('x'), pt.matrix('mask')
    value = numpy.random.RandomState(5).normal(size=(T, B, 3)).astype(FLOATX)
    result = compile_function([x, mask], bidirectional.apply(x, mask=mask))(
        value, MASK)
    assert result.shape == (T, B, 6)
    zeros = [numpy.zeros((B, 3))]
    (ahead,) = numpy_loop(simple_step(forward.W.get_value()), [value], zeros,
                          MASK)
    (behind,) = numpy_loop(simple_step(backward.W.get_value()), [value],
                           zeros, MASK, reverse=True)
    numpy.testing.assert_allclose(result[..., :3], ahead, **TOLERANCE)
    numpy.testing.assert_allclose(result[..., 3:], behind[::-1], **TOLERANCE)
    # padding at the end leaves the backward state at its initial value
    numpy.testing.assert_allclose(result[3, 2, 3:], 0)


def test_bidirectional_lstm_concatenates_states_and_cells():
    bidirectional = Bidirectional(LSTM(dim=2))
    assert bidirectional.apply.outputs == ['states', 'cells']
    assert bidirectional.get_dims(['states', 'cells', 'inputs']) == [4, 4, 8]
    states, cells = bidirectional.apply(pt.tensor3('x', shape=(3, 1, 8)))
    assert states.name == 'bidirectional_apply_states'
    # a prototype configured afterwards changes neither copy
    bidirectional.prototype.dim = 5
    assert bidirectional.children[0].dim == 2


# --- RecurrentStack ---------------------------------------------------------

def test_suffix_rules():
    assert RecurrentStack.suffix('mask', 3) == 'mask'
    assert RecurrentStack.suffix('states', 0) == 'states'
    assert RecurrentStack.suffix('states', 2) == 'states#2'
    assert RecurrentStack.suffixes(['inputs', 'mask'], 1) == ['inputs#1']
    assert RecurrentStack.split_suffix('x#3#7') == ('x#3', 7)
    assert RecurrentStack.split_suffix('x#') == ('x#', 0)
    assert RecurrentStack.split_suffix('#5') == ('', 5)
    assert RecurrentStack.split_suffix('x#a') == ('x#a', 0)
    assert RecurrentStack.split_suffix('states') == ('states', 0)


def lstm_stack(skip_connections, depth=3, dim=2, seed=6):
    stack = RecurrentStack([LSTM(dim=dim) for _ in range(depth)],
                           skip_connections=skip_connections,
                           weights_init=IsotropicGaussian(0.5),
                           biases_init=Constant(0.1), seed=seed)
    stack.initialize()
    for transition in stack.transitions:
        randomize_initial_states(transition, numpy.random.RandomState(seed))
    return stack


def test_stack_names_and_dims():
    plain, skipping = lstm_stack(False), lstm_stack(True)
    states = ['states', 'cells', 'states#1', 'cells#1', 'states#2',
              'cells#2']
    for stack in (plain, skipping):
        assert stack.apply.states == stack.apply.outputs == states
        assert stack.low_memory_apply.states == states
        assert stack.initial_states.outputs == states
        assert stack.apply.contexts == []
        assert [t.name for t in stack.transitions] == [
            'lstm#0', 'lstm#1', 'lstm#2']
        assert [f.name for f in stack.forks] == ['fork_1', 'fork_2']
        assert stack.forks[0].output_names == ['inputs']
        assert stack.get_dims(['inputs', 'inputs#2', 'states#1', 'mask']) \
            == [8, 8, 2, 0]
        assert stack.forks[1].input_dim == 2
        assert stack.forks[1].output_dims == [8]
    assert plain.apply.sequences == ['inputs', 'mask']
    assert skipping.apply.sequences == ['inputs', 'inputs#1', 'inputs#2',
                                        'mask']
    assert plain.forks[0].transforms[0].use_bias
    assert not skipping.forks[0].transforms[0].use_bias


def stack_reference(stack, inputs, mask):
    """Layer by layer in NumPy: each layer above the bottom reads the fork
    of the states below, plus its own input with skip connections."""
    results, below = [], None
    for level, transition in enumerate(stack.transitions):
        external = inputs[level] if level == 0 or stack.skip_connections \
            else 0
        if level > 0:
            linear = stack.forks[level - 1].transforms[0]
            external = external + below.dot(linear.W.get_value())
            if linear.use_bias:
                external = external + linear.b.get_value()
        initial = [numpy.tile(p.get_value(), (B, 1))
                   for p in transition.parameters[4:]]
        outputs = numpy_loop(lstm_step(*values(transition)[:4]),
                             [external], initial, mask)
        results += outputs
        below = outputs[0]
    return results


@pytest.mark.parametrize('skip_connections', [False, True])
def test_stack_against_numpy_in_both_memory_modes(skip_connections):
    stack = lstm_stack(skip_connections, depth=2)
    names = stack.apply.sequences[:-1]
    xs = [pt.tensor3(name) for name in names]
    mask = pt.matrix('mask')
    kwargs = dict(zip(names, xs), mask=mask)
    outputs = (stack.apply(as_list=True, **kwargs) +
               stack.apply(low_memory=True, as_list=True, **kwargs))
    rng = numpy.random.RandomState(7)
    inputs = [rng.normal(size=(T, B, 8)).astype(FLOATX) for _ in names]
    results = compile_function(xs + [mask], outputs)(*inputs, MASK)
    expected = stack_reference(stack, inputs, MASK)
    separate, together = results[:4], results[4:]
    for one, other, wanted in zip(separate, together, expected):
        numpy.testing.assert_allclose(one, wanted, **TOLERANCE)
        numpy.testing.assert_allclose(other, wanted, **TOLERANCE)


def test_stack_with_initial_states_and_one_step():
    stack = lstm_stack(False, depth=2)
    x = pt.tensor3('x')
    with_initial = stack.apply(x, return_initial_states=True, as_list=True)
    h = [pt.matrix(name) for name in stack.apply.states]
    step = stack.apply(x[0], iterate=False, as_list=True,
                       **dict(zip(stack.apply.states, h)))
    rng = numpy.random.RandomState(8)
    value = rng.normal(size=(T, B, 8)).astype(FLOATX)
    previous = [rng.normal(size=(B, 2)).astype(FLOATX) for _ in h]
    results = compile_function([x] + h, with_initial + step)(value, *previous)
    expected = stack_reference(stack, [value], None)
    for actual, wanted, transition_state in zip(
            results[:4], expected, [p for t in stack.transitions
                                    for p in t.parameters[4:]]):
        numpy.testing.assert_allclose(actual[0], numpy.tile(
            transition_state.get_value(), (B, 1)), **TOLERANCE)
        numpy.testing.assert_allclose(actual[1:], wanted, **TOLERANCE)
    bottom = lstm_step(*values(stack.transitions[0])[:4])([value[0]],
                                                           previous[:2])
    linear = stack.forks[0].transforms[0]
    top_input = bottom[0].dot(linear.W.get_value()) + linear.b.get_value()
    top = lstm_step(*values(stack.transitions[1])[:4])([top_input],
                                                        previous[2:])
    for actual, wanted in zip(results[4:], bottom + top):
        numpy.testing.assert_allclose(actual, wanted, **TOLERANCE)


def test_stack_cannot_run_in_reverse():
    stack = RecurrentStack([SimpleRecurrent(dim=2, activation=Tanh())
                            for _ in range(2)], name='stack')
    with pytest.raises(NotImplementedError, match='/stack: a stack cannot '
                       'run in reverse'):
        stack.apply(pt.tensor3('x'), reverse=True)


# --- errors ----------------------------------------------------------------

def test_input_of_the_wrong_ndim():
    rnn = SimpleRecurrent(dim=3, activation=Tanh(), name='rnn')
    with pytest.raises(ValueError, match=r'/rnn: inputs expected a tensor '
                       r'with ndim 3 and shape \(\?, \?, 3\), got float64 '
                       r'tensor x of shape \(None, 3\)'.replace(
                           'float64', FLOATX)):
        rnn.apply(pt.matrix('x', shape=(None, 3)))
    with pytest.raises(ValueError, match=r'/rnn: inputs expected .* shape '
                       r'\(\?, \?, 3\), got .* of shape \(None, None, 4\)'):
        rnn.apply(pt.tensor3('x', shape=(None, None, 4)))


def test_mask_of_the_wrong_shape():
    lstm = LSTM(dim=2, name='lstm')
    x = pt.tensor3('x', shape=(5, 3, 8))
    with pytest.raises(ValueError, match=r'/lstm: mask expected a tensor '
                       r'with ndim 2, got .* mask of shape \(5, 3, 1\)'):
        lstm.apply(x, mask=pt.tensor3('mask', shape=(5, 3, 1)))
    with pytest.raises(ValueError, match=r'/lstm: sequence mask expected 3 '
                       r'examples \(from inputs\), got shape \(5, 4\)'):
        lstm.apply(x, mask=pt.matrix('mask', shape=(5, 4)))
    with pytest.raises(ValueError, match=r'/lstm: sequence mask expected 5 '
                       r'steps \(from inputs\), got shape \(6, 3\)'):
        lstm.apply(x, mask=pt.matrix('mask', shape=(6, 3)))


def test_missing_sequence():
    gru = GatedRecurrent(dim=2, name='gru')
    with pytest.raises(TypeError, match='/gru: apply needs gate_inputs, '
                       'which was not given'):
        gru.apply(pt.tensor3('x'))


def test_state_that_does_not_match():
    lstm = LSTM(dim=2, name='lstm')
    x = pt.tensor3('x', shape=(5, 3, 8))
    with pytest.raises(ValueError, match=r'/lstm: cells expected a tensor '
                       r'with ndim 2 and shape \(\?, 2\), got .* c of shape '
                       r'\(3, 4\)'):
        lstm.apply(x, cells=pt.matrix('c', shape=(3, 4)))
    with pytest.raises(ValueError, match=r'/lstm: state states expected 3 '
                       r'examples \(from inputs\), got shape \(2, 2\)'):
        lstm.apply(x, states=pt.matrix('h', shape=(2, 2)))


# --- docs/rnn.rst ----------------------------------------------------------

def test_rnn_tutorial_simple_recurrent():
    x, h0 = pt.tensor3('x'), pt.matrix('h0')
    rnn = SimpleRecurrent(dim=3, activation=Identity(),
                          weights_init=IdentityInit())
    rnn.initialize()
    doubler = Linear(input_dim=3, output_dim=3,
                     weights_init=IdentityInit(2), biases_init=Constant(0))
    doubler.initialize()
    ones = numpy.ones((3, 1, 3), dtype=FLOATX)
    function = compile_function(
        [x, h0], [rnn.apply(x), rnn.apply(doubler.apply(x)),
                  rnn.apply(x, states=h0)])
    plain, doubled, from_h0 = function(ones, ones[0])
    numpy.testing.assert_allclose(plain[:, 0, 0], [1, 2, 3])
    numpy.testing.assert_allclose(doubled[:, 0, 0], [2, 4, 6])
    numpy.testing.assert_allclose(from_h0[:, 0, 0], [2, 3, 4])


class FeedbackRNN(BaseRecurrent):
    """The tutorial's two layers; the first also reads the second's
    previous state."""
    def __init__(self, dim, **kwargs):
        super().__init__(**kwargs)
        self.dim = dim
        self.first = SimpleRecurrent(dim=dim, activation=Identity(),
                                     name='first_recurrent_layer',
                                     weights_init=IdentityInit())
        self.second = SimpleRecurrent(dim=dim, activation=Identity(),
                                      name='second_recurrent_layer',
                                      weights_init=IdentityInit())
        self.children = [self.first, self.second]

    @recurrent(sequences=['inputs'], contexts=[],
               states=['first_states', 'second_states'],
               outputs=['first_states', 'second_states'])
    def apply(self, inputs, first_states=None, second_states=None):
        # the second layer's previous state feeds the first layer too
        first_h = self.first.apply(inputs=inputs,
                                   states=first_states + second_states,
                                   iterate=False)
        second_h = self.second.apply(inputs=first_h, states=second_states,
                                     iterate=False)
        return first_h, second_h

    def get_dim(self, name):
        if name in ('inputs', 'first_states', 'second_states'):
            return self.dim
        return super().get_dim(name)


def test_rnn_tutorial_feedback():
    x = pt.tensor3('x')
    brick = FeedbackRNN(dim=3)
    brick.initialize()
    first, second = brick.apply(inputs=x)
    ones = numpy.ones((3, 1, 3), dtype=FLOATX)
    first, second = compile_function([x], [first, second])(ones)
    numpy.testing.assert_allclose(first[:, 0, 0], [1, 3, 8])
    numpy.testing.assert_allclose(second[:, 0, 0], [1, 4, 12])
