"""JAX implementations of the Ops of this package, for PyTensor's JAX
backend (``mode='JAX'``, or blocks' ``compile_mode='jax'``).

Importing this module registers one ``jax_funcify`` implementation per Op;
:mod:`blocks.ops` imports it only when JAX is installed (blocks never
requires JAX).

- The convolutions run on :func:`jax.lax.conv_general_dilated`; both
  gradients are the transposes JAX derives from it (``jax.vjp`` of the
  linear map), which XLA compiles into the transposed convolutions.
- Pooling runs on :func:`jax.lax.reduce_window`; its gradient is the
  ``jax.vjp`` of that (max pooling routes each window's gradient to one
  maximum, as the NumPy kernels do when the maximum is unique), and the
  gradient of the max-pool gradient is the ``jax.jvp`` of max pooling.
- The fused batch normalization and its gradient are the same closed
  forms as the ``perform`` methods, in :mod:`jax.numpy`.

The gradient Ops take the size of what they differentiate with respect to
(filter or image rows and columns) as an input, which JAX needs concrete.
The bricks build it as a constant or as the last two entries of an array's
shape; the rewrite ``concrete_gradient_sizes`` (in PyTensor's ``jax``
rewrites, like PyTensor's own for ``reshape``) turns the latter into a
tuple of ``Shape_i``, which JAX knows when it traces the function.

Sizes computed from shapes (the number of steps of a scan, the length of
its gradient's buffers, ``batch * time`` rows of a reshape, the sizes a
concatenation's gradient splits at) must be concrete too, but JAX traces
every :mod:`jax.numpy` operation, constants and shapes included. The
rewrite ``concrete_shape_arithmetic`` wraps each scalar or vector computed
only from shapes and constants (vectors of them, and floats on the way
from a size to another included) in :class:`ConcreteShapeArithmetic`,
whose JAX implementation computes it with NumPy while JAX traces the
function, so that it stays a number. The Ops that need such values static
(``Split``, ``ARange``) read them when JAX traces, where PyTensor's
implementations take only constants of the graph.

PyTensor lowers an increment of a part of an array (``IncSubtensor``) to a
scatter, even when the part is the whole array (as a scan's gradient
builds them: ``inc_subtensor(zeros[:n], g)``, ``n`` the whole length).
XLA 0.10.2's algebraic simplifier aborts the process ("Invalid binary
instruction opcode map") on the reverse of such a scatter into a
broadcast (a reversed scan's sequence of gradients), so under blocks an
increment, or setting, of the whole array is lowered to an addition (or
a broadcast) instead: the same values, and no scatter.

PyTensor's JAX backend skips assertions (``Assert``). Under blocks they
hold: one on shapes is checked while JAX traces (it is shape arithmetic),
one on values (the class labels of a cost lie in range) runs on the host
through :func:`jax.debug.callback` when the function runs, and fails the
call with a :class:`jax.errors.JaxRuntimeError` carrying the assertion's
message (JAX turns an exception raised in a callback into one; the price
is a transfer of the condition to the host per call).
"""

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from pytensor.compile import optdb
from pytensor.graph.basic import Apply, Constant
from pytensor.graph.op import Op
from pytensor.graph.rewriting.basic import (dfs_rewriter, in2out,
                                             node_rewriter)
from pytensor.graph.fg import FunctionGraph
from pytensor.link.jax.dispatch import jax_funcify, jax_typify
from pytensor.link.utils import fgraph_to_python
from pytensor.link.jax.dispatch.shape import JAXShapeTuple
from pytensor.raise_op import CheckAndRaise
from pytensor.scalar import ScalarOp
from pytensor.tensor.basic import (ARange, MakeVector, ScalarFromTensor,
                                   Split, TensorFromScalar)
from pytensor.tensor.elemwise import CAReduce, DimShuffle, Elemwise
from pytensor.tensor.random.op import RandomVariable
from pytensor.tensor.shape import Reshape, Shape, Shape_i
from pytensor.tensor.subtensor import (IncSubtensor, Subtensor,
                                       indices_from_subtensor)

from blocks.ops._pool_kernels import output_size as pool_output_size
from blocks.ops.batch_norm import (
    BatchNormalizationTrain,
    BatchNormalizationTrainGrad,
    _element_count,
    closed_form_gradient,
)
from blocks.ops.conv import Conv2d, Conv2dGradInputs, Conv2dGradWeights
from blocks.ops.pool import MaxPoolGradGrad, Pool, PoolGrad
from blocks.ops.vectorized import VectorizedUnary

