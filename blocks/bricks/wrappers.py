"""Wrappers that change how existing applications handle their inputs.

:class:`WithExtraDims` lets applications written for a fixed number of
axes (a matrix of examples, say) take inputs with extra leading axes, such
as (time, batch, features) sequences.

How it works (no metaclass): ``WithExtraDims(...)`` is an explicit class
decorator. Applied to a brick class, it replaces some of the class's
applications by new applications that accept a keyword argument
``extra_ndim``, merge the first ``extra_ndim + 1`` axes of every input
into one, call the original application, and split the first axis of
every output back. :meth:`WithExtraDims.wrap` makes one such application
and can also be used directly in a class body.
"""
import inspect

from pytensor.graph.basic import Variable

from blocks.bricks.base import Application, application, _INJECTED_ARGUMENTS
from blocks.utils import pack

__all__ = ['WithExtraDims']


def _size(variable, axis):
    """The static size of `axis` if known, else the symbolic one; keeping
    static sizes lets the bricks applied later check them."""
    known = variable.type.shape[axis]
    return known if known is not None else variable.shape[axis]


def _merge_leading_axes(variable, extra_ndim, brick, name):
    if variable.ndim < extra_ndim + 1:
        raise ValueError(
            '{}: {} with extra_ndim={} expected at least {} axes, got {} of '
            'shape {}'.format(brick.path, name, extra_ndim, extra_ndim + 1,
                              variable.ndim, variable.type.shape))
    new_shape = [-1] + [_size(variable, axis)
                        for axis in range(extra_ndim + 1, variable.ndim)]
    return variable.reshape(new_shape, ndim=variable.ndim - extra_ndim)


def _split_first_axis(variable, extra_dims):
    new_shape = list(extra_dims) + [-1] + [
        _size(variable, axis) for axis in range(1, variable.ndim)]
    return variable.reshape(new_shape, ndim=variable.ndim + len(extra_dims))


class WithExtraDims:
    """Let applications take inputs with extra leading axes.

    The wrapped application gets a keyword argument ``extra_ndim``
    (default 0, meaning "call the original unchanged"). With
    ``extra_ndim=k``, the first ``k + 1`` axes of every variable input are
    merged into one before the original application runs, and the first
    axis of every output is split back into the ``k`` extra axes (taken
    from the first input) and the rest. All inputs and outputs must
    therefore share the same ``k`` leading axes.

    Parameters
    ----------
    \\*application_names : str
        The applications of the decorated class to wrap; all of its
        applications if none are given.

    Examples
    --------
    A brick that works on matrices, made to work on 3-d input:

    >>> import numpy, pytensor.tensor as pt
    >>> from blocks.bricks import Brick, application
    >>> @WithExtraDims('apply')
    ... class RowSum(Brick):
    ...     @application(inputs=['x'], outputs=['y'])
    ...     def apply(self, x):
    ...         assert x.ndim == 2
    ...         return x.sum(axis=1)
    >>> x = pt.tensor3('x')
    >>> RowSum().apply(x, extra_ndim=1).eval({x: numpy.ones((2, 3, 4))})
    array([[4., 4., 4.],
           [4., 4., 4.]])

    """
    def __init__(self, *application_names):
        self.application_names = application_names

    def __call__(self, brick_class):
        names = self.application_names or [
            name for name in dir(brick_class)
            if isinstance(getattr(brick_class, name), Application)]
        for name in names:
            original = getattr(brick_class, name, None)
            if not isinstance(original, Application):
                raise TypeError('WithExtraDims: {}.{} is not an '
                                'application'.format(brick_class.__name__,
                                                     name))
            wrapped = self.wrap(original)
            wrapped.owner = brick_class
            setattr(brick_class, name, wrapped)
        return brick_class

    @staticmethod
    def wrap(original):
        """Return a new :class:`~blocks.bricks.base.Application` that calls
        `original` and handles ``extra_ndim``; its inputs, outputs and
        properties are those of `original`."""
        parameters = [
            param for param in original.signature.parameters.values()
            if param.name not in _INJECTED_ARGUMENTS]
        if any(param.kind == param.VAR_KEYWORD for param in parameters):
            raise TypeError('WithExtraDims cannot wrap {}: it takes **kwargs'
                            .format(original.name))
        extra = inspect.Parameter('extra_ndim', inspect.Parameter.KEYWORD_ONLY,
                                  default=0)
        signature = inspect.Signature(parameters + [extra])

        def with_extra_dims(brick, *args, extra_ndim=0, **kwargs):
            bound_original = original.__get__(brick)
            if not isinstance(extra_ndim, int) or extra_ndim < 0:
                raise ValueError('{}: extra_ndim must be an int >= 0, got '
                                 '{!r}'.format(brick.path, extra_ndim))
            if extra_ndim == 0:
                return bound_original(*args, as_list=True, **kwargs)
            bound = signature.bind(brick, *args, **kwargs)
            extra_dims = None
            arguments = {}
            for name, value in list(bound.arguments.items())[1:]:
                values = value if name == original.varargs_name else (value,)
                merged = []
                for item in values:
                    if isinstance(item, Variable):
                        if extra_dims is None:
                            extra_dims = [_size(item, axis)
                                          for axis in range(extra_ndim)]
                        item = _merge_leading_axes(item, extra_ndim, brick,
                                                   name)
                    merged.append(item)
                arguments[name] = (tuple(merged)
                                   if name == original.varargs_name
                                   else merged[0])
            bound.arguments.update(arguments)
            outputs = bound_original(*bound.args[1:], as_list=True,
                                     **bound.kwargs)
            if extra_dims is None:
                return outputs
            return [_split_first_axis(output, extra_dims)
                    if isinstance(output, Variable) else output
                    for output in pack(outputs)]

        with_extra_dims.__name__ = original.name
        with_extra_dims.__qualname__ = original.name
        with_extra_dims.__doc__ = original.__doc__
        with_extra_dims.__signature__ = signature
        wrapped = application(with_extra_dims)
        wrapped.outputs = original.outputs
        wrapped.properties = dict(original.properties)
        wrapped.delegate_function = original.delegate_function
        return wrapped
