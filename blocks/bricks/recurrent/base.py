"""The ``recurrent`` decorator and the base class of recurrent bricks.

A recurrent brick implements *one step* of its recurrence, from the
current elements of its input sequences and its previous states to its
new states (and possibly other outputs). Decorating that step with
:func:`recurrent` gives an application that runs the whole loop with
:func:`pytensor.scan` over (time, batch, features) sequences, finds
initial states, applies masks and can still run a single step
(``iterate=False``).
"""
import inspect
import logging
import warnings

import pytensor
import pytensor.tensor as pt
from pytensor.graph.basic import Constant, Variable
from pytensor.tensor.basic import tensor_copy

from blocks.bricks.base import BoundApplication, Brick, application
from blocks.bricks.checks import check_input
from blocks.initialization import NdarrayInitialization
from blocks.ops.scan_shapes import shape_inferring_results
from blocks.utils import dict_union, is_shared_variable, pack

__all__ = ['BaseRecurrent', 'recurrent', 'apply_mask']

logger = logging.getLogger(__name__)

#: The names of the lists of arguments a recurrent application declares
ROLE_LISTS = ('sequences', 'states', 'contexts')

UNKNOWN_SCAN_INPUT = (
    'unknown input {}: the step function uses a non-shared variable that '
    'is not given to scan explicitly, which can make pytensor.grad much '
    'slower; does it belong in `contexts`?')

# The keyword arguments the loop adds to the step function's own.
_CONTROL_DEFAULTS = (('iterate', True), ('reverse', False),
                     ('return_initial_states', False), ('n_steps', None),
                     ('batch_size', None), ('scan_kwargs', None))
_INJECTED = ('application', 'application_call')


def apply_mask(new, old, mask):
    """Blocks' mask rule: where ``mask`` is 1 the new value, where it is 0
    the old one; ``mask`` has one entry per row (example) of `new`.

    >>> import numpy
    >>> apply_mask(numpy.ones((2, 3)), numpy.zeros((2, 3)),
    ...            numpy.array([1., 0.])).eval()
    array([[1., 1., 1.],
           [0., 0., 0.]])

    """
    if mask is None:
        return new
    mask = pt.as_tensor_variable(mask)
    mask = mask.dimshuffle(*range(mask.ndim),
                           *(['x'] * (pt.as_tensor_variable(new).ndim -
                                      mask.ndim)))
    return mask * new + (1 - mask) * old


class BaseRecurrent(Brick):
    """A brick with a recurrent application, ``apply``.

    Subclasses decorate ``apply`` with :func:`recurrent`. The default
    :meth:`initial_states` gives zeros; the recurrent architectures
    override it with trainable initial states.

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> from blocks.compilation import compile_function
    >>> class Accumulator(BaseRecurrent):
    ...     @recurrent(sequences=['inputs'], states=['total'],
    ...                outputs=['total'], contexts=[])
    ...     def apply(self, inputs, total):
    ...         return total + inputs
    ...     def get_dim(self, name):
    ...         return 2 if name in ('inputs', 'total') else \\
    ...             super().get_dim(name)
    >>> x = pt.tensor3('x')
    >>> total = Accumulator().apply(x)
    >>> compile_function([x], total)(numpy.ones((3, 1, 2)))[:, 0]
    array([[1., 1.],
           [2., 2.],
           [3., 3.]])

    """
    @application
    def initial_states(self, batch_size, *args, **kwargs):
        """The states before the first step: zeros of shape
        (batch_size, dim), or (batch_size,) for states of dimension 0.

        Parameters
        ----------
        batch_size : int or scalar tensor
            The number of examples.
        \\*args, \\*\\*kwargs
            The arguments of the call of the recurrent application (an
            initial state may depend on a context, say).

        """
        zeros = []
        for state in self.apply.states:
            dim = self.get_dim(state)
            shape = (batch_size,) if dim == 0 else (batch_size, dim)
            zeros.append(pt.zeros(shape, dtype=pytensor.config.floatX))
        return zeros

    @initial_states.property('outputs')
    def initial_states_outputs(self):
        return self.apply.states


def _declared_dim(brick, name):
    """The dimension `brick` declares for `name`, None if it declares
    none (``get_dim`` raises ValueError)."""
    try:
        return brick.get_dim(name)
    except ValueError:
        return None


def _static_size(variable, axis):
    return variable.type.shape[axis]


def _is_fixed(variable):
    """Shared variables and constants, or the copies of them that an
    application makes of its inputs: scan handles these well."""
    while variable.owner is not None and variable.owner.op == tensor_copy:
        variable = variable.owner.inputs[0]
    return is_shared_variable(variable) or isinstance(variable, Constant)


