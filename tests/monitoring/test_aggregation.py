"""Aggregation schemes, checked through one DatasetEvaluator (one compiled
function) against NumPy."""
import numpy
import pytensor
import pytensor.tensor as pt
import pytest

from blocks.monitoring.aggregation import (
    AggregationBuffer, Concatenate, Maximum, Minimum, MonitoredQuantity,
    mean, take_last)
from blocks.monitoring.evaluators import DatasetEvaluator

from training_helpers import ListStream

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
        named(x.copy(), 'all', Concatenate),
        named(x.reshape((-1, 1)), 'all_column', Concatenate),
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
    numpy.testing.assert_allclose(values['all'], data)
    numpy.testing.assert_allclose(values['all_column'], data[:, None])
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


def test_names_are_required_and_unique():
    x = pt.vector('x')
    with pytest.raises(ValueError, match='need names'):
        AggregationBuffer([x.sum()])
    with pytest.raises(ValueError, match='named x'):
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
