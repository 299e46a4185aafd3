"""Bricks: parametrised pieces of a model that build annotated graphs.

A brick goes through a lifecycle:

1. *construction* stores configuration only;
2. :meth:`Brick.allocate` creates its parameters (shared variables filled
   with NaN) after :meth:`Brick.push_allocation_config` has passed
   configuration down to the children;
3. :meth:`Brick.initialize` fills the parameters with values after
   :meth:`Brick.push_initialization_config` has passed initialization
   schemes down.

Methods decorated with :func:`application` build graphs. Their inputs and
outputs are copies of the variables given and returned, tagged with the
brick, the :class:`ApplicationCall` and the roles INPUT and OUTPUT, so that
:class:`~blocks.graph.ComputationGraph` and
:class:`~blocks.filter.VariableFilter` can find them later.
"""
import inspect
import threading
from collections import OrderedDict
from functools import wraps

import numpy
from pytensor.graph.basic import Variable

from blocks.annotations import (Annotation, ApplicationCall,
                                add_annotation, get_annotation,
                                variable_name)
from blocks.config import config
from blocks.bricks.summary import summarize
from blocks.roles import add_role, PARAMETER, INPUT, OUTPUT
from blocks.utils import pack, unpack, AnnotatingList, shared_floatx_nans

__all__ = ['Brick', 'application', 'lazy', 'Application',
           'BoundApplication', 'ApplicationCall', 'Parameters', 'Children',
           'LazyNone', 'NoneAllocation', 'NoneInitialization',
           'copy_and_tag', 'BRICK_DELIMITER', 'args_to_kwargs',
           'APPLICATION_ATTRIBUTES', 'name_by_path', 'not_implemented']

#: Separates brick names in hierarchical names: ``/mlp/linear_0.W``
BRICK_DELIMITER = '/'

#: The keywords :func:`application` accepts, stored as attributes of the
#: :class:`Application`; the last three are those of recurrent bricks
APPLICATION_ATTRIBUTES = ('inputs', 'outputs', 'sequences', 'states',
                          'contexts')

# Arguments that `Application.apply` fills in itself rather than the caller
_INJECTED_ARGUMENTS = ('application', 'application_call')


class LazyNone:
    """A falsy placeholder for a configuration value not given yet."""
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name

    def __bool__(self):
        return False

    def __reduce__(self):
        # Pickle as a reference to the module-level singleton.
        return self.name


#: An allocation argument that was not given
NoneAllocation = LazyNone('NoneAllocation')
#: An initialization argument that was not given
NoneInitialization = LazyNone('NoneInitialization')


def lazy(allocation=None, initialization=None):
    """Let some constructor arguments of a brick be given later.

    Arguments named in `allocation` (or `initialization`) that the caller
    leaves out are set to :data:`NoneAllocation` (or
    :data:`NoneInitialization`) and may be assigned as attributes at any
    time before :meth:`Brick.allocate` (or :meth:`Brick.initialize`), which
    raise ValueError naming the brick and the arguments still missing.

    Examples
    --------
    >>> class Scaler(Brick):
    ...     @lazy(allocation=['dim'])
    ...     def __init__(self, dim, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.dim = dim
    >>> brick = Scaler()
    >>> brick.dim
    NoneAllocation
    >>> brick.dim = 3
    >>> brick.allocate()

    """
    allocation = list(allocation or [])
    initialization = list(initialization or [])

    def decorator(init):
        signature = inspect.signature(init)
        for name in allocation + initialization:
            if name not in signature.parameters:
                raise TypeError('lazy argument {!r} is not an argument of '
                                '{}'.format(name, init.__qualname__))

        @wraps(init)
        def wrapped_init(self, *args, **kwargs):
            positional = list(signature.parameters)[1:len(args) + 1]
            twice = [name for name in positional if name in kwargs]
            if twice:
                # Blocks raised ValueError here, where Python's own message
                # would be a TypeError
                raise ValueError('{}: {} given both by position and by '
                                 'keyword'.format(type(self).__name__,
                                                  ', '.join(twice)))
            given = signature.bind_partial(self, *args, **kwargs).arguments
            for names, placeholder in ((allocation, NoneAllocation),
                                       (initialization, NoneInitialization)):
                for name in names:
                    if name not in given:
                        kwargs[name] = placeholder
            self.allocation_args = _merged(
                getattr(self, 'allocation_args', []), allocation)
            self.initialization_args = _merged(
                getattr(self, 'initialization_args', []), initialization)
            init(self, *args, **kwargs)
        return wrapped_init
    return decorator


