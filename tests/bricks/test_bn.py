"""Tests of blocks.bricks.bn against NumPy references."""
import pickle

import numpy
import pytest
import pytensor
import pytensor.tensor as pt
from pytensor.gradient import verify_grad
from pytensor.graph.replace import graph_replace

from blocks.bricks import (BatchNormalization, SpatialBatchNormalization,
                           BatchNormalizedMLP, Sequence, Tanh)
from blocks.bricks.bn import load_pytorch_state, pytorch_state
from blocks.filter import VariableFilter
from blocks.graph import ComputationGraph, get_batch_normalization_updates
from blocks.initialization import Constant
from blocks.roles import (BATCH_NORM_MINIBATCH_ESTIMATE, BATCH_NORM_OFFSET,
                          BATCH_NORM_DIVISOR, BATCH_NORM_POPULATION_MEAN,
                          BATCH_NORM_POPULATION_STDEV, PARAMETER,
                          BATCH_NORM_SCALE_PARAMETER,
                          BATCH_NORM_SHIFT_PARAMETER, has_roles)

from tests.tolerances import TOLERANCE

floatX = pytensor.config.floatX
ATOL = TOLERANCE.atol


def numpy_normalize(data, axes, epsilon=1e-4):
    mean = data.mean(axis=axes, keepdims=True)
    variance = ((data - mean) ** 2).mean(axis=axes, keepdims=True)
    return (data - mean) / numpy.sqrt(variance + epsilon)


def tensor_of(ndim, name='x'):
    return pt.tensor(name, dtype=floatX, shape=(None,) * ndim)


CASES = [  # input_dim, broadcastable, normalization axes
    (5, None, (0,)),
    ((5, 3, 2), (False, True, False), (0, 2)),
    ((4, 3, 2), (False, True, True), (0, 2, 3)),
]


# Allocation and initialization

@pytest.mark.parametrize('input_dim, broadcastable, axes', CASES)
@pytest.mark.parametrize('conserve_memory', [True, False])
def test_allocation_initialization(input_dim, broadcastable, axes,
                                   conserve_memory):
    bn = BatchNormalization(input_dim, broadcastable, conserve_memory)
    bn.allocate()
    assert bn.input_dim == input_dim
    assert bn.broadcastable == broadcastable
    assert bn.conserve_memory == conserve_memory
    shape = (input_dim,) if isinstance(input_dim, int) else input_dim
    pattern = broadcastable or (False,) * len(shape)
    var_dim = tuple(1 if flag else dim for dim, flag in zip(shape, pattern))
    for variable in (bn.scale, bn.shift, bn.population_mean,
                     bn.population_stdev):
        assert variable.get_value().shape == var_dim
        assert variable.broadcastable == tuple(pattern)
    assert numpy.all(bn.population_mean.get_value() == 0)
    assert numpy.all(bn.population_stdev.get_value() == 1)
    assert numpy.all(numpy.isnan(bn.scale.get_value()))
    assert numpy.all(numpy.isnan(bn.shift.get_value()))
    bn.initialize()
    assert numpy.all(bn.scale.get_value() == 1)
    assert numpy.all(bn.shift.get_value() == 0)
    assert bn.normalization_axes == axes


def test_roles_and_persistence():
    bn = BatchNormalization(3)
    bn.allocate()
    assert has_roles(bn.scale, [BATCH_NORM_SCALE_PARAMETER])
    assert has_roles(bn.shift, [BATCH_NORM_SHIFT_PARAMETER])
    assert has_roles(bn.population_mean, [BATCH_NORM_POPULATION_MEAN])
    assert has_roles(bn.population_stdev, [BATCH_NORM_POPULATION_STDEV])
    for statistic in (bn.population_mean, bn.population_stdev):
        assert not has_roles(statistic, [PARAMETER])
        assert statistic not in bn.parameters
        assert statistic in bn.persistent_variables
    assert list(bn.parameters) == [bn.scale, bn.shift]


