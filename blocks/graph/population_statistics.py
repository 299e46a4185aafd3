"""Estimating the population statistics of batch normalization exactly,
over a data stream, with the weights fixed (Ioffe & Szegedy 2015,
Algorithm 2).

This is the alternative to the moving averages of
:func:`~blocks.graph.bn.get_population_moving_average_updates`: after
training, or whenever the statistics have drifted, one pass over a stream
sets every brick's ``population_mean`` and ``population_stdev`` to the
average of its minibatch statistics.
"""
from collections import OrderedDict
from collections.abc import Mapping

import numpy
import pytensor.tensor as pt
from pytensor.graph.traversal import graph_inputs

from blocks.compilation import SourceFunction, source_names
from blocks.graph.bn import (apply_batch_normalization, as_graph,
                             batch_normalization_calls, statistics_by_brick,
                             training_statistics)
from blocks.utils import is_graph_input

__all__ = ['PopulationStatisticsEstimator', 'estimate_population_statistics']


class PopulationStatisticsEstimator:
    """Exact population statistics over a data stream, weights fixed.

    For every batch normalization brick, the minibatch means and (biased)
    variances are averaged over the batches of the stream, weighted by the
    number of elements m each batch averages per feature (with batches of
    one size this is the plain average of Ioffe & Szegedy's Algorithm 2).
    Then ``population_mean`` is the averaged mean and ``population_stdev``
    is ``sqrt(averaged variance + epsilon)``; with ``unbiased=True`` each
    variance is first multiplied by m / (m - 1).

    The function is compiled once, on first use, so that a training
    extension can call the estimator after every epoch.

    Parameters
    ----------
    graph : :class:`~blocks.graph.ComputationGraph` or variables
        An inference or training graph of the model; inference-mode
        applications are rewritten with :func:`apply_batch_normalization`.
    unbiased : bool, optional
        Correct each minibatch variance by m / (m - 1).
    skip_nonfinite : bool, optional
        Ignore the batches whose statistics are not all finite (instead of
        raising ValueError).

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> from blocks.bricks import BatchNormalization
    >>> bn = BatchNormalization(input_dim=1)
    >>> bn.initialize()
    >>> x = pt.matrix('x')
    >>> estimator = PopulationStatisticsEstimator(bn.apply(x))
    >>> batches = [{'x': numpy.array([[0.], [2.]])},
    ...            {'x': numpy.array([[4.], [6.]])}]
    >>> estimator(batches)
    {'batches': 2, 'skipped': 0}
    >>> bn.population_mean.get_value()
    array([3.])

    """
    def __init__(self, graph, unbiased=False, skip_nonfinite=False):
        graph = as_graph(graph)
        if not any(call.metadata['training_mode']
                   for call in batch_normalization_calls(graph)):
            graph = apply_batch_normalization(graph)
        self.unbiased = unbiased
        self.skip_nonfinite = skip_nonfinite
        # Per brick, where each of its applications' statistics start
        # among the outputs, and how many there are
        self._statistics = OrderedDict()
        outputs = []
        for brick, records in statistics_by_brick(
                training_statistics(graph, with_counts=True)).items():
            self._statistics[brick] = []
            for record in records:
                call_outputs = self._call_statistics(record)
                self._statistics[brick].append(
                    (len(outputs), len(call_outputs)))
                outputs.extend(call_outputs)
        if not outputs:
            raise ValueError('no BatchNormalization applications found in '
                             'graph')
        self._outputs = outputs
        self._inputs = [var for var in graph_inputs(outputs)
                        if is_graph_input(var)]
        self.input_names = list(source_names(self._inputs))
        self._graph_input_names = [var.name for var in graph.inputs]
        self._function = None

    @staticmethod
    def _call_statistics(record):
        """Count, mean and (biased) variance of one normalization, float64,
        without the batch axis (the count is per row for statistics with a
        time axis); a masked application counts its real positions only."""
        brick = record.brick
        mean = pt.cast(record.offset, 'float64')
        if brick.mean_only:
            return [record.count, mean]
        stdev = pt.cast(record.divisor, 'float64')
        variance = pt.maximum(pt.sqr(stdev) - brick.epsilon, 0)
        return [record.count, mean, variance]

    def _compile(self):
        if self._function is None:
            self._function = SourceFunction(
                self._inputs, self._outputs,
                missing_message='the batches lack the inputs {missing} '
                                '(they have {given})',
                on_unused_input='ignore')
        return self._function

    def _batches(self, data_stream):
        if hasattr(data_stream, 'get_epoch_iterator'):
            iterator = data_stream.get_epoch_iterator(as_dict=True)
        else:
            iterator = iter(data_stream)
        sources = getattr(data_stream, 'sources', None)
        for batch in iterator:
            if not isinstance(batch, Mapping):
                names = (list(sources) if sources is not None
                         else self._graph_input_names)
                if len(batch) != len(names):
                    raise ValueError(
                        'a batch of {} values cannot be matched to the '
                        'inputs {}; give batches as dicts keyed by input '
                        'name'.format(len(batch), names))
                batch = dict(zip(names, batch))
            yield batch

    def __call__(self, data_stream, max_batches=None):
        """Estimate the statistics over `data_stream` and set them.

        Parameters
        ----------
        data_stream : iterable or data stream
            Batches as dicts keyed by input name, or tuples in the order of
            the stream's ``sources`` (or of the graph's inputs); an object
            with ``get_epoch_iterator`` is iterated for one epoch.
        max_batches : int, optional
            Stop after this many batches.

        Returns
        -------
        dict
            ``batches`` used and ``skipped``.

        """
        function = self._compile()
        sums = {brick: None for brick in self._statistics}
        used = skipped = 0
        for batch in self._batches(data_stream):
            if max_batches is not None and used + skipped >= max_batches:
                break
            results = function(batch)
            batch_sums = self._batch_sums(results)
            if batch_sums is None:
                skipped += 1
                continue
            used += 1
            for brick, brick_sums in batch_sums.items():
                sums[brick] = (brick_sums if sums[brick] is None else
                               [a + b for a, b in zip(sums[brick],
                                                      brick_sums)])
        if used == 0:
            raise ValueError('the data stream gave no usable batch; the '
                             'population statistics are unchanged')
        for brick, (weight, *weighted) in sums.items():
            # Rows of a time axis that no batch reached keep their value.
            reached = weight > 0
            safe_weight = numpy.where(reached, weight, 1)
            mean = weighted[0] / safe_weight
            self._set(brick.population_mean, mean, reached)
            if not brick.mean_only:
                stdev = numpy.sqrt(weighted[1] / safe_weight + brick.epsilon)
                self._set(brick.population_stdev, stdev, reached)
        return {'batches': used, 'skipped': skipped}

    @staticmethod
    def _set(population, value, reached):
        value = numpy.where(reached, value, population.get_value())
        population.set_value(value.astype(population.dtype))

    def _batch_sums(self, results):
        """Per brick, [sum of weights, weighted mean, weighted variance]
        for one batch, or None if a statistic is not finite."""
        batch_sums = {}
        for brick, slices in self._statistics.items():
            brick_sums = None
            for start, length in slices:
                count, *stats = results[start:start + length]
                count = numpy.asarray(count, dtype='float64')
                if not all(numpy.all(numpy.isfinite(stat)) for stat in stats):
                    if self.skip_nonfinite:
                        return None
                    raise ValueError(
                        '{}: the minibatch statistics are not finite; pass '
                        'skip_nonfinite=True to ignore such batches'.format(
                            brick.path))
                if len(stats) == 2 and self.unbiased:
                    if numpy.any((count > 0) & (count < 2)):
                        raise ValueError(
                            '{}: the unbiased variance needs at least 2 '
                            'elements per feature, got {:g}'.format(
                                brick.path, numpy.min(count[count > 0])))
                    stats[1] = stats[1] * count / numpy.maximum(count - 1, 1)
                call_sums = [count] + [count * stat for stat in stats]
                brick_sums = (call_sums if brick_sums is None else
                              [a + b for a, b in zip(brick_sums, call_sums)])
            batch_sums[brick] = brick_sums
        return batch_sums


def estimate_population_statistics(graph, data_stream, unbiased=False,
                                   max_batches=None, skip_nonfinite=False):
    """Set the population statistics of the batch normalization bricks of
    `graph` to their exact average over `data_stream`.

    A one-call form of :class:`PopulationStatisticsEstimator` (which see);
    build the estimator once instead when estimating repeatedly.

    Returns
    -------
    dict
        ``batches`` used and ``skipped``.

    """
    estimator = PopulationStatisticsEstimator(graph, unbiased=unbiased,
                                              skip_nonfinite=skip_nonfinite)
    return estimator(data_stream, max_batches=max_batches)
