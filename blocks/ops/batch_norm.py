r"""Training-mode batch normalization as one operation, with its gradient
as another.

:func:`batch_normalization_train` computes, per feature,

.. math:: \mu_B = \overline{x},\quad
   \sigma_B = \sqrt{\overline{(x - \mu_B)^2} + \epsilon},\quad
   y = \gamma \frac{x - \mu_B}{\sigma_B} + \beta

(means over the normalization axes, biased two-pass variance) and returns
``(y, mu_B, sigma_B)``. Its gradient is the closed form

.. math:: \frac{\partial L}{\partial x} = \frac{\gamma}{\sigma_B}\left(
   g - \overline{g} - \hat{x}\,\overline{g\hat{x}}\right)
   + \frac{1}{m}\frac{\partial L}{\partial \mu_B}
   + \frac{\hat x}{m}\frac{\partial L}{\partial \sigma_B},\quad
   g = \frac{\partial L}{\partial y},\quad
   \hat x = \frac{x - \mu_B}{\sigma_B}

(`m` elements per feature), computed by :class:`BatchNormalizationTrainGrad`
from the input and the statistics alone.

Why operations rather than the expression? PyTensor's automatic gradient
of the expression gives about a hundred graph nodes per layer, which every
compilation rewrites one by one: compiling a 100-layer training step took
25 s, mostly in the rewrites. The two operations are two nodes, computed
with NumPy's vectorized loops; their backward pass keeps nothing
input-sized from the forward pass. The gradient operation is itself
differentiable (its gradient is derived from the closed form above), so
second derivatives work.

The plain expression of the same formula, for inference mode, ``mean_only``
and ``conserve_memory=False``, is :func:`minibatch_statistics` followed by
:func:`normalize`; the gradient operation differentiates the closed form
built from them too. The operations' ``perform`` methods compute the
formula with NumPy's in-place operations instead, to allocate one
input-sized array where the expression would allocate several.

Under the C linker both run C kernels (``batch_norm.cpp``, next to this
module) when the input is float32 or float64 and its feature axes (those
not normalized) are consecutive, as in ``(batch, features)`` or ``(batch,
channels, rows, columns)``: one pass over the input per sum, where NumPy
takes a pass per operation, and no Python call per node. The kernels sum
in double precision, so their results differ from ``perform``'s by float
rounding only. Other layouts and dtypes, and the Python and Numba linkers
(see :mod:`blocks.ops._numba`), run ``perform``. JAX has no
implementation of them: use the plain expression
(``BatchNormalization(conserve_memory=False)``) there.
"""
import functools
import numbers
import operator
import pathlib
import zlib

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.gradient import DisconnectedType
from pytensor.graph.basic import Apply
from pytensor.graph.replace import clone_replace
from pytensor.link.c.op import COp
from pytensor.tensor.type import TensorType

from blocks.ops._numba import register_perform_in_object_mode

__all__ = ['batch_normalization_train', 'BatchNormalizationTrain',
           'BatchNormalizationTrainGrad', 'check_epsilon',
           'minibatch_statistics', 'normalize']


def check_epsilon(epsilon, allow_zero=False, where=None):
    """Check the number added to the variance: finite and positive.

    Bricks require epsilon > 0: with 0, a constant feature (a dead
    rectifier, padding) would divide by zero. The operation
    :func:`batch_normalization_train` also takes 0 (`allow_zero`), for an
    exact normalization of data known to vary.

    Parameters
    ----------
    epsilon : object
        The value to check.
    allow_zero : bool, optional
        Accept 0 as well.
    where : str, optional
        The path of the brick it configures, to start the message with.

    Raises
    ------
    ValueError
        If epsilon is not a finite real number > 0 (>= 0 with
        `allow_zero`), booleans included.

    Examples
    --------
    >>> check_epsilon(1e-4)
    >>> check_epsilon(0, where='/bn')
    Traceback (most recent call last):
    ...
    ValueError: /bn: epsilon must be a positive finite number, got 0

    """
    valid = (not isinstance(epsilon, bool)
             and isinstance(epsilon, numbers.Real)
             and bool(np.isfinite(epsilon))
             and (epsilon >= 0 if allow_zero else epsilon > 0))
    if not valid:
        requirement = ('a finite number >= 0' if allow_zero
                       else 'a positive finite number')
        raise ValueError('{}epsilon must be {}, got {!r}'.format(
            '{}: '.format(where) if where else '', requirement, epsilon))


