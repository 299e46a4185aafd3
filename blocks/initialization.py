"""Initialization schemes: how to fill a brick's parameters.

A scheme is a small configuration object.
:meth:`~NdarrayInitialization.generate` draws a NumPy array of a given
shape from a NumPy random generator;
:meth:`~NdarrayInitialization.initialize` fills a shared variable with it,
cast to the variable's dtype. Configuration errors are
raised when the scheme is constructed, shape errors when it generates.

>>> import numpy
>>> from blocks.utils import shared_floatx_nans
>>> W = shared_floatx_nans((2, 3), name='W')
>>> IsotropicGaussian(0.01).initialize(W, numpy.random.RandomState(1))
>>> W.get_value().shape
(2, 3)

"""
import numbers

import numpy
import pytensor

from blocks.utils import repr_attrs

__all__ = ['NdarrayInitialization', 'Constant', 'IsotropicGaussian',
           'Uniform', 'Identity', 'Orthogonal', 'Sparse', 'SparseND']


def _as_shape(shape):
    if isinstance(shape, numbers.Integral):
        return (int(shape),)
    return tuple(int(size) for size in shape)


def _require_ndim(scheme, shape, ndims):
    if len(shape) not in ndims:
        raise ValueError('{} needs a shape with {} axes, got {}'.format(
            type(scheme).__name__, ' or '.join(map(str, ndims)), shape))


class NdarrayInitialization:
    """The base class of initialization schemes.

    Subclasses implement :meth:`generate`.
    """
    def generate(self, rng, shape):
        """Return a floating point array of `shape` drawn from `rng`.

        Parameters
        ----------
        rng : :class:`numpy.random.RandomState`
            The generator to draw from; the same seed gives the same array.
        shape : tuple of int
            The shape of the array.

        """
        raise NotImplementedError

    def initialize(self, var, rng, shape=None):
        """Fill the shared variable `var` with :meth:`generate`.

        Parameters
        ----------
        var : shared variable
            A floating point shared variable.
        rng : :class:`numpy.random.RandomState`
            The generator to draw from.
        shape : tuple of int, optional
            The shape to generate; that of the variable's current value by
            default. It must agree with the variable's number of axes.

        Raises
        ------
        TypeError
            If `var` does not hold floats.
        ValueError
            If the generated array does not have the variable's number of
            axes.

        """
        dtype = numpy.dtype(var.dtype)
        if dtype.kind != 'f':
            raise TypeError('{} fills floating point variables; {} has dtype '
                            '{}'.format(type(self).__name__, var.name, dtype))
        if shape is None:
            shape = var.get_value(borrow=True,
                                  return_internal_type=True).shape
        shape = _as_shape(shape)
        value = numpy.asarray(self.generate(rng, shape))
        if value.shape != shape:
            raise ValueError(
                '{} generated shape {} for {}, expected {}'.format(
                    type(self).__name__, value.shape, var.name, shape))
        if value.ndim != var.ndim:
            raise ValueError('{}: cannot put a {}-d value into {}-d {}'.format(
                type(self).__name__, value.ndim, var.ndim, var.name))
        var.set_value(value.astype(dtype, copy=False))

    def __repr__(self):
        return repr_attrs(self, *getattr(self, '_repr_attrs', ()))


class Constant(NdarrayInitialization):
    """Fill with a constant, or an array broadcast to the shape.

    Parameters
    ----------
    constant : float or array_like
        The value.

    Examples
    --------
    >>> Constant(0.5).generate(None, (2,))
    array([0.5, 0.5])

    """
    _repr_attrs = ('constant',)

    def __init__(self, constant):
        constant = numpy.asarray(constant)
        if constant.dtype.kind not in 'biuf':
            raise TypeError('Constant needs a number or an array of numbers, '
                            'got {!r}'.format(constant))
        self.constant = constant

    def generate(self, rng, shape):
        value = numpy.empty(_as_shape(shape), dtype=pytensor.config.floatX)
        try:
            value[...] = self.constant
        except ValueError:
            raise ValueError('Constant: a value of shape {} cannot fill shape '
                             '{}'.format(self.constant.shape, shape))
        return value