__all__ = ['conv2d', 'pool', 'concrete_pair', 'ConcreteShapeArithmetic']

# PyTensor enables JAX's 64-bit types only if floatX is float64 when its
# JAX backend is first imported, which under blocks' float32 default it
# is not: float64 and int64 graphs would then run in 32 bits. With 64-bit
# types on, some of PyTensor's JAX implementations give float64 where the
# graph says float32 (a sum accumulated in float64, an alloc of a Python
# float); ``_graph_dtypes_kept`` casts them back.
jax.config.update('jax_enable_x64', True)


def _in_dtype(value, dtype):
    if dtype is None or getattr(value, 'dtype', dtype) == dtype:
        return value
    return value.astype(dtype)


def _graph_dtypes_kept(op, node=None, **kwargs):
    """``jax_funcify`` of `op`, whose results have the dtypes of `node`'s
    outputs (a cast when JAX's differ, decided when JAX traces)."""
    function = jax_funcify(op, node=node, **kwargs)
    if node is None:
        return function
    dtypes = [getattr(output.type, 'dtype', None)
              for output in node.outputs]
    if len(dtypes) == 1:
        def typed(*inputs):
            return _in_dtype(function(*inputs), dtypes[0])
    else:
        def typed(*inputs):
            return [_in_dtype(value, dtype)
                    for value, dtype in zip(function(*inputs), dtypes)]
    return typed


@jax_funcify.register(FunctionGraph)
def _funcify_function_graph(fgraph, node=None,
                            fgraph_name='jax_funcified_fgraph', **kwargs):
    """PyTensor's conversion of a graph (scan's inner graphs included),
    each node keeping its dtypes (see ``_graph_dtypes_kept``)."""
    return fgraph_to_python(fgraph, _graph_dtypes_kept,
                            type_conversion_fn=jax_typify,
                            fgraph_name=fgraph_name, **kwargs)

_CONV_DIMENSIONS = ('NCHW', 'OIHW', 'NCHW')


def concrete_pair(size, what):
    """The two ints of a size JAX knows when it traces the function."""
    try:
        return tuple(int(value) for value in np.asarray(size))
    except (jax.errors.TracerArrayConversionError,
            jax.errors.ConcretizationTypeError) as error:
        raise NotImplementedError(
            'under JAX, the {} of a convolution gradient must be known '
            'when the function is traced (a constant or the shape of an '
            'array), got a value computed at run time'.format(what)
        ) from error


def _shape_entries(size):
    """The scalars a size vector is made of, when it is the last two
    entries of a shape or a vector made of scalars; else None."""
    node = size.owner
    if node is None:
        return None
    if isinstance(node.op, MakeVector):
        return node.inputs
    if not isinstance(node.op, Subtensor):
        return None
    shape = node.inputs[0].owner
    if (shape is None or not isinstance(shape.op, Shape)
            or node.op.idx_list != (slice(2, None, None),)):
        return None
    array = shape.inputs[0]
    if array.ndim != 4:
        return None
    return [Shape_i(axis)(array) for axis in (2, 3)]


@node_rewriter([Conv2dGradWeights, Conv2dGradInputs])
def concrete_gradient_sizes(fgraph, node):
    """Give a convolution gradient its size as a tuple JAX knows when it
    traces the function."""
    size = node.inputs[2]
    if size.owner is not None and isinstance(size.owner.op, JAXShapeTuple):
        return None
    entries = _shape_entries(size)
    if entries is None:
        return None
    new_node = node.clone_with_new_inputs(
        [*node.inputs[:2], JAXShapeTuple()(*entries)])
    return new_node.outputs


optdb.register('blocks_concrete_gradient_sizes',
               dfs_rewriter(concrete_gradient_sizes), 'jax', position=100)


class ConcreteShapeArithmetic(Op):
    """`op`, computing integers from shapes and constants only;
    under JAX it runs in NumPy while the function is traced (see the
    module notes), elsewhere as `op` does.

    Parameters
    ----------
    op : :class:`pytensor.graph.op.Op`
        The wrapped Op (an elementwise, scalar, indexing or reduction
        Op).

    Examples
    --------
    >>> import pytensor.tensor as pt
    >>> x = pt.matrix('x')
    >>> product = x.shape[0] * 2
    >>> rows = ConcreteShapeArithmetic(product.owner.op)(
    ...     *product.owner.inputs)
    >>> int(rows.eval({x: np.zeros((3, 1))}))
    6

    """
    __props__ = ('op',)

    def __init__(self, op):
        self.op = op

    def make_node(self, *inputs):
        node = self.op.make_node(*inputs)
        return Apply(self, node.inputs,
                     [output.type() for output in node.outputs])

    def _wrapped_node(self, node):
        return self.op.make_node(*node.inputs)

    def perform(self, node, inputs, output_storage):
        """Compute as the wrapped Op does."""
        self.op.perform(self._wrapped_node(node), inputs, output_storage)

    def infer_shape(self, fgraph, node, input_shapes):
        return self.op.infer_shape(fgraph, self._wrapped_node(node),
                                   input_shapes)


