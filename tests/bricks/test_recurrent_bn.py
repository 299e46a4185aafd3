"""Tests of blocks.bricks.recurrent.bn (the batch-normalized LSTM) against a
NumPy reference, and of its population statistics lifecycle."""
import pickle

import numpy
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.gradient import verify_grad
from pytensor.graph.traversal import ancestors
from pytensor.tensor.random.basic import NormalRV

from blocks.bricks.recurrent.bn import (BatchNormalizedLSTM,
                                        RecurrentBatchNormalization)
from blocks.graph import (ComputationGraph, apply_batch_normalization,
                          batch_normalization,
                          get_batch_normalization_updates,
                          get_population_moving_average_updates,
                          estimate_population_statistics)
from blocks.initialization import IsotropicGaussian
from blocks.model import Model

floatX = pytensor.config.floatX
MODE = 'FAST_COMPILE'  # loops compile fastest with the Python linker
EPSILON = 1e-4
DIM, T_MAX = 2, 3


def sigmoid(x):
    return 1 / (1 + numpy.exp(-x))


def value(variable):
    return variable.get_value().astype('float64')


def weighted_statistics(data, weights):
    """Mean and sqrt(biased variance + epsilon) over the first axes of
    `data`, weighted by a mask of those axes."""
    weights = weights[..., None]
    axes = tuple(range(weights.ndim - 1))
    mean = (weights * data).sum(axes) / weights.sum()
    variance = (weights * (data - mean) ** 2).sum(axes) / weights.sum()
    return mean, numpy.sqrt(variance + EPSILON)


def numpy_bn_lstm(lstm, x, mask, training, initial_states=None):
    """States, cells and, per step, the (mean, stdev, count) of the input
    (unless shared over time), state and cell normalizations."""
    def normalization(brick, data, t, keep):
        if training:
            mean, stdev = weighted_statistics(data, keep)
        else:
            row = min(t, T_MAX - 1)
            mean = value(brick.population_mean)[row]
            stdev = value(brick.population_stdev)[row]
        shift = value(brick.shift) if brick.learn_shift else 0
        return value(brick.scale) * (data - mean) / stdev + shift, (
            mean, stdev, keep.sum())

    shared = lstm.share_input_statistics
    if shared:
        # The whole sequence at once, statistics over time and batch.
        x = normalization(lstm.input_normalization, x, 0, mask)[0]
    h = (numpy.repeat(value(lstm.initial_state_)[None], x.shape[1], 0)
         if initial_states is None else initial_states)
    c = numpy.repeat(value(lstm.initial_cells)[None], x.shape[1], 0)
    states, cells, statistics = [], [], []
    for t in range(x.shape[0]):
        keep = mask[t]
        x_hat, x_stats = ((x[t], None) if shared else normalization(
            lstm.input_normalization, x[t], t, keep))
        h_hat, h_stats = normalization(lstm.state_normalization,
                                       h.dot(value(lstm.W_state)), t, keep)
        a = x_hat + h_hat
        i, f = sigmoid(a[:, :DIM]), sigmoid(a[:, DIM:2 * DIM])
        g, o = numpy.tanh(a[:, 2 * DIM:3 * DIM]), sigmoid(a[:, 3 * DIM:])
        new_c = f * c + i * g
        c_hat, c_stats = normalization(lstm.cell_normalization, new_c, t,
                                       keep)
        new_h = o * numpy.tanh(c_hat)
        h = keep[:, None] * new_h + (1 - keep[:, None]) * h
        c = keep[:, None] * new_c + (1 - keep[:, None]) * c
        states.append(h)
        cells.append(c)
        statistics.append(tuple(stats for stats in (x_stats, h_stats, c_stats)
                                if stats is not None))
    return numpy.array(states), numpy.array(cells), statistics


