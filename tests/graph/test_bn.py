"""Tests of blocks.graph.bn: training mode, updates and the population
statistics lifecycle."""
import io

import numpy
import pytest
import pytensor
import pytensor.tensor as pt

from blocks.bricks import (BatchNormalization, BatchNormalizedMLP, MLP,
                           Sequence, Tanh, Softmax)
from blocks.bricks.base import Brick, application
from blocks.graph import (ComputationGraph, batch_normalization,
                          apply_batch_normalization,
                          get_batch_normalization_updates,
                          get_population_moving_average_updates,
                          estimate_population_statistics,
                          PopulationStatisticsEstimator)
from blocks.initialization import Constant, IsotropicGaussian
from blocks.model import Model
from blocks.serialization import dump, load_parameters

from tests.tolerances import TOLERANCE

floatX = pytensor.config.floatX
ATOL = TOLERANCE.atol


def matrix(name='x'):
    return pt.tensor(name, dtype=floatX, shape=(None, None))


def normalize(data, axes, epsilon=1e-4):
    mean = data.mean(axis=axes, keepdims=True)
    variance = ((data - mean) ** 2).mean(axis=axes, keepdims=True)
    return (data - mean) / numpy.sqrt(variance + epsilon)


def random(*shape, seed=0, loc=0., scale=1.):
    rng = numpy.random.RandomState(seed)
    return rng.normal(loc, scale, size=shape).astype(floatX)


# The context manager

def test_batch_normalization_simple():
    bn = BatchNormalization(4, epsilon=1e-4)
    bn.initialize()
    x = matrix()
    with batch_normalization(bn):
        y = bn.apply(x)
    data = random(5, 4, loc=2, scale=3)
    numpy.testing.assert_allclose(y.eval({x: data}), normalize(data, 0),
                                  atol=ATOL)


def test_batch_normalization_nested():
    bn = BatchNormalization((4, 3, 2), (False, True, True))
    sequence = Sequence([bn.apply, Tanh().apply])
    sequence.initialize()
    x = pt.tensor('x', dtype=floatX, shape=(None,) * 4)
    with batch_normalization(sequence):
        y = sequence.apply(x)
    assert not bn.training_mode
    data = random(5, 4, 3, 2, seed=1)
    numpy.testing.assert_allclose(y.eval({x: data}),
                                  numpy.tanh(normalize(data, (0, 2, 3))),
                                  atol=ATOL)


def test_context_managers_nest_and_unwind_on_error():
    mlp = BatchNormalizedMLP([Tanh(), Tanh()], [2, 3, 4])
    first, second = mlp.batch_normalizations
    with batch_normalization(mlp):
        with batch_normalization(first, mlp):
            assert first._training_mode == [True, True]
            assert second._training_mode == [True, True]
        assert first._training_mode == [True]
    assert not first.training_mode and not second.training_mode
    with pytest.raises(RuntimeError, match='boom'):
        with batch_normalization(mlp):
            raise RuntimeError('boom')
    assert not first.training_mode and not second.training_mode


# The rewrite

def test_apply_batch_normalization_nested():
    bn = BatchNormalization(5, epsilon=1e-8)
    mlp = MLP([Sequence([bn.apply, Tanh().apply])], [9, 5],
              weights_init=Constant(0.4), biases_init=Constant(1))
    mlp.initialize()
    x = matrix()
    cg = apply_batch_normalization(ComputationGraph(mlp.apply(x)))
    data = random(7, 9, seed=2)
    hidden = data.dot(0.4 * numpy.ones((9, 5))) + 1
    numpy.testing.assert_allclose(cg.outputs[0].eval({x: data}),
                                  numpy.tanh(normalize(hidden, 0, 1e-8)),
                                  rtol=1e-3)
    assert not bn.training_mode


def _count(graph):
    return len(graph.variables), len(graph.applies)


