"""The graph sees inside loops: finding, replacing and exposing variables of
scan step functions (hand-made scans; the recurrent bricks have their own
tests)."""
import numpy
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.gradient import verify_grad
from pytensor.graph.traversal import ancestors, applys_between, graph_inputs

from blocks.filter import VariableFilter
from blocks.graph import ComputationGraph, apply_dropout, apply_noise
from blocks.graph.computation_graph import _Rebuild
from blocks.graph.scans import is_scan_node

floatX = pytensor.config.floatX
# These tests check graphs, not speed: the Python linker compiles loops
# fastest.
MODE = 'FAST_COMPILE'


def tagged(variable, name):
    variable.tag.name = name
    return variable


def accumulate(x, weights=None, transform=None):
    """h_t = h_{t-1} W + transform(x_t), with the step's input copy tagged
    'step_input' and its output 'step_output'."""
    def step(x_t, h):
        x_copy = tagged(x_t.copy(), 'step_input')
        if transform is not None:
            x_copy = transform(x_copy)
        recurrent = h if weights is None else h.dot(weights)
        return tagged(recurrent + x_copy, 'step_output')
    return pytensor.scan(step, sequences=x, outputs_info=pt.zeros_like(x[0]),
                         return_updates=False)


def loop_nodes(outputs):
    return [node for node in applys_between(graph_inputs(outputs), outputs)
            if is_scan_node(node)]


def step_size(outputs):
    """Nodes of the (single) loop's step function."""
    node, = loop_nodes(outputs)
    return len(list(applys_between(node.op.inner_inputs,
                                   node.op.inner_outputs)))


@pytest.fixture
def x():
    return pt.tensor3('x')


@pytest.fixture
def ones():
    return numpy.ones((4, 2, 3), dtype=floatX)


def test_scans_of_similar_loops_stay_distinct(x):
    first, second = accumulate(x), accumulate(x)
    cg = ComputationGraph([first, second])
    assert len(cg.scans) == 2
    assert cg.scans[0] == cg.scans[1]  # structurally equal ops
    inputs = VariableFilter(name='step_input')(cg.scan_variables)
    assert len(inputs) == 2
    # Replacing the step input of one loop leaves the other alone.
    doubled = cg.replace({inputs[0]: 2 * inputs[0]})
    values = doubled.get_function(mode=MODE)(
        numpy.ones((2, 1, 1), dtype=floatX))
    assert sorted(value.ravel().tolist() for value in values) == [
        [1, 2], [2, 4]]
    assert len(loop_nodes(doubled.outputs)) == 2


def test_filter_searches_the_outer_graph_and_steps_on_request(x):
    h = accumulate(x)
    cg = ComputationGraph(h)
    # As in Blocks: a graph is filtered through its outer variables ...
    assert VariableFilter(name='step_output')(cg) == []
    assert VariableFilter()(cg) == cg.variables
    # ... and its loops' steps through scan_variables.
    found = VariableFilter(name='step_output')(cg.scan_variables)
    assert len(found) == 1 and found[0] not in cg.variables
    scan_op, = cg.scans
    assert set(scan_op.inner_inputs) <= set(cg.scan_variables)


def test_nested_loop_variables_are_scan_variables():
    matrices = pt.tensor4('matrices')
    totals = pytensor.scan(lambda x: accumulate(x), sequences=matrices,
                           return_updates=False)
    cg = ComputationGraph(totals)
    assert len(VariableFilter(name='step_output')(cg.scan_variables)) == 1
    inner_input, = VariableFilter(name='step_input')(cg.scan_variables)
    tripled = cg.replace({inner_input: 3 * inner_input})
    value = tripled.outputs[0].eval(
        {matrices: numpy.ones((2, 3, 1, 1), dtype=floatX)}, mode=MODE)
    numpy.testing.assert_allclose(value[:, :, 0, 0], [[3, 6, 9]] * 2)


def test_replace_in_step_matches_a_step_built_so(x, ones):
    weights = pytensor.shared(0.5 * numpy.eye(3, dtype=floatX))
    cg = ComputationGraph(accumulate(x, weights))
    step_input, = VariableFilter(name='step_input')(cg.scan_variables)
    rewritten = cg.replace({step_input: 3 * step_input})
    built = accumulate(x, weights, transform=lambda value: 3 * value)
    expected = numpy.zeros((2, 3))
    for t in range(4):
        expected = expected.dot(0.5 * numpy.eye(3)) + 3 * ones[t]
    numpy.testing.assert_allclose(
        rewritten.outputs[0].eval({x: ones}, mode=MODE)[-1], expected,
        rtol=1e-6)
    # No duplicated subgraph: the same sizes as the loop built that way.
    assert step_size(rewritten.outputs) == step_size([built])
    assert (len(ComputationGraph(rewritten.outputs).variables)
            == len(ComputationGraph(built).variables))


def test_inner_and_outer_keys_rebuild_the_loop_once(x, ones):
    cg = ComputationGraph(accumulate(x))
    step_input, = VariableFilter(name='step_input')(cg.scan_variables)
    step_output, = VariableFilter(name='step_output')(cg.scan_variables)
    rewritten = cg.replace({x: x + 1, step_input: 2 * step_input,
                            step_output: step_output + 10})
    assert len(loop_nodes(rewritten.outputs)) == 1
    # h_t = h_{t-1} + 2 (x_t + 1) + 10; chained keys compose.
    value = rewritten.outputs[0].eval({x: ones}, mode=MODE)[:, 0, 0]
    numpy.testing.assert_allclose(value, 14 * numpy.arange(1, 5))