def row_estimates(statistics, which, population):
    """The per-row (mean, stdev) estimates of normalization `which`, steps
    beyond T_MAX averaged into the last row by count."""
    means, stdevs = population[0].copy(), population[1].copy()
    for row in range(T_MAX):
        steps = [step[which] for t, step in enumerate(statistics)
                 if min(t, T_MAX - 1) == row and step[which][2] > 0]
        if steps:
            total = sum(count for _, _, count in steps)
            means[row] = sum(count * mean for mean, _, count in steps) / total
            stdevs[row] = sum(count * stdev
                              for _, stdev, count in steps) / total
    return means, stdevs


def assert_rows_estimated(values, first, normalizations, statistics):
    """`values[first:]` hold each normalization's updated population
    (mean, stdev), as :func:`row_estimates` computes them."""
    for which, normalization in enumerate(normalizations):
        means, stdevs = row_estimates(statistics, which, (
            normalization.population_mean.get_value(),
            normalization.population_stdev.get_value()))
        numpy.testing.assert_allclose(values[first + 2 * which], means,
                                      rtol=1e-5, atol=1e-6)
        numpy.testing.assert_allclose(values[first + 1 + 2 * which], stdevs,
                                      rtol=1e-5, atol=1e-6)


def bn_lstm(**options):
    """An initialized BN-LSTM whose scales and shifts are not all alike."""
    lstm = BatchNormalizedLSTM(dim=DIM, T_max=T_MAX, name='bnlstm',
                               weights_init=IsotropicGaussian(0.7), seed=2,
                               **options)
    lstm.initialize()
    rng = numpy.random.RandomState(5)
    for normalization in lstm.normalizations:
        for variable in normalization.parameters:
            variable.set_value(rng.uniform(0.5, 1.5, variable.get_value(
                ).shape).astype(floatX))
    return lstm


@pytest.fixture
def lstm():
    return bn_lstm()


@pytest.fixture
def shared_input_lstm():
    return bn_lstm(share_input_statistics=True)


def sequences(length=5, seed=0):
    rng = numpy.random.RandomState(seed)
    x = rng.normal(1, 2, size=(length, 4, 4 * DIM)).astype(floatX)
    mask = numpy.ones((length, 4), dtype=floatX)
    mask[3:, 0] = 0
    mask[4:, 2] = 0
    return x, mask


def test_construction_and_persistent_statistics(lstm):
    assert [n.population_mean.get_value().shape
            for n in lstm.normalizations] == [(T_MAX, 8), (T_MAX, 8),
                                              (T_MAX, 2)]
    fresh = BatchNormalizedLSTM(dim=DIM, T_max=T_MAX,
                                weights_init=IsotropicGaussian(0.1))
    fresh.initialize()
    assert all(numpy.allclose(n.scale.get_value(), 0.1)
               for n in fresh.normalizations)
    assert not fresh.input_normalization.learn_shift
    x = pt.tensor3('x')
    persistent = Model(lstm.apply(x)[0]).get_persistent_dict()
    assert persistent['/bnlstm/cell_normalization.population_stdev'] is (
        lstm.cell_normalization.population_stdev)
    assert '/bnlstm.W_state' in persistent


def test_training_mode_and_per_step_updates_against_numpy(lstm):
    x, mask = pt.tensor3('x'), pt.matrix('mask')
    with batch_normalization(lstm):
        states, cells = lstm.apply(x, mask=mask)
    pairs = get_batch_normalization_updates(ComputationGraph(states))
    expected_populations = [population for n in lstm.normalizations
                            for population in (n.population_mean,
                                               n.population_stdev)]
    assert [population for population, _ in pairs] == expected_populations
    run = pytensor.function([x, mask], [states, cells] +
                            [estimate for _, estimate in pairs], mode=MODE)
    x_value, mask_value = sequences(length=5)
    values = run(x_value, mask_value)
    h, c, statistics = numpy_bn_lstm(lstm, x_value.astype('float64'),
                                     mask_value, training=True)
    numpy.testing.assert_allclose(values[0], h, rtol=1e-5, atol=1e-6)
    numpy.testing.assert_allclose(values[1], c, rtol=1e-5, atol=1e-6)
    assert_rows_estimated(values, 2, lstm.normalizations, statistics)