def _conform(new_state, previous):
    """A new state with the static shape of the previous one where that
    one says more: scan needs the same broadcastable axes (a state of
    dimension 1, say, is (batch, 1) before the step but (?, ?) after a
    product with a weight matrix of unknown shape)."""
    wanted = previous.type.shape
    if new_state.type.broadcastable == previous.type.broadcastable or \
            new_state.ndim != previous.ndim:
        return new_state
    return pt.specify_shape(new_state, wanted)


class _Loop:
    """One call of a recurrent application with ``iterate=True``: checks
    the arguments, finds the initial states and builds the scan."""

    def __init__(self, bound_application, application_call, arguments,
                 reverse, return_initial_states, n_steps, batch_size,
                 scan_kwargs):
        self.application = bound_application
        self.brick = bound_application.brick
        self.call = application_call
        self.reverse = reverse
        self.return_initial_states = return_initial_states
        self.scan_kwargs = dict(scan_kwargs or {})
        self.sequences = self._given(arguments, 'sequences')
        self.states = self._given(arguments, 'states')
        self.contexts = self._given(arguments, 'contexts')
        declared = set().union(*(self._names(kind) for kind in ROLE_LISTS))
        self.rest = {name: value for name, value in arguments.items()
                     if name not in declared}
        # (argument name, size) once the number of examples is known
        self.static_batch = None
        self.n_steps, self.batch_size = self._steps_and_batch(n_steps,
                                                              batch_size)

    def _names(self, kind):
        names = getattr(self.application, kind, None)
        if names is None:
            raise ValueError('{}: recurrent application {} declares no {}'
                             .format(self.brick.path, self.application.name,
                                     kind))
        return list(names)

    def _given(self, arguments, kind):
        """The arguments of one kind that were given (not None), as
        tensors, in declared order."""
        given = {}
        for name in self._names(kind):
            value = arguments.get(name)
            if value is None:
                continue
            if kind != 'states' or not isinstance(
                    value, (NdarrayInitialization, BoundApplication)):
                value = pt.as_tensor_variable(value)
            given[name] = value
        return given

    def _steps_and_batch(self, n_steps, batch_size):
        if not self.sequences:
            if n_steps is None or batch_size is None:
                raise ValueError(
                    '{}: {} was given no sequence, so it needs n_steps and '
                    'batch_size; got n_steps={!r}, batch_size={!r}'.format(
                        self.brick.path, self.application.name, n_steps,
                        batch_size))
            if isinstance(batch_size, int):
                self.static_batch = ('batch_size', batch_size)
            return n_steps, batch_size
        # One time axis is assumed, as in Blocks: the first sequence given
        # (in declared order) decides the number of steps and examples.
        self._check_sequences()
        first = next(iter(self.sequences.values()))
        return first.shape[0], first.shape[1]

    def _check_sequences(self):
        """(time, batch[, features]) sequences that agree on time and
        batch sizes where these are known statically."""
        sizes = {0: None, 1: None}
        for name, sequence in self.sequences.items():
            dim = _declared_dim(self.brick, name)
            if dim is None:
                check_input(self.brick, sequence, min_ndim=2,
                            dtype_kind=None, name=name)
            elif dim == 0:
                check_input(self.brick, sequence, ndim=2, dtype_kind=None,
                            name=name)
            else:
                check_input(self.brick, sequence, ndim=3, last_dim=dim,
                            dtype_kind=None, name=name)
            for axis in sizes:
                sizes[axis] = self._agreeing_size(name, sequence, axis,
                                                  sizes[axis])
        self.static_batch = sizes[1]

    def _agreeing_size(self, name, sequence, axis, known):
        size = _static_size(sequence, axis)
        if size is None:
            return known
        if known is not None and known[1] != size:
            raise ValueError(
                '{}: sequence {} expected {} {} (from {}), got shape {}'
                .format(self.brick.path, name, known[1],
                        'steps' if axis == 0 else 'examples', known[0],
                        sequence.type.shape))
        return known or (name, size)

    def initial_states(self):
        """Every state as a (batch, dim) tensor: given, generated or from
        the brick's ``initial_states`` application."""
        arguments = dict_union(self.sequences, self.contexts, self.rest)
        defaults = self.brick.initial_states(self.batch_size, as_dict=True,
                                             **arguments)
        states = {}
        for name in self._names('states'):
            state = self.states.get(name)
            if isinstance(state, NdarrayInitialization):
                dim = self.brick.get_dim(name)
                value = state.generate(self.brick.rng, (1, dim))
                state = pt.alloc(pt.as_tensor_variable(
                    value.astype(pytensor.config.floatX))[0],
                    self.batch_size, dim)
            elif isinstance(state, BoundApplication):
                state = state(name, self.batch_size, **arguments)
            elif state is None:
                if name not in defaults:
                    raise KeyError("no initial state for '{}' of the brick "
                                   "{}".format(name, self.brick.path))
                state = defaults[name]
            states[name] = self._check_state(name, state)
        return states

    def _check_state(self, name, state):
        """A (batch, dim) state, or (batch, ...) for dimension 0, with as
        many examples as the sequences."""
        dim = _declared_dim(self.brick, name)
        if dim is None:
            return state
        if dim == 0:
            # Dimension 0 says "no feature axis of known size": symbols
            # (batch,), or attention weights (batch, attended length).
            check_input(self.brick, state, min_ndim=1, dtype_kind=None,
                        name=name)
        else:
            check_input(self.brick, state, ndim=2, dims={-1: dim},
                        dtype_kind=None, name=name)
        size = _static_size(state, 0)
        if self.static_batch is not None and size is not None and \
                size != self.static_batch[1]:
            raise ValueError(
                '{}: state {} expected {} examples (from {}), got shape {}'
                .format(self.brick.path, name, self.static_batch[1],
                        self.static_batch[0], state.type.shape))
        if dim != 0 and _static_size(state, -1) is None:
            state = pt.specify_shape(state, (None, dim))
        return state

    def fed_back(self):
        """The outputs that are states, in the order of ``outputs``."""
        states = self._names('states')
        return [name for name in self._names('outputs') if name in states]

    def step(self, *inner):
        """The scan step: rebuild the keyword arguments from scan's
        positional ones and call the application for one step."""
        names = (list(self.sequences) + self.fed_back() +
                 list(self.contexts))
        kwargs = dict(zip(names, inner))
        kwargs.update(self.rest)
        outputs = self.application(iterate=False, as_list=True, **kwargs)
        # Kept so that the step's graph can be found (ComputationGraph,
        # BeamSearch) without searching the inner graph of scan.
        self.call.inner_inputs = list(inner)
        self.call.inner_outputs = pack(outputs)
        return [_conform(output, kwargs[name]) if name in self.states_fed
                else output
                for output, name in zip(outputs, self._names('outputs'))]

    @property
    def states_fed(self):
        return self.fed_back()

    def build(self):
        for name, value in self.rest.items():
            if isinstance(value, Variable) and not _is_fixed(value):
                logger.warning(UNKNOWN_SCAN_INPUT.format(name))
        initial = self.initial_states()
        outputs_info = [initial.get(name) for name in self._names('outputs')]
        with warnings.catch_warnings():
            # PyTensor will stop returning the updates; blocks needs them
            # (random draws in a step) until outputs_info can carry them.
            warnings.filterwarnings(
                'ignore', message='Scan return signature will change',
                category=DeprecationWarning)
            results, updates = pytensor.scan(
                self.step, sequences=list(self.sequences.values()),
                outputs_info=outputs_info,
                non_sequences=list(self.contexts.values()),
                n_steps=self.n_steps, go_backwards=self.reverse,
                name='{}_{}_scan'.format(self.brick.name,
                                         self.application.name),
                return_list=True, return_updates=True, **self.scan_kwargs)
        # The gradient of a deep stack infers the shapes of each layer's
        # scan many times; PyTensor's own inference walks every layer below.
        results, updates = shape_inferring_results(results, updates)
        if self.return_initial_states:
            results = [self._with_initial_state(result)
                       if info is not None else result
                       for result, info in zip(results, outputs_info)]
        if updates:
            self.call.updates = dict_union(self.call.updates, updates)
        return results

    @staticmethod
    def _with_initial_state(result):
        # Scan returns a state as buffer[1:]; the buffer starts with the
        # initial state.
        owner = result.owner
        if owner is None or not isinstance(owner.op, pt.subtensor.Subtensor):
            raise RuntimeError('cannot find the initial state of {}: scan '
                               'returned it unsliced'.format(result))
        return owner.inputs[0]