def minibatch_statistics(input_, axes, epsilon, mean_only=False,
                         weights=None):
    """The mean and standard deviation of `input_` over `axes`, as an
    expression.

    The variance is the biased two-pass one, ``mean((x - mean)**2)``, and
    the stdev ``sqrt(variance + epsilon)``; both statistics keep the
    reduced axes with size 1. With `weights` (a mask of 0 and 1: the real
    positions of padded sequences), both means are weighted:
    ``sum(w * x) / sum(w)``, so that the positions of weight 0 do not count
    at all.

    Parameters
    ----------
    input_ : tensor variable
    axes : tuple of int
        The normalization axes.
    epsilon : float
        Added to the variance.
    mean_only : bool, optional
        Compute the mean alone; the stdev returned is then None.
    weights : tensor variable, optional
        Of the input's ndim and dtype, broadcastable against it (size 1 on
        the axes that are not normalized).

    Returns
    -------
    mean, stdev : tensor variables

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> x = pt.matrix('x')
    >>> mean, stdev = minibatch_statistics(x, (0,), 0.)
    >>> stdev.eval({x: numpy.array([[1., 10.], [3., 30.]])})
    array([[ 1., 10.]])
    >>> w = pt.col('w')
    >>> mean, _ = minibatch_statistics(x, (0,), 0., weights=w)
    >>> mean.eval({x: numpy.array([[1., 10.], [3., 30.]]),
    ...            w: numpy.array([[1.], [0.]])})
    array([[ 1., 10.]])

    """
    def average(value):
        if weights is None:
            return value.mean(axis=axes, keepdims=True)
        return ((weights * value).sum(axis=axes, keepdims=True)
                / weights.sum(axis=axes, keepdims=True))

    mean = average(input_)
    if mean_only:
        return mean, None
    variance = average(pt.sqr(input_ - mean))
    return mean, pt.sqrt(variance + pt.cast(epsilon, variance.dtype))


def normalize(input_, mean, stdev=None, scale=None, shift=None):
    """``(input_ - mean) * (scale / stdev) + shift``, as an expression.

    The statistics and parameters must broadcast against `input_`. A
    missing stdev skips the division (``mean_only``), a missing scale
    counts as 1 and a missing shift as 0.

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> x = pt.vector('x')
    >>> normalize(x, 1., 2., shift=10.).eval({x: numpy.array([3., 5.])})
    array([11., 12.])

    """
    output = input_ - mean
    if stdev is not None:
        output = (output * (scale / stdev) if scale is not None
                  else output / stdev)
    if shift is not None:
        output = output + shift
    return output


def closed_form_gradient(x, scale, mean, stdev, g_output, g_mean, g_stdev,
                         axes, count, zeros_like):
    """The gradients (x, scale, shift) of the module notes' closed form.

    Written with arithmetic operators and ``.sum`` only, so that one rule
    serves PyTensor expressions and JAX arrays alike (`zeros_like` is the
    library's own); a gradient given as None counts as zero.
    """
    x_hat = normalize(x, mean, stdev)
    g_x = zeros_like(x)
    g_scale = g_shift = zeros_like(mean)
    if g_output is not None:
        g_shift = g_output.sum(axis=axes, keepdims=True)
        g_scale = (g_output * x_hat).sum(axis=axes, keepdims=True)
        factor = scale / stdev if scale is not None else 1 / stdev
        g_x = factor * (g_output - g_shift / count
                        - x_hat * (g_scale / count))
    if g_mean is not None:
        g_x = g_x + g_mean / count
    if g_stdev is not None:
        g_x = g_x + x_hat * (g_stdev / count)
    return g_x, g_scale, g_shift