def test_inference_uses_each_steps_row_and_reuses_the_last(lstm):
    rng = numpy.random.RandomState(7)
    for normalization in lstm.normalizations:
        shape = normalization.population_mean.get_value().shape
        normalization.population_mean.set_value(
            rng.normal(size=shape).astype(floatX))
        normalization.population_stdev.set_value(
            rng.uniform(0.5, 2, size=shape).astype(floatX))
    x, mask = pt.tensor3('x'), pt.matrix('mask')
    states, cells = lstm.apply(x, mask=mask)
    x_value, mask_value = sequences(length=5, seed=1)
    h_value, c_value = pytensor.function([x, mask], [states, cells],
                                         mode=MODE)(x_value, mask_value)
    h, c, _ = numpy_bn_lstm(lstm, x_value.astype('float64'), mask_value,
                            training=False)
    numpy.testing.assert_allclose(h_value, h, rtol=1e-5, atol=1e-6)
    numpy.testing.assert_allclose(c_value, c, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('options', [{}, {'share_input_statistics': True}])
def test_rewrite_is_the_context_manager_graph(options):
    lstm = bn_lstm(**options)
    x = pt.tensor3('x')
    rewritten = apply_batch_normalization(ComputationGraph(lstm.apply(x)))
    with lstm:
        built = ComputationGraph(lstm.apply(x))
    assert len(rewritten.variables) == len(built.variables)
    assert len(rewritten.scans) == 1
    x_value, _ = sequences(length=4)
    values = pytensor.function(
        [x], rewritten.outputs + built.outputs, mode=MODE)(x_value)
    for rewritten_value, built_value in zip(values[:2], values[2:]):
        numpy.testing.assert_allclose(rewritten_value, built_value)
    assert len(get_batch_normalization_updates(rewritten)) == 6


def test_shared_input_statistics_against_numpy(shared_input_lstm):
    lstm = shared_input_lstm
    assert lstm.input_normalization.population_mean.get_value().shape == (
        1, 4 * DIM)
    assert lstm.state_normalization.population_mean.get_value().shape == (
        T_MAX, 4 * DIM)
    x, mask = pt.tensor3('x'), pt.matrix('mask')
    with lstm:
        training = lstm.apply(x, mask=mask)
    estimates = dict(get_batch_normalization_updates(
        ComputationGraph(training)))
    populations = [population for n in lstm.normalizations
                   for population in (n.population_mean, n.population_stdev)]
    assert len(estimates) == 6 and set(estimates) == set(populations)
    rng = numpy.random.RandomState(3)
    for normalization in lstm.normalizations:
        shape = normalization.population_mean.get_value().shape
        normalization.population_mean.set_value(
            rng.normal(size=shape).astype(floatX))
        normalization.population_stdev.set_value(
            rng.uniform(0.5, 2, size=shape).astype(floatX))
    inference = lstm.apply(x, mask=mask)
    run = pytensor.function(
        [x, mask], list(training) + [estimates[population]
                                     for population in populations]
        + list(inference), mode=MODE)
    x_value, mask_value = sequences(length=5)
    values = run(x_value, mask_value)
    h, c, statistics = numpy_bn_lstm(lstm, x_value.astype('float64'),
                                     mask_value, training=True)
    numpy.testing.assert_allclose(values[0], h, rtol=1e-5, atol=1e-6)
    numpy.testing.assert_allclose(values[1], c, rtol=1e-5, atol=1e-6)
    # One estimate over every real position of every step ...
    mean, stdev = weighted_statistics(x_value.astype('float64'),
                                      mask_value)
    numpy.testing.assert_allclose(values[2], mean[None], rtol=1e-5)
    numpy.testing.assert_allclose(values[3], stdev[None], rtol=1e-5)
    # ... and the recurrent terms' per step, as without the option.
    assert_rows_estimated(values, 4, lstm.normalizations[1:], statistics)
    h, c, _ = numpy_bn_lstm(lstm, x_value.astype('float64'), mask_value,
                            training=False)
    numpy.testing.assert_allclose(values[-2], h, rtol=1e-5, atol=1e-6)
    numpy.testing.assert_allclose(values[-1], c, rtol=1e-5, atol=1e-6)


def test_shared_input_statistics_exact_reestimation(shared_input_lstm):
    x, mask = pt.tensor3('x'), pt.matrix('mask')
    batches = [sequences(length, seed) for seed, length in
               enumerate([5, 2])]
    estimate_population_statistics(
        shared_input_lstm.apply(x, mask=mask)[0],
        [{'x': batch, 'mask': batch_mask} for batch, batch_mask in batches])
    # The positions of both batches, pooled (weighted by their counts).
    sums = sum((batch_mask[..., None] * batch).sum((0, 1))
               for batch, batch_mask in batches)
    counts = sum(batch_mask.sum() for _, batch_mask in batches)
    numpy.testing.assert_allclose(
        shared_input_lstm.input_normalization.population_mean.get_value(),
        (sums / counts)[None], rtol=1e-5)


def test_initial_state_noise_in_training_mode_only():
    lstm = bn_lstm(initial_state_noise=0.5)
    x = pt.tensor3('x')
    with lstm:
        noisy, _ = lstm.apply(x)
    noise, = [variable for variable in ancestors([noisy])
              if variable.owner is not None
              and isinstance(variable.owner.op, NormalRV)
              and variable is variable.owner.outputs[1]]
    clean, _ = lstm.apply(x)
    run = pytensor.function([x], [noisy, noise, clean], mode=MODE)
    # Every sequence alike: only the noise tells them apart.
    x_value = numpy.repeat(sequences(length=3)[0][:, :1], 200, axis=1)
    states, noise_value, clean_states = run(x_value)
    assert noise_value.shape == (200, DIM)
    assert abs(noise_value.std() - 0.5) < 0.05
    assert abs(noise_value.mean()) < 0.05
    ones = numpy.ones(x_value.shape[:2])
    h0 = value(lstm.initial_state_)
    expected, _, _ = numpy_bn_lstm(lstm, x_value.astype('float64'), ones,
                                   training=True,
                                   initial_states=h0 + noise_value)
    numpy.testing.assert_allclose(states, expected, rtol=1e-4, atol=1e-5)
    assert not numpy.allclose(run(x_value)[1], noise_value)  # fresh draws
    expected, _, _ = numpy_bn_lstm(lstm, x_value.astype('float64'), ones,
                                   training=False)
    numpy.testing.assert_allclose(clean_states, expected, rtol=1e-5,
                                  atol=1e-6)


def test_given_initial_states_get_no_noise():
    lstm = bn_lstm(initial_state_noise=0.5)
    x, h0 = pt.tensor3('x'), pt.matrix('h0')
    with lstm:
        states, _ = lstm.apply(x, states=h0)
    assert not any(isinstance(variable.owner.op, NormalRV)
                   for variable in ancestors([states])
                   if variable.owner is not None)


def test_moving_averages_leave_unreached_rows(lstm):
    x = pt.tensor3('x')
    training = apply_batch_normalization(ComputationGraph(lstm.apply(x)))
    updates = get_population_moving_average_updates(training, alpha=0.5)
    estimates = [estimate for _, estimate in
                 get_batch_normalization_updates(training)]
    before = lstm.cell_normalization.population_mean.get_value()
    step = pytensor.function([x], estimates[4], updates=updates, mode=MODE)
    estimate = step(sequences(length=2)[0])  # reaches rows 0 and 1 only
    after = lstm.cell_normalization.population_mean.get_value()
    numpy.testing.assert_allclose(after[:2], 0.5 * before[:2]
                                  + 0.5 * estimate[:2], rtol=1e-6)
    numpy.testing.assert_array_equal(after[2], before[2])


def test_exact_reestimation_per_row(lstm):
    x, mask = pt.tensor3('x'), pt.matrix('mask')
    batches = [sequences(length, seed) for seed, length in
               enumerate([5, 2])]
    original = lstm.state_normalization.population_mean.get_value()
    estimate_population_statistics(
        lstm.apply(x, mask=mask)[0],
        [{'x': batch, 'mask': batch_mask} for batch, batch_mask in batches])
    # Steps of both batches contribute to their rows, weighted by their
    # real positions (statistics in training mode, weights fixed).
    sums = numpy.zeros_like(original, dtype='float64')
    counts = numpy.zeros(T_MAX)
    for batch, batch_mask in batches:
        _, _, statistics = numpy_bn_lstm(lstm, batch.astype('float64'),
                                         batch_mask, training=True)
        for t, step in enumerate(statistics):
            mean, _, count = step[1]
            sums[min(t, T_MAX - 1)] += count * mean
            counts[min(t, T_MAX - 1)] += count
    numpy.testing.assert_allclose(
        lstm.state_normalization.population_mean.get_value(),
        sums / counts[:, None], rtol=1e-5, atol=1e-6)


def test_gradient_through_training_mode():
    lstm = BatchNormalizedLSTM(dim=1, T_max=2,
                               weights_init=IsotropicGaussian(0.5), seed=3)
    lstm.initialize()

    def total(x):
        with lstm:
            states, cells = lstm.apply(x)
        return (states ** 2).sum() + cells.sum()

    verify_grad(total, [numpy.random.RandomState(0).normal(
        size=(3, 3, 4))], rng=numpy.random.RandomState(1), mode=MODE)


def test_pickling_keeps_statistics_and_training_graph(lstm):
    lstm.cell_normalization.population_mean.set_value(
        numpy.arange(6, dtype=floatX).reshape((T_MAX, DIM)))
    x = pt.tensor3('x')
    with lstm:
        states, _ = lstm.apply(x)
    copy, states_copy = pickle.loads(pickle.dumps((lstm, states)))
    numpy.testing.assert_array_equal(
        copy.cell_normalization.population_mean.get_value(),
        numpy.arange(6).reshape((T_MAX, DIM)))
    assert len(get_batch_normalization_updates(
        ComputationGraph(states_copy))) == 6


def test_errors_name_the_brick():
    for noise in (-0.1, '0.1', True):
        with pytest.raises(ValueError, match='/bnlstm: initial_state_noise '
                           'must be a standard deviation >= 0, got '):
            BatchNormalizedLSTM(dim=2, T_max=3, name='bnlstm',
                                initial_state_noise=noise)
    with pytest.raises(ValueError, match='/rbn: T_max must be a positive '
                       'int, got 0'):
        RecurrentBatchNormalization(input_dim=2, T_max=0,
                                    name='rbn').allocate()
    lstm = BatchNormalizedLSTM(dim=2, T_max=3, name='bnlstm',
                               weights_init=IsotropicGaussian(0.1))
    lstm.initialize()
    with pytest.raises(ValueError, match='/bnlstm: expected inputs of 3 '
                       'axes'):
        lstm.apply(pt.matrix('x'))
    with pytest.raises(ValueError, match='/bnlstm: expected inputs of 8 '
                       'features'):
        lstm.apply(pt.tensor('x', dtype=floatX, shape=(None, None, 5)))
    with pytest.raises(ValueError, match='/bnlstm: expected a mask of 2 '
                       'axes'):
        lstm.apply(pt.tensor3('x'), mask=pt.vector('mask'))
    with lstm.input_normalization:
        with pytest.raises(ValueError, match='not all in the same mode'):
            lstm.apply(pt.tensor3('x'))