@pytest.mark.parametrize('mean_only', [False, True])
def test_rewrite_has_the_size_of_the_context_manager_graph(mean_only):
    dims = [4] * 21
    mlp = BatchNormalizedMLP([Tanh() for _ in range(20)], dims,
                             mean_only=mean_only)
    x = matrix()
    rewritten = apply_batch_normalization(ComputationGraph(mlp.apply(x)))
    with batch_normalization(mlp):
        built = ComputationGraph(mlp.apply(x))
    assert _count(rewritten) == _count(built)
    assert len(get_batch_normalization_updates(rewritten)) == (
        20 if mean_only else 40)


def test_rewrite_of_mixed_graph_and_mean_only_bricks():
    full = BatchNormalization(3, name='full')
    mean_only = BatchNormalization(3, mean_only=True, name='mean_only')
    for brick in (full, mean_only):
        brick.initialize()
        for variable in brick.population_statistics:
            variable.set_value(variable.get_value() * numpy.nan)
    x = matrix()
    with full:
        h = full.apply(x)  # already in training mode
    y = mean_only.apply(h)
    cg = ComputationGraph(y)
    rewritten = apply_batch_normalization(cg)
    data = random(6, 3, seed=3, loc=1, scale=2)
    expected = normalize(data, 0)
    expected = expected - expected.mean(axis=0)
    numpy.testing.assert_allclose(rewritten.outputs[0].eval({x: data}),
                                  expected, atol=ATOL)
    assert len(get_batch_normalization_updates(rewritten)) == 3
    # The original graph still uses the (NaN) population statistics.
    assert numpy.all(numpy.isnan(cg.outputs[0].eval({x: data})))
    # Rewriting a graph that is entirely in training mode changes nothing.
    again = apply_batch_normalization(rewritten)
    assert _count(again) == _count(rewritten)


# Update pairs

@pytest.fixture
def mlp_and_input():
    mlp = BatchNormalizedMLP([Tanh(), Tanh()], [5, 7, 9])
    return mlp, matrix()


def _check_pairs(pairs, count, bricks):
    assert len(pairs) == count
    assert all(hasattr(population, 'get_value') for population, _ in pairs)
    means = {id(p) for p, _ in pairs
             if any(p is b.population_mean for b in bricks)}
    stdevs = {id(p) for p, _ in pairs
              if any(p is b.population_stdev for b in bricks)}
    assert not means & stdevs
    for population, estimate in pairs:
        assert population.broadcastable == estimate.broadcastable


def test_updates_of_training_graph(mlp_and_input):
    mlp, x = mlp_and_input
    with batch_normalization(mlp):
        y = mlp.apply(x)
    pairs = get_batch_normalization_updates(ComputationGraph(y))
    _check_pairs(pairs, 4, mlp.batch_normalizations)
    # An extra inference application does not count.
    extra = ComputationGraph([y, mlp.apply(x)])
    _check_pairs(get_batch_normalization_updates(extra), 4,
                 mlp.batch_normalizations)


def test_updates_errors(mlp_and_input):
    mlp, x = mlp_and_input
    with pytest.raises(ValueError, match='no training mode'):
        get_batch_normalization_updates(ComputationGraph(mlp.apply(x)))
    with batch_normalization(mlp):
        twice = ComputationGraph([mlp.apply(x), mlp.apply(x)])
    with pytest.raises(ValueError, match='multiple applications of the same '
                                         'BatchNormalization brick'):
        get_batch_normalization_updates(twice)
    pairs = get_batch_normalization_updates(twice, allow_duplicates=True)
    assert len(pairs) == 8
    with pytest.raises(ValueError, match='multiple applications'):
        get_population_moving_average_updates(twice)
    assert len(get_population_moving_average_updates(
        twice, allow_duplicates=True)) == 4


def test_updates_mean_only():
    mlp = BatchNormalizedMLP([Tanh(), Tanh()], [5, 7, 9], mean_only=True)
    x = matrix()
    with batch_normalization(mlp):
        y = mlp.apply(x)
    pairs = get_batch_normalization_updates(ComputationGraph(y))
    assert len(pairs) == 2
    assert all(population is bn.population_mean
               for (population, _), bn in zip(pairs,
                                               mlp.batch_normalizations))


# Moving averages

