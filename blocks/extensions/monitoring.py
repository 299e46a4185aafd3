"""Extensions that record monitored values in the log.

:class:`TrainingDataMonitoring` aggregates values on the training batches
inside the training function itself, with no second pass over the data;
:class:`DataStreamMonitoring` evaluates variables on another data stream
(a validation set).

Batch normalization: monitored variables are computed in the mode they
were built in. Give :class:`DataStreamMonitoring` the inference graph (the
default mode of the bricks) to evaluate with the population statistics; it
uses minibatch statistics only if given variables of a training-mode graph.
"""
import logging

from blocks.extensions.base import SimpleExtension
from blocks.monitoring.aggregation import AggregationBuffer, TakeLast
from blocks.monitoring.evaluators import (DatasetEvaluator,
                                          MonitoredQuantityBuffer,
                                          split_monitored)

__all__ = ['MonitoringExtension', 'DataStreamMonitoring',
           'TrainingDataMonitoring']

logger = logging.getLogger(__name__)


class MonitoringExtension:
    """Naming of log records: ``<prefix>_<name>_<suffix>``.

    A mixin for :class:`~blocks.extensions.base.SimpleExtension` subclasses.

    """
    SEPARATOR = '_'

    def __init__(self, prefix=None, suffix=None, **kwargs):
        # Constructible on its own, as in Blocks (the extensions below set
        # their names with _init_records instead).
        super().__init__(**kwargs)
        self._init_records(prefix, suffix)

    def _init_records(self, prefix=None, suffix=None):
        self.prefix = prefix
        self.suffix = suffix

    def _record_name(self, name):
        if not isinstance(name, str):
            raise ValueError('record names must be strings, got {!r}'.format(
                name))
        parts = [part for part in (self.prefix, name, self.suffix) if part]
        return self.SEPARATOR.join(parts)

    def record_name(self, variable):
        """The log record name of a monitored variable."""
        return self._record_name(variable.name)

    def add_records(self, log, record_tuples):
        """Write (name, value) pairs into the log's current row."""
        row = log.current_row
        for name, value in record_tuples:
            if not name:
                raise ValueError('monitored values need names')
            row[self._record_name(name)] = value


class DataStreamMonitoring(SimpleExtension, MonitoringExtension):
    """Evaluate variables on a data stream and record the results.

    Runs before the first epoch and after every epoch by default.

    Parameters
    ----------
    variables : list of variables or MonitoredQuantity
        Named (see
        :class:`~blocks.monitoring.aggregation.MonitoredQuantity`);
        averaged over the stream's batches unless they have another
        aggregation scheme.
    data_stream : data stream
    updates : list of pairs or dict, optional
        Updates run with every batch of the evaluation.
    prefix, suffix : str, optional
        Added to the record names with underscores (``valid_cost``).
    \\*\\*kwargs
        Triggers.

    """
    def __init__(self, variables, data_stream, updates=None, prefix=None,
                 suffix=None, **kwargs):
        kwargs.setdefault('before_first_epoch', True)
        kwargs.setdefault('after_epoch', True)
        self._init_records(prefix, suffix)
        super().__init__(**kwargs)
        self._evaluator = DatasetEvaluator(variables, updates)
        self.data_stream = data_stream

    def do(self, which_callback, *args):
        logger.info('Monitoring on auxiliary data started')
        values = self._evaluator.evaluate(self.data_stream)
        self.add_records(self.main_loop.log, values.items())
        logger.info('Monitoring on auxiliary data finished')


class TrainingDataMonitoring(SimpleExtension, MonitoringExtension):
    """Record values computed on the training batches.

    The values are aggregated inside the training function: before
    training, the extension adds its accumulators' updates and the
    aggregated values to the algorithm's function (which must be an
    :class:`~blocks.algorithms.UpdatesAlgorithm`); recording them costs no
    extra function call. Variables without an aggregation scheme are
    averaged over the batches since the last record (the epoch, with
    ``after_epoch=True``), as in Blocks; those that do not depend on the
    data (a parameter norm) record their last value.

    Parameters
    ----------
    variables : list of variables or MonitoredQuantity
    prefix, suffix : str, optional
    \\*\\*kwargs
        Triggers, such as ``after_batch=True`` or ``after_epoch=True``
        (``before_training`` is always on: that is when it sets up).

    Examples
    --------
    >>> from blocks.monitoring.aggregation import mean
    >>> import pytensor.tensor as pt
    >>> cost = pt.vector('x').sum()
    >>> cost.name = 'cost'
    >>> monitoring = TrainingDataMonitoring([mean(cost)], prefix='train',
    ...                                     after_epoch=True)

    """
    def __init__(self, variables, prefix=None, suffix=None, **kwargs):
        kwargs['before_training'] = True
        self._init_records(prefix, suffix)
        super().__init__(**kwargs)
        symbolic, quantities = split_monitored(variables)
        self._buffer = AggregationBuffer(symbolic, use_take_last=True)
        self._quantities = MonitoredQuantityBuffer(quantities)
        if quantities:
            # quantities aggregate in Python, so they need every batch
            self.add_condition(['after_batch'],
                               arguments=('just_aggregate',))
        self._record_names = [self._record_name(name)
                              for name in self._buffer.names]
        self._start = None
        self._accumulating = []
        self._last_recorded = None
        self._last_aggregated = None

    def _set_up(self):
        algorithm = self.main_loop.algorithm
        if not hasattr(algorithm, 'add_outputs'):
            raise TypeError('TrainingDataMonitoring needs an algorithm with '
                            'add_updates and add_outputs (an UpdatesAlgorithm '
                            'such as GradientDescent), got {!r}'.format(
                                algorithm))
        # The last value needs no accumulator: it is the function's output.
        self._accumulating = [
            aggregator for aggregator in self._buffer.aggregators
            if not isinstance(aggregator.aggregation_scheme, TakeLast)]
        algorithm.add_updates([
            pair for aggregator in self._accumulating
            for pair in aggregator.accumulation_updates])
        self._start = algorithm.add_outputs(
            self._buffer.updated_readouts + self._quantities.requires)
        self._reset_aggregators()
        self._quantities.initialize_quantities()

    def _reset_aggregators(self):
        for aggregator in self._accumulating:
            aggregator.reset()

    def _batch_values(self):
        values = self.main_loop.algorithm.output_values
        if values is None:
            return None
        return values[self._start:self._start + len(self._buffer.names)
                      + len(self._quantities.requires)]

    def do(self, which_callback, *args):
        if which_callback == 'before_training':
            if self._start is None:
                self._set_up()
            return
        _, from_user = self.parse_args(which_callback, args)
        iterations_done = self.main_loop.status['iterations_done']
        values = self._batch_values()
        if values is None:
            return  # no batch since training started
        num_readouts = len(self._buffer.names)
        if (self._quantities.quantities
                and self._last_aggregated != iterations_done):
            self._quantities.aggregate_quantities(values[num_readouts:])
            self._last_aggregated = iterations_done
        if from_user == ('just_aggregate',):
            return
        if self._last_recorded == iterations_done:
            return  # already recorded at this iteration
        self._last_recorded = iterations_done
        row = self.main_loop.log.current_row
        for name, value in zip(self._record_names, values[:num_readouts]):
            row[name] = value
        self._reset_aggregators()
        if self._quantities.quantities:
            self.add_records(self.main_loop.log,
                             self._quantities.get_aggregated_values().items())
            self._quantities.initialize_quantities()
