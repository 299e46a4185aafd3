"""Tests of blocks/ops/pool.py against an explicit-loop NumPy reference."""
import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.compile.mode import get_mode
from pytensor.gradient import verify_grad

from blocks.ops import pool_2d, pool_output_shape

# A Mode object: given the name, verify_grad compiles its cost with
# FAST_RUN (Numba), whose JIT takes seconds per graph.
FAST = get_mode("FAST_COMPILE")


def reference_pool(x, ws, ignore_border=True, stride=None, pad=(0, 0),
                   mode="max"):
    """Theano's pooling by loops over windows of the last two axes."""
    stride = stride or ws
    rows, cols = x.shape[-2:]
    sizes = []
    for size, w, s, p in zip((rows, cols), ws, stride, pad):
        if ignore_border:
            sizes.append(max(0, (size + 2 * p - w) // s + 1))
        else:
            # Windows start inside the image until one reaches its end.
            count = 1
            while count * s < size and (count - 1) * s + w < size:
                count += 1
            sizes.append(count)
    out = np.zeros(x.shape[:-2] + tuple(sizes))
    for i in range(sizes[0]):
        for j in range(sizes[1]):
            r0, c0 = i * stride[0] - pad[0], j * stride[1] - pad[1]
            r1 = min(r0 + ws[0], rows + pad[0])
            c1 = min(c0 + ws[1], cols + pad[1])
            window = x[..., max(r0, 0):min(r1, rows), max(c0, 0):min(c1, cols)]
            if mode == "max":
                out[..., i, j] = window.max(axis=(-2, -1))
            elif mode == "average_inc_pad":
                out[..., i, j] = window.sum(axis=(-2, -1)) / (
                    (r1 - r0) * (c1 - c0))
            else:
                out[..., i, j] = window.mean(axis=(-2, -1))
    return out


def distinct_values(rng, shape):
    """Values at least 0.01 apart, so max pooling has no near-ties."""
    values = rng.permutation(int(np.prod(shape))) * 0.01
    return (values + rng.uniform(0, 0.001, values.shape)).reshape(shape)


@pytest.fixture(scope="module")
def rng():
    return np.random.default_rng(4321)


def test_reference_partial_windows():
    # 5 rows, window 2 step 2, partial windows kept: 3 outputs.
    assert reference_pool(np.zeros((5, 5)), (2, 2), False).shape == (3, 3)
    assert reference_pool(np.zeros((5, 5)), (3, 3), False, (1, 1)).shape == (
        3, 3)


CASES = [
    # (input shape, ws, ignore_border, stride, pad)
    ((2, 3, 6, 7), (2, 2), True, None, (0, 0)),
    ((2, 3, 7, 5), (2, 3), False, None, (0, 0)),
    ((1, 1, 7, 8), (3, 2), False, (1, 2), (0, 0)),
    ((2, 7, 6), (3, 3), True, (2, 1), (1, 2)),
    ((5, 4), (2, 2), True, (1, 1), (1, 1)),
    ((1, 2, 2, 5, 6), (3, 2), False, (4, 3), (0, 0)),
]
MODES = ["max", "average_inc_pad", "average_exc_pad"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape, ws, ignore_border, stride, pad", CASES)
def test_pool_matches_reference(rng, shape, ws, ignore_border, stride, pad,
                                mode):
    x = distinct_values(rng, shape)
    xs = pt.tensor(shape=(None,) * len(shape), name="x")
    y = pool_2d(xs, ws, ignore_border, stride, pad, mode)
    expected = reference_pool(x, ws, ignore_border, stride, pad, mode)
    assert pool_output_shape(shape, ws, ignore_border, stride,
                             pad) == expected.shape
    f = pytensor.function([xs], [y, y.shape], mode=FAST)
    out, out_shape = f(x)
    assert tuple(out_shape) == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-12)


def test_static_shape():
    x = pt.tensor4(shape=(None, 20, 24, 23))
    assert pool_2d(x, (2, 2)).type.shape == (None, 20, 12, 11)
    assert pool_2d(x, (2, 2), ignore_border=False).type.shape == (
        None, 20, 12, 12)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape, ws, ignore_border, stride, pad", [
    ((2, 2, 5, 7), (2, 3), False, None, (0, 0)),
    ((1, 2, 6, 5), (3, 3), True, (2, 1), (1, 2)),
    ((3, 7, 6), (3, 2), False, (1, 2), (0, 0)),
])
def test_verify_grad(rng, shape, ws, ignore_border, stride, pad, mode):
    x = distinct_values(rng, shape)
    verify_grad(lambda a: pool_2d(a, ws, ignore_border, stride, pad, mode),
                [x], rng=rng, mode=FAST)


