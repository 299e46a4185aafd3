import numpy
import pytensor
import pytensor.tensor as pt
import pytest

from blocks.expressions import entry_per_row, hessian_times_vector, l2_norm

FLOATX = pytensor.config.floatX


def test_l2_norm_of_several_tensors_and_numbers():
    rng = numpy.random.RandomState(1)
    arrays = [rng.normal(size=shape).astype(FLOATX)
              for shape in [(), (3,), (2, 4)]]
    squares = sum(float((array ** 2).sum()) for array in arrays)
    variables = [pt.as_tensor_variable(array) for array in arrays]
    numpy.testing.assert_allclose(l2_norm(variables).eval(),
                                  numpy.sqrt(squares), rtol=1e-5)
    numpy.testing.assert_allclose(l2_norm(variables, squared=True).eval(),
                                  squares, rtol=1e-5)
    # plain numbers and nested lists are converted, as in Blocks
    numpy.testing.assert_allclose(l2_norm([2, [1, 2], [[1], [3]]]).eval(),
                                  numpy.sqrt(19.0))
    with pytest.raises(ValueError, match='at least one'):
        l2_norm([])


@pytest.mark.parametrize('r_op', [False, True])
def test_hessian_times_vector_of_a_quadratic_form(r_op):
    rng = numpy.random.RandomState(2)
    matrix = rng.normal(size=(3, 3))
    point, direction = rng.normal(size=3), rng.normal(size=3)
    x = pt.dvector('x')
    v = pt.dvector('v')
    cost = pt.dot(x, pt.dot(pt.constant(matrix), x))
    product = hessian_times_vector(pytensor.grad(cost, x), x, v, r_op=r_op)
    numpy.testing.assert_allclose(
        product.eval({x: point, v: direction}),
        (matrix + matrix.T) @ direction)


def test_blocks_name_for_the_module():
    from blocks import theano_expressions
    assert theano_expressions.l2_norm is l2_norm
    assert theano_expressions.hessian_times_vector is hessian_times_vector


@pytest.mark.parametrize('mode', ['FAST_COMPILE', 'JAX'])
def test_entry_per_row_matches_indexing(mode):
    if mode == 'JAX':
        pytest.importorskip('jax')
    matrix, columns = pt.matrix('m'), pt.lvector('c')
    picked = entry_per_row(matrix, columns)
    gradient = pytensor.grad(picked.sum(), matrix)
    rng = numpy.random.default_rng(0)
    m = rng.normal(size=(4, 3)).astype(matrix.dtype)
    c = numpy.array([2, 0, 0, 1])
    values, grads = pytensor.function([matrix, columns], [picked, gradient],
                                      mode=mode)(m, c)
    numpy.testing.assert_array_equal(values, m[numpy.arange(4), c])
    numpy.testing.assert_allclose(grads, numpy.eye(3)[c])
