"""Training algorithms: a compiled function of updates run on every batch.

:class:`UpdatesAlgorithm` compiles one PyTensor function from a list of
updates; :class:`GradientDescent` builds the parameter updates from a cost
and a step rule. Everything that must happen once per batch goes into
that one function: the parameter steps, the step rules' buffers, extra
updates added with :meth:`UpdatesAlgorithm.add_updates` (such as batch
normalization's population statistics) and the aggregates of
:class:`~blocks.extensions.monitoring.TrainingDataMonitoring`.
"""
import logging
import warnings
from collections import OrderedDict
from collections.abc import Mapping

import numpy
import pytensor
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Variable

from blocks.compilation import (SourceFunction, check_batch_rows,
                                name_failing_brick)
from blocks.config import config
from blocks.algorithms.step_rules import Scale, l2_norm
from blocks.graph import ComputationGraph
from blocks.utils import change_recursion_limit

__all__ = ['TrainingAlgorithm', 'UpdatesAlgorithm', 'GradientDescent']

logger = logging.getLogger(__name__)

ON_UNUSED_SOURCES = ('raise', 'warn', 'ignore')

_MISSING_SOURCES = ('the batch lacks the sources {missing} that the inputs of '
                    'the training graph need (the batch has {given}; the '
                    'graph needs {needed})')


class TrainingAlgorithm:
    """What a :class:`~blocks.main_loop.MainLoop` drives.

    The main loop calls :meth:`initialize` once before training, then
    :meth:`process_batch` with every batch (a dict from source name to
    data).

    """
    def initialize(self, **kwargs):
        """Prepare for training (compile functions ...)."""
        raise NotImplementedError

    def process_batch(self, batch):
        """Train on one batch, a mapping from source names to arrays."""
        raise NotImplementedError

    def check_sanity(self, model):
        """Called by the main loop before training with its model (or
        None); may warn about or reject a mismatch."""


def _as_update_pairs(updates):
    """A list of (shared variable, expression) pairs from a mapping or an
    iterable of pairs, checked."""
    if isinstance(updates, Mapping):
        pairs = list(updates.items())
    else:
        try:
            pairs = [tuple(pair) for pair in updates]
        except TypeError:
            raise TypeError('updates must be a dict or a list of (shared '
                            'variable, new value) pairs, got {!r}'.format(
                                updates)) from None
    for pair in pairs:
        if len(pair) != 2:
            raise ValueError('an update must be a (shared variable, new value)'
                             ' pair, got {!r}'.format(pair))
        if not isinstance(pair[0], SharedVariable):
            raise TypeError('only shared variables can be updated, got {!r} '
                            'in the update pair {!r}'.format(pair[0], pair))
    return pairs


def _describe_value(value):
    dtype = getattr(value, 'dtype', None)
    shape = getattr(value, 'shape', None)
    if dtype is None or shape is None:
        return 'a {}'.format(type(value).__name__)
    return 'an array of dtype {} and shape {} ({} dimensions)'.format(
        dtype, tuple(shape), len(shape))


def _input_spec(variable):
    """What an array must have to be given to the compiled function as it
    is: (dtype, ndim, [(axis, static length), ...])."""
    static_axes = [(axis, length)
                   for axis, length in enumerate(variable.type.shape)
                   if length is not None]
    return numpy.dtype(variable.type.dtype), variable.type.ndim, static_axes


