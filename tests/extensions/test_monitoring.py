import numpy
import pytensor
import pytest

from blocks.algorithms import GradientDescent, Scale
from blocks.extensions import FinishAfter
from blocks.extensions.monitoring import (DataStreamMonitoring,
                                          TrainingDataMonitoring)
from blocks.main_loop import MainLoop
from blocks.monitoring.aggregation import MonitoredQuantity, mean

from tests.training_helpers import (CountingAlgorithm, counting_stream,
                                    regression_data, regression_model,
                                    regression_stream)


class BatchSizes(MonitoredQuantity):
    def initialize(self):
        self.sizes = []

    def aggregate(self, targets):
        self.sizes.append(len(targets))

    def get_aggregated_value(self):
        return list(self.sizes)


def numpy_cost(features, targets, weights, bias):
    return numpy.mean((features @ weights + bias - targets) ** 2)


@pytest.fixture(scope='module')
def trained(request):
    """Two epochs of a regression with a frozen model (learning rate 0),
    monitored on every batch, every epoch and on a validation stream;
    counts the compiled functions."""
    compiled = []
    original = pytensor.function

    def counting_function(*args, **kwargs):
        compiled.append(args)
        return original(*args, **kwargs)

    pytensor.function = counting_function
    try:
        cost, (weights, bias), features, targets = regression_model()
        weights.set_value(numpy.array([[0.5], [1.0], [-1.0]],
                                      dtype=weights.dtype))
        algorithm = GradientDescent(cost=cost, parameters=[weights, bias],
                                    step_rule=Scale(0.0))
        mean_cost = mean(cost)
        mean_cost.name = 'mean_cost'
        per_batch = TrainingDataMonitoring(
            [cost, BatchSizes(requires=[targets], name='sizes')],
            prefix='batch', after_batch=True)
        per_epoch = TrainingDataMonitoring(
            [mean_cost, BatchSizes(requires=[targets], name='sizes')],
            prefix='train', after_epoch=True)
        valid = DataStreamMonitoring([cost], regression_stream(
            12, 5, shuffled=False, seed=1), prefix='valid')
        loop = MainLoop(algorithm, regression_stream(20, 8, shuffled=False),
                        extensions=[per_batch, per_epoch, valid,
                                    FinishAfter(after_n_epochs=2)])
        loop.run()
    finally:
        pytensor.function = original
    return loop, compiled, (weights.get_value(), bias.get_value())


def test_training_monitoring_is_inside_the_training_function(trained):
    loop, compiled, _ = trained
    # the training function and the validation function, nothing else
    assert len(compiled) == 2


def test_values_per_batch_and_per_epoch(trained):
    loop, _, (weights, bias) = trained
    data = regression_data(20)
    batches = [slice(0, 8), slice(8, 16), slice(16, 20)]
    costs = [numpy_cost(data['features'][s], data['targets'][s], weights,
                        bias) for s in batches]
    log = loop.log
    for epoch in range(2):
        for i, cost in enumerate(costs):
            row = log[epoch * 3 + i + 1]
            numpy.testing.assert_allclose(row['batch_cost'], cost)
            assert row['batch_sizes'] == [8, 8, 4][i:i + 1]
        epoch_row = log[3 * (epoch + 1)]
        numpy.testing.assert_allclose(epoch_row['train_mean_cost'],
                                      numpy.mean(costs))
        assert epoch_row['train_sizes'] == [8, 8, 4]


def test_data_stream_monitoring_before_first_epoch_and_after_epochs(trained):
    loop, _, (weights, bias) = trained
    data = regression_data(12, seed=1)
    # Mean over the batches of the per-batch cost (Blocks' default)
    expected = numpy.mean([
        numpy_cost(data['features'][s], data['targets'][s], weights, bias)
        for s in (slice(0, 5), slice(5, 10), slice(10, 12))])
    for iteration in (0, 3, 6):
        numpy.testing.assert_allclose(loop.log[iteration]['valid_cost'],
                                      expected)


def test_training_monitoring_needs_an_updates_algorithm():
    cost = regression_model()[0]
    loop = MainLoop(CountingAlgorithm(), counting_stream(),
                    extensions=[TrainingDataMonitoring([cost],
                                                       after_batch=True)])
    with pytest.raises(TypeError, match='UpdatesAlgorithm'):
        loop.run()


def test_record_names():
    cost = regression_model()[0]
    monitoring = DataStreamMonitoring([cost], None, prefix='valid',
                                      suffix='end')
    assert monitoring.record_name(cost) == 'valid_cost_end'