def test_moving_average_converges_in_closed_form():
    bn = BatchNormalization((2, 3), (False, True))
    bn.initialize()
    x = pt.tensor('x', dtype=floatX, shape=(None, None, None))
    cg = apply_batch_normalization(ComputationGraph(bn.apply(x)))
    alpha = 0.25
    updates = get_population_moving_average_updates(cg, alpha=alpha,
                                                    skip_nonfinite=True)
    step = cg.get_function(additional_updates=updates)
    data = random(8, 2, 3, seed=4, loc=3, scale=2)
    mean = data.mean(axis=(0, 2))[:, None]
    stdev = numpy.sqrt(data.var(axis=(0, 2)) + 1e-4)[:, None]
    for k in range(1, 6):
        step(data)
        decay = (1 - alpha) ** k
        numpy.testing.assert_allclose(bn.population_mean.get_value(),
                                      mean + decay * (0 - mean), rtol=1e-5)
        numpy.testing.assert_allclose(bn.population_stdev.get_value(),
                                      stdev + decay * (1 - stdev), rtol=1e-5)
    # A batch with a NaN leaves the statistics alone.
    before = [v.get_value() for v in bn.population_statistics]
    bad = data.copy()
    bad[0, 0, 0] = numpy.nan
    step(bad)
    for value, variable in zip(before, bn.population_statistics):
        numpy.testing.assert_array_equal(variable.get_value(), value)
    with pytest.raises(ValueError, match='alpha'):
        get_population_moving_average_updates(cg, alpha=0)


def test_moving_average_is_guarded_by_default_and_poisoned_without():
    bn = BatchNormalization(2, mean_only=True)
    bn.initialize()
    x = matrix()
    cg = apply_batch_normalization(ComputationGraph(bn.apply(x)))
    guarded = cg.get_function(
        additional_updates=get_population_moving_average_updates(cg))
    unguarded = cg.get_function(
        additional_updates=get_population_moving_average_updates(
            cg, skip_nonfinite=False))
    bad = numpy.array([[numpy.nan, 1.], [2., 3.]], dtype=floatX)
    guarded(bad)
    numpy.testing.assert_array_equal(bn.population_mean.get_value(), [0, 0])
    unguarded(bad)
    assert numpy.isnan(bn.population_mean.get_value()[0])


@pytest.mark.parametrize('masked', [False, True])
def test_training_mode_refuses_empty_and_single_example_batches(masked):
    bn = BatchNormalization(2, name='bn')
    bn.initialize()
    x = matrix()
    m = pt.vector('m', dtype=floatX)
    output = bn.apply(x, mask=m) if masked else bn.apply(x)
    cg = apply_batch_normalization(ComputationGraph(output))
    step = cg.get_function(
        additional_updates=get_population_moving_average_updates(cg))
    before = [v.get_value() for v in bn.population_statistics]
    if masked:  # one real position among three
        bad = [{'x': numpy.ones((3, 2), floatX),
                'm': numpy.array([0, 1, 0], floatX)}]
    else:
        bad = [{'x': numpy.ones((rows, 2), floatX)} for rows in (0, 1)]
    for arguments in bad:
        with pytest.raises(AssertionError,
                           match=r'/bn: training-mode batch normalization '
                                 r'needs at least 2 values.*inference mode'):
            step(**arguments)
    for variable, value in zip(bn.population_statistics, before):
        numpy.testing.assert_array_equal(variable.get_value(), value)
    # Two real examples are enough.
    step(**{name: numpy.ones((2,) + value.shape[1:], floatX)
            for name, value in bad[0].items()})
    assert not numpy.array_equal(bn.population_stdev.get_value(), before[1])


def test_training_mode_refuses_a_static_batch_of_one_at_build_time():
    bn = BatchNormalization(2, name='bn')
    bn.initialize()
    with pytest.raises(ValueError, match='/bn: training-mode'):
        with bn:
            bn.apply(pt.tensor('row', dtype=floatX, shape=(1, 2)))


# Exact re-estimation

class FakeStream:
    """The part of the data stream API the estimator uses."""
    def __init__(self, batches, sources):
        self.batches = batches
        self.sources = sources

    def get_epoch_iterator(self, as_dict=False):
        for batch in self.batches:
            yield dict(zip(self.sources, batch)) if as_dict else batch


