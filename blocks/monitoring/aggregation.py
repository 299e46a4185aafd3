"""How monitored values are aggregated over several batches.

A variable's aggregation scheme (``variable.tag.aggregation_scheme``) says
how its per-batch values combine into one number: :class:`Mean` (the
default for data stream monitoring), :class:`TakeLast` (the default for
training monitoring), :class:`Minimum`, :class:`Maximum` or
:class:`Concatenate`, or :class:`Perplexity`. Each scheme gives an
:class:`Aggregator`: shared accumulators, their updates (compiled into
the function that processes batches, so nothing is computed twice) and a
readout expression.
Quantities that cannot be written as PyTensor expressions are subclasses
of :class:`MonitoredQuantity`, aggregated in Python.

Examples
--------
>>> import pytensor.tensor as pt
>>> from blocks.monitoring.aggregation import mean
>>> errors = pt.vector('errors')
>>> error_rate = mean(errors.sum(), errors.shape[0])
>>> error_rate.name = 'error_rate'
>>> type(error_rate.tag.aggregation_scheme).__name__
'Mean'

"""
from collections import OrderedDict

import numpy
import pytensor
import pytensor.tensor as pt
from pytensor.graph.basic import Variable
from pytensor.raise_op import Assert

from blocks.compilation import compile_function
from blocks.graph import ComputationGraph
from blocks.graph.computation_graph import replace_variables
from blocks.utils import shared_like

__all__ = ['AggregationScheme', 'Aggregator', 'Mean', 'mean', 'TakeLast',
           'take_last', 'Minimum', 'Maximum', 'Concatenate', 'Perplexity',
           'MonitoredQuantity', 'AggregationBuffer']


class Aggregator:
    """Accumulates the values of a variable over batches.

    Parameters
    ----------
    aggregation_scheme : :class:`AggregationScheme`
    initialization_updates : list of (shared variable, value) pairs
        What the accumulators are reset to: arrays, or (as in Blocks)
        expressions of constants and shared variables, which are evaluated
        once, when the aggregator is made.
    accumulation_updates : list of (shared variable, expression) pairs
        Run with every batch.
    readout_variable : variable
        The aggregated value, computed from the accumulators.

    Attributes
    ----------
    initial_values : list of (shared variable, array) pairs
        The reset values; :meth:`reset` sets them without compiling
        anything.
    initialization_updates : list of (shared variable, constant) pairs
        The same as updates, for a function that resets the accumulators
        (``pytensor.function([], updates=aggregator.initialization_updates)``
        as in Blocks).

    """
    def __init__(self, aggregation_scheme, initialization_updates=None,
                 accumulation_updates=None, readout_variable=None):
        self.aggregation_scheme = aggregation_scheme
        self.initial_values = [
            (variable, _initial_value(variable, value))
            for variable, value in initialization_updates or []]
        self.accumulation_updates = list(accumulation_updates or [])
        self.readout_variable = readout_variable

    @property
    def initialization_updates(self):
        return [(variable, variable.type.filter_variable(pt.constant(value)))
                for variable, value in self.initial_values]

    def reset(self):
        """Set the accumulators to their initial values."""
        for variable, value in self.initial_values:
            variable.set_value(value.copy(), borrow=True)


def _initial_value(variable, value):
    if isinstance(value, Variable):
        value = value.eval()
    return numpy.asarray(value, dtype=variable.dtype)


class AggregationScheme:
    """How the values of `variable` combine over batches."""
    def __init__(self, variable):
        self.variable = variable

    def get_aggregator(self):
        """A new :class:`Aggregator` with its own accumulators."""
        raise NotImplementedError


def _zeros_of(shared):
    return numpy.zeros_like(shared.get_value(borrow=True))


_REDUCTIONS = {'sum': (pt.sum, pt.add), 'min': (pt.min, pt.minimum),
               'max': (pt.max, pt.maximum)}