def test_custom_initialization_and_flags():
    bn = BatchNormalization(2, scale_init=Constant(3),
                            shift_init=Constant(-1))
    bn.initialize()
    assert numpy.all(bn.scale.get_value() == 3)
    assert numpy.all(bn.shift.get_value() == -1)
    fixed = BatchNormalization(2, learn_scale=False, learn_shift=False)
    fixed.initialize()
    assert list(fixed.parameters) == []
    mean_only = BatchNormalization(2, mean_only=True)
    mean_only.initialize()
    assert list(mean_only.parameters) == [mean_only.shift]
    assert mean_only.population_stdev is None
    assert mean_only.persistent_variables == [mean_only.shift,
                                              mean_only.population_mean]


# Inference mode

@pytest.fixture(scope='module')
def inference_function():
    """One compiled inference function over brick variants, so that the
    population statistics and parameters can be changed between calls."""
    bricks = {}
    for mean_only in (False, True):
        for learn_scale in (False, True):
            for learn_shift in (False, True):
                bn = BatchNormalization(
                    3, mean_only=mean_only, learn_scale=learn_scale,
                    learn_shift=learn_shift)
                bn.initialize()
                bricks[mean_only, learn_scale, learn_shift] = bn
    x = tensor_of(2)
    outputs = [bn.apply(x) for bn in bricks.values()]
    return bricks, pytensor.function([x], outputs)


def test_inference_apply(inference_function):
    bricks, function = inference_function
    data = numpy.random.RandomState(1).normal(size=(4, 3)).astype(floatX)
    for bn in bricks.values():
        for variable in bn.persistent_variables:
            variable.set_value(
                numpy.ones_like(variable.get_value())
                * (0 if variable is getattr(bn, 'shift', None)
                   or variable is bn.population_mean else 1))
    for output in function(data):
        numpy.testing.assert_allclose(output, data, rtol=1e-4)  # identity
    mean = numpy.array([1., 2., 3.], dtype=floatX)
    stdev = numpy.array([2., 4., 5.], dtype=floatX)
    scale = numpy.array([-1., 0.5, 3.], dtype=floatX)
    shift = numpy.array([0.5, -2., 1.], dtype=floatX)
    for bn in bricks.values():
        bn.population_mean.set_value(mean)
        if not bn.mean_only:
            bn.population_stdev.set_value(stdev)
            if bn.learn_scale:
                bn.scale.set_value(scale)
        if bn.learn_shift:
            bn.shift.set_value(shift)
    for (mean_only, learn_scale, learn_shift), output in zip(
            bricks, function(data)):
        expected = data - mean
        if not mean_only:
            expected = expected / stdev * (scale if learn_scale else 1)
        if learn_shift:
            expected = expected + shift
        numpy.testing.assert_allclose(output, expected, rtol=1e-5,
                                      atol=ATOL)


# Training mode

@pytest.mark.parametrize('input_dim, broadcastable, axes', CASES)
@pytest.mark.parametrize('conserve_memory', [True, False])
def test_train_apply(input_dim, broadcastable, axes, conserve_memory):
    bn = BatchNormalization(input_dim, broadcastable, conserve_memory)
    bn.initialize()
    rng = numpy.random.RandomState(2)
    bn.scale.set_value(rng.uniform(0.5, 2, bn.scale.get_value().shape)
                       .astype(floatX))
    bn.shift.set_value(rng.normal(size=bn.shift.get_value().shape)
                       .astype(floatX))
    # NaN population statistics must not leak into training mode.
    bn.population_mean.set_value(bn.population_mean.get_value() * numpy.nan)
    bn.population_stdev.set_value(bn.population_stdev.get_value() * numpy.nan)
    ndim = 2 if isinstance(input_dim, int) else len(input_dim) + 1
    x = tensor_of(ndim)
    with bn:
        y = bn.apply(x)
    assert not bn.training_mode
    shape = (6,) + ((input_dim,) if isinstance(input_dim, int)
                    else input_dim)
    data = rng.normal(3, 2, size=shape).astype(floatX)
    expected = (numpy_normalize(data, axes) * bn.scale.get_value()[None]
                + bn.shift.get_value()[None])
    numpy.testing.assert_allclose(y.eval({x: data}), expected, atol=ATOL)