@pytest.mark.parametrize('unbiased', [False, True])
def test_exact_reestimation_against_numpy(unbiased):
    spatial = BatchNormalization((2, 3), (False, True), name='spatial')
    centred = BatchNormalization((2, 3), mean_only=True, name='centred')
    for brick in (spatial, centred):
        brick.initialize()
    x = pt.tensor('x', dtype=floatX, shape=(None, None, None))
    targets = matrix('targets')  # unused by the statistics
    y = centred.apply(spatial.apply(x))
    cost = (y.sum(axis=2) * targets).sum()
    sizes = [4, 4, 4, 2]
    batches = [random(size, 2, 3, seed=10 + i, loc=i, scale=1 + i)
               for i, size in enumerate(sizes)]
    estimator = PopulationStatisticsEstimator(cost, unbiased=unbiased)
    assert estimator.input_names == ['x']
    result = estimator([{'x': batch} for batch in batches])
    assert result == {'batches': 4, 'skipped': 0}
    counts = numpy.array([3. * size for size in sizes])
    means = numpy.array([b.mean(axis=(0, 2)) for b in batches])
    variances = numpy.array([b.var(axis=(0, 2)) for b in batches])
    if unbiased:
        variances = variances * (counts / (counts - 1))[:, None]
    weights = counts / counts.sum()
    expected_mean = (weights[:, None] * means).sum(axis=0)[:, None]
    expected_stdev = numpy.sqrt((weights[:, None] * variances).sum(axis=0)
                                + 1e-4)[:, None]
    numpy.testing.assert_allclose(spatial.population_mean.get_value(),
                                  expected_mean, rtol=1e-5)
    numpy.testing.assert_allclose(spatial.population_stdev.get_value(),
                                  expected_stdev, rtol=1e-5)
    # The second brick sees the normalized output of the first (whose
    # weights are fixed and which uses minibatch statistics), per feature.
    normalized = [normalize(b, (0, 2)) for b in batches]
    batch_sizes = numpy.array(sizes, dtype=float)
    expected = sum(w * n.mean(axis=0) for w, n in
                   zip(batch_sizes / batch_sizes.sum(), normalized))
    numpy.testing.assert_allclose(centred.population_mean.get_value(),
                                  expected, atol=1e-6)
    # Tuples in the order of the stream's sources, and max_batches.
    stream = FakeStream([(batch, None) for batch in batches],
                        ('x', 'targets'))
    assert estimate_population_statistics(
        cost, stream, unbiased=unbiased, max_batches=2)['batches'] == 2


def test_reestimation_skips_or_rejects_nonfinite_batches():
    bn = BatchNormalization(2)
    bn.initialize()
    x = matrix()
    good = random(4, 2, seed=5)
    bad = good.copy()
    bad[1, 1] = numpy.inf
    estimator = PopulationStatisticsEstimator(bn.apply(x),
                                              skip_nonfinite=True)
    assert estimator([{'x': bad}, {'x': good}]) == {'batches': 1,
                                                    'skipped': 1}
    numpy.testing.assert_allclose(bn.population_mean.get_value(),
                                  good.mean(axis=0), rtol=1e-6)
    strict = PopulationStatisticsEstimator(bn.apply(x))
    with pytest.raises(ValueError, match='/batchnormalization: the minibatch '
                                         'statistics are not finite'):
        strict([{'x': bad}])
    with pytest.raises(ValueError, match="lack the inputs \\['x'\\]"):
        strict([{'y': good}])


# Training end to end, and saving

def blobs(num_examples, seed):
    """Three Gaussian classes in the plane."""
    rng = numpy.random.RandomState(seed)
    labels = rng.randint(3, size=num_examples)
    centres = numpy.array([[0., 2.], [2., -1.], [-2., -1.]])
    features = centres[labels] + rng.normal(scale=0.7,
                                            size=(num_examples, 2))
    return features.astype(floatX), labels.astype('int64')


