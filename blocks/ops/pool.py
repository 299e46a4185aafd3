"""2-d pooling over the last two axes of a tensor, with its gradients.

PyTensor 3 dropped ``tensor.signal.pool``; :func:`pool_2d` brings back the
Theano interface and semantics (modes ``'max'``, ``'average_inc_pad'``,
``'average_exc_pad'``; ``ignore_border=False`` keeps partial windows at the
bottom and right edges).

Ops: :class:`Pool` (forward), :class:`PoolGrad` (its gradient) and
:class:`MaxPoolGradGrad` (gradient of the max-pool gradient with respect to
the output gradient), so that pooling is differentiable twice. All run the
Numba kernels of :mod:`blocks.ops._pool_kernels` from ``perform``, under
every linker (see :mod:`blocks.ops._numba`).
"""

import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import disconnected_type
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.scalar import upcast
from pytensor.tensor.type import TensorType

from blocks.ops import _pool_kernels as kernels
from blocks.ops._numba import register_perform_in_object_mode
from blocks.ops.conv import int_pair

__all__ = ["pool_2d", "pool_output_shape", "Pool", "PoolGrad",
           "MaxPoolGradGrad"]

_MODES = {
    "max": kernels.MAX,
    "average_inc_pad": kernels.AVERAGE_INC_PAD,
    "average_exc_pad": kernels.AVERAGE_EXC_PAD,
}


def _check_config(ws, stride, pad, ignore_border, mode):
    """Validate pooling settings; returns normalised (ws, stride, pad)."""
    ws = int_pair(ws, "ws", minimum=1)
    stride = ws if stride is None else int_pair(stride, "stride", minimum=1)
    pad = int_pair(pad, "pad", minimum=0)
    if mode not in _MODES:
        raise ValueError(
            f"mode must be one of {sorted(_MODES)}, got {mode!r}")
    if not isinstance(ignore_border, (bool, np.bool_)):
        raise ValueError(
            f"ignore_border must be True or False, got {ignore_border!r}")
    if pad != (0, 0) and not ignore_border:
        raise ValueError(
            f"padding needs ignore_border=True, got pad={pad} with "
            "ignore_border=False")
    if pad[0] >= ws[0] or pad[1] >= ws[1]:
        raise ValueError(
            f"pad must be smaller than the window: got pad={pad}, ws={ws}")
    return ws, stride, pad


def pool_output_shape(image_shape, ws, ignore_border=True, stride=None,
                      pad=(0, 0)):
    """Shape of :func:`pool_2d`'s output.

    Parameters
    ----------
    image_shape : tuple of int or None
        Input shape (at least 2 entries); None marks an unknown entry.
    ws, ignore_border, stride, pad
        As in :func:`pool_2d`.

    Returns
    -------
    tuple
        The leading entries unchanged, then the pooled rows and columns
        (None where unknown).

    Examples
    --------
    >>> pool_output_shape((None, 20, 24, 24), (2, 2))
    (None, 20, 12, 12)
    >>> pool_output_shape((5, 5), (2, 2), ignore_border=False)
    (3, 3)
    """
    image_shape = tuple(image_shape)
    if len(image_shape) < 2:
        raise ValueError(
            f"image_shape needs at least 2 entries, got {image_shape}")
    ws, stride, pad = _check_config(ws, stride, pad, ignore_border, "max")
    spatial = tuple(
        None if size is None else int(kernels.output_size(
            size, ws[k], stride[k], pad[k], ignore_border))
        for k, size in enumerate(image_shape[-2:]))
    return image_shape[:-2] + spatial