def _elementwise_accumulator(value, kind, name):
    """Accumulate a variable elementwise over batches: its sum, minimum or
    maximum (`kind`).

    A value whose shape is statically known (scalars ...) accumulates in a
    shared variable of that shape. Otherwise the accumulator is a flat
    vector, empty after a reset: each batch stacks it (zero or one row) on
    the flattened value and reduces over the rows. That needs no value to
    start from and no runtime broadcasting, which PyTensor does not do.
    The value's shape is kept beside it for the readout.

    Returns
    -------
    (initial values, updates, readout)

    """
    value = pt.as_tensor_variable(value)
    reduce, combine = _REDUCTIONS[kind]
    static_shape = value.type.shape
    if all(length is not None for length in static_shape):
        storage = pytensor.shared(numpy.zeros(static_shape, value.dtype),
                                  name=name, shape=static_shape)
        if kind == 'sum':
            return ([(storage, _zeros_of(storage))],
                    [(storage, storage + value)], storage)
        seen = pytensor.shared(numpy.int8(0), name=name + '_seen')
        new_value = pt.switch(seen > 0, combine(storage, value), value)
        return ([(storage, _zeros_of(storage)), (seen, _zeros_of(seen))],
                [(storage, new_value), (seen, pt.ones_like(seen))], storage)
    flat = pytensor.shared(numpy.zeros(0, dtype=value.dtype),
                           name=name, shape=(None,))
    shape = pytensor.shared(numpy.zeros(value.ndim, dtype='int64'),
                            name=name + '_shape', shape=(value.ndim,))
    size = pt.prod(value.shape)
    stacked = pt.concatenate([flat.reshape((-1, size)),
                              value.reshape((1, size))], axis=0)
    updates = [(flat, reduce(stacked, axis=0)),
               (shape, pt.cast(value.shape, 'int64'))]
    readout = flat.reshape(shape, ndim=value.ndim)
    return ([(flat, _zeros_of(flat)), (shape, _zeros_of(shape))], updates,
            readout)


def _sum_accumulator(value, name):
    return _elementwise_accumulator(value, 'sum', name)


class Mean(AggregationScheme):
    """The sum of `numerator` over batches divided by the sum of
    `denominator`.

    Parameters
    ----------
    numerator, denominator : variables (or numbers for the denominator)

    """
    def __init__(self, numerator, denominator):
        self.numerator = numerator
        self.denominator = denominator

    def get_aggregator(self):
        numerator_init, numerator_updates, numerator_sum = _sum_accumulator(
            self.numerator, 'numerator_sum')
        denominator_init, denominator_updates, denominator_sum = \
            _sum_accumulator(self.denominator, 'denominator_sum')
        return Aggregator(self, numerator_init + denominator_init,
                          numerator_updates + denominator_updates,
                          numerator_sum / denominator_sum)


def mean(numerator, denominator=1.):
    """``numerator / denominator`` aggregated as a :class:`Mean`: the ratio
    of the sums over batches, not the mean of the ratios."""
    variable = numerator / denominator
    variable.tag.aggregation_scheme = Mean(numerator, denominator)
    variable.name = getattr(numerator, 'name', None)
    return variable


class TakeLast(AggregationScheme):
    """The value of the last batch."""
    def get_aggregator(self):
        last = shared_like(self.variable, name='last')
        return Aggregator(self, [(last, _zeros_of(last))],
                          [(last, self.variable)], last)


def take_last(variable):
    """A copy of `variable` aggregated with :class:`TakeLast`."""
    copy = variable.copy(name=variable.name)
    copy.tag.aggregation_scheme = TakeLast(copy)
    return copy


class _Extremum(AggregationScheme):
    kind = None

    def get_aggregator(self):
        initial, updates, readout = _elementwise_accumulator(
            self.variable, self.kind, type(self).__name__.lower())
        return Aggregator(self, initial, updates, readout)


class Minimum(_Extremum):
    """The elementwise minimum over batches."""
    kind = 'min'


class Maximum(_Extremum):
    """The elementwise maximum over batches."""
    kind = 'max'


class Concatenate(AggregationScheme):
    """The values of all batches stacked along a new first axis, as in
    Blocks: a scalar per batch gives a vector, a vector per batch a
    matrix with one row per batch. Every batch must give a value of the
    same shape; a batch that does not stops the function with an error.
    """
    def get_aggregator(self):
        value = pt.as_tensor_variable(self.variable)
        # Batches are appended to a flat vector, and the shape of one
        # batch's value is kept beside it: this needs no special case for
        # the first batch, whose shape is unknown until it is seen.
        flat = pytensor.shared(numpy.zeros(0, dtype=value.dtype),
                               name='concatenation', shape=(None,))
        shape = pytensor.shared(numpy.zeros(value.ndim, dtype='int64'),
                                name='batch_value_shape',
                                shape=(value.ndim,))
        count = pytensor.shared(numpy.int64(0), name='batches_stacked')
        value_shape = pt.cast(value.shape, 'int64')
        same_shape = pt.or_(pt.eq(count, 0),
                            pt.all(pt.eq(shape, value_shape)))
        checked = Assert(
            'Concatenate stacks the value of every batch, so they must all '
            'have the same shape')(value.flatten(), same_shape)
        updates = [(flat, pt.concatenate([flat, checked])),
                   (shape, value_shape), (count, count + 1)]
        readout = flat.reshape(pt.concatenate([[count], shape]),
                               ndim=value.ndim + 1)
        return Aggregator(
            self, [(flat, _zeros_of(flat)), (shape, _zeros_of(shape)),
                   (count, _zeros_of(count))],
            updates, readout)


