import numpy
import pytensor.tensor as pt
import pytest

from blocks.bricks import (MLP, Sequence, FeedforwardSequence, Linear, Tanh,
                           Rectifier, Softmax, Identity)
from blocks.filter import VariableFilter
from blocks.graph import ComputationGraph
from blocks.initialization import Constant, IsotropicGaussian
from blocks.roles import WEIGHT


def test_sequence_accepts_applications_and_bricks():
    tanh = Tanh()
    sequence = Sequence([tanh.apply, Rectifier(), tanh])
    assert sequence.children == [tanh, sequence.children[1]]
    assert sequence.apply.inputs == ['input_']
    assert sequence.apply.outputs == ['output']
    x = pt.vector('x')
    value = numpy.array([-1., 2.])
    numpy.testing.assert_allclose(
        sequence.apply(x).eval({x: value}),
        numpy.tanh(numpy.maximum(numpy.tanh(value), 0)))
    with pytest.raises(TypeError, match='bound applications or bricks'):
        Sequence([numpy.tanh])


def test_feedforward_sequence_forwards_dims():
    first, last = Linear(name='first'), Linear(name='last')
    sequence = FeedforwardSequence([first, Identity(), last])
    sequence.input_dim = 3
    sequence.output_dim = 5
    assert (first.input_dim, last.output_dim) == (3, 5)
    assert (sequence.input_dim, sequence.output_dim) == (3, 5)


# MLP

def test_mlp_lifecycle_and_output(numpy_rng):
    mlp = MLP([Tanh()], use_bias=False)
    assert mlp.input_dim is mlp.dims
    mlp.dims = [3, 4]
    assert [mlp.input_dim, mlp.output_dim] == [3, 4]
    mlp.weights_init = IsotropicGaussian()
    mlp.initialize()
    (layer,) = mlp.linear_transformations
    assert (layer.name, layer.input_dim, layer.output_dim) == ('linear_0', 3,
                                                               4)
    assert layer.parameters == [layer.W]
    x = pt.matrix('x')
    x_value = numpy_rng.randn(2, 3)
    numpy.testing.assert_allclose(mlp.apply(x).eval({x: x_value}),
                                  numpy.tanh(x_value.dot(
                                      layer.W.get_value())))


def test_mlp_pushes_initialization():
    mlp = MLP([Tanh(), Rectifier(), Softmax()], [2, 3, 4, 5],
              weights_init=Constant(2), biases_init=Constant(1))
    mlp.initialize()
    assert [layer.name for layer in mlp.linear_transformations] == [
        'linear_0', 'linear_1', 'linear_2']
    assert [layer.W.get_value().shape for layer in
            mlp.linear_transformations] == [(2, 3), (3, 4), (4, 5)]
    for layer in mlp.linear_transformations:
        assert (layer.W.get_value() == 2).all()
        assert (layer.b.get_value() == 1).all()
    assert len(VariableFilter(roles=[WEIGHT])(
        ComputationGraph(mlp.apply(pt.matrix('x'))).variables)) == 3


def test_mlp_errors():
    # checked at allocation, as in Blocks: a parent may complete dims
    short = MLP([Tanh(), Tanh()], [1, 2], name='short')
    with pytest.raises(ValueError, match='/short: 2 activations need 3 '
                       r'dims, got \[1, 2\]'):
        short.allocate()
    mlp = MLP([Tanh(), Tanh()], name='net')
    mlp.input_dim = 3
    with pytest.raises(ValueError, match='/net: allocation config not set: '
                       'dims'):
        mlp.allocate()
    mlp = MLP([Tanh()], [3, 2], weights_init=Constant(1), name='net')
    with pytest.raises(ValueError,
                       match='/net/linear_0: biases_init is not set'):
        mlp.initialize()
    with pytest.raises(ValueError, match=r'/net/linear_0: input_ expected '
                       r'.*shape \(\.\.\., 3\)'):
        mlp.apply(pt.matrix('x', shape=(1, 5)))


@pytest.mark.parametrize('ndim', [3, 4])
def test_an_input_with_too_many_axes_is_blamed_on_the_first_layer(ndim):
    # The softmax at the end takes matrices; the layer given the image-like
    # input is the one to name, not the softmax that would fail last.
    mlp = MLP([Tanh(), Softmax()], [6, 5, 3], name='mlp')
    x = pt.tensor(dtype=pt.matrix().dtype, shape=(None,) * ndim, name='x')
    with pytest.raises(ValueError, match=(
            r'^/mlp/linear_0: input_ expected a float tensor with ndim 1 '
            r'or 2 and shape \(\.\.\., 6\) \(/mlp/softmax further on '
            r'takes ndim 1 or 2\), got \w+ tensor x of shape \(None(, '
            r'None){%d}\)$' % (ndim - 1))):
        mlp.apply(x)


def test_an_mlp_without_a_softmax_keeps_taking_more_axes():
    mlp = MLP([Tanh(), None], [2, 3, 1], weights_init=Constant(0.5),
              biases_init=Constant(0))
    mlp.initialize()
    x = pt.tensor3('x')
    assert mlp.apply(x).eval({x: numpy.ones((4, 5, 2), x.dtype)}).shape \
        == (4, 5, 1)


def test_mlp_dims_completed_before_allocation_and_bound_activations():
    """The blocks-examples LeNet builds ``MLP(activations, dims)`` with the
    input dimension missing and prepends it at allocation."""
    mlp = MLP([Tanh().apply, None], [3, 2], weights_init=Constant(1),
              biases_init=Constant(0))
    mlp.dims = [4] + mlp.dims
    mlp.initialize()
    assert [layer.input_dim for layer in mlp.linear_transformations] == [4, 3]
    x = pt.matrix('x')
    value = numpy.ones((1, 4), dtype=x.dtype)
    numpy.testing.assert_allclose(
        mlp.apply(x).eval({x: value}),
        numpy.tanh(value @ numpy.ones((4, 3))) @ numpy.ones((3, 2)),
        rtol=1e-6)
