import numpy
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.gradient import verify_grad

from blocks.bricks import (Linear, Bias, Maxout, LinearMaxout, Identity,
                           Tanh, Logistic, Softplus, Rectifier,
                           LeakyRectifier, Softmax, NDimensionalSoftmax)
from blocks.bricks.checks import check_input
from blocks.initialization import Constant, IsotropicGaussian
from blocks.roles import BIAS, WEIGHT, has_roles


def reference_log_softmax(x):
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - numpy.log(numpy.exp(shifted).sum(axis=-1, keepdims=True))


# Linear and Bias

def test_linear_parameters_and_output(numpy_rng):
    linear = Linear(3, 4, weights_init=IsotropicGaussian(),
                    biases_init=IsotropicGaussian())
    linear.allocate()
    W, b = linear.parameters
    assert (W.name, b.name) == ('W', 'b')
    assert has_roles(W, [WEIGHT]) and has_roles(b, [BIAS])
    assert numpy.isnan(W.get_value()).all() and W.get_value().shape == (3, 4)
    assert numpy.isnan(b.get_value()).all() and b.get_value().shape == (4,)
    assert [var.tag.name for var in linear.auxiliary_variables] == [
        'W_norm', 'b_norm']
    linear.initialize()
    x = pt.tensor3('x')
    x_value = numpy_rng.randn(2, 5, 3)
    expected = x_value.dot(W.get_value()) + b.get_value()
    numpy.testing.assert_allclose(linear.apply(x).eval({x: x_value}),
                                  expected)


def test_linear_without_bias():
    linear = Linear(2, 3, use_bias=False, weights_init=Constant(2))
    linear.initialize()
    assert linear.parameters == [linear.W]
    with pytest.raises(AttributeError, match='no biases'):
        linear.b
    x = pt.vector('x')
    numpy.testing.assert_allclose(linear.apply(x).eval({x: [1., 1.]}),
                                  [4., 4., 4.])


def test_linear_rejects_bad_inputs():
    linear = Linear(3, 2, name='layer')
    with pytest.raises(ValueError, match=r'/layer: input_ expected a float '
                       r'tensor with ndim >= 1 and shape \(\.\.\., 3\), got '
                       r'float64 tensor x of shape \(None, 4\)'):
        linear.apply(pt.matrix('x', shape=(None, 4)))
    with pytest.raises(ValueError, match='ndim >= 1.*shape \\(\\)'):
        linear.apply(pt.scalar('s'))
    with pytest.raises(TypeError, match='/layer: input_ expected a float.*'
                       'got int64 tensor i'):
        linear.apply(pt.lmatrix('i'))


def test_bias(numpy_rng):
    bias = Bias(dim=3, biases_init=Constant([1., 2., 3.]))
    bias.initialize()
    assert has_roles(bias.b, [BIAS]) and bias.b.name == 'b'
    assert bias.get_dim('output') == 3 == bias.input_dim
    x = pt.matrix('x')
    x_value = numpy_rng.randn(2, 3)
    numpy.testing.assert_allclose(bias.apply(x).eval({x: x_value}),
                                  x_value + [1., 2., 3.])
    with pytest.raises(ValueError, match=r'/bias: .*shape \(\.\.\., 3\)'):
        bias.apply(pt.matrix('y', shape=(2, 2)))


# Maxout

def test_maxout_matches_reference_and_gradient(numpy_rng):
    x = pt.tensor3('x')
    maxout = Maxout(num_pieces=3)
    x_value = numpy_rng.randn(2, 4, 6)
    expected = x_value.reshape(2, 4, 2, 3).max(axis=-1)
    numpy.testing.assert_allclose(maxout.apply(x).eval({x: x_value}),
                                  expected)
    verify_grad(lambda v: Maxout(num_pieces=2).apply(v),
                [numpy_rng.randn(3, 4)], rng=numpy_rng)


def test_maxout_rejects_indivisible_feature_size():
    with pytest.raises(ValueError, match=r'/maxout: .*multiple of '
                       r'num_pieces=3, got shape \(None, 4\)'):
        Maxout(num_pieces=3).apply(pt.matrix('x', shape=(None, 4)))