@pytest.mark.parametrize('conserve_memory', [True, False])
def test_train_apply_statistics_roles_and_metadata(conserve_memory):
    bn = BatchNormalization((5, 3, 2), (False, True, False),
                            conserve_memory=conserve_memory)
    bn.initialize()
    x = tensor_of(4)
    with bn:
        y = bn.apply(x)
    cg = ComputationGraph(y)
    estimates = VariableFilter(roles=[BATCH_NORM_MINIBATCH_ESTIMATE])(cg)
    assert len(estimates) == 2
    assert len(VariableFilter(roles=[BATCH_NORM_OFFSET])(estimates)) == 1
    assert len(VariableFilter(roles=[BATCH_NORM_DIVISOR])(estimates)) == 1
    for estimate in estimates:  # broadcastable sanity
        assert (estimate.broadcastable[1:]
                == bn.population_mean.broadcastable)
    call = y.tag.annotations[1]
    assert call.metadata['training_mode'] is True
    for key, population in (('offset', bn.population_mean),
                            ('divisor', bn.population_stdev)):
        statistic = call.metadata[key]
        assert statistic.broadcastable == population.broadcastable
        assert statistic.dtype == population.dtype
    data = numpy.random.RandomState(3).normal(size=(4, 5, 3, 2))
    data = data.astype(floatX)
    offset = call.metadata['offset'].eval({x: data})
    numpy.testing.assert_allclose(offset, data.mean(axis=(0, 2))[:, None],
                                  atol=ATOL)


@pytest.mark.parametrize('conserve_memory', [True, False])
@pytest.mark.parametrize('mean_only', [False, True])
def test_gradients(conserve_memory, mean_only):
    bn = BatchNormalization((3, 2), (False, True), mean_only=mean_only,
                            conserve_memory=conserve_memory)
    bn.initialize()
    rng = numpy.random.RandomState(4)
    weights = rng.normal(size=(4, 3, 2))
    data = rng.normal(size=(4, 3, 2))
    parameters = [rng.uniform(0.5, 2, variable.get_value().shape)
                  for variable in bn.parameters]

    def cost(input_, *values):
        replacements = dict(zip(bn.parameters, values))
        with bn:
            output = bn.apply(input_)
        call = output.tag.annotations[1]
        # Also differentiate through the statistics themselves.
        total = (output * weights).sum() + call.metadata['offset'].sum()
        if not mean_only:
            total = total + (call.metadata['divisor'] ** 2).sum()
        return graph_replace(total, replacements) if replacements else total
    verify_grad(cost, [data] + parameters, rng=rng)


# Bad input

def test_bad_input_raises_naming_the_brick():
    parent = Sequence([BatchNormalization(3, name='bn').apply], name='seq')
    bn = parent.children[0]
    with pytest.raises(ValueError, match='/seq/bn: expected an input with 2'):
        bn.apply(tensor_of(3))
    with pytest.raises(ValueError, match='/seq/bn: input axis 1 has size 4'):
        bn.apply(pt.tensor('x', dtype=floatX, shape=(None, 4)))
    with pytest.raises(ValueError, match="/seq/bn: unknown dimension 'W'"):
        bn.get_dim('W')
    assert bn.get_dim('output') == 3
    wrong = BatchNormalization((3, 4), (True,), name='wrong')
    with pytest.raises(ValueError, match='/wrong: input_dim and '
                                         'broadcastable must be same length'):
        wrong.allocate()
    for epsilon in (0, -1e-3, float('nan')):
        with pytest.raises(ValueError, match='epsilon must be a positive'):
            BatchNormalization(3, epsilon=epsilon)
    late = BatchNormalization(3, name='late')
    late.epsilon = 0
    with pytest.raises(ValueError, match='/late: epsilon'):
        late.allocate()
    unset = BatchNormalization(name='unset')
    unset.image_size = (4, 4)
    with pytest.raises(ValueError, match='/unset: input_dim must be'):
        unset.allocate()


