"""Small symbolic expressions used across blocks: norms, curvature and
picking one entry per row.

:mod:`blocks.theano_expressions` is Blocks' name for this module.

Examples
--------
>>> from blocks.expressions import l2_norm
>>> float(l2_norm([3, [4]]).eval())
5.0

"""
import pytensor
import pytensor.tensor as pt

__all__ = ['l2_norm', 'hessian_times_vector', 'entry_per_row']


def l2_norm(tensors, squared=False):
    """The L2 norm of several tensors taken together.

    Parameters
    ----------
    tensors : list of variables or values convertible to tensors
    squared : bool, optional
        Give the squared norm (no square root).

    Notes
    -----
    The squares are summed in the order given: floating-point addition is
    not associative, and a fixed order keeps results reproducible.

    """
    squares = [pt.sqr(pt.as_tensor_variable(tensor)).sum()
               for tensor in tensors]
    if not squares:
        raise ValueError('l2_norm needs at least one tensor')
    total = squares[0]
    for square in squares[1:]:
        total = total + square
    return total if squared else pt.sqrt(total)


def hessian_times_vector(gradient, parameter, vector, r_op=False):
    """The product of the Hessian with `vector`, from the gradient.

    Parameters
    ----------
    gradient : variable
        The gradient of a cost with respect to `parameter`.
    parameter : variable
    vector : variable
        Shaped like `parameter`.
    r_op : bool, optional
        Use forward mode (the R-operator, PyTensor's ``pushforward``)
        instead of differentiating ``sum(gradient * vector)`` again
        (reverse mode, the default).

    Examples
    --------
    >>> import numpy, pytensor
    >>> x = pytensor.shared(numpy.array([1., 2.]))
    >>> v = pytensor.shared(numpy.array([1., 0.]))
    >>> gradient = pytensor.grad((x ** 3).sum(), x)  # Hessian: diag(6x)
    >>> hessian_times_vector(gradient, x, v).eval()
    array([6., 0.])

    """
    if r_op:
        return pytensor.gradient.pushforward(gradient, parameter, vector)
    return pytensor.grad((gradient * vector).sum(), parameter)


def entry_per_row(matrix, columns):
    """``matrix[i, columns[i]]`` for every row ``i``.

    Built as a masked sum over each row, with the column numbers counted
    by a cumulative sum, rather than as indexing with ``arange``: PyTensor's
    JAX backend cannot trace a range whose length it cannot read off a
    shape when it compiles, and the mask costs no more than the softmax
    whose output it usually reads.

    Parameters
    ----------
    matrix : tensor variable
        A matrix.
    columns : tensor variable
        An integer vector, one column index per row of `matrix`.

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> m, c = pt.matrix('m'), pt.lvector('c')
    >>> entry_per_row(m, c).eval({m: [[1., 2.], [3., 4.]], c: [1, 0]})
    array([2., 3.])

    """
    numbers = pt.cumsum(pt.ones_like(matrix[0], dtype='int64')) - 1
    chosen = pt.eq(columns[:, None], numbers)
    # Zeros computed from the columns, not a constant: a graph then lists
    # its inputs as with indexing, the columns' before the matrix's.
    zeros = pt.zeros_like(columns, dtype=matrix.dtype)[:, None]
    return pt.switch(chosen, matrix, zeros).sum(axis=-1)
