import numpy
import pytensor
import pytensor.tensor as pt
from pytensor.scan.op import Scan
from pytensor.tensor.basic import tensor_copy

from blocks.compilation import auto_mode, compile_function
from blocks.ops.scan_inner_graph import simplified_scan
from tests.tolerances import TOLERANCE

FLOATX = pytensor.config.floatX


def _scan_node(outputs):
    """The Scan node behind a scan's outputs (the first, a state, is
    sliced: the buffer without the initial state)."""
    node = outputs[0].owner.inputs[0].owner
    assert isinstance(node.op, Scan) and outputs[1].owner is node
    return node


def _copies(fgraph):
    return [node for node in fgraph.apply_nodes if node.op == tensor_copy]


def _data():
    return numpy.random.RandomState(0).uniform(-1, 1, (5, 3)).astype(FLOATX)


def _reference(data):
    """The recurrence of _duplicating_step, in NumPy: the states and the
    per-step doubled inputs."""
    state, states = numpy.zeros(3), []
    for row in data.astype('float64'):
        state = numpy.tanh(row) * 2 + numpy.tanh(row) + 0.5 * state
        states.append(state)
    return numpy.array(states), 2 * data


def _duplicating_step(x_t, state):
    """A step with copies inside, as blocks' applications make of their
    inputs and outputs; its second output is a copy of a step input's
    double. (scan merges the two tanh nodes; its gradient does not.)"""
    copied = tensor_copy(x_t)
    new_state = tensor_copy(pt.tanh(copied) * 2 + pt.tanh(copied)
                            + 0.5 * tensor_copy(state))
    return new_state, tensor_copy(2 * x_t)


def _loop():
    x = pt.matrix('x')
    outputs = pytensor.scan(_duplicating_step, sequences=[x],
                            outputs_info=[pt.zeros_like(x[0]), None],
                            return_updates=False)
    return x, outputs


def _duplicates(fgraph):
    """How many nodes compute what another node computes."""
    signatures = [(node.op, tuple(node.inputs))
                  for node in fgraph.apply_nodes]
    return len(signatures) - len(set(signatures))


def _gradient_scan_node(x, outputs):
    """The scan of the gradient, which pytensor.grad builds without
    merging the step's duplicated subgraphs."""
    gradient = pytensor.grad(outputs[0][-1].sum(), x)
    nodes = [node for node in pytensor.graph.traversal.applys_between(
        [x], [gradient]) if isinstance(node.op, Scan)
        and node is not _scan_node(outputs)]
    assert len(nodes) == 1
    return nodes[0]


def test_simplified_scan_merges_duplicates_and_drops_inner_copies():
    x, outputs = _loop()
    node = _scan_node(outputs)
    op = simplified_scan(node.op)
    # Only the copies that are step outputs are left: an inner output
    # must not be one of the step's inputs.
    assert {copy.outputs[0] for copy in _copies(op.fgraph)} == set(
        op.fgraph.outputs)
    assert len(_copies(node.op.fgraph)) == 4  # the original is untouched
    assert op.info == node.op.info and op.mode is node.op.mode

    gradient_node = _gradient_scan_node(x, outputs)
    assert _duplicates(gradient_node.op.fgraph) > 0
    gradient_op = simplified_scan(gradient_node.op)
    assert _duplicates(gradient_op.fgraph) == 0
    assert not _copies(gradient_op.fgraph)

    new_outputs = op.make_node(*node.inputs).outputs
    replace = dict(zip(node.outputs, new_outputs))
    simplified = pytensor.graph.replace.clone_replace(outputs,
                                                      replace=replace)
    function = pytensor.function([x], simplified, mode='FAST_COMPILE')
    states, doubled = function(_data())
    expected_states, expected_doubled = _reference(_data())
    numpy.testing.assert_allclose(states, expected_states, *TOLERANCE)
    numpy.testing.assert_allclose(doubled, expected_doubled, *TOLERANCE)


def test_simplified_scan_takes_the_mode_given():
    _, outputs = _loop()
    mode = auto_mode()
    assert simplified_scan(_scan_node(outputs).op, mode).mode is mode


def test_the_auto_mode_simplifies_steps_and_keeps_values_and_gradients():
    x, (states, doubled) = _loop()
    function = compile_function([x], [states, doubled])
    scans = [node.op for node in function.maker.fgraph.apply_nodes
             if isinstance(node.op, Scan)]
    assert scans and all(len(_copies(op.fgraph)) <= 2 for op in scans)
    ours = function(_data())
    for value, expected in zip(ours, _reference(_data())):
        numpy.testing.assert_allclose(value, expected, *TOLERANCE)

    # The gradient's scan is built unsimplified by pytensor.grad and
    # simplified when compiled.
    def last_state(data):
        outputs = pytensor.scan(_duplicating_step, sequences=[data],
                                outputs_info=[pt.zeros_like(data[0]), None],
                                return_updates=False)
        return outputs[0][-1].sum() + outputs[1].sum()
    rng = numpy.random.RandomState(1)
    pytensor.gradient.verify_grad(
        last_state, [_data().astype('float64')], mode=auto_mode(), rng=rng)
