"""Aggregation schemes, checked through one DatasetEvaluator (one compiled
function) against NumPy."""
import numpy
import pytensor
import pytensor.tensor as pt
import pytest

from blocks.monitoring.aggregation import (
    AggregationBuffer, Concatenate, Maximum, Minimum, MonitoredQuantity,
    Perplexity, mean, take_last)
from blocks.monitoring.evaluators import DatasetEvaluator

from tests.training_helpers import ListStream

FLOATX = pytensor.config.floatX


class CountExamples(MonitoredQuantity):
    def initialize(self):
        self.count = 0

    def aggregate(self, values):
        self.count += len(values)

    def get_aggregated_value(self):
        return self.count


def named(variable, name, scheme=None):
    variable.name = name
    if scheme is not None:
        variable.tag.aggregation_scheme = scheme(variable)
    return variable


@pytest.fixture(scope='module')
def evaluator():
    x = pt.vector('x')
    variables = [
        named(mean(x.sum(), x.shape[0]), 'example_mean'),
        named(x.mean(), 'batch_mean'),
        named(take_last(x.sum()), 'last_sum'),
        named(x[:2], 'first_two_min', Minimum),
        named(x.max(), 'max', Maximum),
        named(x[:2].copy(), 'first_two_stacked', Concatenate),
        named(x.sum(), 'sums', Concatenate),
        CountExamples(requires=[x], name='count'),
    ]
    return DatasetEvaluator(variables)


def stream_of(*batches):
    return ListStream([{'x': numpy.asarray(batch, dtype=FLOATX)}
                       for batch in batches])


def check(values, batches):
    data = numpy.concatenate(batches)
    numpy.testing.assert_allclose(values['example_mean'], data.mean())
    numpy.testing.assert_allclose(values['batch_mean'],
                                  numpy.mean([b.mean() for b in batches]))
    numpy.testing.assert_allclose(values['last_sum'], batches[-1].sum())
    numpy.testing.assert_allclose(
        values['first_two_min'], numpy.min([b[:2] for b in batches], axis=0))
    numpy.testing.assert_allclose(values['max'], data.max())
    # Concatenate stacks the batches' values, as Blocks did
    numpy.testing.assert_allclose(values['first_two_stacked'],
                                  numpy.stack([b[:2] for b in batches]))
    numpy.testing.assert_allclose(values['sums'], [b.sum() for b in batches])
    assert values['count'] == len(data)


def test_schemes_match_numpy(evaluator):
    batches = [numpy.array(b, dtype=FLOATX)
               for b in ([1, 2, 3], [4, -5], [-1, 0, 7, 8])]
    check(evaluator.evaluate(stream_of(*batches)), batches)
    # a second evaluation starts afresh, with other shapes
    batches = [numpy.array(b, dtype=FLOATX) for b in ([3, 9], [10, 2, 1])]
    check(evaluator.evaluate(stream_of(*batches)), batches)


def test_empty_stream_raises(evaluator):
    with pytest.raises(ValueError, match='gave no batches'):
        evaluator.evaluate(stream_of())


def test_missing_source_raises(evaluator):
    with pytest.raises(ValueError, match=r"lacks the sources \['x'\]"):
        evaluator.evaluate(ListStream([{'y': numpy.ones(2)}], ('y',)))
    with pytest.raises(ValueError, match='Not all data sources'):
        evaluator.evaluate(ListStream([{'y': numpy.ones(2)}], ('y',)))


def test_names_are_required_and_unique():
    x = pt.vector('x')
    with pytest.raises(ValueError, match='need names'):
        AggregationBuffer([x.sum()])
    with pytest.raises(ValueError, match='named x'):
        AggregationBuffer([x, named(x * 2, 'x')])
    # the phrases Blocks' messages had
    with pytest.raises(ValueError, match='must have names'):
        AggregationBuffer([x.sum()])
    with pytest.raises(ValueError, match='unique'):
        AggregationBuffer([x, named(x * 2, 'x')])
    with pytest.raises(TypeError, match='can only monitor'):
        DatasetEvaluator(['cost'])


def test_evaluator_runs_extra_updates():
    x = pt.vector('x')
    seen = pytensor.shared(numpy.asarray(0.0, dtype=FLOATX), name='seen')
    total = named(x.sum(), 'total')
    evaluator = DatasetEvaluator([total], updates=[(seen, seen + 1)])
    evaluator.evaluate(stream_of([1, 2], [3]))
    assert seen.get_value() == 2


def test_concatenate_refuses_batches_of_different_shapes():
    x = pt.vector('x')
    evaluator = DatasetEvaluator([named(x * 1, 'stacked', Concatenate)])
    with pytest.raises(AssertionError, match='same shape'):
        evaluator.evaluate(stream_of([1, 2], [3, 4, 5]))


def test_perplexity_is_exp_of_minus_the_mean_log_likelihood():
    probabilities = pt.vector('x')
    log_likelihood = named(pt.log(probabilities).sum(), 'perplexity')
    log_likelihood.tag.aggregation_scheme = Perplexity(
        log_likelihood, probabilities.shape[0])
    batches = [numpy.array(b, dtype=FLOATX)
               for b in ([0.5, 0.25, 0.9], [0.1, 0.6])]
    value = DatasetEvaluator([log_likelihood]).evaluate(
        stream_of(*batches))['perplexity']
    numpy.testing.assert_allclose(
        value, numpy.exp(-numpy.log(numpy.concatenate(batches)).mean()),
        rtol=1e-5)


def test_aggregators_as_blocks_users_drive_them():
    """Blocks' protocol: compile the initialization and accumulation
    updates yourself, then evaluate the readout."""
    x = pt.vector('x')
    total = named(x.sum(), 'total')
    aggregator = mean(total, x.shape[0]).tag.aggregation_scheme\
        .get_aggregator()
    initialize = pytensor.function(
        [], [], updates=aggregator.initialization_updates)
    accumulate = pytensor.function([x], [],
                                   updates=aggregator.accumulation_updates)
    for _ in range(2):  # the second round checks the reset
        initialize()
        accumulate(numpy.array([1, 2, 3], dtype=FLOATX))
        accumulate(numpy.array([10], dtype=FLOATX))
        numpy.testing.assert_allclose(aggregator.readout_variable.eval(),
                                      16 / 4)


def test_aggregator_takes_symbolic_initialization_updates():
    from blocks.monitoring.aggregation import Aggregator, AggregationScheme
    x = pt.vector('x')
    storage = pytensor.shared(numpy.ones(2, dtype=FLOATX))
    aggregator = Aggregator(AggregationScheme(x),
                            initialization_updates=[(storage,
                                                     pt.zeros_like(storage))],
                            accumulation_updates=[(storage, storage + x)],
                            readout_variable=storage)
    aggregator.reset()
    numpy.testing.assert_array_equal(storage.get_value(), [0, 0])
