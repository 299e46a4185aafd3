"""Tests of blocks/ops/conv.py against an independent NumPy reference."""
import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.compile.mode import get_mode
from pytensor.gradient import verify_grad
from scipy.signal import correlate

from blocks.ops import (
    conv2d,
    conv2d_grad_wrt_inputs,
    conv2d_grad_wrt_weights,
    conv_output_shape,
)
from blocks.ops import _conv_kernels as kernels
from blocks.ops.conv import border_padding, int_pair

# Python linker calling the Numba kernels: the cheapest mode to compile.
# A Mode object: given the name, verify_grad compiles its cost with
# FAST_RUN (Numba), whose JIT takes seconds per graph.
FAST = get_mode("FAST_COMPILE")


def reference_conv(x, w, pad=(0, 0), stride=(1, 1), dilation=(1, 1),
                   flip=False):
    """Direct cross-correlation by tensordot over each output position."""
    if flip:
        w = w[:, :, ::-1, ::-1]
    x = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    span = [dilation[k] * (w.shape[2 + k] - 1) + 1 for k in range(2)]
    out_rows = (x.shape[2] - span[0]) // stride[0] + 1
    out_cols = (x.shape[3] - span[1]) // stride[1] + 1
    out = np.zeros((x.shape[0], w.shape[0], max(out_rows, 0),
                    max(out_cols, 0)))
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            r, c = i * stride[0], j * stride[1]
            patch = x[:, :, r:r + span[0]:dilation[0],
                      c:c + span[1]:dilation[1]]
            out[:, :, i, j] = np.tensordot(patch, w, axes=([1, 2, 3],
                                                           [1, 2, 3]))
    return out


@pytest.fixture(scope="module")
def rng():
    return np.random.default_rng(1234)


def _random(rng, shape, dtype="float64"):
    return rng.standard_normal(shape).astype(dtype)


def test_reference_agrees_with_scipy(rng):
    x, w = _random(rng, (2, 3, 7, 6)), _random(rng, (4, 3, 3, 2))
    expected = np.stack([
        np.stack([correlate(x[n], w[f], mode="valid")[0] for f in range(4)])
        for n in range(2)])
    assert np.allclose(reference_conv(x, w), expected)


# (input shape, filter shape, border_mode, subsample, dilation, flip,
#  padding used by the reference)
CASES = [
    ((2, 3, 7, 6), (4, 3, 3, 2), "valid", (1, 1), (1, 1), False, (0, 0)),
    ((2, 3, 7, 6), (4, 3, 3, 2), "full", (1, 1), (1, 1), False, (2, 1)),
    ((1, 2, 6, 9), (3, 2, 3, 5), "half", (1, 1), (1, 1), False, (1, 2)),
    ((2, 1, 8, 7), (2, 1, 3, 3), 1, (2, 2), (1, 1), False, (1, 1)),
    ((2, 2, 9, 8), (3, 2, 2, 3), (2, 0), (2, 3), (1, 1), True, (2, 0)),
    ((1, 2, 11, 10), (2, 2, 3, 2), "valid", (1, 2), (2, 3), False, (0, 0)),
    ((2, 2, 9, 9), (1, 2, 3, 3), "half", (3, 1), (2, 2), True, (2, 2)),
    ((3, 1, 5, 5), (1, 1, 5, 5), "valid", (1, 1), (1, 1), True, (0, 0)),
]


@pytest.mark.parametrize(
    "ishape, fshape, border_mode, subsample, dilation, flip, pad", CASES)
def test_conv2d_matches_reference(rng, ishape, fshape, border_mode,
                                  subsample, dilation, flip, pad):
    x, w = _random(rng, ishape), _random(rng, fshape)
    xs = pt.tensor4("x", shape=ishape)
    ws = pt.tensor4("w", shape=fshape)
    y = conv2d(xs, ws, border_mode=border_mode, subsample=subsample,
               filter_flip=flip, filter_dilation=dilation)
    expected = reference_conv(x, w, pad, subsample, dilation, flip)
    assert y.type.shape == expected.shape
    assert conv_output_shape(ishape, fshape, border_mode, subsample,
                             dilation) == expected.shape
    # Gradients against the reference's adjoint: <dy, conv(x, w)> is
    # bilinear, so its gradients are exact linear maps we can check with
    # finite differences of the reference... cheaper: check via transposes.
    dy = _random(rng, expected.shape)
    cost = (y * dy).sum()
    gx, gw = pytensor.grad(cost, [xs, ws])
    f = pytensor.function([xs, ws], [y, gx, gw], mode=FAST)
    out, grad_x, grad_w = f(x, w)
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)
    # Directional check of both gradients with the (linear) reference.
    dx, dw = _random(rng, ishape), _random(rng, fshape)
    along_x = (reference_conv(dx, w, pad, subsample, dilation, flip)
               * dy).sum()
    along_w = (reference_conv(x, dw, pad, subsample, dilation, flip)
               * dy).sum()
    np.testing.assert_allclose((grad_x * dx).sum(), along_x, rtol=1e-9)
    np.testing.assert_allclose((grad_w * dw).sum(), along_w, rtol=1e-9)