class UpdatesAlgorithm(TrainingAlgorithm):
    """Run a compiled function of updates on every batch.

    The function's inputs are the graph inputs of the update expressions;
    each is fed from the batch source of the same name.

    Parameters
    ----------
    updates : dict or list of pairs, optional
        (shared variable, new value) pairs.
    function_kwargs : dict, optional
        Keyword arguments for :func:`~blocks.compilation.compile_function`
        (``mode`` ...; blocks' default mode otherwise).
        ``theano_func_kwargs`` is accepted as its Blocks name.
    on_unused_sources : {'raise', 'warn', 'ignore'}, optional
        What to do when a batch has sources that no input uses.

    Attributes
    ----------
    output_values : list or None
        The values of the outputs added by :meth:`add_outputs`, as returned
        by the last batch.

    Examples
    --------
    >>> import numpy, pytensor, pytensor.tensor as pt
    >>> total = pytensor.shared(0.0, name='total')
    >>> x = pt.vector('x')
    >>> algorithm = UpdatesAlgorithm(updates=[(total, total + x.sum())])
    >>> algorithm.initialize()
    >>> algorithm.process_batch({'x': numpy.array([1.0, 2.0])})
    >>> total.get_value()
    array(3.)

    """
    def __init__(self, updates=None, function_kwargs=None,
                 on_unused_sources='raise', theano_func_kwargs=None):
        if on_unused_sources not in ON_UNUSED_SOURCES:
            raise ValueError('on_unused_sources must be one of {}, got {!r}'
                             .format(', '.join(map(repr, ON_UNUSED_SOURCES)),
                                     on_unused_sources))
        if function_kwargs is not None and theano_func_kwargs is not None:
            raise ValueError('give function_kwargs or its old name '
                             'theano_func_kwargs, not both')
        self.function_kwargs = dict(function_kwargs or theano_func_kwargs
                                    or {})
        self.on_unused_sources = on_unused_sources
        self._updates = []
        self._outputs = []
        self._sources = None
        self._function = None
        self._input_names = ()
        self._checked_sources = None
        self.output_values = None
        if updates is not None:
            self.add_updates(updates)

    @property
    def theano_func_kwargs(self):
        """Blocks' name of ``function_kwargs``."""
        return self.function_kwargs

    @property
    def updates(self):
        """The list of (shared variable, new value) pairs."""
        return self._updates

    @updates.setter
    def updates(self, value):
        self._updates = _as_update_pairs(value)
        self._function = None

    def add_updates(self, updates):
        """Add updates to the function run on every batch.

        All updates, those of the parameters included, are computed from
        the values the shared variables had before the batch and applied
        together.

        Parameters
        ----------
        updates : dict or list of (shared variable, expression) pairs

        """
        self._updates.extend(_as_update_pairs(updates))
        self._function = None

    def add_outputs(self, variables):
        """Have the function also compute `variables` on every batch.

        Returns
        -------
        int
            Where the values of `variables` start in ``output_values``.

        """
        variables = list(variables)
        for variable in variables:
            if not isinstance(variable, Variable):
                raise TypeError('outputs must be PyTensor variables, got '
                                '{!r}'.format(variable))
        start = len(self._outputs)
        self._outputs.extend(variables)
        self._function = None
        return start

    @property
    def inputs(self):
        """The variables fed from the batch, each by its name."""
        targets = [value for _, value in self._updates] + self._outputs
        if not targets:
            return []
        return ComputationGraph(targets).inputs

    def initialize(self, **kwargs):
        """Compile the function, unless it is compiled and no update or
        output was added since."""
        if self._function is None:
            self._compile()

    def _check_updates(self):
        seen = set()
        duplicates = []
        for variable, _ in self._updates:
            if variable in seen:
                duplicates.append(variable)
            seen.add(variable)
        if duplicates:
            raise ValueError(
                'several updates of the same shared variables: {}; combine '
                'them into one update each'.format(
                    ', '.join(str(var) for var in duplicates)))

    @staticmethod
    def _check_inputs(inputs):
        names = [variable.name for variable in inputs]
        duplicates = sorted({name for name in names
                             if name and names.count(name) > 1})
        if duplicates:
            raise ValueError(
                'several different input variables are named {}; each data '
                'source can feed only one'.format(', '.join(duplicates)))

    def _compile(self):
        self._check_updates()
        inputs = self.inputs
        self._check_inputs(inputs)
        logger.info('Compiling the training function')
        self._sources = SourceFunction(
            inputs, self._outputs, updates=self._updates,
            missing_message=_MISSING_SOURCES, tiered=True,
            **self.function_kwargs)
        self._inputs = self._sources.inputs
        self._input_names = self._sources.input_names
        self._function = self._sources.function
        # The function's own input checks cost more than a small training
        # step; process_batch checks types itself, cheaply.
        self._function.trust_input = True
        self._input_specs = [_input_spec(variable)
                             for variable in self._inputs]
        self._checked_sources = None
        logger.info('The training function is compiled')
        return self._function

    def _check_sources(self, batch):
        self._sources.check_sources(batch)
        needed = set(self._input_names)
        unused = set(batch) - needed
        if unused:
            message = ('the batch has the sources {} that no input of the '
                       'training graph uses (the graph needs {}); pass '
                       "on_unused_sources='warn' or 'ignore' to allow this"
                       .format(sorted(unused), sorted(needed)))
            if self.on_unused_sources == 'raise':
                raise ValueError(message)
            if self.on_unused_sources == 'warn':
                warnings.warn(message)
        self._checked_sources = frozenset(batch)

    def _convert_input(self, index, value):
        """`value` converted to the type of input `index` as PyTensor would
        (upcasting, lists to arrays ...), or a TypeError naming the input."""
        variable, name = self._inputs[index], self._input_names[index]
        allow_downcast = self.function_kwargs.get('allow_input_downcast')
        try:
            return variable.type.filter(value, strict=False,
                                        allow_downcast=allow_downcast)
        except Exception as error:
            raise TypeError(
                'the batch source {!r} does not fit the input variable {} of '
                'type {}: got {}. {}'.format(
                    name, variable, variable.type, _describe_value(value),
                    error)) from error

    def process_batch(self, batch):
        """Run the function on `batch` (source name -> array)."""
        function = self._function
        if function is None:
            function = self._compile()
        if self._checked_sources is None or batch.keys() != \
                self._checked_sources:
            self._check_sources(batch)
        values = [batch[name] for name in self._input_names]
        index = 0
        for value, (dtype, ndim, static_axes) in zip(values,
                                                     self._input_specs):
            if (type(value) is not numpy.ndarray or value.dtype != dtype
                    or value.ndim != ndim
                    or (static_axes and any(value.shape[axis] != length
                                            for axis, length in static_axes))):
                values[index] = self._convert_input(index, value)
            index += 1
        check_batch_rows(self._input_names, values)
        try:
            self.output_values = function(*values)
        except Exception as error:
            name_failing_brick(error, function)
            raise

    def __getstate__(self):
        # Compiled functions are rebuilt after unpickling, on first use.
        state = self.__dict__.copy()
        state['_sources'] = None
        state['_function'] = None
        state['_checked_sources'] = None
        return state


