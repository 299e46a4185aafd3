import numpy
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.graph.basic import Apply
from pytensor.graph.fg import FunctionGraph
from pytensor.graph.op import Op
from pytensor.graph.rewriting.basic import dfs_rewriter
from pytensor.graph.traversal import applys_between
from pytensor.scan.op import Scan
from pytensor.tensor.exceptions import ShapeError
from pytensor.tensor.random.utils import RandomStream
from pytensor.tensor.rewriting.shape import ShapeFeature

from blocks.compilation import auto_mode, compile_function
from blocks.ops.scan_inner_graph import simplified_scan
from blocks.ops.scan_shapes import (ScanShapeFeature, ShapeInferringScan,
                                    scan_output_shapes,
                                    shape_inferring_results,
                                    to_shape_inferring_scan)

FLOATX = pytensor.config.floatX


def _layer(sequence, weights, doubled=True):
    """A recurrence over `sequence` (time, batch, features): its states,
    a sit-sot, and, if `doubled`, the doubled inputs of every step, a
    nit-sot."""
    def step(x_t, state):
        new_state = pt.tanh(x_t + pt.dot(state, weights))
        return (new_state, 2 * x_t) if doubled else new_state
    initial = pt.zeros_like(sequence[0])
    return pytensor.scan(
        step, sequences=[sequence],
        outputs_info=[initial, None] if doubled else [initial],
        return_updates=False)


def _stack():
    """Three layers, each reading the states of the one below, with the
    gradient of a cost of them all: the scans of the gradients have
    mit-mot and nit-sot outputs, and inputs whose shapes are those of the
    scans below; the middle layer has no nit-sot output."""
    x = pt.tensor3('x')
    weights = pt.matrix('weights')
    states, doubled = _layer(x, weights)
    middle = _layer(states, weights, doubled=False)
    top, top_doubled = _layer(middle, weights)
    cost = top[-1].sum() + (top_doubled * doubled).sum()
    return [x, weights], pytensor.grad(cost, [x, weights]) + [cost]


def _stack_data(rng):
    return [rng.uniform(-1, 1, shape).astype(FLOATX)
            for shape in ((4, 2, 3), (3, 3))]


def _scan_nodes(inputs, outputs):
    nodes = [node for node in applys_between(inputs, outputs)
             if isinstance(node.op, Scan)]
    assert len(nodes) == 6  # three layers, forward and backward
    return nodes


def _shapes(node):
    return [tuple(variable.shape[i] for i in range(variable.ndim))
            if hasattr(variable.type, 'ndim') else None
            for variable in node.inputs]


def test_scan_output_shapes_are_those_of_the_computed_outputs(rng):
    inputs, outputs = _stack()
    nodes = _scan_nodes(inputs, outputs)
    shapes = [scan_output_shapes(node, _shapes(node)) for node in nodes]
    assert all(shape is not None for node_shapes in shapes
               for shape in node_shapes)
    values = pytensor.function(
        inputs, [output for node in nodes for output in node.outputs]
        + [pt.stack(shape) for node_shapes in shapes
           for shape in node_shapes], mode='FAST_COMPILE')(
        *_stack_data(rng))
    arrays, inferred = values[:len(values) // 2], values[len(values) // 2:]
    assert [tuple(shape) for shape in inferred] == [
        array.shape for array in arrays]


class Counted(Op):
    """The identity, counting how often its shapes are inferred; it does
    not give them (as a scan sometimes cannot), so shape trackers fall
    back on the shapes of its output, which their graph then holds."""

    def __init__(self):
        self.inferences = 0

    def make_node(self, x):
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, outputs):
        outputs[0][0] = inputs[0]

    def infer_shape(self, fgraph, node, input_shapes):
        self.inferences += 1
        raise ShapeError('not inferred')


def _scan_over_zeros_shaped_like(counted):
    """A scan whose sequence has the shape of the output of the Counted
    op `counted`, as the scans of gradients start from zeros shaped like
    the scans below them: its input's shape graph holds `counted`'s. The
    count starts after the graph is built."""
    states = _layer(pt.zeros(counted(pt.tensor3('x')).shape), pt.eye(3))[0]
    counted.inferences = 0
    return states


def test_scan_output_shapes_do_not_infer_the_shapes_below():
    counted = Counted()
    states = _scan_over_zeros_shaped_like(counted)
    node = states.owner.inputs[0].owner
    shapes = _shapes(node)
    scan_output_shapes(node, shapes)
    assert counted.inferences == 0
    Scan.infer_shape(node.op, None, node, shapes)  # PyTensor's does
    assert counted.inferences > 0