class IsotropicGaussian(NdarrayInitialization):
    """Draw independently from a normal distribution.

    Parameters
    ----------
    std : float, optional
        The standard deviation (1).
    mean : float, optional
        The mean (0).

    Examples
    --------
    >>> import numpy
    >>> IsotropicGaussian(0.01).generate(numpy.random.RandomState(0),
    ...                                  (3, 2)).shape
    (3, 2)

    """
    _repr_attrs = ('mean', 'std')

    def __init__(self, std=1, mean=0):
        if not std >= 0:
            raise ValueError('IsotropicGaussian needs std >= 0, got '
                             '{}'.format(std))
        self.std = std
        self.mean = mean

    def generate(self, rng, shape):
        value = rng.normal(self.mean, self.std, size=_as_shape(shape))
        return value.astype(pytensor.config.floatX)


class Uniform(NdarrayInitialization):
    """Draw independently from a uniform distribution.

    Parameters
    ----------
    mean : float, optional
        The centre of the interval (0).
    width : float, optional
        The length of the interval.
    std : float, optional
        The standard deviation; the width is then ``std * sqrt(12)``.
        Give exactly one of `width` and `std`.

    Examples
    --------
    >>> import numpy
    >>> values = Uniform(width=2).generate(numpy.random.RandomState(0),
    ...                                    (100,))
    >>> bool(values.min() >= -1 and values.max() <= 1)
    True

    """
    _repr_attrs = ('mean', 'width')

    def __init__(self, mean=0, width=None, std=None):
        if (width is None) == (std is None):
            raise ValueError('Uniform needs exactly one of width and std, got '
                             'width={!r} and std={!r}'.format(width, std))
        if std is not None:
            width = std * numpy.sqrt(12)
        if not width >= 0:
            raise ValueError('Uniform needs a width (or std) >= 0, got '
                             '{}'.format(width))
        self.mean = mean
        self.width = width

    def generate(self, rng, shape):
        half = self.width / 2
        value = rng.uniform(self.mean - half, self.mean + half,
                            size=_as_shape(shape))
        return value.astype(pytensor.config.floatX)


class Identity(NdarrayInitialization):
    """A (possibly rectangular) identity matrix times `mult`.

    Parameters
    ----------
    mult : float, optional
        The value on the diagonal (1).

    Examples
    --------
    >>> Identity(2).generate(None, (2, 3))
    array([[2., 0., 0.],
           [0., 2., 0.]])

    """
    _repr_attrs = ('mult',)

    def __init__(self, mult=1):
        self.mult = mult

    def generate(self, rng, shape):
        shape = _as_shape(shape)
        _require_ndim(self, shape, (2,))
        return self.mult * numpy.eye(*shape, dtype=pytensor.config.floatX)


class Orthogonal(NdarrayInitialization):
    """A random orthogonal matrix times `scale`.

    For a shape ``(rows, d1, d2, ...)`` the array is seen as a matrix with
    ``rows`` rows and ``d1 * d2 * ...`` columns. If there are at most as
    many rows as columns the rows are orthonormal, otherwise the columns
    are. A square matrix is orthogonal.

    Parameters
    ----------
    scale : float, optional
        Multiplies the result (1).

    Examples
    --------
    >>> import numpy
    >>> W = Orthogonal().generate(numpy.random.RandomState(0), (3, 5))
    >>> numpy.allclose(W.dot(W.T), numpy.eye(3))
    True

    """
    _repr_attrs = ('scale',)

    def __init__(self, scale=1):
        self.scale = scale

    def generate(self, rng, shape):
        shape = _as_shape(shape)
        if len(shape) < 2:
            raise ValueError('Orthogonal needs a shape with at least 2 axes, '
                             'got {}'.format(shape))
        rows, columns = shape[0], int(numpy.prod(shape[1:]))
        gaussian = rng.normal(0.0, 1.0, size=(rows, columns))
        # The singular vectors of a Gaussian matrix are uniformly (Haar)
        # distributed; u has orthonormal columns, v orthonormal rows, and
        # the one of shape (rows, columns) is what we want.
        u, _, v = numpy.linalg.svd(gaussian, full_matrices=False)
        matrix = u if u.shape == (rows, columns) else v
        return (self.scale * matrix).reshape(shape).astype(
            pytensor.config.floatX)


