"""Parity of blocks/ops/jax.py with the NumPy implementations: each Op
and its gradients give the same values under PyTensor's JAX backend as
under the Python linker (which runs ``perform``)."""
import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.compile.mode import get_mode
from pytensor.raise_op import Assert
from pytensor.tensor.basic import MakeVector

from blocks.ops import batch_normalization_train, conv2d, pool_2d
from blocks.ops.pool import MaxPoolGradGrad, PoolGrad
from blocks.ops.vectorized import VectorizedUnary

jax = pytest.importorskip('jax')

from blocks.ops.jax import (ConcreteShapeArithmetic,  # noqa: E402
                            concrete_pair)
from pytensor.link.jax.dispatch import jax_funcify  # noqa: E402

PERFORM = get_mode('FAST_COMPILE')
JAX = get_mode('JAX')
#: Both sides compute in float64 (PyTensor enables JAX's x64 mode).
RTOL, ATOL = 1e-9, 1e-10


@pytest.fixture(autouse=True)
def float64():
    """The graphs of these tests compute in float64."""
    with pytensor.config.change_flags(floatX='float64'):
        yield


def assert_same_under_jax(inputs, outputs, values):
    """Compile `outputs` with both linkers and compare them."""
    results = [pytensor.function(inputs, outputs, mode=mode)(*values)
               for mode in (PERFORM, JAX)]
    for expected, actual in zip(*results):
        np.testing.assert_allclose(np.asarray(actual), expected, rtol=RTOL,
                                   atol=ATOL)


def distinct_values(rng, shape):
    """Values far apart, so max pooling has no near-ties."""
    values = rng.permutation(int(np.prod(shape))) * 0.01
    return (values + rng.uniform(0, 0.001, values.shape)).reshape(shape)


@pytest.mark.parametrize('border_mode, subsample, dilation', [
    ('valid', (1, 1), (1, 1)),
    ('full', (2, 1), (1, 1)),
    ('half', (1, 2), (2, 1)),
    ((1, 2), (2, 2), (1, 1)),
])
def test_conv2d_and_both_gradients(rng, border_mode, subsample, dilation):
    images, filters = pt.tensor4('images'), pt.tensor4('filters')
    output = conv2d(images, filters, border_mode=border_mode,
                    subsample=subsample, filter_dilation=dilation)
    weights = pt.tensor4('weights')
    cost = (output * weights).sum()
    grads = pytensor.grad(cost, [images, filters])
    x = rng.normal(size=(2, 3, 7, 6))
    w = rng.normal(size=(4, 3, 3, 2))
    out_shape = pytensor.function([images, filters], output.shape,
                                  mode=PERFORM)(x, w)
    assert_same_under_jax([images, filters, weights], [output, *grads],
                          [x, w, rng.normal(size=out_shape)])


def test_second_derivatives_of_conv2d(rng):
    images, filters = pt.tensor4('images'), pt.tensor4('filters')
    cost = (conv2d(images, filters, subsample=(2, 1)) ** 2).sum()
    g_filters = pytensor.grad(cost, filters)
    second = pytensor.grad((g_filters ** 2).sum(), [images, filters])
    assert_same_under_jax([images, filters], second,
                          [rng.normal(size=(2, 2, 6, 5)),
                           rng.normal(size=(3, 2, 2, 2))])


@pytest.mark.parametrize('shape, ws, ignore_border, stride, pad', [
    ((2, 3, 6, 6), (2, 2), True, None, (0, 0)),
    ((2, 1, 7, 5), (3, 2), False, (2, 2), (0, 0)),
    ((3, 5, 7), (3, 3), True, (2, 1), (1, 1)),
    ((1, 1, 5, 5), (2, 3), False, (1, 2), (0, 0)),
])
@pytest.mark.parametrize('mode', ['max', 'average_inc_pad',
                                  'average_exc_pad'])
def test_pooling_and_its_gradients(rng, shape, ws, ignore_border, stride,
                                   pad, mode):
    x = pt.tensor(shape=(None,) * len(shape), name='x')
    output = pool_2d(x, ws, ignore_border=ignore_border, stride=stride,
                     pad=pad, mode=mode)
    weights = pt.tensor(shape=(None,) * len(shape), name='weights')
    value = distinct_values(rng, shape)
    out_shape = pytensor.function([x], output.shape, mode=PERFORM)(value)
    (grad,) = pytensor.grad((output * weights).sum(), [x])
    assert_same_under_jax([x, weights], [output, grad],
                          [value, rng.normal(size=out_shape)])


