import numpy
import pytensor.tensor as pt
import pytest

from blocks.compilation import compile_function
from blocks.ops.vectorized import VectorizedUnary


def test_auto_mode_computes_tanh_with_numpy_and_keeps_its_gradient():
    x = pt.matrix('x', dtype='float32')
    y = pt.tanh(2 * x)
    function = compile_function([x], [y, pt.grad(y.sum(), x)])
    ops = [node.op for node in function.maker.fgraph.apply_nodes]
    assert VectorizedUnary('tanh') in ops
    value = numpy.linspace(-4, 4, 12, dtype='float32').reshape(3, 4)
    output, gradient = function(value)
    expected = numpy.tanh(2 * value.astype('float64'))
    numpy.testing.assert_allclose(output, expected, rtol=1e-6, atol=1e-7)
    numpy.testing.assert_allclose(gradient, 2 * (1 - expected ** 2),
                                  rtol=1e-5, atol=1e-6)
    assert output.dtype == numpy.float32


def test_integer_tanh_is_left_to_pytensor():
    x = pt.ivector('x')
    function = compile_function([x], pt.tanh(x))
    assert not any(isinstance(node.op, VectorizedUnary)
                   for node in function.maker.fgraph.apply_nodes)
    numpy.testing.assert_allclose(function(numpy.array([0, 1], 'int32')),
                                  numpy.tanh([0, 1]), rtol=1e-6)


def test_bad_ufunc_and_dtype():
    with pytest.raises(ValueError, match=r"ufunc must be one of \('tanh',\), "
                                         r"got 'sinh'"):
        VectorizedUnary('sinh')
    with pytest.raises(TypeError, match='tanh needs a float32 or float64 '
                                        'tensor, got'):
        VectorizedUnary('tanh')(pt.ivector())