def build_classifier():
    mlp = BatchNormalizedMLP([Tanh(), Tanh(), Softmax()], [2, 16, 16, 3],
                             weights_init=IsotropicGaussian(0.5),
                             biases_init=Constant(0), seed=1)
    mlp.initialize()
    x = matrix('features')
    labels = pt.lvector('labels')
    probabilities = mlp.apply(x)
    cost = -pt.mean(pt.log(probabilities)[pt.arange(labels.shape[0]),
                                           labels])
    errors = pt.mean(pt.neq(probabilities.argmax(axis=1), labels))
    return mlp, x, labels, cost, errors


def test_trained_model_keeps_its_accuracy_in_inference_mode_and_on_reload():
    train_x, train_y = blobs(2000, seed=0)
    test_x, test_y = blobs(1000, seed=1)
    mlp, x, labels, cost, errors = build_classifier()
    inference = ComputationGraph([cost, errors])
    training = apply_batch_normalization(inference)
    train_cost, train_errors = training.outputs
    parameters = training.parameters
    assert not any(var in parameters for bn in mlp.batch_normalizations
                   for var in bn.population_statistics)
    gradients = pytensor.grad(train_cost, parameters)
    updates = [(p, p - 0.3 * g) for p, g in zip(parameters, gradients)]
    updates += get_population_moving_average_updates(training, alpha=0.1)
    step = pytensor.function([x, labels], train_cost, updates=updates)
    batch = 50
    rng = numpy.random.RandomState(2)
    for epoch in range(3):
        order = rng.permutation(len(train_x))
        for start in range(0, len(order), batch):
            index = order[start:start + batch]
            step(train_x[index], train_y[index])
    training_errors = pytensor.function([x, labels], train_errors)
    inference_errors = pytensor.function([x, labels], inference.outputs[1])
    in_training_mode = numpy.mean([
        training_errors(test_x[i:i + batch], test_y[i:i + batch])
        for i in range(0, len(test_x), batch)])
    in_inference_mode = float(inference_errors(test_x, test_y))
    assert in_training_mode < 0.05  # it did learn
    assert abs(in_inference_mode - in_training_mode) <= 0.01

    # Save the parameters and population statistics, load them into a
    # freshly built model: same accuracy.
    model = Model(inference.outputs)
    saved = model.get_parameter_values()
    assert any(name.endswith('.population_stdev') for name in saved)
    file_ = io.BytesIO()
    dump(None, file_, parameters=list(model.get_persistent_dict().values()))
    file_.seek(0)
    loaded = load_parameters(file_)
    fresh_mlp, fresh_x, fresh_labels, fresh_cost, fresh_errors = \
        build_classifier()
    fresh_model = Model([fresh_cost, fresh_errors])
    assert set(loaded) == set(fresh_model.get_persistent_dict())
    fresh_model.set_parameter_values(loaded)
    for name, value in saved.items():
        numpy.testing.assert_array_equal(
            fresh_model.get_parameter_values()[name], value)
    reloaded = pytensor.function([fresh_x, fresh_labels], fresh_errors)
    assert float(reloaded(test_x, test_y)) == in_inference_mode


class _Centering(Brick):
    """Not a BatchNormalization: it only keeps the protocol (a
    ``training_mode`` context manager and the call metadata)."""
    mean_only = True

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._modes = []
        self.population_mean = pytensor.shared(numpy.zeros(2, floatX))

    def __enter__(self):
        self._modes.append(True)

    def __exit__(self, *exc_info):
        self._modes.pop()

    @property
    def training_mode(self):
        return bool(self._modes)

    @application(inputs=['input_'], outputs=['output'])
    def apply(self, input_, application_call):
        mean = (input_.mean(axis=0) if self.training_mode
                else self.population_mean)
        application_call.metadata.update(
            training_mode=self.training_mode, offset=mean, divisor=None)
        return input_ - mean


def test_graph_tools_recognise_the_protocol_not_the_class():
    brick = _Centering()
    x = matrix()
    with batch_normalization(brick):
        y = brick.apply(x)
    (population, estimate), = get_batch_normalization_updates(
        ComputationGraph(y))
    data = random(4, 2)
    assert population is brick.population_mean
    numpy.testing.assert_allclose(estimate.eval({x: data}),
                                  data.mean(axis=0), atol=ATOL)