@pytest.mark.parametrize("mode", MODES)
def test_verify_second_derivative(rng, mode):
    """Pooling is differentiable twice (max pooling's gradient is piecewise
    linear; the average modes are linear)."""
    x = distinct_values(rng, (2, 5, 6))

    def first_grad(a):
        y = pool_2d(a, (3, 2), False, (2, 1), mode=mode)
        return pytensor.grad((y ** 2).sum(), a)

    verify_grad(first_grad, [x], rng=rng, mode=FAST)


@pytest.mark.parametrize("mode", [None, "CVM"])
def test_compile_modes_float32(rng, mode):
    x = distinct_values(rng, (2, 3, 6, 5)).astype("float32")
    xs = pt.tensor4("x", dtype="float32")
    outputs = []
    for pool_mode in MODES:
        y = pool_2d(xs, (3, 3), True, (2, 2), (1, 1), pool_mode)
        outputs += [y, pytensor.grad(y.sum(), xs)]
    values = pytensor.function([xs], outputs, mode=mode)(x)
    for k, pool_mode in enumerate(MODES):
        y, gx = values[2 * k:2 * k + 2]
        assert y.dtype == gx.dtype == np.float32
        np.testing.assert_allclose(
            y, reference_pool(x, (3, 3), True, (2, 2), (1, 1), pool_mode),
            rtol=1e-6)
        # Every window's weights sum to 1 for max and exc_pad averages.
        if pool_mode != "average_inc_pad":
            np.testing.assert_allclose(gx.sum(), y.size, rtol=1e-6)


def test_max_gradient_goes_to_first_maximum():
    xs = pt.matrix("x")
    gx = pytensor.grad(pool_2d(xs, (2, 2)).sum(), xs)
    value = pytensor.function([xs], gx, mode=FAST)(np.ones((2, 2)))
    np.testing.assert_array_equal(value, [[1, 0], [0, 0]])


@pytest.mark.parametrize("call, match", [
    (lambda: pool_2d(pt.vector(), (2, 2)),
     r"at least 2 dimensions, got ndim=1"),
    (lambda: pool_2d(pt.matrix(), (2, 2), mode="sum"),
     r"mode must be one of .* got 'sum'"),
    (lambda: pool_2d(pt.matrix(), (0, 2)), r"ws must be a pair of ints >= 1"),
    (lambda: pool_2d(pt.matrix(), (2, 2), False, pad=(1, 1)),
     r"padding needs ignore_border=True, got pad=\(1, 1\)"),
    (lambda: pool_2d(pt.matrix(), (2, 2), pad=(2, 0)),
     r"pad must be smaller than the window: got pad=\(2, 0\), ws=\(2, 2\)"),
])
def test_bad_configuration_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("mode", MODES)
def test_matches_torch(rng, mode):
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    x = distinct_values(rng, (2, 3, 9, 8)).astype("float32")
    xs = pt.tensor4("x", dtype="float32")
    y = pool_2d(xs, (3, 2), True, (2, 1), (1, 1), mode)
    dy = rng.standard_normal((2, 3, 5, 9)).astype("float32")
    gx = pytensor.grad((y * dy).sum(), xs)
    out, grad = pytensor.function([xs], [y, gx])(x)
    xt = torch.tensor(x, requires_grad=True)
    if mode == "max":
        yt = functional.max_pool2d(xt, (3, 2), (2, 1), (1, 1))
    else:
        yt = functional.avg_pool2d(
            xt, (3, 2), (2, 1), (1, 1),
            count_include_pad=mode == "average_inc_pad")
    yt.backward(torch.from_numpy(dy))
    np.testing.assert_allclose(out, yt.detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(grad, xt.grad.numpy(), rtol=1e-5, atol=1e-6)
