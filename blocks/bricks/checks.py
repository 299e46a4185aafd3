"""Graph-build-time checks of the variables given to applications.

Bricks call :func:`check_input` at the top of an application so that a
wrong number of axes, a static size that disagrees with the brick's
configuration, or a wrong kind of dtype fails immediately, with a message
naming the brick path, what was expected and what was given, rather than
deep inside PyTensor at compile or run time.

Only what is known statically is checked: an axis whose static size is
``None`` passes any size check.

>>> import pytensor.tensor as pt
>>> from blocks.bricks import Linear
>>> brick = Linear(3, 2, name='linear')
>>> check_input(brick, pt.matrix('x', shape=(None, 4)), min_ndim=1,
...             last_dim=3)
Traceback (most recent call last):
  ...
ValueError: /linear: input_ expected a float tensor with ndim >= 1 and \
shape (..., 3), got float64 tensor x of shape (None, 4)

"""
import numpy
import pytensor.tensor as pt
from pytensor.graph.basic import Variable
from pytensor.raise_op import Assert
from pytensor.tensor.basic import tensor_copy

__all__ = ['check_input', 'checked_labels', 'describe_variable',
           'DTYPE_KINDS']

#: Accepted values of `dtype_kind` and the NumPy dtype kinds they allow
DTYPE_KINDS = {
    'float': 'f',
    'int': 'iu',
    'number': 'biuf',
    None: None,
}


def describe_variable(variable):
    """Describe a variable's dtype, name and static shape for messages:
    ``'float64 tensor x of shape (None, 4)'``.

    Applications see copies of their inputs; the name shown is that of the
    variable the user passed, when it has one.
    """
    name = variable.name
    owner = variable.owner
    if owner is not None and owner.op == tensor_copy and \
            owner.inputs[0].name:
        name = owner.inputs[0].name
    name = ' {}'.format(name) if name else ''
    shape = getattr(variable.type, 'shape', None)
    if shape is None:
        return '{}{} of type {}'.format(type(variable).__name__, name,
                                        variable.type)
    return '{} tensor{} of shape {}'.format(
        variable.dtype, name, _format_shape(shape))


def _format_shape(shape):
    if len(shape) == 1:
        return '({},)'.format(shape[0])
    return '({})'.format(', '.join(str(size) for size in shape))


def _describe_expectation(ndim, min_ndim, dims, dtype_kind):
    if dtype_kind is None:
        parts = ['a tensor']
    else:
        parts = ['{} {} tensor'.format('an' if dtype_kind == 'int' else 'a',
                                       dtype_kind)]
    if ndim is not None:
        allowed = sorted(ndim)
        parts.append('with ndim {}'.format(
            ' or '.join(str(n) for n in allowed)))
    elif min_ndim is not None:
        parts.append('with ndim >= {}'.format(min_ndim))
    if dims:
        parts.append('and shape {}'.format(_shape_pattern(dims, ndim)))
    return ' '.join(parts)


def _shape_pattern(dims, ndim):
    """(..., 3) for {-1: 3}; (?, 3, ...) for {1: 3}."""
    negative = {axis: size for axis, size in dims.items() if axis < 0}
    positive = {axis: size for axis, size in dims.items() if axis >= 0}
    if ndim is not None and len(ndim) == 1:
        n = next(iter(ndim))
        sizes = ['?'] * n
        for axis, size in dims.items():
            sizes[axis] = str(size)
        return _format_shape(sizes)
    sizes = []
    if positive:
        sizes += [str(positive.get(axis, '?'))
                  for axis in range(max(positive) + 1)]
    sizes.append('...')
    if negative:
        sizes += [str(negative.get(axis, '?'))
                  for axis in range(min(negative), 0)]
    return '({})'.format(', '.join(sizes))