class Perplexity(Mean):
    """``exp(-sum(numerator) / sum(denominator))`` over batches: the
    perplexity when `numerator` is a sum of log-likelihoods and
    `denominator` the number of predictions (as in Blocks)."""
    def get_aggregator(self):
        aggregator = super().get_aggregator()
        aggregator.readout_variable = pt.exp(-aggregator.readout_variable)
        return aggregator


class MonitoredQuantity:
    """A monitored value computed in Python from variables of the graph.

    Subclasses implement :meth:`initialize`, :meth:`aggregate` (called with
    the values of ``requires`` for each batch) and
    :meth:`get_aggregated_value`.

    Parameters
    ----------
    requires : list of variables
        The variables whose values :meth:`aggregate` receives.
    name : str
        The name of the record in the log.

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> class Count(MonitoredQuantity):
    ...     def initialize(self):
    ...         self.total = 0
    ...     def aggregate(self, batch):
    ...         self.total += len(batch)
    ...     def get_aggregated_value(self):
    ...         return self.total
    >>> count = Count(requires=[pt.vector('x')], name='examples')
    >>> count.initialize(); count.aggregate(numpy.zeros(3))
    >>> count.get_aggregated_value()
    3

    """
    def __init__(self, requires=None, name=None):
        self.requires = list(requires or [])
        self.name = name

    def initialize(self):
        """Start aggregating anew."""
        raise NotImplementedError

    def aggregate(self, *args):
        """Take the values of ``requires`` for one batch."""
        raise NotImplementedError

    def get_aggregated_value(self):
        """The aggregated value."""
        raise NotImplementedError


def _names_of(variables):
    names = []
    for variable in variables:
        name = variable.name
        if not name:
            raise ValueError('monitored variables need names (they must have '
                             'names: they name the log records); {} has none '
                             '(set its .name)'.format(variable))
        names.append(name)
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError('several monitored variables are named {}; names '
                         'must be unique'.format(', '.join(duplicates)))
    return names


class AggregationBuffer:
    """The aggregators of several named variables.

    Parameters
    ----------
    variables : list of variables
        Each named; its ``tag.aggregation_scheme`` is used when it has one.
    use_take_last : bool, optional
        The scheme of data-independent variables without one (those with
        no input, such as a parameter's norm): :class:`TakeLast` if True,
        :class:`Mean` over batches otherwise (the default). Variables that
        depend on the data and have no scheme are always averaged over
        batches, as in Blocks: the mean over an epoch is what a learning
        curve shows, not the value of the epoch's last batch.

    Attributes
    ----------
    accumulation_updates : list of pairs
        To run with every batch.
    readout_variables : OrderedDict
        Name -> aggregated value in terms of the accumulators.
    updated_readouts : list of variables
        The readouts after the accumulation updates of the current batch,
        in terms of the accumulators' old values and the batch: computed as
        outputs of the function that runs the updates, they give the
        aggregated values without a second function call.
    inputs : list of variables

    """
    def __init__(self, variables, use_take_last=False):
        self.variables = list(variables)
        for variable in self.variables:
            if not isinstance(variable, Variable):
                raise TypeError('can only aggregate PyTensor variables, got '
                                '{!r}'.format(variable))
        self.names = _names_of(self.variables)
        self.use_take_last = use_take_last
        self.aggregators = [self._scheme_of(variable).get_aggregator()
                            for variable in self.variables]
        self.accumulation_updates = [
            pair for aggregator in self.aggregators
            for pair in aggregator.accumulation_updates]
        self.readout_variables = OrderedDict(
            (name, aggregator.readout_variable)
            for name, aggregator in zip(self.names, self.aggregators))
        if self.variables:
            self.updated_readouts = replace_variables(
                list(self.readout_variables.values()),
                OrderedDict(self.accumulation_updates))
            self.inputs = ComputationGraph(
                [value for _, value in self.accumulation_updates]).inputs
        else:
            self.updated_readouts = []
            self.inputs = []
        self._readout_function = None

    def _scheme_of(self, variable):
        scheme = getattr(variable.tag, 'aggregation_scheme', None)
        if scheme is not None:
            return scheme
        depends_on_data = bool(ComputationGraph([variable]).inputs)
        if self.use_take_last and not depends_on_data:
            return TakeLast(variable)
        return Mean(variable, numpy.float32(1.))

    def initialize_aggregators(self):
        """Reset every accumulator."""
        for aggregator in self.aggregators:
            aggregator.reset()

    def get_aggregated_values(self):
        """Name -> current aggregated value (compiles a small function the
        first time)."""
        if self._readout_function is None:
            self._readout_function = compile_function(
                [], list(self.readout_variables.values()))
        return OrderedDict(zip(self.names, self._readout_function()))

    def __getstate__(self):
        state = self.__dict__.copy()
        state['_readout_function'] = None
        return state
