import numpy
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.compile.mode import Mode, get_mode
from pytensor.gradient import verify_grad

from blocks.ops import batch_normalization_train
from blocks.ops.batch_norm import (BatchNormalizationTrain,
                                   BatchNormalizationTrainGrad,
                                   check_epsilon, minibatch_statistics,
                                   normalize)

# Python linker: the operations run their NumPy code under every linker,
# and this one compiles fastest. A Mode object: given the name,
# verify_grad compiles its cost with FAST_RUN (Numba), whose JIT takes
# seconds per graph.
MODE = get_mode('FAST_COMPILE')
# The C linker, for the operations' C kernels; without rewrites, which
# would cost more compilation than the kernels.
C_MODE = Mode(linker='cvm', optimizer=None)
RNG = numpy.random.default_rng(3)


def reference(x, scale, shift, axes, epsilon):
    """Batch normalization in float64 NumPy."""
    x = x.astype('float64')
    mean = x.mean(axis=axes, keepdims=True)
    stdev = numpy.sqrt(((x - mean) ** 2).mean(axis=axes, keepdims=True)
                       + epsilon)
    output = (x - mean) / stdev
    if scale is not None:
        output = output * scale
    if shift is not None:
        output = output + shift
    return output, mean, stdev


def statistic_like(x, axes, batch_axis=True):
    """Random per-feature values, with or without the batch axis."""
    shape = [1 if axis in axes else size for axis, size in enumerate(x.shape)]
    return RNG.normal(size=shape[0 if batch_axis else 1:]).astype(x.dtype)


def statistic_variable(value, axes, input_ndim):
    dropped = input_ndim - value.ndim
    return pt.tensor(dtype=value.dtype, shape=tuple(
        1 if axis + dropped in axes else None for axis in range(value.ndim)))


@pytest.mark.parametrize('shape, axes', [((5, 3), (0,)),
                                         ((4, 3, 2, 5), (0, 2, 3))])
@pytest.mark.parametrize('learned', [(True, True), (False, False),
                                     (True, False)])
@pytest.mark.parametrize('batch_axis', [True, False])
def test_forward_matches_numpy(shape, axes, learned, batch_axis):
    x_value = RNG.normal(2.0, 3.0, size=shape).astype('float32')
    scale = (statistic_like(x_value, axes, batch_axis) if learned[0]
             else None)
    shift = (statistic_like(x_value, axes, batch_axis) if learned[1]
             else None)
    x = pt.tensor(dtype='float32', shape=(None,) * len(shape))
    inputs, values = [x], [x_value]
    symbolic = {}
    for name, value in (('scale', scale), ('shift', shift)):
        symbolic[name] = None
        if value is not None:
            symbolic[name] = statistic_variable(value, axes, len(shape))
            inputs.append(symbolic[name])
            values.append(value)
    outputs = batch_normalization_train(x, symbolic['scale'],
                                        symbolic['shift'], axes, 1e-3)
    results = pytensor.function(inputs, outputs, mode=MODE)(*values)
    for result, expected in zip(results,
                                reference(x_value, scale, shift, axes, 1e-3)):
        assert result.dtype == numpy.float32
        numpy.testing.assert_allclose(result, expected, rtol=1e-5,
                                      atol=1e-5)


def test_infer_shape_does_not_compute_the_normalization():
    x = pt.tensor4('x')
    y, mean, _ = batch_normalization_train(x, axes=(0, 2, 3))
    function = pytensor.function([x], [y.shape, mean.shape], mode='FAST_RUN')
    assert not any(isinstance(node.op, BatchNormalizationTrain)
                   for node in function.maker.fgraph.apply_nodes)
    shapes = function(numpy.zeros((2, 3, 4, 5), dtype=x.dtype))
    assert [list(shape) for shape in shapes] == [[2, 3, 4, 5], [1, 3, 1, 1]]


def bn_cost(axes):
    """A cost of every output of the operation, so that the gradient
    operation gets all three output gradients."""
    def cost(x, scale, shift):
        output, mean, stdev = batch_normalization_train(x, scale, shift,
                                                        axes, 0.1)
        weights = pt.constant(RNG.normal(size=(3, 4)))
        return ((output * weights[:, None, :]).sum() + (mean ** 2).sum()
                + pt.log(stdev).sum())
    return cost


@pytest.mark.parametrize('parameter_shape', [(1, 2, 4), (2, 4)])
def test_gradient_of_every_input_and_output(parameter_shape):
    x = RNG.normal(size=(3, 2, 4))
    scale = RNG.normal(size=parameter_shape)
    shift = RNG.normal(size=parameter_shape)
    verify_grad(bn_cost((0,)), [x, scale, shift], rng=RNG, mode=MODE)