def _merged(old, new):
    return old + [name for name in new if name not in old]


class Parameters(AnnotatingList):
    """The parameter list of a brick; adding a variable gives it the role
    PARAMETER (unless it has a subrole already) and annotates it with the
    brick."""
    def __init__(self, brick, *args, **kwargs):
        self.brick = brick
        super().__init__(*args, **kwargs)

    def _setitem(self, key, value):
        if isinstance(value, Variable):
            add_role(value, PARAMETER)
            add_annotation(value, self.brick)


class Children(AnnotatingList):
    """The children list of a brick; adding a brick records its parent."""
    def __init__(self, brick, *args, **kwargs):
        self.brick = brick
        super().__init__(*args, **kwargs)

    def _setitem(self, key, value):
        if not isinstance(value, Brick):
            raise TypeError('{}: children must be bricks, got {!r}'.format(
                self.brick.path, value))
        value.parents.append(self.brick)

    def _delitem(self, key):
        child = self._items[key]
        if self.brick in child.parents:
            child.parents.remove(self.brick)


class Brick(Annotation):
    """The base class of all bricks.

    Parameters
    ----------
    name : str, optional
        The name of the brick; by default its class name in lower case.
    children : list of :class:`Brick`, optional
        Bricks whose applications this brick may call.

    Attributes
    ----------
    parameters : list of shared variables
        Created by :meth:`allocate`; as in Blocks, the attribute does not
        exist before (reading it raises AttributeError).
    children, parents : list of :class:`Brick`
    allocated, initialized : bool
    allocation_config_pushed, initialization_config_pushed : bool

    Examples
    --------
    >>> import pytensor.tensor as pt
    >>> class Double(Brick):
    ...     @application(inputs=['x'], outputs=['y'])
    ...     def apply(self, x):
    ...         return 2 * x
    >>> y = Double().apply(pt.vector('x'))
    >>> y.name
    'double_apply_y'

    """
    allocation_args = []
    initialization_args = []
    #: The numbers of axes the brick's ``apply`` takes when it allows only
    #: some (:class:`~blocks.bricks.Softmax`: 1 or 2); None when it takes
    #: any number its own checks accept. A chain of bricks (an MLP) reads
    #: it to refuse a wrong input at its first brick, not at the last.
    input_ndims = None
    #: Class decorators applied to every subclass that lists them in its
    #: own body, as Blocks' ``decorators = [WithExtraDims()]``
    decorators = []

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for decorator in cls.__dict__.get('decorators', []):
            decorator(cls)

    def __init__(self, name=None, children=None):
        super().__init__()
        self.name = (name if name is not None
                     else self.__class__.__name__.lower())
        self.parents = []
        self.children = Children(self, children or [])
        self.allocated = False
        self.allocation_config_pushed = False
        self.initialized = False
        self.initialization_config_pushed = False
        self._bound_applications = {}

    def __setattr__(self, name, value):
        # Keep the annotating containers when whole lists are assigned.
        if name == 'parameters' and not isinstance(value, Parameters):
            value = Parameters(self, value)
        elif name == 'children' and not isinstance(value, Children):
            old = self.__dict__.get('children')
            if old is not None:
                del old[:]
            value = Children(self, value)
        super().__setattr__(name, value)

    @property
    def parameters(self):
        try:
            return self.__dict__['parameters']
        except KeyError:
            raise AttributeError(
                '{}: parameters do not exist before allocation; call '
                'allocate() (applying the brick allocates it)'.format(
                    self.path)) from None

    @parameters.setter
    def parameters(self, value):
        self.__dict__['parameters'] = value

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop('_bound_applications', None)
        return state

    def __setstate__(self, state):
        # Unpickling a cyclic hierarchy may already have bound applications
        # of this brick (a parent's Sequence refers to ``child.apply``)
        # before its state arrives; keep them.
        bound = self.__dict__.get('_bound_applications', {})
        self.__dict__.update(state)
        self.__dict__['_bound_applications'] = bound

    def __repr__(self):
        return '<{} {}>'.format(self.__class__.__name__, self.path)

    def summary(self):
        """A table of this brick and its descendants: class, path, output
        dimensions (once the configuration is pushed), then each
        parameter and persistent variable with its shape, roles and
        number of elements, totals at the bottom.

        Returns
        -------
        :class:`~blocks.bricks.summary.Summary`
            Shown as the table at a prompt; ``print`` prints it.

        """
        return summarize([self])

    # Naming

    def get_unique_path(self):
        """The bricks from a top brick down to this one.

        Where a brick has several parents, the one with the smallest name is
        followed, so that the path is deterministic.
        """
        path = [self]
        brick = self
        seen = {id(self)}
        while brick.parents:
            brick = min(brick.parents, key=lambda parent: parent.name)
            if id(brick) in seen:
                raise ValueError('{}: the brick hierarchy has a cycle'.format(
                    self.name))
            seen.add(id(brick))
            path.append(brick)
        return path[::-1]

    @property
    def path(self):
        """The brick's path as a string, ``/mlp/linear_0``; used in error
        messages and parameter names."""
        return ''.join(BRICK_DELIMITER + brick.name
                       for brick in self.get_unique_path())

    def get_hierarchical_name(self, parameter, delimiter=BRICK_DELIMITER):
        """The name of one of this brick's parameters prefixed by the brick
        path: ``/mlp/linear_0.W``."""
        path = ''.join(delimiter + brick.name
                       for brick in self.get_unique_path())
        return '{}.{}'.format(path, parameter.name)

    @property
    def persistent_variables(self):
        """The shared variables of this brick (not of its children) that a
        saved model must keep: its parameters, plus state that is not
        trained by gradient descent, such as batch normalization's
        population statistics."""
        return [var for var in self.__dict__.get('parameters', [])
                if hasattr(var, 'get_value')]

    # Dimensions

    def get_dim(self, name):
        """The dimension of an input or output of this brick.

        Raises
        ------
        ValueError
            If the brick knows nothing about `name`.

        """
        raise ValueError('{}: no dimension information for {!r}'.format(
            self.path, name))

    def get_dims(self, names):
        """:meth:`get_dim` for several names."""
        return [self.get_dim(name) for name in names]

    # Lifecycle

    def _missing(self, names, placeholder):
        return [name for name in names
                if getattr(self, name, placeholder) is placeholder]

    def _check_config(self, names, placeholder, stage):
        missing = self._missing(names, placeholder)
        if missing:
            raise ValueError(
                '{}: {} config not set: {} (give {} to the constructor or '
                'set {} as attribute{} before {})'.format(
                    self.path, stage, ', '.join(missing),
                    'it' if len(missing) == 1 else 'them',
                    'it' if len(missing) == 1 else 'them',
                    '' if len(missing) == 1 else 's', stage))

    def _push_config(self, stage, names, placeholder, push_own, push_child):
        """What pushing `stage` ('allocation' or 'initialization')
        configuration does: check the brick's own lazy arguments `names`,
        run its `push_own` hook, then `push_child` on every child.

        The pushed flag is set before the children are pushed and cleared
        again if one of them fails, so that the next attempt starts over.
        """
        self._check_config(names, placeholder, stage)
        push_own()
        pushed = '{}_config_pushed'.format(stage)
        setattr(self, pushed, True)
        try:
            for child in self.children:
                push_child(child)
        except Exception:
            setattr(self, pushed, False)
            raise

    def push_allocation_config(self):
        """Pass allocation configuration to the children, recursively."""
        self._push_config('allocation', self.allocation_args, NoneAllocation,
                          self._push_allocation_config,
                          lambda child: child.push_allocation_config())

    def _push_allocation_config(self):
        """Brick-specific part of :meth:`push_allocation_config`."""

    def allocate(self):
        """Create the parameters of this brick and of its children."""
        if not self.allocation_config_pushed:
            self.push_allocation_config()
        for child in self.children:
            child.allocate()
        self.parameters = []
        self._allocate()
        self.allocated = True

    def _allocate(self):
        """Brick-specific part of :meth:`allocate`: create the parameters,
        usually with :meth:`add_parameter`."""

    def add_parameter(self, name, shape, role, norm=False,
                      broadcastable=None):
        """Create a parameter of this brick and append it to
        ``self.parameters``; meant to be called from :meth:`_allocate`.

        Parameters
        ----------
        name : str
            The parameter's name (``'W'``), which makes its path name
            ``/mlp/linear_0.W``.
        shape : tuple of int
            The shape of its value, filled with NaN until :meth:`initialize`
            so that a forgotten initialization shows at once.
        role : :class:`~blocks.roles.VariableRole`
            PARAMETER or one of its subroles (WEIGHT, BIAS, FILTER ...).
        norm : bool, optional
            Also attach the parameter's L2 norm to the brick as an auxiliary
            variable named ``{name}_norm``, for monitoring. False by default.
        broadcastable : tuple of bool, optional
            Axes of length 1 that broadcast against the input (batch
            normalization's per-feature statistics of images).

        Returns
        -------
        The shared variable.

        Examples
        --------
        >>> from blocks.roles import WEIGHT
        >>> class Scale(Brick):
        ...     def _allocate(self):
        ...         self.add_parameter('W', (3,), WEIGHT, norm=True)
        >>> brick = Scale()
        >>> brick.allocate()
        >>> brick.parameters[0].name, brick.auxiliary_variables[0].name
        ('W', 'W_norm')

        """
        parameter = shared_floatx_nans(shape, name=name,
                                       broadcastable=broadcastable)
        add_role(parameter, role)
        self.parameters.append(parameter)
        if norm:
            self.add_auxiliary_variable(parameter.norm(2),
                                        name='{}_norm'.format(name))
        return parameter

    def push_initialization_config(self):
        """Pass initialization configuration to the children,
        recursively."""
        self._push_config('initialization', self.initialization_args,
                          NoneInitialization,
                          self._push_initialization_config,
                          lambda child: child.push_initialization_config())

    def _push_initialization_config(self):
        """Brick-specific part of :meth:`push_initialization_config`."""

    def initialize(self):
        """Fill the parameters of this brick and its children with their
        initial values, allocating first if needed."""
        if not self.allocated:
            self.allocate()
        if not self.initialization_config_pushed:
            self.push_initialization_config()
        for child in self.children:
            child.initialize()
        self._initialize()
        self.initialized = True

    def _initialize(self):
        """Brick-specific part of :meth:`initialize`."""