@pytest.mark.parametrize("per_image", [True, False])
@pytest.mark.parametrize("images_per_chunk", [1, 2])
def test_kernels_split_the_batch_into_chunks(rng, images_per_chunk,
                                             per_image):
    """A column budget of one or two images' columns makes the kernels
    process 3 images in several chunks (the last one partial), with
    products per image or per chunk; the results must not depend on it."""
    x, w = _random(rng, (3, 2, 7, 6)), _random(rng, (4, 2, 3, 2))
    pad, stride, dilation = (1, 0), (2, 1), (1, 2)
    expected = reference_conv(x, w, pad, stride, dilation)
    g = _random(rng, expected.shape)
    geometry = (*stride, *pad, *dilation)
    columns_per_image = (2 * 3 * 2) * (4 * 4)  # rows * output pixels
    budget = images_per_chunk * columns_per_image * x.itemsize
    chunked = dict(budget=budget, per_image=per_image)
    out = kernels.conv2d_forward(x, w, *geometry, **chunked)
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)
    # Both gradients against the adjoint identity <g, conv(x, w)>.
    grad_w = kernels.conv2d_grad_weights(x, g, 3, 2, *geometry, **chunked)
    grad_x = kernels.conv2d_grad_inputs(w, g, 7, 6, *geometry, **chunked)
    np.testing.assert_allclose((grad_w * w).sum(), (g * expected).sum(),
                               rtol=1e-10)
    np.testing.assert_allclose((grad_x * x).sum(), (g * expected).sum(),
                               rtol=1e-10)
    # and equal to the one-chunk results in every entry
    whole = dict(per_image=not per_image)
    np.testing.assert_allclose(
        grad_w, kernels.conv2d_grad_weights(x, g, 3, 2, *geometry, **whole),
        rtol=1e-12)
    np.testing.assert_allclose(
        grad_x, kernels.conv2d_grad_inputs(w, g, 7, 6, *geometry, **whole),
        rtol=1e-12)


@pytest.mark.parametrize("mode", [None, "CVM", "FAST_RUN"])
def test_compile_modes_float32(rng, mode):
    x = _random(rng, (2, 3, 8, 7), "float32")
    w = _random(rng, (4, 3, 3, 3), "float32")
    xs = pt.tensor4("x", dtype="float32")
    ws = pt.tensor4("w", dtype="float32")
    y = conv2d(xs, ws, border_mode="half", subsample=(2, 1))
    gx, gw = pytensor.grad(y.sum(), [xs, ws])
    f = pytensor.function([xs, ws], [y, gx, gw], mode=mode)
    out, grad_x, grad_w = f(x, w)
    assert out.dtype == grad_x.dtype == grad_w.dtype == np.float32
    expected = reference_conv(x.astype("float64"), w.astype("float64"),
                              (1, 1), (2, 1))
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)
    ones = np.ones_like(expected)
    along_w = reference_conv(x.astype("float64"), np.ones_like(w, "float64"),
                             (1, 1), (2, 1))
    np.testing.assert_allclose(grad_w.sum(), (along_w * ones).sum(),
                               rtol=1e-4)


def test_symbolic_shapes_and_infer_shape(rng):
    xs = pt.tensor4("x")
    ws = pt.tensor4("w")
    y = conv2d(xs, ws, border_mode=(1, 2), subsample=(2, 3),
               filter_dilation=(1, 2))
    assert y.type.shape == (None, None, None, None)
    gx, gw = pytensor.grad(y.sum(), [xs, ws])
    f = pytensor.function([xs, ws], [y.shape, gx.shape, gw.shape],
                          mode=FAST)
    x, w = _random(rng, (2, 3, 9, 11)), _random(rng, (4, 3, 3, 2))
    expected = reference_conv(x, w, (1, 2), (2, 3), (1, 2)).shape
    shapes = f(x, w)
    assert tuple(shapes[0]) == expected
    assert tuple(shapes[1]) == x.shape
    assert tuple(shapes[2]) == w.shape