def test_batch_normalized_model_trains_and_monitors_in_inference_mode():
    import pytensor.tensor as pt
    from blocks.algorithms import Adam
    from blocks.bricks.bn import BatchNormalization
    from blocks.data import DataStream, IndexableDataset
    from blocks.data.schemes import SequentialScheme
    from blocks.graph import (ComputationGraph, apply_batch_normalization,
                              get_population_moving_average_updates)

    rng = numpy.random.RandomState(0)
    features = (rng.normal(size=(12, 3, 4)) * 2 + 1).astype(
        pytensor.config.floatX)
    stream = DataStream(IndexableDataset({'features': features}),
                        iteration_scheme=SequentialScheme(12, 4))
    x = pt.tensor3('features')
    bn = BatchNormalization(input_dim=(3, 4), broadcastable=(False, True))
    bn.initialize()
    cost = pt.sqr(bn.apply(x) - 1).mean()
    cost.name = 'cost'
    training_graph = apply_batch_normalization(ComputationGraph([cost]))
    training_cost, = training_graph.outputs
    assert bn.scale.broadcastable == (False, True)
    algorithm = GradientDescent(cost=training_cost,
                                parameters=training_graph.parameters,
                                step_rule=Adam(0.1))
    algorithm.add_updates(
        get_population_moving_average_updates(training_graph))
    monitored_training_cost = training_cost.copy(name='cost')
    loop = MainLoop(algorithm, stream, extensions=[
        DataStreamMonitoring([cost], stream, prefix='inference',
                             before_first_epoch=False),
        DataStreamMonitoring([monitored_training_cost], stream,
                             prefix='training', before_first_epoch=False),
        FinishAfter(after_n_epochs=1)])
    loop.run()

    assert bn.scale.broadcastable == (False, True)
    mean_, stdev = (bn.population_mean.get_value(),
                    bn.population_stdev.get_value())
    assert not numpy.allclose(mean_, 0)  # updated by the training function
    scale, shift = bn.scale.get_value(), bn.shift.get_value()
    batches = [features[i:i + 4] for i in (0, 4, 8)]
    inference = numpy.mean([
        numpy.mean((scale * (b - mean_) / stdev + shift - 1) ** 2)
        for b in batches])
    training = numpy.mean([
        numpy.mean((scale * (b - b.mean(axis=(0, 2), keepdims=True))
                    / numpy.sqrt(b.var(axis=(0, 2), keepdims=True) + 1e-4)
                    + shift - 1) ** 2)
        for b in batches])
    numpy.testing.assert_allclose(loop.log[3]['inference_cost'], inference,
                                  rtol=1e-5)
    numpy.testing.assert_allclose(loop.log[3]['training_cost'], training,
                                  rtol=1e-5)
    assert not numpy.isclose(inference, training)


def test_epoch_records_average_data_dependent_variables_over_batches():
    """Without an aggregation scheme, a variable computed from the data is
    averaged over the epoch's batches (Blocks' default), while a variable
    that needs no data (here a counter of the steps taken) records its
    value at the last batch."""
    cost, (weights, bias), _, _ = regression_model()
    weights.set_value(numpy.array([[0.5], [1.0], [-1.0]],
                                  dtype=weights.dtype))
    algorithm = GradientDescent(cost=cost, parameters=[weights, bias],
                                step_rule=Scale(0.0))
    steps = pytensor.shared(numpy.float64(0), name='steps')
    algorithm.add_updates([(steps, steps + 1)])
    steps_taken = steps * 1
    steps_taken.name = 'steps_taken'
    loop = MainLoop(algorithm, regression_stream(20, 8, shuffled=False),
                    extensions=[
                        TrainingDataMonitoring([cost, steps_taken],
                                               prefix='train',
                                               after_epoch=True),
                        FinishAfter(after_n_epochs=2)])
    loop.run()
    data = regression_data(20)
    costs = [numpy_cost(data['features'][s], data['targets'][s],
                         weights.get_value(), bias.get_value())
             for s in (slice(0, 8), slice(8, 16), slice(16, 20))]
    for epoch in (1, 2):
        row = loop.log[3 * epoch]
        numpy.testing.assert_allclose(row['train_cost'], numpy.mean(costs),
                                      rtol=1e-5)
        assert row['train_steps_taken'] == 3 * epoch - 1


def test_monitoring_extension_on_its_own_as_in_blocks():
    from blocks.extensions.monitoring import MonitoringExtension
    assert MonitoringExtension()._record_name('cost') == 'cost'
    named = MonitoringExtension(prefix='valid', suffix='end')
    assert named._record_name('cost') == 'valid_cost_end'
    with pytest.raises(ValueError, match='record names must be strings'):
        named._record_name(None)