class Sparse(NdarrayInitialization):
    """Give each row only a few non-`sparse_init` entries.

    In every row of a matrix, `num_init` entries chosen at random are drawn
    from `weights_init`; the others come from `sparse_init`.

    Parameters
    ----------
    num_init : int or float
        How many entries of each row to draw from `weights_init`: a
        positive int, or a float in (0, 1] giving a fraction of the
        columns.
    weights_init : :class:`NdarrayInitialization`
        The scheme of the chosen entries.
    sparse_init : :class:`NdarrayInitialization`, optional
        The scheme of the rest; ``Constant(0)`` by default.

    Examples
    --------
    >>> import numpy
    >>> W = Sparse(2, Constant(1)).generate(numpy.random.RandomState(0),
    ...                                    (3, 5))
    >>> W.sum(axis=1)
    array([2., 2., 2.])

    """
    _repr_attrs = ('num_init', 'weights_init', 'sparse_init')

    def __init__(self, num_init, weights_init, sparse_init=None):
        if isinstance(num_init, numbers.Integral):
            if num_init <= 0:
                raise ValueError('Sparse needs a positive num_init, got '
                                 '{}'.format(num_init))
        elif isinstance(num_init, numbers.Real):
            if not 0 < num_init <= 1:
                raise ValueError('Sparse needs a fractional num_init in '
                                 '(0, 1], got {}'.format(num_init))
        else:
            raise TypeError('Sparse needs an int or float num_init, got '
                            '{!r}'.format(num_init))
        for name, scheme in (('weights_init', weights_init),
                             ('sparse_init', sparse_init)):
            if scheme is not None and \
                    not isinstance(scheme, NdarrayInitialization):
                raise TypeError('Sparse needs an initialization scheme as '
                                '{}, got {!r}'.format(name, scheme))
        if weights_init is None:
            raise TypeError('Sparse needs weights_init')
        self.num_init = num_init
        self.weights_init = weights_init
        self.sparse_init = Constant(0) if sparse_init is None else sparse_init

    def _count(self, columns):
        if isinstance(self.num_init, numbers.Integral):
            count = self.num_init
        else:
            count = int(self.num_init * columns)
        if count > columns:
            raise ValueError('{} cannot choose {} entries per row out of {} '
                             'columns'.format(type(self).__name__, count,
                                              columns))
        return count

    def generate(self, rng, shape):
        shape = _as_shape(shape)
        _require_ndim(self, shape, (2,))
        rows, columns = shape
        count = self._count(columns)
        weights = numpy.array(self.sparse_init.generate(rng, shape),
                              dtype=pytensor.config.floatX)
        values = self.weights_init.generate(rng, (rows, count))
        for row in range(rows):
            chosen = rng.choice(columns, count, replace=False)
            weights[row, chosen] = values[row]
        return weights


class SparseND(Sparse):
    """:class:`Sparse` for arrays of any number of axes.

    The axes in `axis` index the "rows": for every combination of indices
    along them, `num_init` entries of the remaining axes are drawn from
    `weights_init`. With ``axis=(0, 1)``, ``W[i, j, :, :]`` has `num_init`
    such entries for every ``i, j``.

    Parameters
    ----------
    axis : int or sequence of int
        The row axes.
    \\*\\*kwargs
        `num_init`, `weights_init`, `sparse_init` as for :class:`Sparse`.

    Examples
    --------
    >>> import numpy
    >>> W = SparseND(axis=1, num_init=1, weights_init=Constant(1)).generate(
    ...     numpy.random.RandomState(0), (4, 3, 2))
    >>> W.sum(axis=(0, 2))
    array([1., 1., 1.])

    """
    _repr_attrs = ('axis', 'num_init', 'weights_init', 'sparse_init')

    def __init__(self, axis, **kwargs):
        axes = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
        if not axes or len(set(axes)) != len(axes) or \
                not all(isinstance(a, numbers.Integral) for a in axes):
            raise ValueError('SparseND needs distinct integer axes, got '
                             '{!r}'.format(axis))
        super().__init__(**kwargs)
        self.axis = axes

    def generate(self, rng, shape):
        shape = _as_shape(shape)
        ndim = len(shape)
        if any(not -ndim <= a < ndim for a in self.axis):
            raise ValueError('SparseND: axes {} out of range for shape '
                             '{}'.format(self.axis, shape))
        row_axes = [a % ndim for a in self.axis]
        other_axes = [a for a in range(ndim) if a not in row_axes]
        if not other_axes:
            raise ValueError('SparseND: axes {} leave no axis to choose '
                             'entries from in shape {}'.format(self.axis,
                                                               shape))
        row_shape = [shape[a] for a in row_axes]
        other_shape = [shape[a] for a in other_axes]
        matrix = super().generate(
            rng, (int(numpy.prod(row_shape)), int(numpy.prod(other_shape))))
        grouped = matrix.reshape(row_shape + other_shape)
        # grouped's axes are row_axes + other_axes; put them back in order.
        return grouped.transpose(numpy.argsort(row_axes + other_axes))