@pytest.mark.parametrize('feature, cheap_op, inferences', [
    (ShapeFeature, False, 'several'), (ScanShapeFeature, False, 1),
    (ShapeFeature, True, 1)], ids=['pytensor', 'feature', 'op'])
def test_shape_trackers_infer_the_shapes_below_once(feature, cheap_op,
                                                    inferences):
    """The shapes of the operation below are inferred once, when it is
    imported, not again by each scan above it."""
    counted = Counted()
    states = _scan_over_zeros_shaped_like(counted)
    if cheap_op:
        node = states.owner.inputs[0].owner
        states = simplified_scan(node.op).make_node(*node.inputs).outputs[0]
    FunctionGraph(outputs=[states], features=[feature()], clone=False)
    if inferences == 'several':
        assert counted.inferences > 1
    else:
        assert counted.inferences == inferences


def _stack_reference(x, weights):
    """The value of _stack's cost, in NumPy."""
    def layer(sequence):
        state, states = numpy.zeros(sequence.shape[1:]), []
        for x_t in sequence:
            state = numpy.tanh(x_t + state.dot(weights))
            states.append(state)
        return numpy.array(states), 2 * sequence
    states, doubled = layer(x.astype('float64'))
    top, top_doubled = layer(layer(states)[0])
    return top[-1].sum() + (top_doubled * doubled).sum()


def test_the_auto_mode_tracks_scans_with_the_cheap_tracker(rng):
    inputs, outputs = _stack()
    function = compile_function(inputs, outputs[-1])
    assert isinstance(function.maker.fgraph.shape_feature, ScanShapeFeature)
    data = _stack_data(rng)
    numpy.testing.assert_allclose(function(*data), _stack_reference(*data),
                                  rtol=1e-4)


def test_gradients_compiled_with_the_cheap_tracker_are_right(rng):
    def cost(x, weights):
        states, doubled = _layer(x, weights)
        top, top_doubled = _layer(_layer(states, weights, doubled=False),
                                  weights)
        return top[-1].sum() + (top_doubled * doubled).sum()
    pytensor.gradient.verify_grad(
        cost, [value.astype('float64') for value in _stack_data(rng)],
        mode=auto_mode(), rng=numpy.random.RandomState(0))


def test_a_shape_inferring_scan_is_a_scan_of_its_own_kind():
    """Merging never confuses it with the plain scan it came from."""
    states = _layer(pt.tensor3('x'), pt.matrix('weights'))[0]
    op = states.owner.inputs[0].owner.op
    cheap = simplified_scan(op)
    assert isinstance(cheap, ShapeInferringScan) and cheap != op


def test_plain_scans_become_shape_inferring_scans_of_the_same_loop(rng):
    x, weights = pt.tensor3('x'), pt.matrix('weights')
    states = _layer(x, weights, doubled=False)
    fgraph = FunctionGraph([x, weights], [states])
    dfs_rewriter(to_shape_inferring_scan).rewrite(fgraph)
    (node,) = [node for node in fgraph.apply_nodes
               if isinstance(node.op, Scan)]
    assert type(node.op) is ShapeInferringScan
    data = _stack_data(rng)
    before = pytensor.function([x, weights], states,
                               mode='FAST_COMPILE')(*data)
    after = pytensor.function(fgraph.inputs, fgraph.outputs[0],
                              mode='FAST_COMPILE')(*data)
    numpy.testing.assert_array_equal(after, before)


def test_the_results_of_scan_are_rebuilt_on_a_shape_inferring_scan():
    """The same states and random updates; the loop's inputs are kept."""
    x = pt.matrix('x')
    stream = RandomStream(seed=3)

    def step(x_t, state):
        return state + x_t + stream.normal(size=x_t.shape)
    states, updates = pytensor.scan(
        step, sequences=[x], outputs_info=[pt.zeros_like(x[0])],
        return_updates=True)
    (rebuilt,), rebuilt_updates = shape_inferring_results([states], updates)
    old_node, new_node = (variable.owner.inputs[0].owner
                          for variable in (states, rebuilt))
    assert type(new_node.op) is ShapeInferringScan
    assert new_node.inputs == old_node.inputs
    assert list(rebuilt_updates) == list(updates)
    generator = list(updates)[0]
    start = generator.get_value()
    data = numpy.ones((3, 2), dtype=FLOATX)
    values = []
    for outputs, changes in ((states, updates), (rebuilt, rebuilt_updates)):
        generator.set_value(start)
        values.append(pytensor.function([x], outputs, updates=changes,
                                        mode='FAST_COMPILE')(data))
        assert generator.get_value() is not start  # the update ran
    numpy.testing.assert_array_equal(*values)