class _Recurrence:
    """Turn a step function into the function of a recurrent
    application: the step's own arguments plus the loop's controls."""

    def __init__(self, step_function):
        self.step_function = step_function
        self.step_signature = inspect.signature(step_function)
        parameters = list(self.step_signature.parameters.values())
        self.step_injected = [name for name in _INJECTED
                              if name in self.step_signature.parameters]
        varkw = [param for param in parameters
                 if param.kind == param.VAR_KEYWORD]
        # Any argument may be left out of a loop (a state has an initial
        # value, a sequence may be optional), so none is required here;
        # a step run alone still needs its own required arguments.
        plain = parameters[:1] + [
            param.replace(default=None)
            if param.kind == param.POSITIONAL_OR_KEYWORD and
            param.default is param.empty else param
            for param in parameters[1:] if param.kind != param.VAR_KEYWORD]
        extra = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY,
                                   default=default)
                 for name, default in _CONTROL_DEFAULTS]
        extra += [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY,
                                    default=None)
                  for name in _INJECTED if name not in self.step_injected]
        self.signature = inspect.Signature(plain + extra + varkw)

    def __call__(self, brick, *args, **kwargs):
        bound = self.signature.bind(brick, *args, **kwargs)
        controls = {name: bound.arguments.pop(name, default)
                    for name, default in _CONTROL_DEFAULTS}
        injected = {name: bound.arguments.get(name) for name in _INJECTED}
        for name in _INJECTED:
            if name not in self.step_injected:
                bound.arguments.pop(name, None)
        if not controls['iterate']:
            return self.step_function(*bound.args, **bound.kwargs)
        arguments = self._named_arguments(brick, bound)
        self._check_required(injected['application'], arguments)
        return _Loop(injected['application'], injected['application_call'],
                     arguments,
                     controls['reverse'], controls['return_initial_states'],
                     controls['n_steps'], controls['batch_size'],
                     controls['scan_kwargs']).build()

    def _check_required(self, application, arguments):
        """Refuse a loop without a required argument of the step (one
        without default that is not a state, which has an initial value)
        before scan calls the step."""
        states = getattr(application, 'states', None) or []
        missing = [
            param.name for param in
            list(self.step_signature.parameters.values())[1:]
            if param.kind == param.POSITIONAL_OR_KEYWORD and
            param.default is param.empty and param.name not in _INJECTED and
            param.name not in states and arguments.get(param.name) is None]
        if missing:
            raise TypeError('{}: {} needs {}, which {} not given'.format(
                application.brick.path, application.name,
                ', '.join(missing), 'was' if len(missing) == 1 else 'were'))

    def _named_arguments(self, brick, bound):
        arguments = {}
        for name, value in list(bound.arguments.items())[1:]:
            kind = self.signature.parameters[name].kind
            if kind == inspect.Parameter.VAR_POSITIONAL:
                if value:
                    raise TypeError(
                        '{}: give the arguments of a recurrent application '
                        'whose step takes *{} by name'.format(brick.path,
                                                              name))
            elif kind == inspect.Parameter.VAR_KEYWORD:
                arguments.update(value)
            elif name not in _INJECTED:
                arguments[name] = value
        return arguments

    def application(self, **attributes):
        """The :class:`~blocks.bricks.base.Application` running this
        recurrence."""
        def recurrent_apply(brick, *args, **kwargs):
            return self(brick, *args, **kwargs)
        recurrent_apply.__name__ = self.step_function.__name__
        recurrent_apply.__qualname__ = self.step_function.__qualname__
        recurrent_apply.__doc__ = self.step_function.__doc__
        recurrent_apply.__signature__ = self.signature
        if not attributes:
            return application(recurrent_apply)
        return application(**attributes)(recurrent_apply)


