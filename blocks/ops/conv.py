"""2-d convolution of image batches (the CNN kind), with its gradients.

PyTensor 3 dropped ``tensor.nnet.conv2d``; this module brings back the
Theano interface. Three Ops do the work:

- :class:`Conv2d`: cross-correlation of images ``(batch, channels, rows,
  cols)`` with filters ``(filters, channels, rows, cols)``;
- :class:`Conv2dGradWeights`: its gradient with respect to the filters;
- :class:`Conv2dGradInputs`: its gradient with respect to the images (the
  forward pass of a transposed convolution).

Each Op's gradient is written with the other two, so every one of them is
differentiable to any order. True convolution (``filter_flip=True``) flips the
filters symbolically around the Ops, which only ever correlate.

All three compute with the Numba kernels of :mod:`blocks.ops._conv_kernels`
(chunked im2col + BLAS products per image or per chunk) from ``perform``,
under every linker (the Numba linker reaches ``perform`` through a short
object-mode call, see :mod:`blocks.ops._numba`).
"""
import numbers

import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import disconnected_type
from pytensor.graph.basic import Apply, Constant
from pytensor.graph.op import Op
from pytensor.scalar import upcast
from pytensor.tensor.type import TensorType

from blocks.ops import _conv_kernels as kernels
from blocks.ops._numba import register_perform_in_object_mode

__all__ = [
    "border_padding",
    "conv2d",
    "conv2d_grad_wrt_inputs",
    "conv2d_grad_wrt_weights",
    "conv_output_shape",
    "dilated_size",
    "int_pair",
    "Conv2d",
    "Conv2dGradInputs",
    "Conv2dGradWeights",
]

_BORDER_NAMES = ("valid", "full", "half")


# ---------------------------------------------------------------------------
# Configuration helpers
# ---------------------------------------------------------------------------

def _is_int(value):
    return (isinstance(value, numbers.Integral)
            and not isinstance(value, bool))


def int_pair(value, name, minimum=None, allow_none=False):
    """A (rows, cols) setting as a pair of Python ints.

    Convolution and pooling settings (filter sizes, steps, paddings,
    dilations, image sizes) are pairs; an int ``n`` stands for ``(n, n)``.

    Parameters
    ----------
    value : int or pair of ints
    name : str
        The setting's name, for the message.
    minimum : int, optional
        The smallest allowed entry.
    allow_none : bool, optional
        Entries may be None (an image size unknown until run time).

    Raises
    ------
    ValueError
        Naming the setting, what it must be and what was given.

    Examples
    --------
    >>> int_pair(2, 'step', minimum=1)
    (2, 2)
    >>> int_pair((3, None), 'image_size', minimum=1, allow_none=True)
    (3, None)
    >>> int_pair((0, 1), 'step', minimum=1)
    Traceback (most recent call last):
    ...
    ValueError: step must be a pair of ints >= 1, got (0, 1)

    """
    pair = (value, value) if _is_int(value) else value
    try:
        pair = tuple(pair)
    except TypeError:
        pair = None
    if (pair is None or len(pair) != 2 or not all(
            (allow_none and entry is None)
            or (_is_int(entry) and (minimum is None or entry >= minimum))
            for entry in pair)):
        raise ValueError(
            f"{name} must be a pair of ints"
            f"{'' if minimum is None else f' >= {minimum}'}"
            f"{' or None' if allow_none else ''}, got {value!r}")
    return tuple(None if entry is None else int(entry) for entry in pair)


def _check_geometry(subsample, filter_dilation):
    subsample = int_pair(subsample, "subsample")
    filter_dilation = int_pair(filter_dilation, "filter_dilation")
    if min(subsample) < 1:
        raise ValueError(
            f"subsample must be positive, got {subsample}")
    if min(filter_dilation) < 1:
        raise ValueError(
            f"filter_dilation must be positive, got {filter_dilation}")
    return subsample, filter_dilation