def _normalized_axes(axes, ndim):
    """`axes` as a sorted tuple of distinct non-negative axes of `ndim`."""
    axes = (axes,) if isinstance(axes, numbers.Integral) else tuple(axes)
    if (not axes or len(set(axes)) != len(axes)
            or not all(-ndim <= axis < ndim for axis in axes)):
        raise ValueError('batch normalization axes must be distinct axes of '
                         'a {}-d input, got {!r}'.format(ndim, axes))
    return tuple(sorted(int(axis) % ndim for axis in axes))


def _statistic_shape(input_shape, axes, ndim=None):
    """The shape of the per-feature statistics: the input's, with size 1 on
    the normalization axes; without the batch axis when `ndim` is one less
    than the input's."""
    shape = tuple(1 if axis in axes else size
                  for axis, size in enumerate(input_shape))
    if ndim is not None and ndim < len(shape):
        return shape[1:]
    return shape


def _statistic_type(input_type, axes, ndim=None):
    return TensorType(input_type.dtype,
                      shape=_statistic_shape(input_type.shape, axes, ndim))


def _check_float(variable, role):
    if variable.type.dtype not in ('float16', 'float32', 'float64'):
        raise TypeError('batch normalization needs a floating-point {}, got '
                        '{}'.format(role, variable.type))


def _check_statistic_like(variable, role, input_, axes):
    """`variable` must broadcast like a statistic of `input_`: its dtype,
    its ndim (or one less, without the batch axis 0 when that axis is
    normalized) and static size 1 on the normalization axes."""
    dropped = input_.type.ndim - variable.type.ndim
    if (dropped not in (0, 1) or (dropped and 0 not in axes)
            or variable.type.dtype != input_.type.dtype
            or not all(variable.type.broadcastable[axis - dropped]
                       for axis in axes if axis >= dropped)):
        raise TypeError(
            'the batch normalization {} must have the input\'s dtype, its '
            'ndim or one less (no batch axis), and size 1 on the '
            'normalization axes {} (like {} or {}), got {}'.format(
                role, axes, _statistic_type(input_.type, axes),
                _statistic_type(input_.type, axes, input_.type.ndim - 1),
                variable.type))


def _quiet_floating_point(perform):
    """Non-finite input gives non-finite output silently, as in PyTensor's
    C code (training loops check for it themselves)."""
    @functools.wraps(perform)
    def quiet_perform(*args):
        with np.errstate(invalid='ignore', divide='ignore', over='ignore'):
            return perform(*args)
    return quiet_perform


#: The C kernels of both operations (the C linker's support code).
C_KERNELS = (pathlib.Path(__file__).parent / 'batch_norm.cpp').read_text()
#: The C kernels' element types and NumPy type numbers, by dtype.
_C_TYPES = {'float32': ('npy_float32', 'NPY_FLOAT32'),
            'float64': ('npy_float64', 'NPY_FLOAT64')}


def _c_feature_axes(input_type, axes):
    """(first, last): the feature axes of an input are ``first`` to
    ``last - 1``, as the C kernels need; NotImplementedError (so that the
    C linker runs ``perform``) for other dtypes and layouts."""
    features = [axis for axis in range(input_type.ndim) if axis not in axes]
    if input_type.dtype not in _C_TYPES:
        raise NotImplementedError('no C kernel for {}'.format(input_type))
    if not features:
        return input_type.ndim, input_type.ndim
    if features != list(range(features[0], features[-1] + 1)):
        raise NotImplementedError('no C kernel for the feature axes {} '
                                  '(not consecutive)'.format(features))
    return features[0], features[-1] + 1


def _c_kernel_call(kernel, node, arguments, outputs, sub):
    """C code calling `kernel` (of :data:`C_KERNELS`) for `node`'s
    dtype; absent inputs (None) are passed as NULL."""
    c_type, type_number = _C_TYPES[node.inputs[0].type.dtype]
    arguments = ['NULL' if value is None else str(value)
                 for value in arguments]
    return 'if ({}<{}>({}, {}, {})) {{ {} }}'.format(
        kernel, c_type, ', '.join(arguments), type_number,
        ', '.join('&' + output for output in outputs), sub['fail'])


class _CKernelOp(COp):
    """What the two operations' C implementations share: the support code
    and its version."""

    def c_support_code(self, **kwargs):
        return C_KERNELS

    def c_code_cache_version(self):
        return (1, zlib.crc32(C_KERNELS.encode()))