# Convolutional sequence compatibility and spatial batch normalization

def test_image_size_and_channels_setters():
    bn = BatchNormalization()
    bn.image_size = (5, 4)
    assert bn.input_dim == (None, 5, 4)
    bn.image_size = (4, 5)
    assert bn.input_dim == (None, 4, 5)
    bn.num_channels = 3
    assert bn.input_dim == (3, 4, 5)
    assert bn.num_output_channels == 3
    assert bn.image_size == (4, 5)
    assert bn.get_dim('output') == (3, 4, 5)
    fresh = BatchNormalization()
    fresh.num_channels = 2
    assert fresh.input_dim == (2, None, None)


@pytest.mark.parametrize('input_dim', [(2, 3, 5), (5, 3, 2, 3), (1, 11)])
def test_spatial_batch_normalization_is_identity_after_init(input_dim):
    bn = SpatialBatchNormalization(input_dim)
    bn.initialize()
    assert bn.population_mean.get_value().shape == (
        (input_dim[0],) + (1,) * (len(input_dim) - 1))
    x = tensor_of(len(input_dim) + 1)
    data = numpy.random.RandomState(5).normal(size=(2,) + input_dim)
    data = data.astype(floatX)
    assert numpy.array_equal(bn.apply(x).eval({x: data}), data)


def test_spatial_batch_normalization_needs_only_the_channel_count():
    bn = SpatialBatchNormalization(name='spatial')
    bn.num_channels = 2
    bn.initialize()
    bn.population_mean.set_value(numpy.array([[[1.0]], [[-1.0]]],
                                             dtype=floatX))
    x = tensor_of(4)
    output = bn.apply(x)
    for image_size in ((3, 4), (5, 2)):
        data = numpy.ones((2, 2) + image_size, dtype=floatX)
        expected = data - numpy.array([1.0, -1.0]).reshape(1, 2, 1, 1)
        numpy.testing.assert_allclose(output.eval({x: data}), expected)
    with pytest.raises(ValueError, match='/spatial: input axis 1 has size 3'):
        bn.apply(pt.tensor4(shape=(None, 3, None, None), dtype=floatX))


@pytest.mark.parametrize('input_dim', [(5,), 3])
def test_spatial_raises_for_short_input_dim(input_dim):
    bn = SpatialBatchNormalization(input_dim, name='sbn')
    with pytest.raises(ValueError, match='/sbn: expected input_dim to be '
                                         'length >= 2'):
        bn.allocate()


@pytest.mark.parametrize('input_dim', [(5, 4, 3), (7, 6), (3, 9, 2, 3)])
def test_spatial_accepts_long_input_dim(input_dim):
    SpatialBatchNormalization(input_dim).allocate()
    lazy = SpatialBatchNormalization()
    lazy.input_dim = input_dim
    lazy.allocate()
    assert lazy.normalization_axes == (0,) + tuple(
        range(2, len(input_dim) + 1))


@pytest.mark.parametrize('conserve_memory', [True, False])
def test_spatial_training_mode(conserve_memory):
    bn = SpatialBatchNormalization((3, 4, 2), conserve_memory=conserve_memory)
    bn.initialize()
    x = tensor_of(4)
    with bn:
        y = bn.apply(x)
    data = numpy.random.RandomState(6).normal(2, 3, size=(5, 3, 4, 2))
    data = data.astype(floatX)
    numpy.testing.assert_allclose(y.eval({x: data}),
                                  numpy_normalize(data, (0, 2, 3)),
                                  atol=ATOL)


# BatchNormalizedMLP

def test_batch_normalized_mlp_construction():
    mlp = BatchNormalizedMLP([Tanh(), Tanh()], [5, 7, 9])
    assert all(isinstance(activation, Sequence)
               for activation in mlp.activations)
    for activation in mlp.activations:
        bn, tanh = activation.children
        assert isinstance(bn, BatchNormalization)
        assert isinstance(tanh, Tanh)
    assert [activation.name for activation in mlp.activations] == [
        'batch_norm_activation_0', 'batch_norm_activation_1']