def _check_border_mode(border_mode):
    """Normalise ``border_mode`` to a name in ``_BORDER_NAMES`` or a pair of
    non-negative ints."""
    if isinstance(border_mode, str):
        if border_mode not in _BORDER_NAMES:
            raise ValueError(
                "border_mode must be 'valid', 'full', 'half', an int or a "
                f"pair of ints, got {border_mode!r}")
        return border_mode
    try:
        pad = int_pair(border_mode, "border_mode")
    except ValueError:
        raise ValueError(
            "border_mode must be 'valid', 'full', 'half', an int or a pair "
            f"of ints, got {border_mode!r}") from None
    if min(pad) < 0:
        raise ValueError(
            f"border_mode padding must be non-negative, got {pad}")
    return pad


def dilated_size(kernel_size, dilation):
    """The extent of a filter of `kernel_size` taps spread `dilation`
    apart (ints, or symbolic sizes)."""
    return (kernel_size - 1) * dilation + 1


def _padding(border_mode, kernel_size, dilation):
    """Padding of one axis for a normalised ``border_mode`` entry."""
    dilated = dilated_size(kernel_size, dilation)
    if border_mode == "valid":
        return 0
    if border_mode == "full":
        return dilated - 1
    if border_mode == "half":
        return dilated // 2
    return border_mode


def _axis_modes(border_mode):
    """A normalised ``border_mode`` as one entry per axis."""
    if isinstance(border_mode, str):
        return (border_mode, border_mode)
    return border_mode


def border_padding(border_mode, filter_size, dilation=(1, 1)):
    """The zero padding (rows, cols) on each side of the image that
    `border_mode` gives filters of `filter_size` with `dilation`.

    Examples
    --------
    >>> border_padding('full', (3, 3))
    (2, 2)
    >>> border_padding('half', (3, 3), dilation=(2, 1))
    (2, 1)
    >>> border_padding(1, (5, 5))
    (1, 1)

    """
    modes = _axis_modes(_check_border_mode(border_mode))
    filter_size = int_pair(filter_size, "filter_size", minimum=1)
    dilation = int_pair(dilation, "filter_dilation", minimum=1)
    return tuple(_padding(mode, kernel, step) for mode, kernel, step
                 in zip(modes, filter_size, dilation))


def _static_kernel_size(filters, filter_shape):
    """The filter rows/cols, from the static type or the shape hint."""
    sizes = list(filters.type.shape[2:])
    if filter_shape is not None:
        for k in range(2):
            if sizes[k] is None and filter_shape[2 + k] is not None:
                sizes[k] = filter_shape[2 + k]
    return sizes


def _resolve_padding(border_mode, kernel_sizes, dilation):
    """The Ops' ``border_mode``: a padding pair when it can be known now,
    else the name ('full' or 'half'), resolved from the filters at run
    time."""
    if not isinstance(border_mode, str):
        return border_mode
    if border_mode == "valid":
        return (0, 0)
    if None in kernel_sizes:
        return border_mode
    return tuple(_padding(border_mode, k, d)
                 for k, d in zip(kernel_sizes, dilation))


def conv_output_shape(image_shape, filter_shape, border_mode="valid",
                      subsample=(1, 1), dilation=(1, 1)):
    """Shape of :func:`conv2d`'s output.

    Parameters
    ----------
    image_shape : tuple of 4 int or None
        ``(batch, channels, rows, cols)``; None marks an unknown entry.
    filter_shape : tuple of 4 int or None
        ``(filters, channels, rows, cols)``; None marks an unknown entry.
    border_mode : str, int or (int, int)
        As in :func:`conv2d`.
    subsample, dilation : (int, int)
        Step and filter dilation.

    Returns
    -------
    tuple
        ``(batch, filters, rows, cols)`` with None where it cannot be known.

    Examples
    --------
    >>> conv_output_shape((None, 3, 28, 28), (16, 3, 5, 5), 'half', (2, 2))
    (None, 16, 14, 14)
    """
    if len(image_shape) != 4 or len(filter_shape) != 4:
        raise ValueError(
            "image_shape and filter_shape must have 4 entries, got "
            f"{tuple(image_shape)} and {tuple(filter_shape)}")
    border_mode = _check_border_mode(border_mode)
    subsample, dilation = _check_geometry(subsample, dilation)
    spatial = []
    for k in range(2):
        size, kernel = image_shape[2 + k], filter_shape[2 + k]
        if size is None or kernel is None:
            spatial.append(None)
            continue
        pad = _padding(_axis_modes(border_mode)[k], kernel, dilation[k])
        spatial.append(max(0, int(kernels.output_size(
            size, kernel, subsample[k], pad, dilation[k]))))
    return (image_shape[0], filter_shape[0], *spatial)


