"""Elementwise functions computed by NumPy's vectorized loops.

PyTensor's C code computes a transcendental function such as ``tanh`` one
element at a time with the C library's double-precision routine: about
20-25 ns per element on this machine, 0.5 ms for a 100 x 200 float32
activation. NumPy's ufuncs use SIMD implementations (AVX2/AVX-512) of the
same functions, accurate to a few units in the last place, 50-80x faster on
such arrays. :class:`VectorizedUnary` runs one of them as a graph node; the
``'auto'`` compile mode (:mod:`blocks.compilation`) puts it in place of
``tanh`` after the gradient is built, so it needs no gradient of its own.
"""
import numpy as np
import pytensor.tensor as pt
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op

from blocks.ops._numba import register_perform_in_object_mode

__all__ = ['VectorizedUnary', 'VECTORIZED_UFUNCS']

#: The NumPy ufuncs :class:`VectorizedUnary` accepts.
VECTORIZED_UFUNCS = ('tanh',)


class VectorizedUnary(Op):
    """Apply the NumPy ufunc named `ufunc` to a floating-point tensor.

    Parameters
    ----------
    ufunc : str
        One of :data:`VECTORIZED_UFUNCS`.

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> x = pt.vector('x')
    >>> VectorizedUnary('tanh')(x).eval({x: numpy.zeros(2)})
    array([0., 0.])

    """
    __props__ = ('ufunc',)

    def __init__(self, ufunc):
        if ufunc not in VECTORIZED_UFUNCS:
            raise ValueError('ufunc must be one of {}, got {!r}'.format(
                VECTORIZED_UFUNCS, ufunc))
        self.ufunc = ufunc

    def make_node(self, x):
        x = pt.as_tensor_variable(x)
        if x.type.dtype not in ('float32', 'float64'):
            raise TypeError('{} needs a float32 or float64 tensor, got '
                            '{}'.format(self.ufunc, x.type))
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = getattr(np, self.ufunc)(inputs[0])

    def infer_shape(self, fgraph, node, input_shapes):
        return input_shapes


register_perform_in_object_mode(VectorizedUnary)