def test_shape_hints_give_static_shapes():
    x = pt.tensor4("x")
    w = pt.tensor4("w")
    y = conv2d(x, w, input_shape=(None, 3, 10, 10),
               filter_shape=(5, 3, 3, 3), border_mode="full")
    assert y.type.shape == (None, 5, 12, 12)


def test_conv_output_shape_handles_none():
    assert conv_output_shape((None, 3, None, 28), (8, None, 5, 5)) == (
        None, 8, None, 24)
    assert conv_output_shape((2, 1, 9, 9), (1, 1, 3, 3), "half", (2, 2),
                             (2, 2)) == (2, 1, 5, 5)


@pytest.mark.parametrize("subsample, border_mode, dilation", [
    ((1, 1), "valid", (1, 1)),
    ((2, 3), (1, 2), (1, 1)),
    ((1, 2), "full", (2, 1)),
])
def test_verify_grad_conv2d(rng, subsample, border_mode, dilation):
    x, w = _random(rng, (2, 2, 7, 8)), _random(rng, (3, 2, 3, 2))
    verify_grad(
        lambda a, b: conv2d(a, b, border_mode=border_mode,
                            subsample=subsample, filter_dilation=dilation),
        [x, w], rng=rng, mode=FAST)


@pytest.mark.parametrize("subsample, border_mode", [
    ((1, 1), "valid"), ((2, 2), (1, 0)), ((1, 2), "half")])
def test_verify_grad_transposed_convolution(rng, subsample, border_mode):
    """Grad of the grad: conv2d_grad_wrt_inputs is the forward pass of a
    ConvolutionalTranspose brick, so it must be differentiable."""
    w = _random(rng, (3, 2, 3, 3))
    image = (7, 8)
    out_shape = conv_output_shape((2, 2) + image, w.shape, border_mode,
                                  subsample)
    g = _random(rng, out_shape)
    verify_grad(
        lambda a, b: conv2d_grad_wrt_inputs(
            a, b, (2, 2) + image, border_mode=border_mode,
            subsample=subsample, filter_flip=True),
        [g, w], rng=rng, mode=FAST)


def test_verify_grad_of_weight_gradient(rng):
    x = _random(rng, (2, 2, 7, 6))
    g = _random(rng, (2, 3, 3, 6))
    verify_grad(
        lambda a, b: conv2d_grad_wrt_weights(
            a, b, (3, 2, 3, 3), border_mode=(0, 1), subsample=(2, 1)),
        [x, g], rng=rng, mode=FAST)


def test_transposed_convolution_is_the_adjoint(rng):
    """<conv(x, w), g> == <x, conv_transpose(g, w)> for odd geometry."""
    x, w = _random(rng, (2, 3, 9, 8)), _random(rng, (4, 3, 3, 2))
    geometry = dict(border_mode=(1, 1), subsample=(2, 3),
                    filter_dilation=(2, 1), filter_flip=True)
    gs = pt.tensor4("g")
    ws = pt.tensor4("w")
    xs = pt.tensor4("x")
    expected_y = reference_conv(x, w, (1, 1), (2, 3), (2, 1), flip=True)
    g = _random(rng, expected_y.shape)
    dx = conv2d_grad_wrt_inputs(gs, ws, (None, 3, 9, 8), **geometry)
    dw = conv2d_grad_wrt_weights(xs, gs, (4, 3, 3, 2), **geometry)
    assert dx.type.shape == (None, 3, 9, 8)
    assert dw.type.shape == (4, 3, 3, 2)
    f = pytensor.function([xs, gs, ws], [dx, dw], mode=FAST)
    dx_value, dw_value = f(x, g, w)
    np.testing.assert_allclose((dx_value * x).sum(), (expected_y * g).sum(),
                               rtol=1e-10)
    np.testing.assert_allclose((dw_value * w).sum(), (expected_y * g).sum(),
                               rtol=1e-10)


def test_symbolic_input_shape_for_transposed_convolution(rng):
    gs = pt.tensor4("g")
    ws = pt.tensor4("w")
    rows = pt.lscalar("rows")
    dx = conv2d_grad_wrt_inputs(gs, ws, (None, None, rows, 8),
                                subsample=(2, 2))
    f = pytensor.function([gs, ws, rows], dx, mode=FAST)
    g, w = _random(rng, (1, 2, 3, 3)), _random(rng, (2, 1, 3, 3))
    assert f(g, w, 7).shape == (1, 1, 7, 8)
    assert f(g, w, 8).shape == (1, 1, 8, 8)


