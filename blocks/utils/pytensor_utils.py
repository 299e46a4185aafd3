"""Helpers for PyTensor variables: floatX shared variables and tests."""
import numpy
import pytensor
from pytensor.graph.basic import Constant, Variable
from pytensor.compile.sharedvalue import SharedVariable

__all__ = ['shared_floatx', 'shared_floatx_zeros', 'shared_floatx_nans',
           'shared_floatx_zeros_matching', 'shared_like', 'is_graph_input',
           'is_shared_variable', 'check_variable', 'check_theano_variable',
           'floatx']


def floatx(value):
    """Convert a value to a NumPy array of PyTensor's floatX."""
    return numpy.asarray(value, dtype=pytensor.config.floatX)


def shared_floatx(value, name=None, borrow=False, dtype=None,
                  broadcastable=None, **kwargs):
    """Create a shared variable holding `value` as floatX (or `dtype`).

    Parameters
    ----------
    value : array_like
    name : str, optional
    borrow : bool, optional
    dtype : str, optional
        floatX by default.
    broadcastable : tuple of bool, optional
        Theano's way of marking axes of length 1 as broadcastable; turned
        into PyTensor's static shape (``(True, False)`` gives
        ``shape=(1, None)``).
    **kwargs
        Passed to :func:`pytensor.shared` (``shape=(1, None)`` ...).

    >>> shared_floatx([1, 2], name='v').get_value().dtype.name in (
    ...     'float32', 'float64')
    True
    >>> shared_floatx([[1, 2]], broadcastable=(True, False)).broadcastable
    (True, False)

    """
    if dtype is None:
        dtype = pytensor.config.floatX
    if broadcastable is not None:
        if 'shape' in kwargs:
            raise ValueError('give broadcastable or shape, not both')
        kwargs['shape'] = tuple(1 if flag else None
                                for flag in broadcastable)
    return pytensor.shared(numpy.asarray(value, dtype=dtype), name=name,
                           borrow=borrow, **kwargs)


def shared_floatx_zeros(shape, **kwargs):
    """A floatX shared variable of zeros."""
    return shared_floatx(numpy.zeros(shape), **kwargs)


def shared_floatx_nans(shape, **kwargs):
    """A floatX shared variable of NaNs: the value of an uninitialized
    parameter, so that forgetting to initialize shows up at once."""
    return shared_floatx(numpy.nan * numpy.zeros(shape), **kwargs)


def _static_shape_of(variable, value):
    """The static shape keeping `variable`'s broadcastable axes as 1."""
    return tuple(1 if broadcastable else None
                 for broadcastable in variable.broadcastable)


def shared_floatx_zeros_matching(shared_variable, name=None, **kwargs):
    """A zero-filled shared variable with the value shape, dtype and
    broadcastable pattern of `shared_variable`."""
    if not is_shared_variable(shared_variable):
        raise ValueError('expected a shared variable, got {!r}'.format(
            shared_variable))
    value = numpy.zeros_like(shared_variable.get_value(borrow=True))
    kwargs.setdefault('dtype', shared_variable.dtype)
    return shared_floatx(value, name=name,
                         shape=_static_shape_of(shared_variable, value),
                         **kwargs)


def shared_like(variable, name=None, **kwargs):
    """A zero-filled shared variable of the dtype and broadcastable pattern
    of any (possibly symbolic) variable; its value has one element on each
    axis until a value is set."""
    if name is None and variable.name is not None:
        name = 'shared_{}'.format(variable.name)
    shape = tuple(1 for _ in range(variable.ndim))
    return pytensor.shared(
        numpy.zeros(shape, dtype=variable.dtype), name=name,
        shape=_static_shape_of(variable, None), **kwargs)


def is_graph_input(variable):
    """True for a variable without owner that is neither shared nor
    constant: something a compiled function must be given."""
    return (not variable.owner
            and not isinstance(variable, (SharedVariable, Constant)))


def is_shared_variable(variable):
    """True for PyTensor shared variables."""
    return isinstance(variable, SharedVariable)


def check_variable(variable, what='argument'):
    """Raise TypeError unless `variable` is a PyTensor variable."""
    if not isinstance(variable, Variable):
        raise TypeError('expected a PyTensor variable as {}, got {!r} of '
                        'type {}'.format(what, variable,
                                         type(variable).__name__))


def check_theano_variable(variable, n_dim, dtype_prefix):
    """Check the number of dimensions and the dtype of a tensor (Blocks'
    name and signature, kept for compatibility).

    Parameters
    ----------
    variable : variable or value convertible to a tensor, or None
        None is accepted without any check.
    n_dim : int or None
        The expected number of dimensions; None (or 0) skips the check.
    dtype_prefix : str or None
        What the dtype must start with (``'float'``, ``'int'``); None
        skips the check.

    Raises
    ------
    ValueError
        On a wrong number of dimensions or dtype.

    >>> import pytensor.tensor as pt
    >>> check_theano_variable(pt.matrix(), 2, 'float')
    >>> check_theano_variable(pt.lvector(), 2, None)
    Traceback (most recent call last):
    ...
    ValueError: Wrong number of dimensions: expected 2, got 1

    """
    if variable is None:
        return
    if not isinstance(variable, Variable):
        variable = pytensor.tensor.as_tensor_variable(variable)
    if n_dim and variable.ndim != n_dim:
        raise ValueError('Wrong number of dimensions: expected {}, got '
                         '{}'.format(n_dim, variable.ndim))
    if dtype_prefix and not variable.dtype.startswith(dtype_prefix):
        raise ValueError('Wrong dtype prefix: expected a dtype starting '
                         'with {!r}, got {}'.format(dtype_prefix,
                                                    variable.dtype))