def test_batch_normalized_mlp_allocation():
    mlp = BatchNormalizedMLP([Tanh(), Tanh()], [5, 7, 9])
    mlp.allocate()
    assert [bn.input_dim for bn in mlp.batch_normalizations] == [7, 9]
    assert not any(layer.use_bias for layer in mlp.linear_transformations)
    assert mlp.batch_normalizations[0].scale.name == 'batch_norm_scale'
    path = mlp.batch_normalizations[0].get_hierarchical_name(
        mlp.batch_normalizations[0].scale)
    assert path == ('/batchnormalizedmlp/batch_norm_activation_0/'
                    'batchnormalization.batch_norm_scale')


def test_batch_normalized_mlp_transformed():
    mlp = BatchNormalizedMLP([Tanh(), Tanh()], [5, 7, 9])
    x = tensor_of(2)
    with mlp.batch_normalizations[0], mlp.batch_normalizations[1]:
        y = mlp.apply(x)
    assert len(get_batch_normalization_updates(ComputationGraph(y))) == 4


def test_batch_normalized_mlp_conserve_memory_propagated():
    mlp = BatchNormalizedMLP([Tanh(), Tanh()], [5, 7, 9],
                             conserve_memory=False)
    assert mlp.conserve_memory is False
    assert all(not bn.conserve_memory for bn in mlp.batch_normalizations)
    mlp.conserve_memory = True
    assert all(bn.conserve_memory for bn in mlp.batch_normalizations)
    default = BatchNormalizedMLP([Tanh()], [2, 3])
    assert default.conserve_memory is True


@pytest.mark.parametrize('flag, default', [('mean_only', False),
                                           ('learn_scale', True),
                                           ('learn_shift', True)])
def test_batch_normalized_mlp_flags_propagated_at_allocation(flag, default):
    mlp = BatchNormalizedMLP([Tanh(), Tanh()], [5, 7, 9],
                             **{flag: not default})
    assert getattr(mlp, flag) is (not default)
    assert all(getattr(bn, flag) is default
               for bn in mlp.batch_normalizations)
    mlp.allocate()
    assert all(getattr(bn, flag) is (not default)
               for bn in mlp.batch_normalizations)


def test_batch_normalized_mlp_none_activation():
    mlp = BatchNormalizedMLP([Tanh(), None], [2, 3, 4])
    mlp.allocate()
    assert [bn.input_dim for bn in mlp.batch_normalizations] == [3, 4]
    assert len(mlp.activations[1].children) == 1


# PyTorch-style states and pickling

def test_pytorch_state_round_trip():
    bn = SpatialBatchNormalization((2, 3, 3))
    bn.initialize()
    state = {'running_mean': numpy.array([1., -1.]),
             'running_var': numpy.array([4., 0.25]),
             'weight': numpy.array([2., 3.]), 'bias': numpy.array([0., 1.]),
             'eps': 1e-3, 'num_batches_tracked': 7}
    load_pytorch_state(bn, state)
    assert bn.epsilon == 1e-3
    numpy.testing.assert_allclose(bn.population_stdev.get_value().ravel(),
                                  numpy.sqrt([4.001, 0.251]), rtol=1e-6)
    x = tensor_of(4)
    data = numpy.random.RandomState(7).normal(size=(2, 2, 3, 3))
    data = data.astype(floatX)
    shape = (1, 2, 1, 1)
    expected = ((data - state['running_mean'].reshape(shape))
                / numpy.sqrt(state['running_var'].reshape(shape) + 1e-3)
                * state['weight'].reshape(shape)
                + state['bias'].reshape(shape))
    numpy.testing.assert_allclose(bn.apply(x).eval({x: data}), expected,
                                  rtol=1e-5, atol=ATOL)
    back = pytorch_state(bn)
    for key in ('running_mean', 'running_var', 'weight', 'bias'):
        numpy.testing.assert_allclose(back[key], state[key], rtol=1e-5)
    with pytest.raises(ValueError, match='running_mean has 3 elements'):
        load_pytorch_state(bn, dict(state, running_mean=numpy.zeros(3)))