@pytest.mark.parametrize("call, match", [
    (lambda: conv2d(pt.tensor3(), pt.tensor4()),
     r"conv2d input must be a 4-d tensor, got ndim=3"),
    (lambda: conv2d(pt.tensor4(), pt.matrix()),
     r"conv2d filters must be a 4-d tensor, got ndim=2"),
    (lambda: conv2d(pt.tensor4(shape=(None, 3, 5, 5)),
                    pt.tensor4(shape=(2, 4, 3, 3))),
     r"input has 3 channels .* filters have 4"),
    (lambda: conv2d(pt.tensor4(), pt.tensor4(), border_mode="same"),
     r"border_mode must be 'valid', 'full', 'half', .* got 'same'"),
    (lambda: conv2d(pt.tensor4(), pt.tensor4(), border_mode=(1, -1)),
     r"padding must be non-negative, got \(1, -1\)"),
    (lambda: conv2d(pt.tensor4(), pt.tensor4(), subsample=(0, 1)),
     r"subsample must be positive, got \(0, 1\)"),
    (lambda: conv2d(pt.tensor4(shape=(None, 3, 5, 5)), pt.tensor4(),
                    input_shape=(None, 2, 5, 5)),
     r"input_shape \(None, 2, 5, 5\) does not match the static shape"),
    (lambda: conv2d_grad_wrt_inputs(pt.tensor4(), pt.tensor4(), None),
     r"input_shape is required, got None"),
])
def test_bad_configuration_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_runtime_channel_mismatch_raises(rng):
    xs, ws = pt.tensor4("x"), pt.tensor4("w")
    f = pytensor.function([xs, ws], conv2d(xs, ws), mode=FAST)
    with pytest.raises(ValueError, match="as many channels"):
        f(_random(rng, (1, 2, 5, 5)), _random(rng, (1, 3, 3, 3)))


def test_matches_torch(rng):
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    x = _random(rng, (3, 4, 11, 10), "float32")
    w = _random(rng, (5, 4, 3, 2), "float32")
    xs = pt.tensor4("x", dtype="float32")
    ws = pt.tensor4("w", dtype="float32")
    y = conv2d(xs, ws, border_mode=(2, 1), subsample=(2, 1),
               filter_dilation=(1, 2))
    dy = _random(rng, (3, 5, 7, 10), "float32")
    gx, gw = pytensor.grad((y * dy).sum(), [xs, ws])
    out, grad_x, grad_w = pytensor.function([xs, ws], [y, gx, gw])(x, w)
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    yt = functional.conv2d(xt, wt, padding=(2, 1), stride=(2, 1),
                           dilation=(1, 2))
    yt.backward(torch.from_numpy(dy))
    np.testing.assert_allclose(out, yt.detach().numpy(), rtol=1e-4,
                               atol=1e-4)
    np.testing.assert_allclose(grad_x, xt.grad.numpy(), rtol=1e-4,
                               atol=1e-4)
    np.testing.assert_allclose(grad_w, wt.grad.numpy(), rtol=1e-4,
                               atol=1e-3)


@pytest.mark.parametrize("dilation", [(1, 1), (2, 3)])
def test_border_padding_follows_the_dilated_filter(dilation):
    spans = [(3 - 1) * d + 1 for d in dilation]
    assert border_padding("valid", (3, 3), dilation) == (0, 0)
    assert border_padding("full", (3, 3), dilation) == tuple(
        span - 1 for span in spans)
    assert border_padding((1, 2), (3, 3), dilation) == (1, 2)
    # 'half' keeps the size of the image for odd spans
    assert conv_output_shape((None, 1, 9, 8), (1, 1, 3, 3), "half",
                             dilation=dilation)[2:] == (9, 8)
    assert border_padding("half", (3, 3), dilation) == tuple(
        span // 2 for span in spans)


@pytest.mark.parametrize("value, kwargs, match", [
    ((1, 2, 3), {}, r"step must be a pair of ints, got \(1, 2, 3\)"),
    ((1, True), {}, r"step must be a pair of ints, got \(1, True\)"),
    ((0, 1), {"minimum": 1}, r"step must be a pair of ints >= 1, got"),
    ((None, 1), {"minimum": 1}, r"pair of ints >= 1, got \(None, 1\)"),
    ("ab", {}, r"step must be a pair of ints, got 'ab'"),
])
def test_int_pair_rejects(value, kwargs, match):
    with pytest.raises(ValueError, match=match):
        int_pair(value, "step", **kwargs)


def test_int_pair_accepts():
    assert int_pair(np.int64(2), "step") == (2, 2)
    assert int_pair([3, None], "size", minimum=1, allow_none=True) == (3, None)