def _element_count(shape, axes):
    """How many elements each statistic averages: the product of the
    sizes on the normalization axes (ints, or symbolic sizes)."""
    return functools.reduce(operator.mul, [shape[axis] for axis in axes], 1)


class BatchNormalizationTrain(_CKernelOp):
    """Training-mode batch normalization: ``(y, mean, stdev)`` from `x` and
    the optional `scale` and `shift` (see the module notes).

    Parameters
    ----------
    axes : tuple of int
        The normalization axes.
    epsilon : float
        Added to the variance; finite and >= 0 (see :func:`check_epsilon`).
    has_scale, has_shift : bool
        Whether the node takes a scale (shift) input; without one the scale
        is 1 (the shift 0).

    Examples
    --------
    >>> import pytensor.tensor as pt
    >>> x = pt.tensor4('x')
    >>> op = BatchNormalizationTrain((0, 2, 3), 1e-4, has_scale=False,
    ...                              has_shift=False)
    >>> output, mean, stdev = op(x)
    >>> mean.type.shape  # one statistic per channel
    (1, None, 1, 1)

    """
    __props__ = ('axes', 'epsilon', 'has_scale', 'has_shift')

    def __init__(self, axes, epsilon, has_scale=True, has_shift=True):
        self.axes = tuple(axes)
        check_epsilon(epsilon, allow_zero=True)
        self.epsilon = float(epsilon)
        self.has_scale = bool(has_scale)
        self.has_shift = bool(has_shift)

    def make_node(self, x, scale=None, shift=None):
        x = pt.as_tensor_variable(x)
        _check_float(x, 'input')
        inputs = [x]
        for present, value, role in ((self.has_scale, scale, 'scale'),
                                     (self.has_shift, shift, 'shift')):
            if present != (value is not None):
                raise TypeError('this operation {} a {}'.format(
                    'needs' if present else 'takes no', role))
            if present:
                value = pt.as_tensor_variable(value)
                _check_statistic_like(value, role, x, self.axes)
                inputs.append(value)
        if len({value.type.ndim for value in inputs[1:]}) > 1:
            raise TypeError('the batch normalization scale and shift must '
                            'have the same ndim, got {} and {}'.format(
                                inputs[1].type, inputs[2].type))
        statistic = _statistic_type(x.type, self.axes)
        return Apply(self, inputs, [x.type(), statistic(), statistic()])

    def _scale_and_shift(self, inputs):
        scale = inputs[1] if self.has_scale else None
        shift = inputs[-1] if self.has_shift else None
        return scale, shift

    @_quiet_floating_point
    def perform(self, node, inputs, output_storage):
        x = inputs[0]
        scale, shift = self._scale_and_shift(inputs)
        mean = x.mean(axis=self.axes, keepdims=True)
        output = x - mean
        variance = np.square(output).mean(axis=self.axes, keepdims=True)
        stdev = np.sqrt(variance + self.epsilon)
        output *= scale / stdev if scale is not None else 1 / stdev
        if shift is not None:
            output += shift
        for storage, value in zip(output_storage, (output, mean, stdev)):
            storage[0] = value

    def infer_shape(self, fgraph, node, input_shapes):
        statistic = _statistic_shape(input_shapes[0], self.axes)
        return [input_shapes[0], statistic, statistic]

    def c_code(self, node, name, inputs, outputs, sub):
        first, last = _c_feature_axes(node.inputs[0].type, self.axes)
        scale, shift = self._scale_and_shift(inputs)
        return _c_kernel_call(
            'bn_train', node,
            [inputs[0], scale, shift, first, last, repr(self.epsilon)],
            outputs, sub)

    def pullback(self, inputs, outputs, output_grads):
        x = inputs[0]
        scale, shift = self._scale_and_shift(inputs)
        _, mean, stdev = outputs
        present = [not isinstance(grad.type, DisconnectedType)
                   for grad in output_grads]
        parameter_ndim = inputs[-1].ndim if len(inputs) > 1 else x.ndim
        grad_op = BatchNormalizationTrainGrad(self.axes, self.has_scale,
                                              *present,
                                              parameter_ndim=parameter_ndim)
        grad_inputs = [x] + ([scale] if scale is not None else [])
        grad_inputs += [mean, stdev]
        grad_inputs += [grad for grad, given in zip(output_grads, present)
                        if given]
        g_x, g_scale, g_shift = grad_op(*grad_inputs)
        grads = [g_x]
        if self.has_scale:
            grads.append(g_scale)
        if self.has_shift:
            grads.append(g_shift)
        return grads