# ---------------------------------------------------------------------------
# Ops
# ---------------------------------------------------------------------------

def _as_float_tensors(*variables):
    variables = [pt.as_tensor_variable(v) for v in variables]
    dtype = upcast(*(v.dtype for v in variables))
    if not dtype.startswith("float"):
        dtype = upcast(dtype, "float32")
    return [pt.cast(v, dtype) if v.dtype != dtype else v for v in variables]


def _check_ndim(variable, ndim, what):
    if variable.ndim != ndim:
        raise ValueError(
            f"{what} must be a {ndim}-d tensor, got ndim={variable.ndim} "
            f"(type {variable.type})")


def _spatial_shape(variable):
    """Rows and cols of a 4-d tensor as an int64 vector, a constant when
    statically known so that output types get static shapes."""
    static = variable.type.shape[2:]
    if None not in static:
        return pt.as_tensor_variable(np.asarray(static, dtype="int64"))
    return variable.shape[2:]


def _constant_pair(shape):
    """The two ints of a constant shape vector, else (None, None)."""
    if isinstance(shape, Constant):
        return tuple(int(v) for v in shape.data)
    return (None, None)


def _c(array):
    """C-contiguous ``array``: the kernels are compiled for that layout
    only (each extra layout would cost a Numba compilation)."""
    return np.ascontiguousarray(array)