#: The Ops whose integers ``concrete_shape_arithmetic`` wraps; a shape
#: assertion (which PyTensor's JAX backend skips) is checked that way too.
_SHAPE_ARITHMETIC = (Elemwise, ScalarOp, DimShuffle, Subtensor, CAReduce,
                     IncSubtensor, ScalarFromTensor, TensorFromScalar,
                     MakeVector, CheckAndRaise)
#: The Ops whose outputs JAX knows while tracing.
_CONCRETE = (Shape, Shape_i, JAXShapeTuple, ConcreteShapeArithmetic)


def _is_concrete(variable):
    if isinstance(variable, Constant):
        return True
    node = variable.owner
    return node is not None and isinstance(node.op, _CONCRETE) and all(
        _is_concrete(value) for value in node.inputs
        if not isinstance(node.op, (Shape, Shape_i)))


def _wants_shape_tuple(client, index):
    """Whether input `index` of `client` is the shape of a reshape or the
    size of a random variable: PyTensor's JAX implementations want a tuple
    there, which its own rewrites make of the vector's scalars."""
    return index == 1 and isinstance(client.op, (Reshape, RandomVariable))


def _is_size_like(fgraph, variable):
    """Whether `variable` is a numeric scalar or vector that PyTensor's
    JAX rewrites do not make a tuple of (see ``_wants_shape_tuple``).

    Floats count: shape arithmetic may pass through them (a size scaled
    by a fraction, cast to float and back to an integer), and the
    integer at the end is only concrete if every step before it is.
    """
    return (variable.ndim <= 1
            and np.dtype(variable.type.dtype).kind in 'biuf'
            and not any(_wants_shape_tuple(client, index)
                        for client, index in fgraph.clients[variable]))


@node_rewriter(list(_SHAPE_ARITHMETIC))
def concrete_shape_arithmetic(fgraph, node):
    """Wrap a scalar or vector computed from shapes and constants only in
    :class:`ConcreteShapeArithmetic`."""
    if (not all(_is_size_like(fgraph, output) for output in node.outputs)
            or not all(map(_is_concrete, node.inputs))):
        return None
    return ConcreteShapeArithmetic(node.op).make_node(*node.inputs).outputs


# In topological order (a node's inputs are wrapped before it is seen). In
# the 'jax' rewrites, which also rewrite scan's inner graphs under JAX:
# before the elementwise fusions (48 and 49), which would otherwise merge
# shape arithmetic with computations on arrays, and again after the last
# of PyTensor's JAX rewrites (100), for what they build.
optdb.register('blocks_concrete_shape_arithmetic',
               in2out(concrete_shape_arithmetic), 'jax', position=47.5)
optdb.register('blocks_concrete_shape_arithmetic_late',
               in2out(concrete_shape_arithmetic), 'jax', position=100.5)


@jax_funcify.register(ConcreteShapeArithmetic)
def _funcify_concrete_shape_arithmetic(op, node=None, **kwargs):
    wrapped = op._wrapped_node(node)
    traced = jax_funcify(op.op, node=wrapped, **kwargs)
    dtypes = [value.type.dtype for value in node.inputs]

    def shape_arithmetic(*values):
        try:
            arrays = [np.asarray(value, dtype)
                      for value, dtype in zip(values, dtypes)]
        except (jax.errors.TracerArrayConversionError,
                jax.errors.ConcretizationTypeError):
            # traced after all (a transformation abstracting shapes)
            return traced(*values)
        storage = [[None] for _ in node.outputs]
        op.op.perform(wrapped, arrays, storage)
        results = [cell[0] for cell in storage]
        return results[0] if len(results) == 1 else results
    return shape_arithmetic