class BatchNormalizationTrainGrad(_CKernelOp):
    """The gradient of :class:`BatchNormalizationTrain`:
    ``(g_x, g_scale, g_shift)`` from `x`, the scale if any, the statistics
    and the output gradients that are connected.

    Parameters
    ----------
    axes : tuple of int
        The normalization axes.
    has_scale : bool
        Whether the forward operation had a scale input.
    g_output, g_mean, g_stdev : bool
        Which output gradients the node takes (the others are
        disconnected).
    parameter_ndim : int, optional
        The ndim of the scale and shift gradients: the input's (default), or
        one less for parameters without the batch axis.

    Examples
    --------
    >>> import pytensor, pytensor.tensor as pt
    >>> x = pt.matrix('x')
    >>> output, _, _ = batch_normalization_train(x)
    >>> gradient = pytensor.grad((output ** 3).sum(), x)
    >>> type(gradient.owner.op).__name__
    'BatchNormalizationTrainGrad'

    """
    __props__ = ('axes', 'has_scale', 'g_output', 'g_mean', 'g_stdev',
                 'parameter_ndim')

    def __init__(self, axes, has_scale, g_output, g_mean, g_stdev,
                 parameter_ndim=None):
        self.axes = tuple(axes)
        self.has_scale = bool(has_scale)
        self.g_output = bool(g_output)
        self.g_mean = bool(g_mean)
        self.g_stdev = bool(g_stdev)
        self.parameter_ndim = parameter_ndim

    def make_node(self, *inputs):
        inputs = [pt.as_tensor_variable(value) for value in inputs]
        expected = (1 + self.has_scale + 2 + self.g_output + self.g_mean
                    + self.g_stdev)
        if len(inputs) != expected:
            raise TypeError('this operation takes {} inputs, got {}'.format(
                expected, len(inputs)))
        x = inputs[0]
        parameter = _statistic_type(x.type, self.axes, self.parameter_ndim)
        return Apply(self, inputs, [x.type(), parameter(), parameter()])

    def _parameter_shaped(self, statistic):
        """A per-feature gradient with the parameters' ndim."""
        if self.parameter_ndim in (None, statistic.ndim):
            return statistic
        return statistic[0]

    def _unpack(self, inputs):
        """(x, scale, mean, stdev, g_output, g_mean, g_stdev), None for the
        absent ones."""
        inputs = list(inputs)
        x = inputs.pop(0)
        scale = inputs.pop(0) if self.has_scale else None
        mean, stdev = inputs.pop(0), inputs.pop(0)
        grads = [inputs.pop(0) if given else None
                 for given in (self.g_output, self.g_mean, self.g_stdev)]
        return [x, scale, mean, stdev] + grads

    @_quiet_floating_point
    def perform(self, node, inputs, output_storage):
        x, scale, mean, stdev, g_output, g_mean, g_stdev = self._unpack(
            inputs)
        count = float(_element_count(x.shape, self.axes))
        x_hat = x - mean
        x_hat /= stdev
        if g_output is not None:
            g_shift = g_output.sum(axis=self.axes, keepdims=True)
            g_scale = (g_output * x_hat).sum(axis=self.axes, keepdims=True)
            g_x = x_hat * (-g_scale / count)
            g_x += g_output
            g_x -= g_shift / count
            g_x *= scale / stdev if scale is not None else 1 / stdev
        else:
            g_shift = np.zeros(mean.shape, dtype=x.dtype)
            g_scale = np.zeros(mean.shape, dtype=x.dtype)
            g_x = np.zeros_like(x)
        if g_mean is not None:
            g_x += g_mean / count
        if g_stdev is not None:
            x_hat *= g_stdev / count
            g_x += x_hat
        outputs = (g_x, self._parameter_shaped(g_scale),
                   self._parameter_shaped(g_shift))
        for storage, value in zip(output_storage, outputs):
            storage[0] = value

    def infer_shape(self, fgraph, node, input_shapes):
        parameter = _statistic_shape(input_shapes[0], self.axes,
                                     self.parameter_ndim)
        return [input_shapes[0], parameter, parameter]

    def c_code(self, node, name, inputs, outputs, sub):
        x_type = node.inputs[0].type
        first, last = _c_feature_axes(x_type, self.axes)
        g_output = self._unpack(node.inputs)[4]
        if g_output is not None and any(
                given and not expected for given, expected in zip(
                    g_output.type.broadcastable, x_type.broadcastable)):
            # A broadcast output gradient: perform's NumPy broadcasts it.
            raise NotImplementedError('no C kernel for an output gradient '
                                      'of type {}'.format(g_output.type))
        return _c_kernel_call(
            'bn_train_grad', node,
            self._unpack(inputs) + [first, last, node.outputs[1].ndim],
            outputs, sub)

    def _expression(self, inputs):
        """The outputs as a PyTensor expression of the inputs (the closed
        form of the module notes), to differentiate."""
        x, scale, mean, stdev, g_output, g_mean, g_stdev = self._unpack(
            inputs)
        count = pt.cast(_element_count(x.shape, self.axes), x.dtype)
        g_x, g_scale, g_shift = closed_form_gradient(
            x, scale, mean, stdev, g_output, g_mean, g_stdev, self.axes,
            count, pt.zeros_like)
        return [g_x, self._parameter_shaped(g_scale),
                self._parameter_shaped(g_shift)]

    def pullback(self, inputs, outputs, output_grads):
        # Differentiate the closed form on stand-ins of the inputs: the
        # statistics are themselves functions of x in the real graph, and
        # PyTensor adds that path through the forward operation's own
        # gradient.
        stand_ins = [value.type() for value in inputs]
        pairs = [(expression, grad) for expression, grad in
                 zip(self._expression(stand_ins), output_grads)
                 if not isinstance(grad.type, DisconnectedType)]
        if not pairs:
            return [pt.zeros_like(value) for value in inputs]
        # One scalar, not known gradients on the expressions: g_scale and
        # g_shift are also terms of g_x, and a known gradient would hide
        # the part that flows to them through g_x.
        projection = sum((expression * grad).sum()
                         for expression, grad in pairs)
        grads = pytensor.grad(projection, stand_ins,
                              disconnected_inputs='ignore')
        return clone_replace(grads, replace=dict(zip(stand_ins, inputs)))