def test_linear_maxout(numpy_rng):
    brick = LinearMaxout(3, 2, num_pieces=2, weights_init=IsotropicGaussian(),
                         biases_init=Constant(0.1))
    brick.initialize()
    W = brick.linear.W.get_value()
    assert W.shape == (3, 4)
    x = pt.matrix('x')
    x_value = numpy_rng.randn(5, 3)
    expected = (x_value.dot(W) + 0.1).reshape(5, 2, 2).max(axis=-1)
    numpy.testing.assert_allclose(brick.apply(x).eval({x: x_value}),
                                  expected)


# Activations

def test_activations_match_numpy(numpy_rng):
    x = pt.matrix('x')
    x_value = numpy_rng.randn(3, 4) * 3
    bricks_and_references = [
        (Identity(), x_value),
        (Tanh(), numpy.tanh(x_value)),
        (Logistic(), 1 / (1 + numpy.exp(-x_value))),
        (Softplus(), numpy.log1p(numpy.exp(x_value))),
        (Rectifier(), numpy.maximum(x_value, 0)),
        (LeakyRectifier(), numpy.where(x_value > 0, x_value,
                                       0.01 * x_value)),
        (LeakyRectifier(leak=0.5), numpy.where(x_value > 0, x_value,
                                               0.5 * x_value)),
    ]
    outputs = [brick.apply(x) for brick, _ in bricks_and_references]
    values = pytensor.function([x], outputs)(x_value)
    for (brick, reference), value in zip(bricks_and_references, values):
        numpy.testing.assert_allclose(value, reference, rtol=1e-7,
                                      err_msg=brick.name)


# Softmax

@pytest.fixture(scope='module')
def softmax_function():
    """apply, log_probabilities, the cross-entropy with labels and with
    one-hot targets and the gradients of the latter two."""
    x, y, t = pt.matrix('x'), pt.lvector('y'), pt.matrix('t')
    softmax = Softmax()
    cost_labels = softmax.categorical_cross_entropy(y, x)
    cost_targets = softmax.categorical_cross_entropy(t, x)
    return pytensor.function(
        [x, y, t],
        [softmax.apply(x), softmax.log_probabilities(x), cost_labels,
         cost_targets, pytensor.grad(cost_labels.sum(), x),
         pytensor.grad(cost_targets.sum(), x)])


def test_softmax_matches_reference(softmax_function, numpy_rng):
    x_value = numpy_rng.randn(4, 3)
    labels = numpy.array([0, 2, 1, 1])
    one_hot = numpy.eye(3)[labels]
    probs, log_probs, cost_l, cost_t, grad_l, grad_t = softmax_function(
        x_value, labels, one_hot)
    reference = reference_log_softmax(x_value)
    numpy.testing.assert_allclose(log_probs, reference)
    numpy.testing.assert_allclose(probs, numpy.exp(reference))
    numpy.testing.assert_allclose(cost_l, -reference[range(4), labels])
    numpy.testing.assert_allclose(cost_t, cost_l)
    numpy.testing.assert_allclose(grad_l, numpy.exp(reference) - one_hot)
    numpy.testing.assert_allclose(grad_t, grad_l)


def test_softmax_is_stable_for_huge_logits(softmax_function):
    x_value = numpy.array([[1000., -1000., 0.], [-1000., 1000., 3.]])
    labels = numpy.array([1, 2])
    outputs = softmax_function(x_value, labels, numpy.eye(3)[labels])
    for output in outputs:
        assert numpy.isfinite(output).all()
    numpy.testing.assert_allclose(outputs[2], [2000., 997.])


def test_softmax_cross_entropy_gradients(numpy_rng):
    labels = numpy.array([2, 0, 1])
    targets = numpy.random.RandomState(0).dirichlet([1, 1, 1], size=3)
    verify_grad(lambda x: Softmax().categorical_cross_entropy(
        pt.as_tensor_variable(labels), x), [numpy_rng.randn(3, 3)],
        rng=numpy_rng)
    verify_grad(lambda x: Softmax().categorical_cross_entropy(
        pt.as_tensor_variable(targets), x), [numpy_rng.randn(3, 3)],
        rng=numpy_rng)


