"""The contract every brick keeps, checked in the spirit of Keras'
``run_layer_test``.

A :class:`BrickCase` says how to build one brick, what to give one of its
applications and what to expect; :func:`check_brick` then checks, in
order:

1. allocation: the parameters of the brick and of its descendants exist,
   hold NaN (but for those of :data:`PRESET_ROLES`), and have the
   expected number of each role; the persistent
   variables are the parameters plus the expected others (population
   statistics, say);
2. initialization: every parameter is finite afterwards;
3. application: the outputs are finite;
4. ``get_dim`` of each output name equals the trailing axes of the real
   output (or, for bricks without dimension information, ``get_dim``
   raises a ValueError naming the brick's path);
5. pickling: an unpickled copy gives the same outputs;
6. an input with a wrong number of axes raises an error naming the
   brick's path, when the graph is built.

One function is compiled per case: it computes the outputs of the brick
and of its unpickled copy together.
"""
import numbers
import pickle
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy
import pytensor
import pytensor.tensor as pt
import pytest

from blocks.roles import INITIAL_STATE, has_roles

# The checks compare a brick with itself, not with a reference; the
# cheapest compile mode is enough.
MODE = 'FAST_COMPILE'

#: Roles of parameters that allocation fills with their starting value
#: instead of NaN: trainable initial states start at zero, as in Blocks.
PRESET_ROLES = (INITIAL_STATE,)


@dataclass
class BrickCase:
    """How to check one brick class.

    Parameters
    ----------
    brick_class : type
        The class the case covers; `factory` must build an instance of it.
    factory : callable
        Builds a configured brick, initialization schemes included.
    inputs : dict
        The application's inputs, in its argument order: a shape (random
        floatX values of that shape are drawn) or an array. Sequences are
        (time, batch, features) like any other shape.
    parameters : dict, optional
        ``{role: count}`` of the parameters of the brick and its
        descendants, by their most specific role (WEIGHT, FILTER ...).
    persistent : dict, optional
        ``{role: count}`` of the persistent variables that are not
        parameters.
    application : str, optional
        The application to call (``'apply'``).
    kwargs : dict, optional
        Further keyword arguments of the application (``extra_ndim``,
        ``mask`` ...).
    by_name : bool, optional
        Give the inputs as keywords instead of by position.
    dims : bool or tuple of str, optional
        The output names whose ``get_dim`` to compare with the output's
        shape; True for all. False: the brick has no dimension
        information, and ``get_dim`` of its first output must say so.
    wrong_ndim : int or None
        A number of axes the first input must not have (None: every
        number is accepted, as by elementwise bricks).
    """
    brick_class: type
    factory: Callable
    inputs: dict
    parameters: dict = field(default_factory=dict)
    persistent: dict = field(default_factory=dict)
    application: str = 'apply'
    kwargs: dict = field(default_factory=dict)
    by_name: bool = False
    dims: object = True
    wrong_ndim: Optional[int] = None

    @property
    def id(self):
        if self.application == 'apply':
            return self.brick_class.__name__
        return '{}.{}'.format(self.brick_class.__name__, self.application)


def bricks_below(brick):
    """The brick and all its descendants, each once, parents first."""
    found, pending = [], [brick]
    while pending:
        current = pending.pop(0)
        if not any(current is seen for seen in found):
            found.append(current)
            pending.extend(current.children)
    return found


def _shared(variables):
    return [var for var in variables if hasattr(var, 'get_value')]


def _unique(variables):
    return list({id(var): var for var in variables}.values())


def _role_counts(variables):
    return Counter(role for var in variables
                   for role in getattr(var.tag, 'roles', []))


def _input_values(case, rng):
    values = {}
    for name, spec in case.inputs.items():
        if isinstance(spec, tuple):
            spec = rng.standard_normal(spec).astype(pytensor.config.floatX)
        values[name] = numpy.asarray(spec)
    return values


def _symbolic_like(name, value, ndim=None):
    ndim = value.ndim if ndim is None else ndim
    return pt.tensor(name=name, dtype=value.dtype, shape=(None,) * ndim)