def name_by_path(variables):
    """Name variables by brick path, as models and saved files do.

    A variable of a brick is named ``/mlp/linear_0.W`` (see
    :meth:`Brick.get_hierarchical_name`); one without a brick keeps its
    own name.

    Parameters
    ----------
    variables : iterable of variables

    Returns
    -------
    OrderedDict
        Name -> variable, in the order of `variables`.

    Raises
    ------
    ValueError
        If a variable has neither a brick nor a name, or if different
        variables get one name (two sibling bricks with one name, say).

    Examples
    --------
    >>> import pytensor
    >>> list(name_by_path([pytensor.shared(0., name='learning_rate')]))
    ['learning_rate']

    """
    named = OrderedDict()
    duplicates = []
    for variable in variables:
        brick = get_annotation(variable, Brick)
        name = (brick.get_hierarchical_name(variable) if brick is not None
                else variable.name)
        if not name:
            raise ValueError('cannot name {!r}: it belongs to no brick and '
                             'has no name'.format(variable))
        if named.get(name, variable) is not variable:
            duplicates.append(name)
        named[name] = variable
    if duplicates:
        raise ValueError(
            'different variables get the same name: {}; do two sibling '
            'bricks share a name? Give the bricks (or the variables without '
            'a brick) distinct names'.format(
                ', '.join(sorted(set(duplicates)))))
    return named