# Masked batch normalization in graphs

def masked_statistics(data, mask):
    """Per-feature mean and biased variance of (time, batch, feature) data
    over the positions where the (time, batch) mask is 1."""
    weights = mask[..., None]
    count = weights.sum()
    mean = (weights * data).sum(axis=(0, 1)) / count
    variance = (weights * (data - mean) ** 2).sum(axis=(0, 1)) / count
    return count, mean, variance


@pytest.fixture
def masked_brick():
    bn = BatchNormalization(input_dim=(None, 2), broadcastable=(True, False),
                            name='masked')
    bn.initialize()
    x = pt.tensor('x', dtype=floatX, shape=(None, None, None))
    mask = matrix('mask')
    return bn, x, mask


def sequence_batch(length, seed):
    data = random(length, 3, 2, seed=seed, loc=seed, scale=2)
    mask = numpy.ones((length, 3), dtype=floatX)
    mask[length // 2:, seed % 3] = 0
    data[mask == 0] = 100  # padding that would bias unmasked statistics
    return data, mask


def test_masked_rewrite_and_updates(masked_brick):
    bn, x, mask = masked_brick
    inference = ComputationGraph(bn.apply(x, mask=mask))
    training = apply_batch_normalization(inference)
    with batch_normalization(bn):
        built = ComputationGraph(bn.apply(x, mask=mask))
    assert len(training.variables) == len(built.variables)
    (_, mean), (_, stdev) = get_batch_normalization_updates(training)
    updates = get_population_moving_average_updates(training, alpha=0.5)
    step = training.get_function(additional_updates=updates,
                                 mode='FAST_COMPILE')
    data, mask_value = sequence_batch(4, seed=1)
    output, = step(x=data, mask=mask_value)
    _, expected_mean, variance = masked_statistics(data, mask_value)
    expected_stdev = numpy.sqrt(variance + 1e-4)
    numpy.testing.assert_allclose(
        output, (data - expected_mean) / expected_stdev, rtol=1e-5)
    numpy.testing.assert_allclose(bn.population_mean.get_value()[0],
                                  0.5 * expected_mean, rtol=1e-5)
    numpy.testing.assert_allclose(bn.population_stdev.get_value()[0],
                                  0.5 + 0.5 * expected_stdev, rtol=1e-5)
    assert mean.ndim == stdev.ndim == 2


def test_masked_exact_reestimation(masked_brick):
    bn, x, mask = masked_brick
    batches = [sequence_batch(length, seed)
               for seed, length in enumerate([4, 6, 2])]
    estimate_population_statistics(
        bn.apply(x, mask=mask),
        [{'x': data, 'mask': mask_value} for data, mask_value in batches])
    statistics = [masked_statistics(*batch) for batch in batches]
    total = sum(count for count, _, _ in statistics)
    mean = sum(count * mean for count, mean, _ in statistics) / total
    variance = sum(count * var for count, _, var in statistics) / total
    numpy.testing.assert_allclose(bn.population_mean.get_value()[0], mean,
                                  rtol=1e-5)
    numpy.testing.assert_allclose(bn.population_stdev.get_value()[0],
                                  numpy.sqrt(variance + 1e-4), rtol=1e-5)


def test_rewrite_reaches_a_brick_applied_inside_a_loop():
    bn = BatchNormalization(input_dim=2, name='in_loop')
    bn.initialize()
    x = pt.tensor('x', dtype=floatX, shape=(None, None, None))
    steps = pytensor.scan(bn.apply, sequences=x, return_updates=False)
    training = apply_batch_normalization(ComputationGraph(steps))
    assert len(training.scans) == 1
    data = random(3, 4, 2, seed=2, loc=3)
    value = training.outputs[0].eval({x: data}, mode='FAST_COMPILE')
    expected = numpy.array([normalize(step, (0,)) for step in data])
    numpy.testing.assert_allclose(value, expected, rtol=1e-5, atol=ATOL)
    # Statistics of every step and no population per step: refused.
    with pytest.raises(ValueError, match='/in_loop: applied in training '
                       'mode inside a loop'):
        get_batch_normalization_updates(training)