def test_max_pool_second_derivative(rng):
    x = pt.tensor4('x')
    gz = pt.tensor4('gz')
    ggx = pt.tensor4('ggx')
    op = PoolGrad((2, 2), (1, 2), (0, 0), False, 'max')
    gradient = op(x, gz)
    gathered = MaxPoolGradGrad(*op._props())(x, ggx)
    shape = (2, 1, 5, 5)
    value = distinct_values(rng, shape)
    out_shape = pytensor.function(
        [x], pool_2d(x, (2, 2), ignore_border=False, stride=(1, 2)).shape,
        mode=PERFORM)(value)
    assert_same_under_jax([x, gz, ggx], [gradient, gathered],
                          [value, rng.normal(size=out_shape),
                           rng.normal(size=shape)])


@pytest.mark.parametrize('axes, parameters', [
    ((0,), 'both'), ((0, 2, 3), 'both'), ((0,), 'none'), ((0, 1), 'scale'),
])
def test_batch_normalization_and_its_gradient(rng, axes, parameters):
    ndim = 4 if 2 in axes else 2
    x = pt.tensor(shape=(None,) * ndim, name='x')
    statistic_shape = tuple(1 if axis in axes else None
                            for axis in range(ndim))
    scale = pt.tensor(shape=statistic_shape, name='scale')
    shift = pt.tensor(shape=statistic_shape, name='shift')
    given = {'both': (scale, shift), 'none': (None, None),
             'scale': (scale, None)}[parameters]
    output, mean, stdev = batch_normalization_train(
        x, *given, axes=axes, epsilon=1e-3)
    shape = (4, 3, 2, 3)[:ndim]
    weights = rng.normal(size=shape)
    cost = ((output * weights).sum() + (mean ** 2).sum()
            + (stdev ** 3).sum())
    inputs = [x] + [value for value in given if value is not None]
    grads = pytensor.grad(cost, inputs)
    parameter_value = 1 + rng.uniform(size=tuple(
        1 if axis in axes else shape[axis] for axis in range(ndim)))
    values = [rng.normal(size=shape)] + [parameter_value] * (len(inputs) - 1)
    assert_same_under_jax(inputs, [output, mean, stdev, *grads], values)


def test_batch_normalization_gradient_of_gradient(rng):
    x = pt.matrix('x')
    output, _, _ = batch_normalization_train(x)
    g_x = pytensor.grad((output ** 3).sum(), x)
    second = pytensor.grad((g_x ** 2).sum(), x)
    assert_same_under_jax([x], [g_x, second], [rng.normal(size=(5, 3))])


def test_vectorized_unary(rng):
    x = pt.matrix('x')
    assert_same_under_jax([x], [VectorizedUnary('tanh')(x)],
                          [rng.normal(size=(3, 4))])


def test_gradient_sizes_computed_at_run_time_are_refused():
    def traced(size):
        return concrete_pair(size, 'filter size')

    with pytest.raises(NotImplementedError,
                       match='filter size of a convolution gradient'):
        jax.jit(traced)(np.array([2, 3]))


