import numpy
import pytensor
import pytensor.tensor as pt
from pytensor.compile.mode import Mode
from pytensor.scan.op import Scan

from blocks.compilation import auto_mode, compile_function
from blocks.ops.scan_products import push_out_sequence_products
from tests.tolerances import TOLERANCE

FLOATX = pytensor.config.floatX


def _weights():
    return numpy.random.RandomState(0).uniform(
        -0.5, 0.5, (3, 2)).astype(FLOATX)


def _recurrence(x, weights):
    """h_t = tanh(x_t W + h_{t-1}): a product of a sequence element by a
    loop-invariant matrix at every step."""
    states = pytensor.scan(lambda x_t, h, w: pt.tanh(pt.dot(x_t, w) + h),
                           sequences=[x], non_sequences=[weights],
                           outputs_info=[pt.zeros((x.shape[1], 2))],
                           return_updates=False)
    return states


def _reference(data, weights):
    state, states = numpy.zeros((data.shape[1], 2)), []
    for x_t in data.astype('float64'):
        state = numpy.tanh(x_t @ weights + state)
        states.append(state)
    return numpy.array(states)


def _inner_products(function):
    return [node for node in function.maker.fgraph.apply_nodes
            if isinstance(node.op, Scan)
            for inner in node.op.fn.maker.fgraph.apply_nodes
            if 'Dot' in type(inner.op).__name__
            or 'Gemm' in type(inner.op).__name__]


def test_the_product_of_each_step_becomes_one_product_before_the_loop():
    x = pt.tensor3('x')
    weights = pytensor.shared(_weights(), name='W')
    states = _recurrence(x, weights)
    function = compile_function([x], states)
    assert not _inner_products(function)
    # PyTensor's own rewrites keep the product inside the loop.
    kept = compile_function([x], states, mode=Mode('cvm', 'fast_run'))
    assert _inner_products(kept)
    data = numpy.random.RandomState(1).uniform(
        -1, 1, (4, 5, 3)).astype(FLOATX)
    expected = _reference(data, _weights())
    numpy.testing.assert_allclose(function(data), expected, *TOLERANCE)
    numpy.testing.assert_allclose(kept(data), expected, *TOLERANCE)


def test_a_product_by_a_state_is_left_alone():
    x = pt.tensor3('x')
    weights = pytensor.shared(_weights()[:2], name='U')
    states = pytensor.scan(lambda x_t, h, u: pt.tanh(x_t[:, :2] + h.dot(u)),
                           sequences=[x], non_sequences=[weights],
                           outputs_info=[pt.zeros((x.shape[1], 2))],
                           return_updates=False)
    node = states.owner.inputs[0].owner
    assert push_out_sequence_products.transform(None, node) is None


def test_gradients_through_the_rewritten_loops():
    # The gradient's scan multiplies stored sequences by W at every step.
    data = numpy.random.RandomState(2).uniform(
        -1, 1, (4, 5, 3)).astype('float64')

    def cost(x, weights):
        return _recurrence(x, weights)[-1].sum()
    pytensor.gradient.verify_grad(
        cost, [data, _weights().astype('float64')], mode=auto_mode(),
        rng=numpy.random.RandomState(3))