def args_to_kwargs(args, f):
    """Name positional arguments after the parameters of `f`."""
    names = [name for name in inspect.signature(f).parameters][:len(args)]
    return dict(zip(names, args))


def _float_inputs(arguments):
    """(name, variable) for the floating-point tensor arguments, those
    given through ``*args`` and ``**kwargs`` included."""
    for name, value in arguments.items():
        if isinstance(value, (tuple, list)):
            items = [('{}_{}'.format(name, i), item)
                     for i, item in enumerate(value)]
        elif isinstance(value, dict):
            items = list(value.items())
        else:
            items = [(name, value)]
        for item_name, item in items:
            if (isinstance(item, Variable)
                    and str(getattr(item, 'dtype', '')).startswith('float')):
                yield item_name, item


def _check_input_dtypes(brick, application_name, arguments):
    """Refuse a float input wider than the brick's float parameters: the
    graph would silently compute in the wider type (float64 through a
    float32 model), unless the ``allow_input_upcast`` setting allows it.
    """
    if config.allow_input_upcast:
        return
    dtypes = {parameter.dtype for parameter in brick.parameters
              if str(parameter.dtype).startswith('float')}
    if len(dtypes) != 1:
        return
    dtype = dtypes.pop()
    for name, variable in _float_inputs(arguments):
        if numpy.dtype(variable.dtype).itemsize > \
                numpy.dtype(dtype).itemsize:
            raise TypeError(
                '{}: the input {!r} of {} is {} but the brick\'s parameters '
                'are {}: the graph would silently compute in {}. Cast the '
                'input (pytensor.tensor.cast(x, {!r})), or set '
                'blocks.config.config.allow_input_upcast = True to allow '
                'it'.format(brick.path, name, application_name,
                            variable.dtype, dtype, variable.dtype, dtype))