def _trace_time_value(value, what):
    """`value` (an argument an Op needs static) as a NumPy array, which it
    is when JAX traces the function if it is a constant or shape
    arithmetic (see the module notes)."""
    try:
        return np.asarray(value)
    except (jax.errors.TracerArrayConversionError,
            jax.errors.ConcretizationTypeError) as error:
        raise NotImplementedError(
            'under JAX, the {} must be known when the function is traced '
            '(constants or computed from shapes), got values computed at '
            'run time'.format(what)) from error


@jax_funcify.register(ARange)
def _funcify_arange(op, node=None, **kwargs):
    """:func:`jax.numpy.arange` of bounds known when JAX traces; PyTensor's
    implementation takes only bounds that are constants of the graph."""
    def arange(start, stop, step):
        bounds = [_trace_time_value(value, 'bounds of an arange').item()
                  for value in (start, stop, step)]
        return jnp.arange(*bounds, dtype=op.dtype)
    return arange


@jax_funcify.register(Split)
def _funcify_split(op, node=None, **kwargs):
    """A split at positions known when JAX traces the function.

    PyTensor's JAX implementation sums the sizes with :mod:`jax.numpy`,
    which JAX traces, so that :func:`jax.numpy.split` fails on positions
    that were concrete (a concatenation's gradient, split at the sizes of
    the arrays it joined). The sizes are constants or shape arithmetic
    (which ``concrete_shape_arithmetic`` keeps concrete); the positions
    are their sums in NumPy.
    """
    def split(x, axis, splits):
        axis = int(_trace_time_value(axis, 'axis of a split'))
        sizes = _trace_time_value(splits, 'sizes of a split').astype(
            np.int64)
        # The checks of Split.perform, which the positions make silent.
        if len(sizes) != op.len_splits:
            raise ValueError('Length of splits is not equal to n_splits')
        if sizes.sum() != x.shape[axis]:
            raise ValueError('Split sizes sum to {}; expected {}'.format(
                sizes.sum(), x.shape[axis]))
        if (sizes < 0).any():
            raise ValueError('Split sizes cannot be negative')
        return jnp.split(x, np.cumsum(sizes[:-1]), axis=axis)
    return split


_SUBTENSOR_INCREMENT = jax_funcify.dispatch(IncSubtensor)


def _covers(index, size):
    """Whether the slice `index` (known when JAX traces) selects all of
    an axis of length `size`."""
    if not isinstance(index, slice):
        return False
    try:
        bounds = [None if bound is None else int(bound) for bound in
                  (index.start, index.stop, index.step)]
    except TypeError:  # JAX's error for a bound only known at run time
        return False
    return slice(*bounds).indices(size) == (0, size, 1)


def _selects_whole(x, indices):
    if not isinstance(indices, tuple):
        indices = (indices,)
    return all(_covers(index, size)
               for index, size in zip(indices, x.shape))


@jax_funcify.register(IncSubtensor)
def _funcify_inc_subtensor(op, node=None, **kwargs):
    """PyTensor's lowering, but an addition or a broadcast when the part
    is the whole array (see the module notes)."""
    scatter = _SUBTENSOR_INCREMENT(op, node=node, **kwargs)

    def inc_subtensor(x, y, *index_values):
        indices = indices_from_subtensor(index_values, op.idx_list)
        if not _selects_whole(x, indices):
            return scatter(x, y, *index_values)
        y = jnp.asarray(y, x.dtype)
        if op.set_instead_of_inc:
            return jnp.broadcast_to(y, x.shape)
        return x + y
    return inc_subtensor


@jax_funcify.register(CheckAndRaise)
def _funcify_check_and_raise(op, node=None, **kwargs):
    def check(*conditions):
        if not all(np.all(condition) for condition in conditions):
            raise op.exc_type(op.msg)

    def check_and_raise(value, *conditions):
        if any(isinstance(condition, jax.core.Tracer)
               for condition in conditions):
            jax.debug.callback(check, *conditions)
        else:  # known while JAX traces (computed from shapes)
            check(*conditions)
        return value
    return check_and_raise


def conv2d(op, images, filters):
    """``op``'s cross-correlation of `images` with `filters`."""
    strides, pad, dilation = _geometry(op, filters.shape[2:])
    return lax.conv_general_dilated(
        images, filters, window_strides=strides,
        padding=[(pad[0], pad[0]), (pad[1], pad[1])],
        rhs_dilation=dilation, dimension_numbers=_CONV_DIMENSIONS)


def _geometry(op, kernel_sizes):
    stride_r, stride_c, pad_r, pad_c, dil_r, dil_c = op.geometry(
        kernel_sizes)
    return (stride_r, stride_c), (pad_r, pad_c), (dil_r, dil_c)