def recurrent(*args, **kwargs):
    """Turn a method computing one step into an application running the
    whole recurrence with :func:`pytensor.scan`.

    Used bare (``@recurrent``: the lists come from properties or a
    delegate) or with keyword lists:

    Parameters
    ----------
    sequences : list of str
        The arguments that are the current elements of input sequences;
        the loop takes them as (time, batch, ...) tensors.
    states : list of str
        The arguments that are previous states; the outputs of the same
        name are the new states, fed back at the next step.
    contexts : list of str
        Arguments the same at every step (given to scan as
        non-sequences).
    outputs : list of str
        The names of the outputs of a step, in the order it returns them.

    Notes
    -----
    The resulting application takes the step's arguments (``None``
    means "not given") and these keyword arguments:

    ``iterate`` (True)
        False runs one step: the step function called directly.
    ``reverse`` (False)
        Process the sequences from the last step to the first; the
        results stay in processing order.
    ``return_initial_states`` (False)
        Prepend the initial value to each state output.
    ``n_steps``, ``batch_size``
        Needed, and only used, when no sequence is given.
    ``scan_kwargs``
        Passed on to :func:`pytensor.scan`.

    Missing states come from the brick's ``initial_states`` application;
    a state may also be given as an
    :class:`~blocks.initialization.NdarrayInitialization` (one row drawn
    from the brick's ``rng``, repeated for every example) or an
    application called as ``app(state_name, batch_size, **arguments)``.
    Scan's updates go into the application call's ``updates``, and the
    step's inputs and outputs into its ``inner_inputs`` and
    ``inner_outputs``. The scan is named ``<brick>_<application>_scan``.

    """
    if args:
        if len(args) != 1 or kwargs or not callable(args[0]):
            raise TypeError('use @recurrent or @recurrent(sequences=..., '
                            'states=..., contexts=..., outputs=...), not '
                            'both positional and keyword arguments')
        return _Recurrence(args[0]).application()
    for kind in ROLE_LISTS:
        kwargs.setdefault(kind, [])

    def decorator(step_function):
        return _Recurrence(step_function).application(**kwargs)
    return decorator