def test_pickle_keeps_population_statistics_and_mode_stack():
    bn = BatchNormalization(3)
    bn.initialize()
    bn.population_mean.set_value(numpy.array([1., 2., 3.], dtype=floatX))
    copy = pickle.loads(pickle.dumps(bn))
    numpy.testing.assert_array_equal(copy.population_mean.get_value(),
                                     [1., 2., 3.])
    assert not copy.training_mode



@pytest.mark.parametrize('conserve_memory', [True, False])
def test_training_graph_and_its_gradient_pickle(conserve_memory):
    # A checkpoint pickles the training function's graph, fused op included.
    bn = BatchNormalization(3, conserve_memory=conserve_memory)
    bn.initialize()
    x = tensor_of(2)
    with bn:
        cost = pt.sqr(bn.apply(x)).sum()
    gradient = pytensor.grad(cost, x)
    x_copy, gradient_copy = pickle.loads(pickle.dumps((x, gradient)))
    data = numpy.random.RandomState(2).normal(size=(4, 3)).astype(floatX)
    numpy.testing.assert_allclose(gradient_copy.eval({x_copy: data}),
                                  gradient.eval({x: data}),
                                  rtol=1e-5, atol=ATOL)


# Masked batch normalization

def numpy_masked_statistics(data, mask, axes, epsilon=1e-4):
    """Mean and stdev over the positions where the mask (shaped like the
    data on `axes`) is 1."""
    weights = numpy.expand_dims(mask, [axis for axis in range(data.ndim)
                                       if axis not in axes])
    count = weights.sum()
    mean = (weights * data).sum(axis=axes, keepdims=True) / count
    variance = (weights * (data - mean) ** 2).sum(
        axis=axes, keepdims=True) / count
    return mean, numpy.sqrt(variance + epsilon)


def padding_mask(shape, seed=3):
    mask = (numpy.random.RandomState(seed).rand(*shape) > 0.4).astype(floatX)
    mask.flat[0] = 1
    return mask


MASKED_CASES = [  # input_dim, broadcastable, data shape, normalization axes
    ((None, 3), (True, False), (4, 5, 3), (0, 1)),  # (time, batch, feat)
    (3, None, (6, 3), (0,)),
]


@pytest.mark.parametrize('input_dim, broadcastable, shape, axes',
                         MASKED_CASES)
@pytest.mark.parametrize('conserve_memory', [True, False])
def test_masked_training_statistics_use_real_positions_only(
        input_dim, broadcastable, shape, axes, conserve_memory):
    bn = BatchNormalization(input_dim=input_dim, broadcastable=broadcastable,
                            conserve_memory=conserve_memory,
                            shift_init=Constant(0.5))
    bn.initialize()
    x = tensor_of(len(shape))
    mask = tensor_of(len(axes), 'mask')
    with bn:
        y = bn.apply(x, mask=mask)
    call = ComputationGraph(y).outputs[0].tag.annotations[1]
    function = pytensor.function(
        [x, mask], [y, call.metadata['offset'], call.metadata['divisor']])
    data = random_data(shape)
    # Padding with huge values must not move the statistics.
    mask_value = padding_mask(shape[:len(axes)])
    data[numpy.broadcast_to(numpy.expand_dims(
        mask_value, [a for a in range(len(shape)) if a not in axes]),
        shape) == 0] = 1e3
    output, offset, divisor = function(data, mask_value)
    mean, stdev = numpy_masked_statistics(data, mask_value, axes)
    numpy.testing.assert_allclose(output, (data - mean) / stdev + 0.5,
                                  rtol=1e-5, atol=ATOL)
    numpy.testing.assert_allclose(offset, mean[0], rtol=1e-6, atol=ATOL)
    numpy.testing.assert_allclose(divisor, stdev[0], rtol=1e-6)