@jax_funcify.register(Conv2d)
def _funcify_conv2d(op, node=None, **kwargs):
    dtype = node.outputs[0].dtype

    def conv(images, filters):
        return conv2d(op, images.astype(dtype), filters.astype(dtype))
    return conv


def _pullback(linear, shape, dtype, output_grad):
    """The transpose of `linear` (a map of arrays of `shape`) applied to
    `output_grad`: a convolution's gradient, which XLA compiles into the
    transposed convolution."""
    _, pullback = jax.vjp(linear, jnp.zeros(shape, dtype))
    return pullback(output_grad.astype(dtype))[0]


@jax_funcify.register(Conv2dGradWeights)
def _funcify_conv2d_grad_weights(op, node=None, **kwargs):
    dtype = node.outputs[0].dtype

    def grad_weights(images, output_grad, filter_size):
        shape = (output_grad.shape[1], images.shape[1],
                 *concrete_pair(filter_size, 'filter size'))
        images = images.astype(dtype)
        return _pullback(lambda filters: conv2d(op, images, filters),
                         shape, dtype, output_grad)
    return grad_weights


@jax_funcify.register(Conv2dGradInputs)
def _funcify_conv2d_grad_inputs(op, node=None, **kwargs):
    dtype = node.outputs[0].dtype

    def grad_inputs(filters, output_grad, image_size):
        shape = (output_grad.shape[0], filters.shape[1],
                 *concrete_pair(image_size, 'image size'))
        filters = filters.astype(dtype)
        return _pullback(lambda images: conv2d(op, images, filters),
                         shape, dtype, output_grad)
    return grad_inputs


def _window_padding(op, spatial):
    """``reduce_window`` padding of the last two axes: the op's padding on
    both sides, plus what the partial windows ``ignore_border=False`` keeps
    need at the bottom and right."""
    padding = []
    for k, size in enumerate(spatial):
        window, stride, pad = op.ws[k], op.stride[k], op.pad[k]
        count = pool_output_size(size, window, stride, pad,
                                 op.ignore_border)
        extra = max(0, (count - 1) * stride + window - (size + 2 * pad))
        padding.append((pad, pad + extra))
    return padding


def _reduce(x, init, reducer, op, padding):
    lead = x.ndim - 2
    return lax.reduce_window(
        x, np.array(init, x.dtype), reducer, (1,) * lead + op.ws,
        (1,) * lead + op.stride, [(0, 0)] * lead + padding)


def pool(op, x):
    """``op``'s pooling of the last two axes of `x`."""
    padding = _window_padding(op, x.shape[-2:])
    if op.mode == 'max':
        return _reduce(x, -np.inf, lax.max, op, padding)
    total = _reduce(x, 0, lax.add, op, padding)
    rows, cols = x.shape[-2:]
    if op.mode == 'average_inc_pad':
        # The divisor counts the padding, not the partial windows' overhang.
        ones = jnp.ones((rows + 2 * op.pad[0], cols + 2 * op.pad[1]),
                        x.dtype)
        count_padding = [(0, high - low) for low, high in padding]
    else:
        ones = jnp.ones((rows, cols), x.dtype)
        count_padding = padding
    count = lax.reduce_window(ones, np.array(0, x.dtype), lax.add,
                              op.ws, op.stride, count_padding)
    return total / count


@jax_funcify.register(Pool)
def _funcify_pool(op, node=None, **kwargs):
    def pool_forward(x):
        return pool(op, x)
    return pool_forward


@jax_funcify.register(PoolGrad)
def _funcify_pool_grad(op, node=None, **kwargs):
    def pool_grad(x, gz):
        _, pullback = jax.vjp(lambda value: pool(op, value), x)
        return pullback(gz.astype(x.dtype))[0]
    return pool_grad


@jax_funcify.register(MaxPoolGradGrad)
def _funcify_max_pool_grad_grad(op, node=None, **kwargs):
    def max_pool_grad_grad(x, ggx):
        return jax.jvp(lambda value: pool(op, value), (x,),
                       (ggx.astype(x.dtype),))[1]
    return max_pool_grad_grad


def _normalized(x, scale, shift, axes, epsilon):
    """The training output of batch normalization over `axes`, and the
    statistics it used."""
    mean = x.mean(axis=axes, keepdims=True)
    centered = x - mean
    variance = jnp.square(centered).mean(axis=axes, keepdims=True)
    stdev = jnp.sqrt(variance + jnp.asarray(epsilon, x.dtype))
    output = centered * (scale / stdev if scale is not None else 1 / stdev)
    if shift is not None:
        output = output + shift
    return output, mean, stdev