def test_softmax_rejects_bad_inputs():
    softmax = Softmax()
    with pytest.raises(ValueError, match=r'/softmax: input_ expected a float '
                       'tensor with ndim 1 or 2, got float64 tensor x3'):
        softmax.apply(pt.tensor3('x3'))
    x = pt.matrix('x', shape=(4, 3))
    with pytest.raises(TypeError, match='/softmax: y expected an int tensor '
                       'with ndim 1 and shape \\(4,\\), got float64 tensor '
                       'labels'):
        softmax.categorical_cross_entropy(pt.vector('labels'), x)
    with pytest.raises(ValueError, match=r'y expected .*shape \(4,\), got '
                       r'int64 tensor labels of shape \(5,\)'):
        softmax.categorical_cross_entropy(pt.lvector('labels', shape=(5,)), x)
    with pytest.raises(ValueError, match=r'y expected .*shape \(4, 3\)'):
        softmax.categorical_cross_entropy(pt.matrix('t', shape=(4, 2)), x)


def test_ndimensional_softmax(numpy_rng):
    x, y = pt.tensor3('x'), pt.lmatrix('y')
    softmax = NDimensionalSoftmax()
    x_value = numpy_rng.randn(2, 3, 4)
    y_value = numpy_rng.randint(4, size=(2, 3))
    reference = reference_log_softmax(x_value)
    probs, log_probs, cost = pytensor.function([x, y], [
        softmax.apply(x, extra_ndim=1),
        softmax.log_probabilities(x, extra_ndim=1),
        softmax.categorical_cross_entropy(y, x, extra_ndim=1)])(
            x_value, y_value)
    numpy.testing.assert_allclose(probs, numpy.exp(reference))
    numpy.testing.assert_allclose(log_probs, reference)
    expected_cost = -numpy.take_along_axis(reference, y_value[..., None],
                                           axis=-1)[..., 0]
    numpy.testing.assert_allclose(cost, expected_cost)
    # extra_ndim=0 behaves like Softmax
    matrix = pt.matrix('m')
    numpy.testing.assert_allclose(
        softmax.apply(matrix).eval({matrix: x_value[0]}),
        numpy.exp(reference[0]))
    with pytest.raises(ValueError, match='/ndimensionalsoftmax: input_ with '
                       'extra_ndim=2 expected at least 3 axes'):
        softmax.apply(matrix, extra_ndim=2)


# The check helper

def test_check_input_positive_axes_and_any_dtype():
    brick = Linear(name='conv')
    images = pt.tensor4('images', shape=(None, 3, None, None))
    assert check_input(brick, images, ndim=4, dims={1: 3},
                       dtype_kind=None) is images
    with pytest.raises(ValueError, match=r'/conv: images expected a tensor '
                       r'with ndim 4 and shape \(\?, 1, \?, \?\), got '
                       r'float64 tensor images of shape \(None, 3, None, '
                       r'None\)'):
        check_input(brick, images, ndim=4, dims={1: 1}, dtype_kind=None,
                    name='images')
    with pytest.raises(TypeError, match='expected a float tensor'):
        check_input(brick, numpy.ones(3))
    with pytest.raises(ValueError, match='dtype_kind'):
        check_input(brick, images, dtype_kind='complex')


def test_softmax_of_a_single_example_vector():
    x = pt.vector('x')
    value = numpy.array([0.5, -1.0, 2.0], dtype=x.dtype)
    expected = numpy.exp(value) / numpy.exp(value).sum()
    softmax = Softmax()
    numpy.testing.assert_allclose(softmax.apply(x).eval({x: value}),
                                  expected, rtol=1e-6)
    numpy.testing.assert_allclose(
        softmax.log_probabilities(x).eval({x: value}), numpy.log(expected),
        rtol=1e-6)
    label = pt.lscalar('label')
    numpy.testing.assert_allclose(
        softmax.categorical_cross_entropy(label, x).eval(
            {x: value, label: 2}), -numpy.log(expected[2]), rtol=1e-6)
    targets = pt.vector('targets')
    numpy.testing.assert_allclose(
        softmax.categorical_cross_entropy(targets, x).eval(
            {x: value, targets: numpy.array([0, 1, 0], dtype=x.dtype)}),
        -numpy.log(expected[1]), rtol=1e-6)
