"""Simple bricks: affine maps, biases, maxout, elementwise activations and
the softmax."""
import pytensor.tensor as pt
from pytensor.gradient import disconnected_grad

from blocks.bricks.base import Brick, application, lazy
from blocks.bricks.checks import check_input, checked_labels
from blocks.bricks.interfaces import (Activation, Feedforward, Initializable,
                                      LinearLike)
from blocks.bricks.wrappers import WithExtraDims
from blocks.expressions import entry_per_row
from blocks.roles import WEIGHT, BIAS

__all__ = ['Linear', 'Bias', 'Maxout', 'LinearMaxout', 'Identity', 'Tanh',
           'Logistic', 'Softplus', 'Rectifier', 'LeakyRectifier', 'Softmax',
           'NDimensionalSoftmax']


class Linear(LinearLike, Feedforward):
    r"""An affine map :math:`y = xW + b`.

    Parameters
    ----------
    input_dim : int
        The size of the last axis of the input.
    output_dim : int
        The size of the last axis of the output.

    Notes
    -----
    ``W`` has shape (input_dim, output_dim) and role WEIGHT; ``b`` has
    shape (output_dim,) and role BIAS. Both hold NaN until the brick is
    initialized. The input may have any number of leading axes (at least
    one axis); a float input whose statically known last size differs from
    ``input_dim`` raises ValueError, an integer input TypeError.

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> from blocks.initialization import Constant
    >>> linear = Linear(input_dim=3, output_dim=2, weights_init=Constant(1),
    ...                 biases_init=Constant(0.5))
    >>> linear.initialize()
    >>> x = pt.matrix('x')
    >>> linear.apply(x).eval({x: numpy.ones((1, 3))})
    array([[3.5, 3.5]])

    """
    @lazy(allocation=['input_dim', 'output_dim'])
    def __init__(self, input_dim, output_dim, **kwargs):
        super().__init__(**kwargs)
        self.input_dim = input_dim
        self.output_dim = output_dim

    def _allocate(self):
        self.add_parameter('W', (self.input_dim, self.output_dim), WEIGHT,
                           norm=True)
        if self.use_bias:
            self.add_parameter('b', (self.output_dim,), BIAS, norm=True)

    @application(inputs=['input_'], outputs=['output'])
    def apply(self, input_):
        """Apply the affine map to the last axis of `input_`."""
        check_input(self, input_, min_ndim=1, last_dim=self.input_dim)
        output = pt.dot(input_, self.W)
        if self.use_bias:
            output = output + self.b
        return output

    def get_dim(self, name):
        if name == 'input_':
            return self.input_dim
        if name == 'output':
            return self.output_dim
        return super().get_dim(name)


class Bias(Feedforward, Initializable):
    """Add a bias to the last axis of the input.

    Parameters
    ----------
    dim : int
        The size of the last axis (input and output).

    Notes
    -----
    ``b`` has shape (dim,), role BIAS and is filled by ``biases_init``.

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> from blocks.initialization import Constant
    >>> bias = Bias(dim=2, biases_init=Constant(1))
    >>> bias.initialize()
    >>> x = pt.matrix('x')
    >>> bias.apply(x).eval({x: numpy.zeros((1, 2))})
    array([[1., 1.]])

    """
    @lazy(allocation=['dim'])
    def __init__(self, dim, **kwargs):
        super().__init__(**kwargs)
        self.dim = dim

    @property
    def b(self):
        return self.parameters[0]

    def _allocate(self):
        self.add_parameter('b', (self.dim,), BIAS)

    def _initialize(self):
        self.initialize_with(self.b, 'biases_init')

    @application(inputs=['input_'], outputs=['output'])
    def apply(self, input_):
        """Add the bias to the last axis of `input_`."""
        check_input(self, input_, min_ndim=1, last_dim=self.dim)
        return input_ + self.b

    def get_dim(self, name):
        if name in ('input_', 'output'):
            return self.dim
        return super().get_dim(name)

    @property
    def input_dim(self):
        return self.dim

    @input_dim.setter
    def input_dim(self, value):
        self.dim = value

    output_dim = input_dim