def not_implemented(brick, method):
    """The error an abstract brick's `method` raises: it names the brick's
    path and the class that lacks the method."""
    return NotImplementedError('{}: {} does not implement {}'.format(
        brick.path, type(brick).__name__, method))


def copy_and_tag(variable, brick, call, role, application_name, name):
    """Copy a variable and annotate the copy with a brick, a call, a role
    and a name (``{brick}_{application}_{name}``)."""
    copy = variable.copy()
    copy.name = variable_name(brick, application_name, name)
    add_annotation(copy, brick)
    add_annotation(copy, call)
    copy.tag.name = name
    add_role(copy, role)
    return copy


class _CallStack:
    """The ``call_stack`` attribute of applications: one list per thread,
    the same whether read through the class or an instance.

    Each thread builds its own graphs, so the bricks running in one thread
    must not be taken for the callers of an application in another.
    """
    def __init__(self):
        self._local = threading.local()

    def __get__(self, instance, owner):
        if not hasattr(self._local, 'stack'):
            self._local.stack = []
        return self._local.stack


class Application:
    """A method of a brick that builds graphs; see :func:`application`.

    Accessing an application through a brick instance gives a
    :class:`BoundApplication`; through the class, the application itself.

    Attributes
    ----------
    call_stack : list
        The bricks whose applications are running in this thread (shared
        by all applications: a brick may only call applications of itself
        and of its children).
    inputs, outputs : list of str
        Names of the inputs and outputs.
    sequences, states, contexts : list of str
        Set by ``@application(...)`` (through ``@recurrent``) on recurrent
        steps only: the names of the arguments iterated over, carried from
        step to step, and given unchanged to every step.

    """
    call_stack = _CallStack()

    def __init__(self, application_function):
        self.application_function = application_function
        self.__doc__ = application_function.__doc__
        self.name = application_function.__name__
        self.owner = None
        self.properties = {}
        self.delegate_function = None
        signature = inspect.signature(application_function)
        self.signature = signature
        parameters = list(signature.parameters.values())[1:]
        self.varargs_name = next(
            (param.name for param in parameters
             if param.kind == param.VAR_POSITIONAL), None)
        self.varkw_name = next(
            (param.name for param in parameters
             if param.kind == param.VAR_KEYWORD), None)
        self.inputs = [param.name for param in parameters
                       if param.kind in (param.POSITIONAL_OR_KEYWORD,
                                         param.POSITIONAL_ONLY)
                       and param.name not in _INJECTED_ARGUMENTS]
        self.outputs = None

    def __set_name__(self, owner, name):
        self.owner = owner

    def __setattr__(self, name, value):
        # A property is computed for each brick: setting it here would
        # only hide it (Blocks raised AttributeError too).
        if name in self.__dict__.get('properties', ()):
            raise AttributeError(
                '{} of application {} is a property computed for each '
                'brick; it cannot be set on the application itself'.format(
                    name, self.__dict__.get('name')))
        super().__setattr__(name, value)

    def __reduce__(self):
        return getattr, (self.owner, self.name)

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        # Read through __dict__: while a cyclic brick hierarchy is being
        # unpickled, a brick may be asked for an application before its
        # state (and so its cache) is restored.
        cache = instance.__dict__.setdefault('_bound_applications', {})
        bound = cache.get(self.name)
        if bound is None or bound.application is not self:
            bound = BoundApplication(self, instance)
            cache[self.name] = bound
        return bound

    def __call__(self, brick, *args, **kwargs):
        if not isinstance(brick, Brick):
            raise TypeError('application {} must be called on a brick, got '
                            '{!r}'.format(self.name, brick))
        return self.apply(self.__get__(brick), *args, **kwargs)

    def property(self, name):
        """Decorate a method computing the attribute `name` of this
        application for each brick (``inputs`` that depend on the brick's
        configuration, say)."""
        def decorator(function):
            self.properties[name] = function
            return function
        return decorator

    def delegate(self, function):
        """Decorate a method returning another application whose attributes
        this one takes for those it does not define."""
        self.delegate_function = function
        return function

    def _check_caller(self, brick):
        if not self.call_stack:
            return
        caller = self.call_stack[-1]
        if caller is not brick and brick not in caller.children:
            raise ValueError(
                'brick {} called application {} of brick {}, which is not '
                'in the list of its children; add it to the children or '
                'check that an @application decorator is not '
                'missing'.format(caller.path, self.name, brick.path))

    def _tag_inputs(self, bound_application, call, arguments):
        brick = bound_application.brick
        for name, value in list(arguments.items()):
            if name == self.varargs_name:
                arguments[name] = tuple(
                    copy_and_tag(item, brick, call, INPUT, self.name,
                                 '{}_{}'.format(name, i))
                    if isinstance(item, Variable) else item
                    for i, item in enumerate(value))
            elif name == self.varkw_name:
                # Inputs given by keyword (Parallel's named inputs) are
                # tagged under their keyword.
                arguments[name] = {
                    key: copy_and_tag(item, brick, call, INPUT, self.name, key)
                    if isinstance(item, Variable) else item
                    for key, item in value.items()}
            elif isinstance(value, Variable):
                arguments[name] = copy_and_tag(value, brick, call, INPUT,
                                               self.name, name)

    def _inject(self, args, kwargs, bound_application, call):
        """Add the arguments the application fills in itself. One that
        comes before positional arguments the caller gave (``def
        cost(self, application_call, outputs)`` called as
        ``cost(outputs)``) takes its place among them."""
        names = list(self.signature.parameters)[1:]
        for injected, value in (('application', bound_application),
                                ('application_call', call)):
            if injected not in self.signature.parameters:
                continue
            kind = self.signature.parameters[injected].kind
            index = names.index(injected)
            if kind == inspect.Parameter.POSITIONAL_OR_KEYWORD and \
                    index <= len(args):
                args = args[:index] + (value,) + args[index:]
            else:
                kwargs[injected] = value
        return args, kwargs

    def apply(self, bound_application, *args, **kwargs):
        """Run the application: tag the inputs, call the function, tag the
        outputs.

        Keyword arguments ``as_dict`` and ``as_list`` choose how several
        outputs are returned; ``call_id`` is stored in the call's metadata.
        """
        as_dict = kwargs.pop('as_dict', False)
        as_list = kwargs.pop('as_list', False)
        call_id = kwargs.pop('call_id', None)
        if as_dict and as_list:
            raise ValueError('as_dict and as_list cannot both be True')
        brick = bound_application.brick
        call = ApplicationCall(bound_application)
        call.metadata['call_id'] = call_id
        args, kwargs = self._inject(args, kwargs, bound_application, call)

        self._check_caller(brick)
        if not brick.allocated:
            brick.allocate()

        try:
            bound = self.signature.bind(brick, *args, **kwargs)
        except TypeError as error:
            raise TypeError('{}: bad arguments for application {}: {}'.format(
                brick.path, self.name, error)) from None
        _check_input_dtypes(brick, self.name, bound.arguments)
        self._tag_inputs(bound_application, call, bound.arguments)

        self.call_stack.append(brick)
        try:
            outputs = self.application_function(*bound.args, **bound.kwargs)
        finally:
            self.call_stack.pop()

        return self._tag_outputs(bound_application, call, outputs,
                                 as_dict, as_list)

    def _tag_outputs(self, bound_application, call, outputs, as_dict,
                     as_list):
        brick = bound_application.brick
        outputs = pack(outputs)
        names = bound_application.outputs
        if names is None:
            names = ['output_{}'.format(i) for i in range(len(outputs))]
        if len(outputs) > len(names):
            raise ValueError(
                '{}: unexpected outputs: application {} returned {} values '
                'but declares {} outputs ({})'.format(
                    brick.path, self.name, len(outputs), len(names),
                    ', '.join(names)))
        outputs = [
            copy_and_tag(output, brick, call, OUTPUT, self.name, name)
            if isinstance(output, Variable) else output
            for output, name in zip(outputs, names)]
        if as_dict:
            return OrderedDict(zip(names, outputs))
        if as_list:
            return outputs
        return unpack(outputs)


