import numpy
import pytensor
import pytensor.scalar as ps
import pytensor.tensor as pt
import pytest
from pytensor.graph.fg import FunctionGraph
from pytensor.scan.op import Scan
from pytensor.tensor.elemwise import Elemwise

from blocks.compilation import auto_mode, compile_function
from blocks.ops.scan_forward_values import ReuseForwardValues
from tests.tolerances import TOLERANCE

FLOATX = pytensor.config.floatX


def _gated(x, u, go_backwards=False):
    """h_t = sigmoid(a) * tanh(a), a = x_t + h_{t-1} U: the gradient of
    each step needs sigmoid(a) and tanh(a), which PyTensor's gradient
    recomputes from the stored states."""
    def step(x_t, h, u):
        a = x_t + pt.dot(h, u)
        return pt.sigmoid(a) * pt.tanh(a)
    return pytensor.scan(step, sequences=[x], non_sequences=[u],
                         outputs_info=[pt.zeros((x.shape[1], 2))],
                         go_backwards=go_backwards, return_updates=False)


def _numpy_gated(data, u):
    """The states and the gradients of their sum with respect to the data
    and U, by hand (float64)."""
    def sigmoid(v):
        return 1 / (1 + numpy.exp(-v))
    state, states, pre = numpy.zeros((data.shape[1], 2)), [], []
    for x_t in data:
        a = x_t + state @ u
        pre.append(a)
        state = sigmoid(a) * numpy.tanh(a)
        states.append(state)
    previous = [numpy.zeros_like(states[0])] + states[:-1]
    d_data, d_u = numpy.zeros_like(data), numpy.zeros_like(u)
    d_state = numpy.zeros_like(states[0])
    for t in reversed(range(len(data))):
        d_state = d_state + 1  # the cost sums every state
        s, g = sigmoid(pre[t]), numpy.tanh(pre[t])
        d_a = d_state * (s * (1 - s) * g + s * (1 - g ** 2))
        d_data[t] = d_a
        d_u += previous[t].T @ d_a
        d_state = d_a @ u.T
    return numpy.array(states), d_data, d_u


def _u():
    return numpy.random.RandomState(0).uniform(-1, 1, (2, 2))


def _data():
    return numpy.random.RandomState(1).uniform(-1, 1, (4, 3, 2))


def _scans(fgraph):
    return {node.op.name: node for node in fgraph.toposort()
            if isinstance(node.op, Scan)}


def _scalar_ops(step):
    return {type(node.op.scalar_op) for node in step.apply_nodes
            if isinstance(node.op, Elemwise)}


@pytest.fixture(scope='module')
def gated_gradient():
    x = pt.tensor3('x')
    u = pt.matrix('u')
    states = _gated(x, u)
    return x, u, states, pytensor.grad(states.sum(), [x, u])


def test_the_gradient_step_reads_the_gates_the_forward_step_computed(
        gated_gradient):
    x, u, states, gradients = gated_gradient
    graph = FunctionGraph([x, u], [states] + gradients)
    before = _scans(graph)
    backward_name = next(name for name in before if name.startswith('grad'))
    assert {ps.Sigmoid, ps.Tanh} <= _scalar_ops(
        before[backward_name].op.fgraph)
    assert ReuseForwardValues().apply(graph) == 1
    after = _scans(graph)
    assert not {ps.Sigmoid, ps.Tanh} & _scalar_ops(
        after[backward_name].op.fgraph)
    forward_name = next(name for name in after if name != backward_name)
    assert after[forward_name].op.info.n_nit_sot == 2  # sigmoid, tanh


def test_values_and_gradients_against_numpy(gated_gradient):
    x, u, states, gradients = gated_gradient
    function = compile_function([x, u], [states] + gradients)
    data, weights = _data().astype(FLOATX), _u().astype(FLOATX)
    for value, expected in zip(function(data, weights),
                               _numpy_gated(_data(), _u())):
        numpy.testing.assert_allclose(value, expected, *TOLERANCE)


@pytest.mark.parametrize('go_backwards', [False, True])
def test_verify_grad_through_the_rewritten_loops(go_backwards):
    def cost(x, u):
        return (_gated(x, u, go_backwards) ** 2).sum()
    pytensor.gradient.verify_grad(cost, [_data(), _u()], mode=auto_mode(),
                                  rng=numpy.random.RandomState(2))


def test_a_gradient_that_recomputes_nothing_is_left_alone():
    x = pt.tensor3('x')
    w = pt.scalar('w')
    states = pytensor.scan(lambda x_t, h, w: h * w + x_t, sequences=[x],
                           non_sequences=[w],
                           outputs_info=[pt.zeros((x.shape[1], 2))],
                           return_updates=False)
    graph = FunctionGraph([x, w], pytensor.grad(states.sum(), [x, w]))
    assert ReuseForwardValues().apply(graph) == 0