def _apply(case, brick, variables):
    application = getattr(brick, case.application)
    if case.by_name:
        return application(as_list=True, **variables, **case.kwargs)
    return application(*variables.values(), as_list=True, **case.kwargs)


def check_allocation(case, brick):
    brick.allocate()
    bricks = bricks_below(brick)
    parameters = _unique(var for member in bricks
                         for var in member.parameters)
    assert _role_counts(parameters) == Counter(case.parameters), (
        '{}: parameters by role'.format(brick.path))
    for parameter in _shared(parameters):
        if has_roles(parameter, PRESET_ROLES):
            continue
        assert numpy.isnan(parameter.get_value()).all(), (
            '{}: {} is not NaN before initialization'.format(
                brick.path, parameter.name))
    persistent = _unique(var for member in bricks
                         for var in member.persistent_variables)
    assert all(any(var is kept for kept in persistent)
               for var in _shared(parameters)), (
        '{}: a parameter is not persistent'.format(brick.path))
    others = [var for var in persistent
              if not any(var is parameter for parameter in parameters)]
    assert _role_counts(others) == Counter(case.persistent), (
        '{}: persistent variables besides the parameters'.format(
            brick.path))
    return parameters


def check_initialization(brick, parameters):
    brick.initialize()
    for parameter in _shared(parameters):
        assert numpy.isfinite(parameter.get_value()).all(), (
            '{}: {} is not finite after initialization'.format(
                brick.path, parameter.name))


def check_dims(case, brick, names, values):
    if case.dims is False:
        with pytest.raises(ValueError, match=re.escape(brick.path)):
            brick.get_dim(names[0])
        return
    checked = names if case.dims is True else case.dims
    for name in checked:
        dim = brick.get_dim(name)
        expected = ((dim,) if isinstance(dim, numbers.Integral)
                    else tuple(dim))
        shape = values[names.index(name)].shape
        assert shape[len(shape) - len(expected):] == expected, (
            '{}: get_dim({!r}) is {}, the output has shape {}'.format(
                brick.path, name, dim, shape))


def check_wrong_ndim(case, brick, variables, values):
    first = next(iter(variables))
    wrong = dict(variables)
    wrong[first] = _symbolic_like(first, values[first], case.wrong_ndim)
    with pytest.raises((ValueError, TypeError),
                       match=re.escape(brick.path)):
        _apply(case, brick, wrong)


def check_outputs_and_pickling(case, brick, variables, values, tolerance):
    """Compute the outputs of `brick` and of an unpickled copy in one
    function; return the output names and the brick's output values."""
    outputs = _apply(case, brick, variables)
    names = _output_names(case, brick, outputs)
    copy = pickle.loads(pickle.dumps(brick))
    copy_outputs = _apply(case, copy, variables)
    function = pytensor.function(list(variables.values()),
                                 outputs + copy_outputs, mode=MODE,
                                 on_unused_input='ignore')
    results = function(*values.values())
    original, unpickled = results[:len(outputs)], results[len(outputs):]
    for name, value, copied in zip(names, original, unpickled):
        assert numpy.isfinite(value).all(), (
            '{}: output {} is not finite'.format(brick.path, name))
        numpy.testing.assert_allclose(
            copied, value, rtol=tolerance.rtol, atol=tolerance.atol,
            err_msg='{}: unpickled, output {} differs'.format(brick.path,
                                                             name))
    return names, original


def check_brick(case, rng, tolerance):
    """Run every check of the module docstring on `case`."""
    brick = case.factory()
    assert type(brick) is case.brick_class
    parameters = check_allocation(case, brick)
    check_initialization(brick, parameters)
    values = _input_values(case, rng)
    variables = {name: _symbolic_like(name, value)
                 for name, value in values.items()}
    names, outputs = check_outputs_and_pickling(case, brick, variables,
                                                values, tolerance)
    check_dims(case, brick, names, outputs)
    if case.wrong_ndim is not None:
        check_wrong_ndim(case, brick, variables, values)


def _output_names(case, brick, outputs):
    names = getattr(brick, case.application).outputs
    if names is None:
        return ['output_{}'.format(i) for i in range(len(outputs))]
    return list(names)[:len(outputs)]
