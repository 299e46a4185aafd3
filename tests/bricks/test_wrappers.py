import pickle

import numpy
import pytensor.tensor as pt
import pytest

from blocks.bricks import Brick, Linear, WithExtraDims, application
from blocks.bricks.checks import check_input
from blocks.initialization import Constant, IsotropicGaussian


@WithExtraDims('apply')
class MatrixLinear(Linear):
    """A Linear that insists on matrices, made 3-d capable."""
    @application(inputs=['input_'], outputs=['output'])
    def apply(self, input_):
        check_input(self, input_, ndim=2, last_dim=self.input_dim)
        return Linear.apply.application_function(self, input_)


@WithExtraDims()
class PairwiseProduct(Brick):
    """Two inputs, two outputs, and an output with one axis less."""
    @application(inputs=['a', 'b'], outputs=['product', 'row_sum'])
    def apply(self, a, b):
        assert a.ndim == 2 and b.ndim == 2
        product = a * b
        return product, product.sum(axis=1)


def test_matrix_brick_applied_to_3d_input():
    brick = MatrixLinear(3, 2, weights_init=IsotropicGaussian(),
                         biases_init=Constant(1))
    brick.initialize()
    x = pt.tensor3('x', shape=(None, None, 3))
    output = brick.apply(x, extra_ndim=1)
    assert output.ndim == 3
    assert output.name == 'matrixlinear_apply_output'
    value = numpy.random.RandomState(0).randn(2, 4, 3)
    numpy.testing.assert_allclose(
        output.eval({x: value}),
        value.dot(brick.W.get_value()) + 1)
    with pytest.raises(ValueError, match='/matrixlinear: input_ expected a '
                       'float tensor with ndim 2'):
        brick.apply(x)
    # static sizes survive the reshape, so the inner check still works
    with pytest.raises(ValueError, match=r'shape \(\?, 3\), got .* of shape '
                       r'\(None, 4\)'):
        brick.apply(pt.tensor3('y', shape=(None, None, 4)), extra_ndim=1)


def test_several_inputs_outputs_and_extra_axes():
    brick = PairwiseProduct()
    assert brick.apply.inputs == ['a', 'b']
    assert brick.apply.outputs == ['product', 'row_sum']
    a, b = pt.tensor4('a'), pt.tensor4('b')
    product, row_sum = brick.apply(a, b=b, extra_ndim=2)
    rng = numpy.random.RandomState(1)
    a_value, b_value = rng.randn(2, 3, 4, 5), rng.randn(2, 3, 4, 5)
    numpy.testing.assert_allclose(product.eval({a: a_value, b: b_value}),
                                  a_value * b_value)
    numpy.testing.assert_allclose(row_sum.eval({a: a_value, b: b_value}),
                                  (a_value * b_value).sum(axis=-1))


def test_extra_ndim_errors():
    brick = PairwiseProduct(name='pp')
    with pytest.raises(ValueError, match='/pp: extra_ndim must be an int'):
        brick.apply(pt.matrix(), pt.matrix(), extra_ndim=-1)
    with pytest.raises(ValueError, match='/pp: b with extra_ndim=1 expected '
                       'at least 2 axes, got 1'):
        brick.apply(pt.matrix(), pt.vector(), extra_ndim=1)


def test_wrapping_errors_and_pickling():
    with pytest.raises(TypeError, match='is not an application'):
        WithExtraDims('missing')(PairwiseProduct)
    copy = pickle.loads(pickle.dumps(PairwiseProduct()))
    assert copy.apply.outputs == ['product', 'row_sum']


def test_decorators_attribute_as_in_blocks():
    class RowSums(Brick):
        decorators = [WithExtraDims()]

        @application(inputs=['x'], outputs=['y'])
        def apply(self, x):
            check_input(self, x, ndim=2, name='x')
            return x.sum(axis=1)

    x = pt.tensor3('x')
    value = numpy.arange(24, dtype=x.dtype).reshape(2, 3, 4)
    result = RowSums().apply(x, extra_ndim=1).eval({x: value})
    numpy.testing.assert_allclose(result, value.sum(axis=2))
