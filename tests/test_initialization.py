import numpy
import pytest

from blocks.initialization import (Constant, IsotropicGaussian, Uniform,
                                   Identity, Orthogonal, Sparse, SparseND)
from blocks.utils import shared_floatx_nans, shared_floatx


def rng(seed=1):
    return numpy.random.RandomState(seed)


@pytest.mark.parametrize('dtype', ['float32', 'float64'])
def test_initialize_uses_variable_dtype_and_shape(dtype):
    var = shared_floatx_nans((3, 4), dtype=dtype)
    IsotropicGaussian(2).initialize(var, rng())
    value = var.get_value()
    assert value.dtype == dtype and value.shape == (3, 4)
    assert numpy.isfinite(value).all()


def test_initialize_is_reproducible_for_a_seed():
    schemes = [IsotropicGaussian(), Uniform(width=1), Orthogonal(),
               Sparse(2, IsotropicGaussian()),
               SparseND(axis=0, num_init=1, weights_init=Uniform(std=1))]
    for scheme in schemes:
        first = scheme.generate(rng(3), (4, 5))
        second = scheme.generate(rng(3), (4, 5))
        assert numpy.array_equal(first, second), scheme
        assert not numpy.array_equal(first, scheme.generate(rng(4), (4, 5)))


def test_initialize_rejects_integer_variables():
    var = shared_floatx(numpy.zeros(2), dtype='int64', name='counts')
    with pytest.raises(TypeError, match='counts has dtype int64'):
        Constant(1).initialize(var, rng())


def test_constant_scalar_and_broadcast():
    numpy.testing.assert_array_equal(Constant(3).generate(None, (2, 2)),
                                     numpy.full((2, 2), 3.))
    numpy.testing.assert_array_equal(
        Constant([1, 2]).generate(None, (2, 2)), [[1, 2], [1, 2]])
    with pytest.raises(ValueError, match='cannot fill shape'):
        Constant([1, 2, 3]).generate(None, (2, 2))
    with pytest.raises(TypeError, match='number'):
        Constant('a')


def test_isotropic_gaussian_statistics():
    values = IsotropicGaussian(std=2, mean=1).generate(rng(), (500, 400))
    assert abs(values.mean() - 1) < 0.02
    assert abs(values.std() - 2) < 0.02
    with pytest.raises(ValueError, match='std >= 0'):
        IsotropicGaussian(-1)


def test_uniform_statistics_and_bounds():
    values = Uniform(mean=1, width=4).generate(rng(), (500, 400))
    assert values.min() >= -1 and values.max() <= 3
    assert abs(values.mean() - 1) < 0.02
    assert abs(values.std() - 4 / numpy.sqrt(12)) < 0.02
    values = Uniform(std=0.5).generate(rng(), (500, 400))
    assert abs(values.std() - 0.5) < 0.01


@pytest.mark.parametrize('kwargs', [{}, {'width': 1, 'std': 1}])
def test_uniform_needs_exactly_one_of_width_and_std(kwargs):
    with pytest.raises(ValueError, match='exactly one of width and std'):
        Uniform(**kwargs)


def test_identity():
    numpy.testing.assert_array_equal(Identity(3).generate(None, (3, 2)),
                                     [[3, 0], [0, 3], [0, 0]])
    with pytest.raises(ValueError, match='2 axes'):
        Identity().generate(None, (3,))


@pytest.mark.parametrize('shape', [(5, 5), (3, 7), (7, 3), (6, 2, 3),
                                   (2, 3, 4)])
def test_orthogonal(shape):
    value = Orthogonal(scale=2).generate(rng(), shape) / 2
    assert value.shape == shape
    matrix = value.reshape(shape[0], -1)
    rows, columns = matrix.shape
    if rows <= columns:
        gram = matrix.dot(matrix.T)
    else:
        gram = matrix.T.dot(matrix)
    numpy.testing.assert_allclose(gram, numpy.eye(min(rows, columns)),
                                  atol=1e-5)


def test_orthogonal_needs_two_axes():
    with pytest.raises(ValueError, match='at least 2 axes'):
        Orthogonal().generate(rng(), (4,))


def test_sparse():
    weights = Sparse(3, Constant(1), sparse_init=Constant(-1)).generate(
        rng(), (4, 10))
    assert ((weights == 1).sum(axis=1) == 3).all()
    assert ((weights == -1).sum(axis=1) == 7).all()
    weights = Sparse(0.5, IsotropicGaussian()).generate(rng(), (3, 8))
    assert ((weights != 0).sum(axis=1) == 4).all()
    with pytest.raises(ValueError, match='out of 2 columns'):
        Sparse(3, Constant(1)).generate(rng(), (4, 2))


@pytest.mark.parametrize('num_init', [0, -1, 1.5, 0.0])
def test_sparse_rejects_bad_num_init(num_init):
    with pytest.raises(ValueError, match='num_init'):
        Sparse(num_init, Constant(1))


def test_sparse_rejects_non_schemes():
    with pytest.raises(TypeError, match='weights_init'):
        Sparse(1, 0.5)


def test_sparse_nd():
    weights = SparseND(axis=(0, 2), num_init=2,
                       weights_init=Constant(1)).generate(rng(), (2, 3, 4, 5))
    assert weights.shape == (2, 3, 4, 5)
    numpy.testing.assert_array_equal(weights.sum(axis=(1, 3)),
                                     numpy.full((2, 4), 2))
    with pytest.raises(ValueError, match='distinct integer axes'):
        SparseND(axis=(1, 1), num_init=1, weights_init=Constant(1))
    with pytest.raises(ValueError, match='out of range'):
        SparseND(axis=3, num_init=1, weights_init=Constant(1)).generate(
            rng(), (2, 2))