class _Conv2dBase(Op):
    """Geometry shared by the three convolution Ops.

    ``border_mode`` is a (rows, cols) padding pair, or 'full' / 'half' when
    the padding depends on filter sizes unknown when the graph was built;
    ``subsample`` and ``filter_dilation`` are (rows, cols) pairs of ints.
    """

    __props__ = ("border_mode", "subsample", "filter_dilation")

    def __init__(self, border_mode=(0, 0), subsample=(1, 1),
                 filter_dilation=(1, 1)):
        border_mode = _check_border_mode(border_mode)
        self.border_mode = (0, 0) if border_mode == "valid" else border_mode
        self.subsample, self.filter_dilation = _check_geometry(
            subsample, filter_dilation)

    def _pad(self, kernel_sizes):
        """Padding pair for filters of the given sizes (ints or symbolic)."""
        if not isinstance(self.border_mode, str):
            return self.border_mode
        return tuple(_padding(self.border_mode, k, d)
                     for k, d in zip(kernel_sizes, self.filter_dilation))

    def geometry(self, kernel_sizes):
        """``(stride_r, stride_c, pad_r, pad_c, dil_r, dil_c)`` for filters
        of the given sizes, as the kernels take it."""
        pad = self._pad([int(k) for k in kernel_sizes])
        return (*self.subsample, *pad, *self.filter_dilation)

    def _out_spatial(self, image, kernel):
        out = []
        for k in range(2):
            if image[k] is None or kernel[k] is None:
                out.append(None)
                continue
            pad = self._pad(kernel)[k]
            out.append(max(0, int(kernels.output_size(
                image[k], kernel[k], self.subsample[k], pad,
                self.filter_dilation[k]))))
        return out

    def _out_spatial_symbolic(self, image, kernel):
        out = []
        pad = self._pad(kernel)
        for k in range(2):
            size = (image[k] + 2 * pad[k]
                    - dilated_size(kernel[k], self.filter_dilation[k]))
            out.append(pt.maximum(size // self.subsample[k] + 1, 0))
        return out

    def _new(self, op_class):
        return op_class(self.border_mode, self.subsample,
                        self.filter_dilation)


class Conv2d(_Conv2dBase):
    """Cross-correlation of a batch of images with a bank of filters.

    Inputs are ``images`` (batch, channels, rows, cols) and ``filters``
    (filters, channels, rows, cols); the output is (batch, filters,
    out_rows, out_cols). Prefer :func:`conv2d`, which also handles
    ``border_mode`` names and filter flipping.
    """

    def make_node(self, images, filters):
        images, filters = _as_float_tensors(images, filters)
        _check_ndim(images, 4, "conv2d input")
        _check_ndim(filters, 4, "conv2d filters")
        ci, cf = images.type.shape[1], filters.type.shape[1]
        if ci is not None and cf is not None and ci != cf:
            raise ValueError(
                "conv2d filters must have as many channels as the input: "
                f"input has {ci} channels (shape {images.type.shape}), "
                f"filters have {cf} (shape {filters.type.shape})")
        spatial = self._out_spatial(images.type.shape[2:],
                                    filters.type.shape[2:])
        out = TensorType(images.dtype, shape=(
            images.type.shape[0], filters.type.shape[0], *spatial))()
        return Apply(self, [images, filters], [out])

    def perform(self, node, inputs, outputs):
        images, filters = inputs
        if images.shape[1] != filters.shape[1]:
            raise ValueError(
                "conv2d filters must have as many channels as the input: "
                f"input shape {images.shape}, filters shape {filters.shape}")
        outputs[0][0] = kernels.conv2d_forward(
            _c(images), _c(filters), *self.geometry(filters.shape[2:]))

    def infer_shape(self, fgraph, node, shapes):
        images, filters = shapes
        spatial = self._out_spatial_symbolic(images[2:], filters[2:])
        return [(images[0], filters[0], *spatial)]

    def pullback(self, inputs, outputs, output_grads):
        images, filters = inputs
        (grad_out,) = output_grads
        grad_images = self._new(Conv2dGradInputs)(
            filters, grad_out, _spatial_shape(images))
        grad_filters = self._new(Conv2dGradWeights)(
            images, grad_out, _spatial_shape(filters))
        return [grad_images, grad_filters]


class Conv2dGradWeights(_Conv2dBase):
    """Gradient of :class:`Conv2d` with respect to its filters.

    Inputs: ``images`` (batch, channels, rows, cols), ``output_grad``
    (batch, filters, out_rows, out_cols) and ``filter_size``, an int vector
    (filter rows, filter cols). Output: (filters, channels, filter rows,
    filter cols).
    """

    def make_node(self, images, output_grad, filter_size):
        images, output_grad = _as_float_tensors(images, output_grad)
        _check_ndim(images, 4, "conv2d input")
        _check_ndim(output_grad, 4, "conv2d output gradient")
        filter_size = pt.as_tensor_variable(filter_size, dtype="int64")
        kernel = _constant_pair(filter_size)
        out = TensorType(images.dtype, shape=(
            output_grad.type.shape[1], images.type.shape[1], *kernel))()
        return Apply(self, [images, output_grad, filter_size], [out])

    def perform(self, node, inputs, outputs):
        images, output_grad, filter_size = inputs
        kr, kc = (int(v) for v in filter_size)
        expected = self._out_spatial(images.shape[2:], (kr, kc))
        if list(output_grad.shape[2:]) != expected:
            raise ValueError(
                "conv2d output gradient has spatial shape "
                f"{output_grad.shape[2:]}, expected {tuple(expected)} for "
                f"input shape {images.shape} and filter size {(kr, kc)}")
        outputs[0][0] = kernels.conv2d_grad_weights(
            _c(images), _c(output_grad), kr, kc, *self.geometry((kr, kc)))

    def infer_shape(self, fgraph, node, shapes):
        images, output_grad, _ = shapes
        filter_size = node.inputs[2]
        return [(output_grad[1], images[1], filter_size[0], filter_size[1])]

    def connection_pattern(self, node):
        return [[True], [True], [False]]

    def pullback(self, inputs, outputs, output_grads):
        images, output_grad, filter_size = inputs
        (grad_filters,) = output_grads
        grad_images = self._new(Conv2dGradInputs)(
            grad_filters, output_grad, _spatial_shape(images))
        grad_output_grad = self._new(Conv2d)(images, grad_filters)
        return [grad_images, grad_output_grad, disconnected_type()]


class Conv2dGradInputs(_Conv2dBase):
    """Gradient of :class:`Conv2d` with respect to its images (transposed
    convolution).

    Inputs: ``filters`` (filters, channels, rows, cols), ``output_grad``
    (batch, filters, out_rows, out_cols) and ``image_size``, an int vector
    (image rows, image cols). Output: (batch, channels, image rows, image
    cols).
    """

    def make_node(self, filters, output_grad, image_size):
        filters, output_grad = _as_float_tensors(filters, output_grad)
        _check_ndim(filters, 4, "conv2d filters")
        _check_ndim(output_grad, 4, "conv2d output gradient")
        nf_filters, nf_grad = filters.type.shape[0], output_grad.type.shape[1]
        if (nf_filters is not None and nf_grad is not None
                and nf_filters != nf_grad):
            raise ValueError(
                "conv2d output gradient must have one channel per filter: "
                f"filters shape {filters.type.shape}, output gradient shape "
                f"{output_grad.type.shape}")
        image_size = pt.as_tensor_variable(image_size, dtype="int64")
        image = _constant_pair(image_size)
        out = TensorType(filters.dtype, shape=(
            output_grad.type.shape[0], filters.type.shape[1], *image))()
        return Apply(self, [filters, output_grad, image_size], [out])

    def perform(self, node, inputs, outputs):
        filters, output_grad, image_size = inputs
        rows, cols = (int(v) for v in image_size)
        expected = self._out_spatial((rows, cols), filters.shape[2:])
        if list(output_grad.shape[2:]) != expected:
            raise ValueError(
                "conv2d output gradient has spatial shape "
                f"{output_grad.shape[2:]}, expected {tuple(expected)} for "
                f"image size {(rows, cols)} and filter shape {filters.shape}")
        outputs[0][0] = kernels.conv2d_grad_inputs(
            _c(filters), _c(output_grad), rows, cols,
            *self.geometry(filters.shape[2:]))

    def infer_shape(self, fgraph, node, shapes):
        filters, output_grad, _ = shapes
        image_size = node.inputs[2]
        return [(output_grad[0], filters[1], image_size[0], image_size[1])]

    def connection_pattern(self, node):
        return [[True], [True], [False]]

    def pullback(self, inputs, outputs, output_grads):
        filters, output_grad, image_size = inputs
        (grad_images,) = output_grads
        grad_filters = self._new(Conv2dGradWeights)(
            grad_images, output_grad, _spatial_shape(filters))
        grad_output_grad = self._new(Conv2d)(grad_images, filters)
        return [grad_filters, grad_output_grad, disconnected_type()]


# ---------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------

def _apply_shape_hint(variable, shape, what):
    """Check a Theano-style shape hint against the static shape and make its
    known entries static (so output shapes are static too)."""
    if shape is None:
        return variable
    shape = tuple(shape)
    if len(shape) != 4:
        raise ValueError(f"{what} must have 4 entries, got {shape}")
    hint = tuple(None if s is None else int(s) for s in shape)
    for given, static in zip(hint, variable.type.shape):
        if given is not None and static is not None and given != static:
            raise ValueError(
                f"{what} {hint} does not match the static shape "
                f"{variable.type.shape} of the variable")
    if all(h is None or s is not None
           for h, s in zip(hint, variable.type.shape)):
        return variable
    return pt.specify_shape(variable, hint)


def _flip(filters, filter_flip):
    return filters[:, :, ::-1, ::-1] if filter_flip else filters


def conv2d(input, filters, input_shape=None, filter_shape=None,
           border_mode="valid", subsample=(1, 1), filter_flip=False,
           filter_dilation=(1, 1)):
    """2-d convolution of a batch of multi-channel images.

    Computes ``out[n, f, y, x] = sum_{c, i, j} filters[f, c, i, j] *
    padded_input[n, c, y * sr + i * dr, x * sc + j * dc]``, a
    cross-correlation (Theano's ``conv2d`` with ``filter_flip=False``).

    Parameters
    ----------
    input : tensor, 4-d
        Images ``(batch, channels, rows, cols)``.
    filters : tensor, 4-d
        Filters ``(filters, channels, rows, cols)``.
    input_shape, filter_shape : tuple of 4 int or None, optional
        Shape hints; known entries become static shapes of the output and
        are checked at run time.
    border_mode : {'valid', 'full', 'half'}, int or (int, int)
        ``'valid'``: no padding; ``'full'``: pad by dilated filter size - 1;
        ``'half'``: pad by half the dilated filter size (same size output
        for odd filters and step 1); an int or pair: zero padding of rows
        and columns.
    subsample : (int, int)
        Step between output positions (stride).
    filter_flip : bool
        True flips the filters first (true convolution).
    filter_dilation : (int, int)
        Spacing between filter taps.

    Returns
    -------
    tensor, 4-d
        ``(batch, filters, out_rows, out_cols)``, see
        :func:`conv_output_shape`.

    Examples
    --------
    >>> import numpy as np, pytensor, pytensor.tensor as pt
    >>> x = pt.tensor4('x', shape=(None, 1, 5, 5))
    >>> w = pt.tensor4('w', shape=(2, 1, 3, 3))
    >>> y = conv2d(x, w, border_mode='half')
    >>> y.type.shape
    (None, 2, 5, 5)
    >>> f = pytensor.function([x, w], y)
    >>> f(np.ones((1, 1, 5, 5)), np.ones((2, 1, 3, 3)))[0, 0, 2]
    array([6., 9., 9., 9., 6.])
    """
    input = pt.as_tensor_variable(input)
    filters = pt.as_tensor_variable(filters)
    _check_ndim(input, 4, "conv2d input")
    _check_ndim(filters, 4, "conv2d filters")
    border_mode = _check_border_mode(border_mode)
    subsample, filter_dilation = _check_geometry(subsample, filter_dilation)
    input = _apply_shape_hint(input, input_shape, "input_shape")
    filters = _apply_shape_hint(filters, filter_shape, "filter_shape")
    padding = _resolve_padding(
        border_mode, _static_kernel_size(filters, filter_shape),
        filter_dilation)
    op = Conv2d(padding, subsample, filter_dilation)
    return op(input, _flip(filters, filter_flip))


def _image_size_vector(input_shape, name="input_shape"):
    """The (rows, cols) of a shape given as 4 (or 2) entries that may be ints
    or symbolic scalars, or as a symbolic vector."""
    if input_shape is None:
        raise ValueError(f"{name} is required, got None")
    if isinstance(input_shape, pt.TensorVariable):
        if input_shape.ndim != 1:
            raise ValueError(
                f"{name} must be a vector, got ndim={input_shape.ndim}")
        return pt.cast(input_shape[-2:], "int64")
    entries = tuple(input_shape)
    if len(entries) not in (2, 4):
        raise ValueError(
            f"{name} must have 4 entries (or the 2 spatial ones), got "
            f"{entries}")
    spatial = entries[-2:]
    if any(s is None for s in spatial):
        raise ValueError(
            f"{name} must give the rows and columns, got {entries}")
    if all(isinstance(s, numbers.Integral) for s in spatial):
        return pt.as_tensor_variable(np.asarray(spatial, dtype="int64"))
    return pt.stack([pt.cast(s, "int64") for s in spatial])


def conv2d_grad_wrt_inputs(output_grad, filters, input_shape,
                           filter_shape=None, border_mode="valid",
                           subsample=(1, 1), filter_flip=False,
                           filter_dilation=(1, 1)):
    """Gradient of :func:`conv2d` with respect to its input.

    This is the transposed convolution: a ConvolutionalTranspose brick uses
    it as its forward pass. It is differentiable with respect to
    ``output_grad`` and ``filters`` (to any order).

    Parameters
    ----------
    output_grad : tensor, 4-d
        ``(batch, filters, out_rows, out_cols)``.
    filters : tensor, 4-d
        ``(filters, channels, rows, cols)``.
    input_shape : tuple or vector
        Shape of the convolution's input ``(batch, channels, rows, cols)``;
        rows and cols are required (ints or symbolic scalars), as they are
        ambiguous when ``subsample`` > 1.
    filter_shape, border_mode, subsample, filter_flip, filter_dilation
        As in :func:`conv2d`.

    Returns
    -------
    tensor, 4-d
        ``(batch, channels, rows, cols)``.

    Examples
    --------
    >>> import pytensor.tensor as pt
    >>> g = pt.tensor4('g', shape=(None, 4, 7, 7))
    >>> w = pt.tensor4('w', shape=(4, 3, 3, 3))
    >>> conv2d_grad_wrt_inputs(g, w, (None, 3, 15, 15),
    ...                        subsample=(2, 2)).type.shape
    (None, 3, 15, 15)
    """
    output_grad = pt.as_tensor_variable(output_grad)
    filters = pt.as_tensor_variable(filters)
    _check_ndim(output_grad, 4, "conv2d output gradient")
    _check_ndim(filters, 4, "conv2d filters")
    border_mode = _check_border_mode(border_mode)
    subsample, filter_dilation = _check_geometry(subsample, filter_dilation)
    filters = _apply_shape_hint(filters, filter_shape, "filter_shape")
    padding = _resolve_padding(
        border_mode, _static_kernel_size(filters, filter_shape),
        filter_dilation)
    op = Conv2dGradInputs(padding, subsample, filter_dilation)
    result = op(_flip(filters, filter_flip), output_grad,
                _image_size_vector(input_shape))
    if (not isinstance(input_shape, pt.TensorVariable)
            and len(tuple(input_shape)) == 4):
        hint = tuple(s if isinstance(s, numbers.Integral) else None
                     for s in input_shape)
        result = _apply_shape_hint(result, hint, "input_shape")
    return result


def conv2d_grad_wrt_weights(input, output_grad, filter_shape,
                            input_shape=None, border_mode="valid",
                            subsample=(1, 1), filter_flip=False,
                            filter_dilation=(1, 1)):
    """Gradient of :func:`conv2d` with respect to its filters.

    Parameters
    ----------
    input : tensor, 4-d
        ``(batch, channels, rows, cols)``.
    output_grad : tensor, 4-d
        ``(batch, filters, out_rows, out_cols)``.
    filter_shape : tuple of 4 (or 2) ints
        Shape of the filters; their rows and columns are required.
    input_shape, border_mode, subsample, filter_flip, filter_dilation
        As in :func:`conv2d`.

    Returns
    -------
    tensor, 4-d
        ``(filters, channels, rows, cols)``.

    Examples
    --------
    >>> import pytensor.tensor as pt
    >>> x = pt.tensor4('x', shape=(None, 3, 8, 8))
    >>> g = pt.tensor4('g', shape=(None, 4, 6, 6))
    >>> conv2d_grad_wrt_weights(x, g, (4, 3, 3, 3)).type.shape
    (4, 3, 3, 3)
    """
    input = pt.as_tensor_variable(input)
    output_grad = pt.as_tensor_variable(output_grad)
    _check_ndim(input, 4, "conv2d input")
    _check_ndim(output_grad, 4, "conv2d output gradient")
    border_mode = _check_border_mode(border_mode)
    subsample, filter_dilation = _check_geometry(subsample, filter_dilation)
    input = _apply_shape_hint(input, input_shape, "input_shape")
    filter_size = _image_size_vector(filter_shape, "filter_shape")
    kernel_sizes = list(_constant_pair(filter_size))
    padding = _resolve_padding(border_mode, kernel_sizes, filter_dilation)
    op = Conv2dGradWeights(padding, subsample, filter_dilation)
    result = _flip(op(input, output_grad, filter_size), filter_flip)
    if (not isinstance(filter_shape, pt.TensorVariable)
            and len(tuple(filter_shape)) == 4):
        hint = tuple(s if isinstance(s, numbers.Integral) else None
                     for s in filter_shape)
        result = _apply_shape_hint(result, hint, "filter_shape")
    return result


# Numba linker: see blocks.ops._numba for why perform runs in object mode.
register_perform_in_object_mode(Conv2d)
register_perform_in_object_mode(Conv2dGradWeights)
register_perform_in_object_mode(Conv2dGradInputs)