class BoundApplication:
    """An application bound to a brick; calling it runs the application.

    Attributes not defined here are looked up in the application's
    properties (computed for the brick), then in the delegate, then in the
    application itself.
    """
    def __init__(self, application, brick):
        self.application = application
        self.brick = brick

    def __getattr__(self, name):
        if name in ('application', 'brick'):
            raise AttributeError(name)  # not set yet (unpickling)
        application = self.application
        if name in application.properties:
            return application.properties[name](self.brick)
        if application.delegate_function is not None:
            return getattr(application.delegate_function(self.brick), name)
        return getattr(application, name)

    @property
    def name(self):
        return self.application.name

    def __reduce__(self):
        return getattr, (self.brick, self.application.name)

    def __repr__(self):
        return '<BoundApplication {} of {}>'.format(self.name,
                                                   self.brick.path)

    def __call__(self, *args, **kwargs):
        return self.application.apply(self, *args, **kwargs)


def application(*args, **kwargs):
    """Turn a brick method into an :class:`Application`.

    Used bare (``@application``) or with attributes
    (``@application(inputs=['x'], outputs=['y'])``). The attributes are
    those of :data:`APPLICATION_ATTRIBUTES`: ``inputs`` and ``outputs``
    name the arguments and results; ``sequences``, ``states`` and
    ``contexts`` describe the arguments of a recurrent step. Any other
    keyword raises TypeError, so that a misspelt one is not silently
    taken.

    Examples
    --------
    >>> import pytensor.tensor as pt
    >>> class Adder(Brick):
    ...     @application(outputs=['sum'])
    ...     def apply(self, a, b):
    ...         return a + b
    >>> Adder.apply.inputs
    ['a', 'b']

    """
    if args:
        if len(args) != 1 or kwargs or not callable(args[0]):
            raise TypeError('use @application or @application(**attributes)')
        return Application(args[0])

    def decorator(function):
        _check_application_attributes(function, kwargs)
        app = Application(function)
        for key, value in kwargs.items():
            setattr(app, key, value)
        return app
    return decorator


def _check_application_attributes(function, attributes):
    unknown = [name for name in attributes
               if name not in APPLICATION_ATTRIBUTES]
    if unknown:
        # At decoration time the class does not exist yet; the qualified
        # name ('Linear.apply') is what names it.
        where = function.__qualname__.rpartition('<locals>.')[2]
        raise TypeError(
            '{}: @application got unknown keyword{} {}; expected some of '
            '{}'.format(where, 's' if len(unknown) > 1 else '',
                        ', '.join(map(repr, unknown)),
                        ', '.join(APPLICATION_ATTRIBUTES)))