class _PoolBase(Op):
    """Settings shared by the pooling Ops: pairs ``ws``, ``stride``, ``pad``,
    bool ``ignore_border`` and the ``mode`` name."""

    __props__ = ("ws", "stride", "pad", "ignore_border", "mode")

    def __init__(self, ws, stride=None, pad=(0, 0), ignore_border=True,
                 mode="max"):
        self.ws, self.stride, self.pad = _check_config(
            ws, stride, pad, ignore_border, mode)
        self.ignore_border = bool(ignore_border)
        self.mode = mode

    @property
    def geometry(self):
        """``(window_r, window_c, stride_r, stride_c, pad_r, pad_c)``."""
        return (*self.ws, *self.stride, *self.pad)

    def _out_spatial(self, spatial):
        return pool_output_shape(spatial, self.ws, self.ignore_border,
                                 self.stride, self.pad)

    def _out_spatial_symbolic(self, rows, cols):
        out = []
        for k, size in enumerate((rows, cols)):
            ws, st, pad = self.ws[k], self.stride[k], self.pad[k]
            if self.ignore_border:
                out.append(pt.maximum((size + 2 * pad - ws) // st + 1, 0))
                continue
            if st >= ws:
                n = (size - 1) // st + 1
            else:
                n = pt.maximum((size - 1 - ws + st) // st, 0) + 1
            out.append(pt.switch(pt.le(size, 0), 0, n))
        return out

    def _new(self, op_class, mode=None):
        return op_class(self.ws, self.stride, self.pad, self.ignore_border,
                        self.mode if mode is None else mode)


def _check_input(x, what="pool_2d input"):
    x = pt.as_tensor_variable(x)
    if x.ndim < 2:
        raise ValueError(
            f"{what} must have at least 2 dimensions, got ndim={x.ndim} "
            f"(type {x.type})")
    if not x.dtype.startswith("float"):
        x = pt.cast(x, upcast(x.dtype, "float32"))
    return x


def _as_stack(array):
    """C-contiguous ``(M, rows, cols)`` view or copy of ``array``."""
    return np.ascontiguousarray(array).reshape((-1, *array.shape[-2:]))


class Pool(_PoolBase):
    """Pool the last two axes of a tensor of any ndim >= 2.

    Prefer :func:`pool_2d`.
    """

    def make_node(self, x):
        x = _check_input(x)
        spatial = self._out_spatial(x.type.shape[-2:])
        out = TensorType(x.dtype, shape=x.type.shape[:-2] + spatial)()
        return Apply(self, [x], [out])

    def perform(self, node, inputs, outputs):
        (x,) = inputs
        spatial = self._out_spatial(x.shape[-2:])
        out = np.empty(x.shape[:-2] + spatial, dtype=x.dtype)
        if out.size:
            kernels.pool_forward(_as_stack(x), out.reshape((-1, *spatial)),
                                 *self.geometry, _MODES[self.mode])
        outputs[0][0] = out

    def infer_shape(self, fgraph, node, shapes):
        (shape,) = shapes
        return [(*shape[:-2], *self._out_spatial_symbolic(*shape[-2:]))]

    def pullback(self, inputs, outputs, output_grads):
        (x,) = inputs
        (gz,) = output_grads
        return [self._new(PoolGrad)(x, gz)]


class PoolGrad(_PoolBase):
    """Gradient of :class:`Pool`: inputs ``x`` (the pooled tensor) and ``gz``
    (gradient of the pooled output); output shaped like ``x``.

    For the average modes ``x`` only gives the shape and the result is
    linear in ``gz``; for max pooling each window's gradient goes to its
    first maximum.
    """

    def make_node(self, x, gz):
        x = _check_input(x)
        gz = pt.as_tensor_variable(gz)
        if gz.ndim != x.ndim:
            raise ValueError(
                f"pooling gradient must have ndim={x.ndim} like the input, "
                f"got ndim={gz.ndim}")
        gz = pt.cast(gz, x.dtype) if gz.dtype != x.dtype else gz
        return Apply(self, [x, gz], [x.type()])

    def perform(self, node, inputs, outputs):
        x, gz = inputs
        expected = x.shape[:-2] + self._out_spatial(x.shape[-2:])
        if gz.shape != expected:
            raise ValueError(
                f"pooling gradient has shape {gz.shape}, expected "
                f"{expected} for input shape {x.shape}")
        gx = np.zeros_like(x, order="C")
        if gz.size:
            kernels.pool_backward(_as_stack(x), _as_stack(gz),
                                  gx.reshape((-1, *x.shape[-2:])),
                                  *self.geometry, _MODES[self.mode])
        outputs[0][0] = gx

    def infer_shape(self, fgraph, node, shapes):
        return [shapes[0]]

    def connection_pattern(self, node):
        return [[self.mode == "max"], [True]]

    def pullback(self, inputs, outputs, output_grads):
        x, gz = inputs
        (ggx,) = output_grads
        if self.mode == "max":
            # The routing to the maxima is piecewise constant in x.
            return [pt.zeros_like(x),
                    self._new(MaxPoolGradGrad)(x, ggx)]
        return [disconnected_type(), self._new(Pool)(ggx)]


class MaxPoolGradGrad(_PoolBase):
    """Gradient of the max-pooling :class:`PoolGrad` with respect to its
    output gradient: gathers ``ggx`` at each window's first maximum of
    ``x``. Output shaped like the pooled output."""

    def make_node(self, x, ggx):
        x = _check_input(x)
        ggx = pt.as_tensor_variable(ggx)
        if ggx.type.ndim != x.ndim:
            raise ValueError(
                f"max-pool second gradient must have ndim={x.ndim}, got "
                f"ndim={ggx.ndim}")
        ggx = pt.cast(ggx, x.dtype) if ggx.dtype != x.dtype else ggx
        spatial = self._out_spatial(x.type.shape[-2:])
        out = TensorType(x.dtype, shape=x.type.shape[:-2] + spatial)()
        return Apply(self, [x, ggx], [out])

    def perform(self, node, inputs, outputs):
        x, ggx = inputs
        if ggx.shape != x.shape:
            raise ValueError(
                f"max-pool second gradient has shape {ggx.shape}, expected "
                f"the input shape {x.shape}")
        spatial = self._out_spatial(x.shape[-2:])
        out = np.empty(x.shape[:-2] + spatial, dtype=x.dtype)
        if out.size:
            kernels.max_pool_gather(_as_stack(x), _as_stack(ggx),
                                    out.reshape((-1, *spatial)),
                                    *self.geometry)
        outputs[0][0] = out

    def infer_shape(self, fgraph, node, shapes):
        shape = shapes[0]
        return [(*shape[:-2], *self._out_spatial_symbolic(*shape[-2:]))]

    def pullback(self, inputs, outputs, output_grads):
        x, ggx = inputs
        (g,) = output_grads
        return [pt.zeros_like(x), self._new(PoolGrad)(x, g)]


def pool_2d(input, ws, ignore_border=True, stride=None, pad=(0, 0),
            mode="max"):
    """Pool the last two axes of ``input`` with a ``ws`` window.

    Parameters
    ----------
    input : tensor
        Any ndim >= 2; the last two axes are pooled.
    ws : (int, int)
        Window rows and columns.
    ignore_border : bool
        True drops windows that do not fit (the bottom/right remainder);
        False keeps partial windows there (Theano semantics; needs
        ``pad=(0, 0)``).
    stride : (int, int) or None
        Step between windows; None means ``ws`` (no overlap).
    pad : (int, int)
        Rows and columns of padding on each side, smaller than ``ws``.
        Padding never wins a max and counts in the divisor only for
        ``'average_inc_pad'``.
    mode : {'max', 'average_inc_pad', 'average_exc_pad'}
        Max pooling, or average pooling whose divisor includes or excludes
        the padding.

    Returns
    -------
    tensor
        The input's leading axes followed by the pooled rows and columns
        (see :func:`pool_output_shape`).

    Examples
    --------
    >>> import numpy as np, pytensor, pytensor.tensor as pt
    >>> x = pt.matrix('x')
    >>> f = pytensor.function([x], pool_2d(x, (2, 2), ignore_border=False))
    >>> f(np.arange(9.).reshape(3, 3))
    array([[4., 5.],
           [7., 8.]])
    """
    input = _check_input(input)
    return Pool(ws, stride, pad, ignore_border, mode)(input)


# Numba linker: see blocks.ops._numba for why perform runs in object mode.
register_perform_in_object_mode(Pool)
register_perform_in_object_mode(PoolGrad)
register_perform_in_object_mode(MaxPoolGradGrad)