def check_input(brick, variable, ndim=None, min_ndim=None, dims=None,
                last_dim=None, dtype_kind='float', name='input_',
                because=None):
    """Check a variable given to an application of `brick`.

    Parameters
    ----------
    brick : :class:`~blocks.bricks.Brick`
        The brick whose path goes into the message.
    variable : tensor variable
        What was given.
    ndim : int or collection of int, optional
        The allowed numbers of axes.
    min_ndim : int, optional
        The smallest allowed number of axes.
    dims : dict, optional
        ``{axis: size}`` for axes whose size the brick knows; negative
        axes count from the end. Sizes that are None (or a lazy
        placeholder) are not checked.
    last_dim : int, optional
        Short for ``dims={-1: last_dim}``.
    dtype_kind : {'float', 'int', 'number', None}, optional
        The kind of dtype needed: ``'float'`` (default), ``'int'``
        (signed or unsigned integers), ``'number'`` (also bool) or None
        for any.
    name : str, optional
        The name of the input in the message (``'input_'``).
    because : str, optional
        Why this is expected, when the reason lies elsewhere (a later
        brick of a chain); shown in brackets after the expectation.

    Returns
    -------
    variable
        The variable, so that calls can be chained.

    Raises
    ------
    TypeError
        If `variable` is not a tensor variable or has the wrong kind of
        dtype.
    ValueError
        If its number of axes, or a statically known size, is wrong.

    """
    if isinstance(ndim, int):
        ndim = {ndim}
    elif ndim is not None:
        ndim = set(ndim)
    dims = dict(dims or {})
    if last_dim is not None:
        dims[-1] = last_dim
    # Lazy placeholders (NoneAllocation) are falsy and not ints: skip them.
    dims = {axis: size for axis, size in dims.items()
            if isinstance(size, (int, numpy.integer))}
    if dtype_kind not in DTYPE_KINDS:
        raise ValueError('dtype_kind must be one of {}, got {!r}'.format(
            sorted(kind for kind in DTYPE_KINDS if kind), dtype_kind))

    def expected():
        expectation = _describe_expectation(ndim, min_ndim, dims, dtype_kind)
        if because:
            expectation += ' ({})'.format(because)
        return expectation

    if not isinstance(variable, Variable) or \
            not isinstance(variable.type, pt.TensorType):
        raise TypeError('{}: {} expected {}, got {!r}'.format(
            brick.path, name, expected(), variable))

    given = describe_variable(variable)
    kinds = DTYPE_KINDS[dtype_kind]
    if kinds is not None and numpy.dtype(variable.dtype).kind not in kinds:
        raise TypeError('{}: {} expected {}, got {}'.format(
            brick.path, name, expected(), given))

    actual_ndim = variable.type.ndim
    bad_ndim = ((ndim is not None and actual_ndim not in ndim) or
                (min_ndim is not None and actual_ndim < min_ndim))
    if bad_ndim:
        raise ValueError('{}: {} expected {}, got {}'.format(
            brick.path, name, expected(), given))

    static_shape = variable.type.shape
    for axis, size in dims.items():
        if not -actual_ndim <= axis < actual_ndim:
            raise ValueError('{}: {} expected {}, got {}'.format(
                brick.path, name, expected(), given))
        known = static_shape[axis]
        if known is not None and known != size:
            raise ValueError('{}: {} expected {}, got {}'.format(
                brick.path, name, expected(), given))
    return variable


def checked_labels(brick, output, y, num_classes):
    """`output`, checked when the function runs that the integer labels
    `y` it was computed from lie in ``[0, num_classes)``: an index outside
    would silently wrap around (a negative one) or read past the row in
    some compile modes. (The check sits on the output, so that the graph's
    inputs keep their order.)

    Examples
    --------
    >>> import pytensor.tensor as pt
    >>> from blocks.bricks import Softmax
    >>> y, x = pt.lvector('y'), pt.matrix('x')
    >>> picked = checked_labels(Softmax(name='softmax'), x[0, y], y, 3)
    >>> try:
    ...     picked.eval({y: [0, 3], x: [[1., 2., 3.]]})
    ... except AssertionError as error:
    ...     print(str(error).split(';')[0])
    /softmax: class labels must lie in [0, number of classes)
    """
    # In this order the graph's inputs keep the order they had without it
    in_range = pt.all(pt.lt(y, num_classes)) & pt.all(pt.ge(y, 0))
    return Assert('{}: class labels must lie in [0, number of classes); one '
                  'of y is outside'.format(brick.path))(output, in_range)