def _ghost_normalized(x, scale, shift, axes, epsilon, groups):
    """As :func:`_normalized`, each of `groups` equal blocks of rows (the
    devices' shards of the batch) with its own statistics; the statistics
    returned are the blocks' averages."""
    blocks = x.reshape((groups, x.shape[0] // groups) + x.shape[1:])
    output, mean, stdev = _normalized(
        blocks, scale, shift, tuple(axis + 1 for axis in axes), epsilon)
    return output.reshape(x.shape), mean.mean(axis=0), stdev.mean(axis=0)


def _ghost_groups(op, x, batch_norm_groups):
    """The blocks of rows normalized apart: `batch_norm_groups` (the
    data-parallel mode's per-device statistics) when the batch axis is
    normalized and splits evenly, else 1 (the batch is not split)."""
    if (batch_norm_groups > 1 and 0 in op.axes
            and x.shape[0] % batch_norm_groups == 0):
        return batch_norm_groups
    return 1


@jax_funcify.register(BatchNormalizationTrain)
def _funcify_batch_normalization(op, node=None, batch_norm_groups=1,
                                 **kwargs):
    def batch_normalization(x, *parameters):
        scale, shift = op._scale_and_shift([x, *parameters])
        groups = _ghost_groups(op, x, batch_norm_groups)
        if groups == 1:
            return _normalized(x, scale, shift, op.axes, op.epsilon)
        return _ghost_normalized(x, scale, shift, op.axes, op.epsilon,
                                 groups)
    return batch_normalization


def _forward_epsilon(op, node):
    """The epsilon of the normalization `node` differentiates."""
    forward = op._unpack(node.inputs)[3].owner
    if forward is None or not isinstance(forward.op,
                                         BatchNormalizationTrain):
        raise NotImplementedError(
            'per-device batch statistics need the gradient next to its '
            'batch normalization, got {}'.format(forward))
    return forward.op.epsilon


def _ghost_gradient(op, epsilon, groups, x, scale, g_output, g_mean,
                    g_stdev):
    """The gradients of :func:`_ghost_normalized` (through JAX's)."""
    def forward(x, *scale):
        return _ghost_normalized(x, *(scale or (None,)), None, op.axes,
                                 epsilon, groups)
    primals = (x,) if scale is None else (x, scale)
    outputs, pullback = jax.vjp(forward, *primals)
    cotangents = tuple(jnp.zeros_like(value) if grad is None else grad
                       for value, grad in zip(outputs,
                                              (g_output, g_mean, g_stdev)))
    grads = pullback(cotangents)
    zeros = jnp.zeros_like(outputs[1])
    g_scale = grads[1] if scale is not None else zeros
    g_shift = (g_output.sum(axis=op.axes, keepdims=True)
               if g_output is not None else zeros)
    return grads[0], g_scale, g_shift


def _gradient(op, x, scale, mean, stdev, g_output, g_mean, g_stdev):
    count = jnp.asarray(_element_count(x.shape, op.axes), x.dtype)
    return closed_form_gradient(x, scale, mean, stdev, g_output, g_mean,
                                g_stdev, op.axes, count, jnp.zeros_like)


@jax_funcify.register(BatchNormalizationTrainGrad)
def _funcify_batch_normalization_grad(op, node=None, batch_norm_groups=1,
                                      **kwargs):
    epsilon = (_forward_epsilon(op, node) if batch_norm_groups > 1
               else None)

    def batch_normalization_grad(*inputs):
        x, scale, mean, stdev, g_output, g_mean, g_stdev = op._unpack(
            inputs)
        groups = _ghost_groups(op, x, batch_norm_groups)
        if groups == 1:
            grads = _gradient(op, x, scale, mean, stdev, g_output, g_mean,
                              g_stdev)
        else:
            grads = _ghost_gradient(op, epsilon, groups, x, scale,
                                    g_output, g_mean, g_stdev)
        g_x, g_scale, g_shift = grads
        return (g_x, op._parameter_shaped(g_scale),
                op._parameter_shaped(g_shift))
    return batch_normalization_grad


@jax_funcify.register(VectorizedUnary)
def _funcify_vectorized_unary(op, node=None, **kwargs):
    return getattr(jnp, op.ufunc)