class Maxout(Brick):
    """The maximum over groups of `num_pieces` consecutive features.

    The last axis, of size ``num_pieces * d``, is split into ``d`` groups of
    ``num_pieces`` neighbouring features; output feature ``j`` is the
    maximum of input features ``j * num_pieces`` to
    ``(j + 1) * num_pieces - 1``.

    Parameters
    ----------
    num_pieces : int
        The size of the groups.

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> x = pt.matrix('x')
    >>> Maxout(num_pieces=2).apply(x).eval({x: [[1., 4., 3., 2.]]})
    array([[4., 3.]])

    """
    @lazy(allocation=['num_pieces'])
    def __init__(self, num_pieces, **kwargs):
        super().__init__(**kwargs)
        self.num_pieces = num_pieces

    @application(inputs=['input_'], outputs=['output'])
    def apply(self, input_):
        """Take the maximum of each group of features on the last axis."""
        check_input(self, input_, min_ndim=1, dtype_kind='number')
        last = input_.type.shape[-1]
        if last is not None and last % self.num_pieces:
            raise ValueError(
                '{}: input_ expected a last axis whose size is a multiple of '
                'num_pieces={}, got shape {}'.format(
                    self.path, self.num_pieces, input_.type.shape))
        leading = [input_.shape[axis] for axis in range(input_.ndim - 1)]
        grouped = input_.reshape(leading + [-1, self.num_pieces],
                                 ndim=input_.ndim + 1)
        return grouped.max(axis=-1)


class LinearMaxout(Initializable, Feedforward):
    """A :class:`Linear` map to ``output_dim * num_pieces`` features
    followed by :class:`Maxout`.

    Parameters
    ----------
    input_dim : int
        The size of the last axis of the input.
    output_dim : int
        The size of the last axis of the output.
    num_pieces : int
        The size of the maxout groups.

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> from blocks.initialization import Constant
    >>> brick = LinearMaxout(2, 3, num_pieces=4, weights_init=Constant(1),
    ...                      biases_init=Constant(0))
    >>> brick.initialize()
    >>> brick.linear.W.get_value().shape
    (2, 12)

    """
    @lazy(allocation=['input_dim', 'output_dim', 'num_pieces'])
    def __init__(self, input_dim, output_dim, num_pieces, **kwargs):
        self.linear = Linear()
        self.maxout = Maxout()
        children = [self.linear, self.maxout] + kwargs.pop('children', [])
        super().__init__(children=children, **kwargs)
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.num_pieces = num_pieces

    def _push_allocation_config(self):
        super()._push_allocation_config()
        self.linear.input_dim = self.input_dim
        self.linear.output_dim = self.output_dim * self.num_pieces
        self.maxout.num_pieces = self.num_pieces

    @application(inputs=['input_'], outputs=['output'])
    def apply(self, input_):
        """Apply the linear map, then maxout."""
        return self.maxout.apply(self.linear.apply(input_))

    def get_dim(self, name):
        if name == 'input_':
            return self.input_dim
        if name == 'output':
            return self.output_dim
        return super().get_dim(name)


class Identity(Activation):
    """Returns its input unchanged."""
    @application(inputs=['input_'], outputs=['output'])
    def apply(self, input_):
        """Apply the activation elementwise."""
        return input_


class Tanh(Activation):
    """The hyperbolic tangent."""
    @application(inputs=['input_'], outputs=['output'])
    def apply(self, input_):
        """Apply the activation elementwise."""
        return pt.tanh(input_)


class Logistic(Activation):
    """The logistic sigmoid, 1 / (1 + exp(-x))."""
    @application(inputs=['input_'], outputs=['output'])
    def apply(self, input_):
        """Apply the activation elementwise."""
        return pt.sigmoid(input_)


class Softplus(Activation):
    """log(1 + exp(x)), computed stably."""
    @application(inputs=['input_'], outputs=['output'])
    def apply(self, input_):
        """Apply the activation elementwise."""
        return pt.softplus(input_)