def random_data(shape, seed=1):
    return numpy.random.RandomState(seed).normal(2, 3, size=shape).astype(
        floatX)


def test_masked_spatial_and_mean_only_statistics():
    spatial = SpatialBatchNormalization(input_dim=(2, 3, 3))
    centre = BatchNormalization(input_dim=(None, 2),
                                broadcastable=(True, False), mean_only=True)
    for brick in (spatial, centre):
        brick.initialize()
    images, image_mask = tensor_of(4), tensor_of(3, 'image_mask')
    sequences, sequence_mask = tensor_of(3), tensor_of(2, 'sequence_mask')
    with spatial, centre:
        outputs = [spatial.apply(images, image_mask),
                   centre.apply(sequences, mask=sequence_mask)]
    function = pytensor.function(
        [images, image_mask, sequences, sequence_mask], outputs)
    values = [random_data((4, 2, 3, 3)), padding_mask((4, 3, 3)),
              random_data((5, 3, 2)), padding_mask((5, 3))]
    spatial_output, centred = function(*values)
    mean, stdev = numpy_masked_statistics(values[0], values[1], (0, 2, 3))
    numpy.testing.assert_allclose(spatial_output, (values[0] - mean) / stdev,
                                  rtol=1e-5, atol=ATOL)
    mean, _ = numpy_masked_statistics(values[2], values[3], (0, 1))
    numpy.testing.assert_allclose(centred, values[2] - mean, rtol=1e-5,
                                  atol=ATOL)


def test_inference_ignores_the_mask():
    bn = BatchNormalization(input_dim=(None, 3), broadcastable=(True, False))
    bn.initialize()
    bn.population_mean.set_value(numpy.full((1, 3), 2, dtype=floatX))
    bn.population_stdev.set_value(numpy.full((1, 3), 4, dtype=floatX))
    x, mask = tensor_of(3), tensor_of(2, 'mask')
    data = random_data((2, 3, 3))
    function = pytensor.function([x, mask], bn.apply(x, mask))
    for mask_value in (numpy.zeros((2, 3)), padding_mask((2, 3))):
        numpy.testing.assert_allclose(
            function(data, mask_value.astype(floatX)), (data - 2) / 4,
            rtol=1e-6)


def test_masked_gradients():
    bn = BatchNormalization(input_dim=(None, 2), broadcastable=(True, False),
                            scale_init=Constant(1.5))
    bn.initialize()
    mask_value = padding_mask((3, 4)).astype('float64')

    def normalized(x):
        with bn:
            return (bn.apply(x, pt.constant(mask_value)) ** 3).sum()

    verify_grad(normalized, [random_data((3, 4, 2)).astype('float64')],
                rng=numpy.random.RandomState(4))


def test_bad_masks_raise_naming_the_brick():
    bn = BatchNormalization(input_dim=(None, 3), broadcastable=(True, False),
                            name='padded')
    bn.initialize()
    x = tensor_of(3)
    with pytest.raises(ValueError, match='/padded: the mask must have the '
                       r"input's shape on the normalization axes \(0, 1\), "
                       '2 axes; got 1 axes'):
        bn.apply(x, tensor_of(1, 'mask'))
    known = pt.tensor('x', dtype=floatX, shape=(4, 2, 3))
    with pytest.raises(ValueError, match=r'/padded: .*\(4, 2\), got '
                       r'\(4, 5\)'):
        bn.apply(known, pt.tensor('m', dtype=floatX, shape=(4, 5)))
    mask = tensor_of(2, 'mask')
    with bn:
        y = bn.apply(x, mask)
    for output in (y, bn.apply(x, mask)):  # training and inference
        with pytest.raises(AssertionError,
                           match='/padded: the mask must have'):
            output.eval({x: random_data((4, 2, 3)),
                         mask: numpy.ones((4, 1), dtype=floatX)})
