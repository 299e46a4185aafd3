"""Evaluating monitored variables over a whole data stream."""
import logging
from collections import OrderedDict

from pytensor.graph.basic import Variable

from blocks.compilation import SourceFunction
from blocks.graph import ComputationGraph
from blocks.monitoring.aggregation import (AggregationBuffer,
                                           MonitoredQuantity)

__all__ = ['MonitoredQuantityBuffer', 'DatasetEvaluator',
           'split_monitored']

logger = logging.getLogger(__name__)


def split_monitored(variables):
    """Separate PyTensor variables from :class:`MonitoredQuantity`
    objects; anything else raises."""
    symbolic, quantities = [], []
    for variable in variables:
        if isinstance(variable, Variable):
            symbolic.append(variable)
        elif isinstance(variable, MonitoredQuantity):
            quantities.append(variable)
        else:
            raise TypeError('can only monitor PyTensor variables and '
                            'MonitoredQuantity objects, got {!r}'.format(
                                variable))
    return symbolic, quantities


class MonitoredQuantityBuffer:
    """Feeds several :class:`MonitoredQuantity` objects.

    Attributes
    ----------
    requires : list of variables
        What all the quantities need, each variable once.

    """
    def __init__(self, quantities):
        self.quantities = list(quantities)
        for quantity in self.quantities:
            if not quantity.name:
                raise ValueError('monitored quantity {!r} needs a name'.format(
                    quantity))
        self.requires = []
        self._positions = []
        for quantity in self.quantities:
            positions = []
            for variable in quantity.requires:
                if variable not in self.requires:
                    self.requires.append(variable)
                positions.append(self.requires.index(variable))
            self._positions.append(positions)

    def initialize_quantities(self):
        for quantity in self.quantities:
            quantity.initialize()

    def aggregate_quantities(self, values):
        """Give each quantity its share of `values` (those of
        ``requires``, in order)."""
        for quantity, positions in zip(self.quantities, self._positions):
            quantity.aggregate(*[values[i] for i in positions])

    def get_aggregated_values(self):
        return OrderedDict((quantity.name, quantity.get_aggregated_value())
                           for quantity in self.quantities)


class DatasetEvaluator:
    """Compute aggregated values of variables over a data stream.

    One compiled function processes each batch: it runs the accumulation
    updates (and the extra `updates`) and returns the aggregated values so
    far, so reading them out needs no second function.

    Parameters
    ----------
    variables : list of variables or :class:`MonitoredQuantity`
        Each named; variables without an aggregation scheme are averaged
        over batches.
    updates : list of pairs or dict, optional
        Updates to run with every batch.
    function_kwargs : dict, optional
        For :func:`pytensor.function`.

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> x = pt.vector('x')
    >>> total = x.sum()
    >>> total.name = 'total'
    >>> class Stream:
    ...     sources = ('x',)
    ...     def get_epoch_iterator(self, as_dict=False):
    ...         return iter([{'x': numpy.ones(2)}, {'x': numpy.ones(2) * 3}])
    >>> DatasetEvaluator([total]).evaluate(Stream())['total']
    array(4.)

    """
    def __init__(self, variables, updates=None, function_kwargs=None):
        symbolic, quantities = split_monitored(variables)
        self.buffer_ = AggregationBuffer(symbolic)
        self.quantities = MonitoredQuantityBuffer(quantities)
        names = self.buffer_.names + [q.name for q in quantities]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError('several monitored values are named {}; names '
                             'must be unique'.format(', '.join(duplicates)))
        if isinstance(updates, dict):
            updates = list(updates.items())
        self.updates = list(updates or [])
        self.function_kwargs = dict(function_kwargs or {})
        self._function = None

    @property
    def input_names(self):
        """The sources the evaluation reads (known once compiled)."""
        return self._function.input_names

    def _compile(self):
        outputs = self.buffer_.updated_readouts + self.quantities.requires
        updates = self.buffer_.accumulation_updates + self.updates
        targets = outputs + [value for _, value in updates]
        inputs = ComputationGraph(targets).inputs if targets else []
        logger.debug('Compiling the evaluation function')
        self._function = SourceFunction(
            inputs, outputs, updates=updates,
            missing_message=('Not all data sources required for monitoring '
                             'were provided: the monitored data stream lacks '
                             'the sources {missing} that the monitored '
                             'variables need (it has {given})'),
            **self.function_kwargs)

    def evaluate(self, data_stream):
        """Run over one epoch of `data_stream`.

        Returns
        -------
        OrderedDict
            Name -> aggregated value.

        """
        if self._function is None:
            self._compile()
        function = self._function
        self.buffer_.initialize_aggregators()
        self.quantities.initialize_quantities()
        outputs = None
        num_readouts = len(self.buffer_.updated_readouts)
        for batch in data_stream.get_epoch_iterator(as_dict=True):
            if outputs is None:
                function.check_sources(batch)
            outputs = function.function(*function.values(batch))
            if self.quantities.quantities:
                self.quantities.aggregate_quantities(outputs[num_readouts:])
        if outputs is None:
            raise ValueError('the monitored data stream {!r} gave no batches'
                             .format(data_stream))
        values = OrderedDict(zip(self.buffer_.names, outputs[:num_readouts]))
        values.update(self.quantities.get_aggregated_values())
        return values

    def __getstate__(self):
        state = self.__dict__.copy()
        state['_function'] = None
        return state