class Rectifier(Activation):
    """max(x, 0)."""
    @application(inputs=['input_'], outputs=['output'])
    def apply(self, input_):
        """Apply the activation elementwise."""
        return pt.maximum(input_, 0)


class LeakyRectifier(Activation):
    """x for positive x, leak * x otherwise.

    Parameters
    ----------
    leak : float, optional
        The slope for negative inputs (0.01).

    """
    def __init__(self, leak=0.01, **kwargs):
        super().__init__(**kwargs)
        self.leak = leak

    @application(inputs=['input_'], outputs=['output'])
    def apply(self, input_):
        """Apply the activation elementwise."""
        return pt.switch(input_ > 0, input_, self.leak * input_)


class Softmax(Brick):
    """The softmax over the last axis of a matrix, and its cross-entropy.

    All three applications take a matrix ``x`` of unnormalized log
    probabilities (one row per example), or a vector for a single example,
    and are numerically stable: logits of +-1000 give finite values and
    gradients. For inputs with more axes, use :class:`NDimensionalSoftmax`.
    (Theano's softmax turned a vector into a one-row matrix, with a
    deprecation warning announcing this behaviour; here a vector stays a
    vector.)

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> x = pt.matrix('x')
    >>> Softmax().apply(x).eval({x: [[0., numpy.log(3)]]})
    array([[0.25, 0.75]])

    """
    input_ndims = (1, 2)

    def _check_logits(self, x, name='input_'):
        check_input(self, x, ndim=self.input_ndims, name=name)

    @application(inputs=['input_'], outputs=['output'])
    def apply(self, input_):
        """The softmax of each row of `input_`."""
        self._check_logits(input_)
        return pt.special.softmax(input_, axis=-1)

    @application(inputs=['input_'], outputs=['output'])
    def log_probabilities(self, input_):
        """The logarithm of the softmax of each row of `input_`."""
        self._check_logits(input_)
        return self._log_softmax(input_)

    @staticmethod
    def _log_softmax(x):
        # Shifting by the (constant) row maximum keeps exp from
        # overflowing; its gradient is not needed since the shift cancels.
        shifted = x - disconnected_grad(x.max(axis=-1, keepdims=True))
        return shifted - pt.log(pt.exp(shifted).sum(axis=-1, keepdims=True))

    @application(inputs=['y', 'x'], outputs=['output'])
    def categorical_cross_entropy(self, y, x):
        """The cross-entropy between targets `y` and ``softmax(x)``, one
        value per row.

        Parameters
        ----------
        y : tensor variable
            Integer labels, a vector with one entry per row of `x`; or
            target probabilities (one-hot, say), a matrix shaped like `x`.
        x : tensor variable
            A matrix of unnormalized log probabilities.

        """
        self._check_logits(x, name='x')
        log_probs = self._log_softmax(x)
        if y.ndim == x.ndim - 1:
            check_input(self, y, ndim=x.ndim - 1, dims={0: x.type.shape[0]},
                        dtype_kind='int', name='y')
            if x.ndim == 1:
                return checked_labels(self, -log_probs[y], y, x.shape[-1])
            return checked_labels(
                self, -entry_per_row(log_probs, y), y, x.shape[-1])
        check_input(self, y, ndim=x.ndim, dims=dict(enumerate(x.type.shape)),
                    dtype_kind='number', name='y')
        return -(y * log_probs).sum(axis=-1)


@WithExtraDims('apply', 'log_probabilities', 'categorical_cross_entropy')
class NDimensionalSoftmax(Softmax):
    """A :class:`Softmax` whose applications accept ``extra_ndim``.

    With ``extra_ndim=k`` the inputs have ``k`` extra leading axes (time,
    say) before the example axis; the softmax is still taken over the last
    axis and the outputs keep the extra axes (see
    :class:`~blocks.bricks.wrappers.WithExtraDims`).

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> x = pt.tensor3('x')
    >>> probs = NDimensionalSoftmax().apply(x, extra_ndim=1)
    >>> probs.eval({x: numpy.zeros((2, 3, 4))}).shape
    (2, 3, 4)

    """