def test_sizes_computed_from_shapes_stay_concrete(rng):
    # Under plain jax.jit each of these sizes is traced, and JAX refuses
    # a traced size.
    x = pt.matrix('x')
    rows = x.shape[0] * x.shape[1]
    outputs = [x.reshape((rows, 1)), pt.zeros((rows + 1, 2)),
               pt.alloc(x.sum(), rows // 2, x.shape[1] * 2)]
    assert_same_under_jax([x], outputs, [rng.normal(size=(3, 4))])
    compiled = pytensor.function([x], outputs, mode=JAX)
    assert any(isinstance(node.op, ConcreteShapeArithmetic)
               for node in compiled.maker.fgraph.apply_nodes)


def test_splits_and_ranges_at_sizes_computed_from_shapes(rng):
    # A concatenation's gradient splits at the sizes of what it joined
    # (a vector of shapes); one split's sizes pass through a float that
    # an array computation uses too (so no fusion makes them one integer
    # Op); an arange runs to a product of shapes. PyTensor's JAX split and
    # arange refuse sizes that are not constants of the graph.
    x, y = pt.matrix('x'), pt.matrix('y')
    joined = pt.concatenate([x, 2 * y], axis=0)
    weights = pt.arange(joined.shape[0] * joined.shape[1]).reshape(
        joined.shape)
    rows = pt.cast(x.shape[0], 'float64')
    cost = (weights * joined ** 2).sum() / rows
    half = pt.cast(rows * 0.5, 'int64')
    halves = pt.split(x, [half, x.shape[0] - half], n_splits=2, axis=0)
    inputs, outputs = [x, y], [*pytensor.grad(cost, [x, y]), *halves]
    values = [rng.normal(size=(4, 3)), rng.normal(size=(2, 3))]
    expected = pytensor.function(inputs, outputs, mode='FAST_RUN')(*values)
    compiled = pytensor.function(inputs, outputs, mode=JAX)
    for result, value in zip(compiled(*values), expected):
        np.testing.assert_allclose(np.asarray(result), value, rtol=RTOL,
                                   atol=ATOL)
    wrapped = {type(node.op.op) for node in compiled.maker.fgraph.apply_nodes
               if isinstance(node.op, ConcreteShapeArithmetic)}
    assert MakeVector in wrapped
    with pytest.raises(ValueError, match='Split sizes sum to 5; expected 4'):
        pytensor.function([x], pt.split(x, [2, 3], n_splits=2),
                          mode=JAX)(values[0])


def test_random_sizes_computed_from_shapes_stay_tuples():
    # PyTensor's JAX rewrites turn a random variable's size vector into a
    # tuple of its scalars; the concrete shape arithmetic must leave that
    # vector to them.
    x = pt.matrix('x')
    noise = pt.random.normal(size=(x.shape[0], 2 * x.shape[1]))
    sample = pytensor.function([x], noise, mode=JAX)(np.ones((3, 2)))
    assert np.asarray(sample).shape == (3, 4)


def test_split_sizes_computed_at_run_time_are_refused():
    x, sizes = pt.vector('x'), pt.lvector('sizes')
    split = pytensor.function([x, sizes], pt.split(x, sizes, n_splits=2),
                              mode=JAX)
    with pytest.raises(NotImplementedError, match='sizes of a split'):
        split(np.ones(3), np.array([1, 2]))


def test_scan_and_its_gradient(rng):
    # The gradient of a scan allocates buffers of (steps + 1) rows and
    # reshapes (steps * batch) rows: sizes computed from shapes.
    x = pt.tensor3('x')
    w = pt.matrix('w')
    states, _ = pytensor.scan(lambda x_t, h: pt.tanh(x_t + h @ w),
                              sequences=[x],
                              outputs_info=[pt.zeros_like(x[0])])
    cost = (states.reshape((-1,)) ** 2).sum() + states[-1].sum()
    assert_same_under_jax([x, w], [states, *pytensor.grad(cost, [x, w])],
                          [rng.normal(size=(5, 2, 3)),
                           0.5 * rng.normal(size=(3, 3))])


def test_float32_graphs_stay_float32(rng):
    # With JAX's 64-bit types on, PyTensor's JAX sum accumulates in
    # float64 and its alloc of a Python float gives float64: inside a scan
    # the carried state would change type.
    with pytensor.config.change_flags(floatX='float32'):
        x = pt.tensor3('x')
        states, _ = pytensor.scan(
            lambda x_t, h: h + x_t.sum(axis=0, keepdims=True),
            sequences=[x], outputs_info=[pt.zeros((1, x.shape[2]))])
        outputs = [states, x.sum(), pt.alloc(np.float32(0), x.shape[0])]
        values = pytensor.function([x], outputs, mode=JAX)(
            rng.normal(size=(4, 2, 3)).astype('float32'))
    assert [value.dtype for value in values] == ['float32'] * 3


def test_shape_assertions_hold_when_jax_traces():
    x, y = pt.vector('x'), pt.vector('y')
    checked = Assert('x and y differ in length')(x, pt.eq(x.shape[0],
                                                          y.shape[0]))
    double = pytensor.function([x, y], 2 * checked, mode=JAX)
    np.testing.assert_allclose(double(np.ones(2), np.ones(2)), [2, 2])
    with pytest.raises(AssertionError, match='x and y differ in length'):
        double(np.ones(2), np.ones(3))


def test_increments_of_whole_arrays_are_no_scatters(rng):
    # XLA 0.10.2 aborts the process on the reverse of a scatter into a
    # broadcast, which a scan's gradient builds; the lowering must leave
    # no scatter for an increment (or a setting) of the whole array. The
    # slices' bounds are not provably whole, only when JAX traces.
    s, y = pt.matrix('s'), pt.matrix('y')
    zeros = pt.zeros((s.shape[0], 2))
    whole = [pt.inc_subtensor(zeros[:y.shape[0]], y)[::-1],
             pt.set_subtensor(zeros[:y.shape[0]], 2 * y)[::-1]]
    part = [pt.inc_subtensor(zeros[1:], y[1:])[::-1],
            pt.set_subtensor(zeros[:, 1:], y[:, :1])]
    values = [rng.normal(size=(3, 2)), rng.normal(size=(3, 2))]
    graph = pytensor.function([s, y], whole, mode=JAX).maker.fgraph
    lowered = jax.jit(jax_funcify(graph)).lower(*values).as_text()
    assert 'scatter' not in lowered
    _, y_value = values
    expected = [y_value[::-1], 2 * y_value[::-1],
                np.vstack([np.zeros((1, 2)), y_value[1:]])[::-1],
                np.hstack([np.zeros((3, 1)), y_value[:, :1]])]
    results = pytensor.function([s, y], whole + part, mode=JAX)(*values)
    for result, value in zip(results, expected):
        np.testing.assert_allclose(result, value, rtol=RTOL, atol=ATOL)