def test_free_symbolic_values_enter_the_loop(x, ones):
    cg = ComputationGraph(accumulate(x))
    step_input, = VariableFilter(name='step_input')(cg.scan_variables)
    factor = pt.scalar('factor', dtype=floatX)
    rewritten = cg.replace({step_input: factor * step_input})
    assert set(rewritten.inputs) == {x, factor}
    value = rewritten.get_function(mode=MODE)(ones, 0.5)[0][:, 0, 0]
    numpy.testing.assert_allclose(value, 0.5 * numpy.arange(1, 5))


def test_gradient_through_a_rewritten_loop():
    weights = pytensor.shared(0.3 * numpy.ones((2, 2), dtype='float64'))

    def rewritten_total(x):
        cg = ComputationGraph(accumulate(x, weights).sum())
        step_input, = VariableFilter(name='step_input')(cg.scan_variables)
        return cg.replace({step_input: pt.tanh(step_input)}).outputs[0]

    verify_grad(rewritten_total,
                [numpy.random.RandomState(1).randn(3, 2, 2)],
                rng=numpy.random.RandomState(2), mode=MODE)


def test_replacing_a_stand_in_is_refused(x):
    cg = ComputationGraph(accumulate(x))
    scan_op, = cg.scans
    stand_in = scan_op.inner_inputs[0]
    with pytest.raises(ValueError, match='stands for an outer input'):
        cg.replace({stand_in: 2 * stand_in})


def test_dropout_in_a_step_draws_a_new_mask_each_step_and_call(x):
    cg = ComputationGraph(accumulate(x))
    step_input, = VariableFilter(name='step_input')(cg.scan_variables)
    dropped = apply_dropout(cg, [step_input], 0.5, seed=3)
    run = dropped.get_function(mode=MODE)
    data = numpy.ones((6, 50, 40), dtype=floatX)
    first, = run(data)
    second, = run(data)
    increments = numpy.diff(first, axis=0, prepend=0)
    assert set(numpy.unique(increments)) == {0, 2}  # kept ones count twice
    assert 0.4 < (increments == 2).mean() < 0.6
    assert not numpy.array_equal(increments[0], increments[1])
    assert not numpy.array_equal(first, second)
    again_graph = apply_dropout(cg, [step_input], 0.5, seed=3)
    again, = again_graph.get_function(mode=MODE)(data)
    numpy.testing.assert_array_equal(again, first)


def test_noise_on_a_weight_used_in_a_step_is_drawn_once_per_call():
    weights = pytensor.shared(numpy.eye(3, dtype=floatX), name='W')
    rows = pt.tensor3('rows')
    products = pytensor.scan(lambda row: row.dot(weights), sequences=rows,
                             return_updates=False)
    noisy = apply_noise(ComputationGraph(products), [weights], 0.1, seed=4)
    value, = noisy.get_function(mode=MODE)(
        numpy.tile(numpy.eye(3, dtype=floatX), (5, 1, 1)))
    for t in range(1, 5):
        numpy.testing.assert_array_equal(value[t], value[0])
    assert 0 < numpy.abs(value[0] - numpy.eye(3)).max() < 1


def test_exposed_step_variables_are_stacked_over_time(x, ones):
    h = accumulate(x)
    cg = ComputationGraph(h)
    step_input, = VariableFilter(name='step_input')(cg.scan_variables)
    squared = step_input ** 2
    rebuild = _Rebuild([h], {step_input: squared}, exposed=[squared])
    new_h, = rebuild.run()
    stacked = rebuild.exposed[squared]
    assert stacked.ndim == 3 and set(ancestors([stacked])) >= {x}
    run = pytensor.function([x], [new_h, stacked], mode=MODE)
    values = 1 + numpy.arange(24, dtype=floatX).reshape((4, 2, 3))
    h_value, stacked_value = run(values)
    numpy.testing.assert_allclose(stacked_value, values ** 2)
    numpy.testing.assert_allclose(h_value, numpy.cumsum(values ** 2, axis=0))
    assert len(loop_nodes([new_h, stacked])) == 1


@pytest.fixture(scope='module')
def lstm_graph():
    from blocks.bricks.recurrent import LSTM
    from blocks.initialization import IsotropicGaussian
    lstm = LSTM(dim=2, weights_init=IsotropicGaussian(0.5), seed=1)
    lstm.initialize()
    inputs = pt.tensor3('inputs')
    states, _ = lstm.apply(inputs)
    return lstm, inputs, ComputationGraph(states)


def test_dropout_and_weight_noise_on_an_lstm(lstm_graph):
    lstm, inputs, cg = lstm_graph
    step_inputs = VariableFilter(bricks=[lstm], name='inputs')(
        cg.scan_variables)
    assert len(step_inputs) == 1
    noisy = apply_noise(apply_dropout(cg, step_inputs, 0.5, seed=1),
                        [lstm.W_state], 0.1, seed=2)
    assert len(noisy.scans) == 1
    data = numpy.random.RandomState(0).normal(
        size=(3, 4, 8)).astype(floatX)
    run = pytensor.function([inputs], noisy.outputs + cg.outputs, mode=MODE)
    first, clean = run(data)
    second, _ = run(data)
    assert first.shape == clean.shape
    assert not numpy.allclose(first, clean)
    assert not numpy.allclose(first, second)
    silent = apply_noise(apply_dropout(cg, step_inputs, 0.0), [lstm.W_state],
                         0.0)
    numpy.testing.assert_allclose(
        silent.outputs[0].eval({inputs: data}, mode=MODE), clean, rtol=1e-6)