def test_gradient_is_differentiable_again():
    axes = (0, 1)

    def input_gradient(x, scale, shift):
        return pytensor.grad(bn_cost(axes)(x, scale, shift), x)

    x = RNG.normal(size=(3, 2, 4))
    scale = RNG.normal(size=(1, 4))
    shift = RNG.normal(size=(1, 4))
    verify_grad(input_gradient, [x, scale, shift], rng=RNG, mode=MODE,
                abs_tol=1e-5, rel_tol=1e-5)


def test_gradient_uses_the_closed_form_operation():
    x = pt.matrix('x')
    output, _, _ = batch_normalization_train(x)
    gradient = pytensor.grad(output.sum(), x)
    assert isinstance(gradient.owner.op, BatchNormalizationTrainGrad)
    value = RNG.normal(size=(4, 3))
    # d(sum of normalized columns)/dx is zero: each column sums to 0.
    numpy.testing.assert_allclose(gradient.eval({x: value}),
                                  numpy.zeros((4, 3)), atol=1e-7)


def test_bad_axes_epsilon_and_statistic_shapes():
    x = pt.matrix('x')
    with pytest.raises(ValueError, match=r'distinct axes of a 2-d input, '
                                         r'got \(0, 2\)'):
        batch_normalization_train(x, axes=(0, 2))
    with pytest.raises(ValueError, match='epsilon must be a finite number '
                                         '>= 0, got -1'):
        batch_normalization_train(x, epsilon=-1)
    with pytest.raises(TypeError, match='scale must have the input.s dtype, '
                                        'its ndim or one less .no batch '
                                        'axis., and size 1 on the '
                                        r'normalization axes \(0,\)'):
        batch_normalization_train(x, scale=pt.matrix('scale'))
    with pytest.raises(TypeError, match='scale and shift must have the same '
                                        'ndim'):
        batch_normalization_train(x, scale=pt.vector('scale'),
                                  shift=pt.row('shift'))
    with pytest.raises(TypeError, match='floating-point input'):
        batch_normalization_train(pt.imatrix('x'))


def test_numba_linker_runs_the_operations():
    x = pt.matrix('x')
    output, mean, stdev = batch_normalization_train(x)
    gradient = pytensor.grad((output ** 2).sum() + mean.sum(), x)
    outputs = [output, mean, stdev, gradient]
    value = RNG.normal(size=(4, 3))
    numba = pytensor.function([x], outputs, mode='NUMBA')(value)
    python = pytensor.function([x], outputs, mode=MODE)(value)
    for result, expected in zip(numba, python):
        numpy.testing.assert_allclose(result, expected)


@pytest.mark.parametrize('epsilon', [0, -1e-3, float('nan'), float('inf'),
                                     True, '1e-4', None])
def test_check_epsilon_rejects_nonpositive_and_non_numbers(epsilon):
    with pytest.raises(ValueError, match='/bn: epsilon must be a positive '
                                         'finite number, got '):
        check_epsilon(epsilon, where='/bn')


def test_check_epsilon_allows_zero_only_when_asked():
    check_epsilon(numpy.float32(1e-5))
    check_epsilon(0, allow_zero=True)
    with pytest.raises(ValueError, match=r'^epsilon must be a finite number '
                                         r'>= 0, got nan'):
        check_epsilon(float('nan'), allow_zero=True)
    with pytest.raises(ValueError, match='epsilon must be a finite number'):
        BatchNormalizationTrain((0,), -1.)


@pytest.mark.parametrize('mean_only', [False, True])
def test_plain_expression_matches_numpy(mean_only):
    x_value = RNG.normal(1.0, 2.0, size=(6, 3, 2)).astype('float64')
    scale = statistic_like(x_value, (0, 2))
    shift = statistic_like(x_value, (0, 2))
    x = pt.tensor3('x', dtype='float64')
    mean, stdev = minibatch_statistics(x, (0, 2), 1e-3, mean_only=mean_only)
    output = normalize(x, mean, stdev, scale, shift)
    expected, expected_mean, expected_stdev = reference(
        x_value, scale, shift, (0, 2), 1e-3)
    if mean_only:
        assert stdev is None
        expected = x_value - expected_mean + shift
    function = pytensor.function([x], [output, mean], mode=MODE)
    got, got_mean = function(x_value)
    numpy.testing.assert_allclose(got, expected, rtol=1e-10)
    numpy.testing.assert_allclose(got_mean, expected_mean, rtol=1e-10)
    if not mean_only:
        numpy.testing.assert_allclose(stdev.eval({x: x_value}),
                                      expected_stdev, rtol=1e-10)


def compiled_kinds(function):
    """'c' or 'py' for each batch-normalization node of `function`, in
    the order of its nodes."""
    return ['c' if hasattr(thunk, 'cthunk') else 'py'
            for node, thunk in zip(function.vm.nodes, function.vm.thunks)
            if isinstance(node.op, (BatchNormalizationTrain,
                                    BatchNormalizationTrainGrad))]