register_perform_in_object_mode(BatchNormalizationTrain)
register_perform_in_object_mode(BatchNormalizationTrainGrad)


def batch_normalization_train(input_, scale=None, shift=None, axes=(0,),
                              epsilon=1e-4):
    """Normalize `input_` by its minibatch statistics.

    Parameters
    ----------
    input_ : tensor variable
        A floating-point tensor.
    scale, shift : tensor variables, optional
        Broadcastable like the statistics: the input's ndim and dtype, size
        1 on the normalization axes. Omitted: 1 and 0.
    axes : int or tuple of int
        The normalization axes (0, the batch axis, by default).
    epsilon : float
        Added to the variance.

    Returns
    -------
    output, mean, stdev : tensor variables
        The normalized input and the statistics, which keep the
        normalization axes with size 1.

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> from blocks.ops import batch_normalization_train
    >>> x = pt.matrix('x')
    >>> y, mean, stdev = batch_normalization_train(x, epsilon=0)
    >>> y.eval({x: numpy.array([[1., 10.], [3., 30.]])})
    array([[-1., -1.],
           [ 1.,  1.]])

    """
    input_ = pt.as_tensor_variable(input_)
    axes = _normalized_axes(axes, input_.ndim)
    op = BatchNormalizationTrain(axes, epsilon, scale is not None,
                                 shift is not None)
    inputs = [value for value in (scale, shift) if value is not None]
    return op(input_, *inputs)