class GradientDescent(UpdatesAlgorithm):
    """Minimise a cost by gradient descent with a step rule.

    On every batch each parameter becomes ``parameter - step``, where the
    step comes from the step rule applied to the cost's gradient.

    Parameters
    ----------
    cost : scalar tensor variable, optional
        The cost to minimise; needed unless `gradients` is given.
    parameters : list of shared variables, optional
        The parameters to train, in a fixed order; by default those of the
        cost's graph (``ComputationGraph(cost).parameters``), or the keys of
        `gradients`.
    step_rule : :class:`~blocks.algorithms.step_rules.StepRule`, optional
        :class:`~blocks.algorithms.step_rules.Scale` (plain SGD with
        learning rate 1) by default.
    gradients : OrderedDict, dict or list of pairs, optional
        Parameter -> gradient expression, instead of differentiating the
        cost. Their order (that of `parameters` when given) fixes the order
        of every sum over parameters, which keeps runs reproducible; so, as
        in Blocks, a plain dict needs `parameters`.
    known_grads : dict, optional
        Given to :func:`pytensor.grad`.
    consider_constant : list, optional
        Given to :func:`pytensor.grad`.
    \\*\\*kwargs
        Given to :class:`UpdatesAlgorithm` (``updates``,
        ``function_kwargs``, ``on_unused_sources``).

    Attributes
    ----------
    gradients, steps : OrderedDict
        Parameter -> gradient and parameter -> step, in parameter order.
    total_gradient_norm, total_step_norm : scalar variables
        Can be monitored with
        :class:`~blocks.extensions.monitoring.TrainingDataMonitoring`.

    Examples
    --------
    >>> import numpy, pytensor, pytensor.tensor as pt
    >>> from blocks.algorithms import Scale
    >>> w = pytensor.shared(numpy.array([1.0, -2.0]), name='w')
    >>> x = pt.vector('x')
    >>> algorithm = GradientDescent(cost=((w - x) ** 2).sum(),
    ...                             parameters=[w], step_rule=Scale(0.25))
    >>> algorithm.initialize()
    >>> algorithm.process_batch({'x': numpy.zeros(2)})
    >>> w.get_value()
    array([ 0.5, -1. ])

    """
    def __init__(self, cost=None, parameters=None, step_rule=None,
                 gradients=None, known_grads=None, consider_constant=None,
                 **kwargs):
        self.cost = cost
        if parameters is not None:
            parameters = list(parameters)
            self._check_parameters(parameters)
        if gradients is not None:
            parameters, gradients = self._given_gradients(
                cost, parameters, gradients, known_grads, consider_constant)
        else:
            if cost is None:
                raise ValueError('GradientDescent needs a cost or gradients: '
                                 "can't infer gradients, no cost specified")
            if parameters is None:
                parameters = ComputationGraph(cost).parameters
            if not parameters:
                raise ValueError('GradientDescent: the cost {} depends on no '
                                 'shared variable with role PARAMETER and no '
                                 'parameters were given (pass '
                                 'parameters=)'.format(cost))
            logger.info('Taking the cost gradient')
            # PyTensor's gradient recurses along the graph, one layer after
            # another: deep networks need more than Python's default limit.
            with change_recursion_limit(config.recursion_limit):
                gradients = OrderedDict(zip(parameters, pytensor.grad(
                    cost, parameters, known_grads=known_grads,
                    consider_constant=consider_constant)))
        self.parameters = parameters
        self.gradients = gradients
        self.total_gradient_norm = l2_norm(
            [gradients[parameter] for parameter in parameters])
        self.total_gradient_norm.name = 'total_gradient_norm'

        self.step_rule = step_rule if step_rule is not None else Scale()
        steps, self.step_rule_updates = self.step_rule.compute_steps(
            gradients)
        self.steps = OrderedDict(
            (parameter, steps[parameter]) for parameter in parameters)
        self.total_step_norm = l2_norm(list(self.steps.values()))
        self.total_step_norm.name = 'total_step_norm'

        updates = [(parameter, self._new_value(parameter))
                   for parameter in parameters]
        updates.extend(self.step_rule_updates)
        extra_updates = kwargs.pop('updates', None)
        super().__init__(**kwargs)
        self.add_updates(updates)
        if extra_updates is not None:
            self.add_updates(extra_updates)

    @staticmethod
    def _check_parameters(parameters):
        for parameter in parameters:
            if not isinstance(parameter, SharedVariable):
                raise TypeError('GradientDescent trains shared variables, got '
                                '{!r} among the parameters'.format(parameter))
        if len(set(parameters)) != len(parameters):
            raise ValueError('a parameter appears twice in {}'.format(
                parameters))

    @staticmethod
    def _given_gradients(cost, parameters, gradients, known_grads,
                         consider_constant):
        if known_grads is not None or consider_constant is not None:
            raise ValueError('known_grads and consider_constant have no '
                             'effect when gradients are given')
        if cost is not None:
            logger.warning('GradientDescent: gradients are given, so the cost '
                           'is not differentiated')
        if isinstance(gradients, Mapping):
            if parameters is None and not isinstance(gradients, OrderedDict):
                # As Blocks: the order of a plain dict is however it was
                # built, which is too easy to leave to chance.
                raise ValueError(
                    'Cannot infer the parameter list in a fixed order from a '
                    'plain dict of gradients: pass parameters= or the '
                    'gradients as an OrderedDict (or a list of pairs)')
            gradients = OrderedDict(gradients)
        elif isinstance(gradients, (set, frozenset)):
            raise ValueError('gradients must be ordered (a dict or a list of '
                             'pairs), not a set: the order of the parameters '
                             'fixes the order of floating-point sums')
        else:
            gradients = OrderedDict(gradients)
        if parameters is None:
            parameters = list(gradients)
        elif set(parameters) != set(gradients):
            raise ValueError(
                'parameters and the keys of gradients differ: {} have no '
                'gradient and {} are not parameters'.format(
                    [p for p in parameters if p not in gradients],
                    [p for p in gradients if p not in set(parameters)]))
        GradientDescent._check_parameters(parameters)
        return parameters, OrderedDict(
            (parameter, gradients[parameter]) for parameter in parameters)

    def _new_value(self, parameter):
        new_value = parameter - self.steps[parameter]
        if new_value.dtype != parameter.dtype:
            new_value = pytensor.tensor.cast(new_value, parameter.dtype)
        return parameter.type.filter_variable(new_value, allow_convert=True)

    def check_sanity(self, model):
        if model is None:
            return
        model_parameters = set(getattr(model, 'parameters', ()))
        if model_parameters and model_parameters != set(self.parameters):
            logger.warning(
                'the model has parameters that GradientDescent does not train '
                '(%s) or the other way round (%s)',
                [str(p) for p in model_parameters - set(self.parameters)],
                [str(p) for p in set(self.parameters) - model_parameters])