def assert_c_matches_perform(inputs, outputs, values, tolerance):
    """Compile `outputs` with C_MODE, check that the operations run C,
    and compare two calls (the second reuses the output arrays) with
    ``perform``'s results."""
    c_function = pytensor.function(inputs, outputs, mode=C_MODE)
    assert set(compiled_kinds(c_function)) == {'c'}
    python = pytensor.function(inputs, outputs, mode=MODE)(*values)
    for _ in range(2):
        for got, expected in zip(c_function(*values), python):
            assert got.dtype == expected.dtype
            numpy.testing.assert_allclose(got, expected, rtol=tolerance,
                                          atol=tolerance)


# (input shape, axes, dtype, scale and shift without the batch axis,
# output gradients given): each compiles one module per operation. The
# feature axes (those not normalized) are consecutive, as the kernels
# need; the gradients cover the kernel's three cases. (The gradient
# operation's perform is checked against finite differences above: a
# verify_grad under C_MODE would compile a C module per node of its cost.)
C_LAYOUTS = [((6, 4), (0,), 'float32', True, (True, False, False)),
             ((4, 3, 2, 2), (0, 2, 3), 'float64', False, (True,) * 3),
             ((2, 3, 4), (0, 1), 'float64', False, (False, True, True))]


@pytest.mark.parametrize('shape, axes, dtype, no_batch_axis, given',
                         C_LAYOUTS)
def test_c_kernels_match_perform(shape, axes, dtype, no_batch_axis, given):
    x_value = RNG.normal(2.0, 3.0, size=shape).astype(dtype)
    scale, shift = (statistic_like(x_value, axes, not no_batch_axis)
                    for _ in range(2))
    x = pt.tensor(dtype=dtype, shape=(None,) * len(shape))
    scale_variable = statistic_variable(scale, axes, len(shape))
    shift_variable = statistic_variable(shift, axes, len(shape))
    forward = [x, scale_variable, shift_variable]
    tolerance = 2e-5 if dtype == 'float32' else 1e-12
    assert_c_matches_perform(
        forward, batch_normalization_train(*forward, axes, 1e-3),
        [x_value, scale, shift], tolerance)
    # The gradient operation alone, from the statistics and output
    # gradients computed by NumPy.
    _, mean, stdev = reference(x_value, None, None, axes, 1e-3)
    statistics = [mean.astype(dtype), stdev.astype(dtype)]
    gradients = [RNG.normal(size=value.shape).astype(dtype)
                 for value, present in zip([x_value] + statistics, given)
                 if present]
    values = [x_value, scale] + statistics + gradients
    inputs = [x, scale_variable] + [pt.tensor(
        dtype=dtype, shape=tuple(1 if size == 1 else None
                                 for size in value.shape))
        for value in values[2:]]
    grad_op = BatchNormalizationTrainGrad(axes, True, *given,
                                          parameter_ndim=scale.ndim)
    assert_c_matches_perform(inputs, grad_op(*inputs), values, tolerance)


def test_c_kernels_take_strided_inputs_and_broadcast_parameters():
    x = pt.matrix('x', dtype='float32')
    scale = pt.vector('scale', dtype='float32')
    # the transpose is not C-contiguous; a single scale serves every
    # feature
    values = [RNG.normal(size=(3, 6)).astype('float32'),
              numpy.array([2.0], dtype='float32')]
    assert_c_matches_perform([x, scale],
                             batch_normalization_train(x.T, scale), values,
                             2e-5)


def test_c_linker_runs_perform_for_other_layouts():
    x = pt.tensor4('x', dtype='float64')
    axes = (0, 2)  # the feature axes 1 and 3 are not consecutive
    function = pytensor.function(
        [x], batch_normalization_train(x, axes=axes, epsilon=1e-3),
        mode=C_MODE)
    assert compiled_kinds(function) == ['py']
    value = RNG.normal(size=(3, 2, 2, 2))
    for result, expected in zip(function(value),
                                reference(value, None, None, axes, 1e-3)):
        numpy.testing.assert_allclose(result, expected, rtol=1e-12)


def test_c_kernels_reject_mismatched_statistics():
    x = pt.matrix('x', dtype='float32')
    scale = pt.vector('scale', dtype='float32')
    output, _, _ = batch_normalization_train(x, scale)
    function = pytensor.function([x, scale], output, mode=C_MODE)
    with pytest.raises(ValueError, match=r'the scale has 3 elements, '
                                         r'expected one per feature \(2\)'):
        function(numpy.ones((4, 2), 'float32'), numpy.ones(3, 'float32'))
