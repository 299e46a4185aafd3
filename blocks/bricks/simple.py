"""Simple bricks: affine maps and elementwise activations."""
import pytensor.tensor as pt

from blocks.bricks.base import application, lazy
from blocks.bricks.interfaces import Activation, Feedforward, LinearLike
from blocks.roles import add_role, WEIGHT, BIAS
from blocks.utils import shared_floatx_nans

__all__ = ['Linear', 'Identity', 'Tanh', 'Logistic', 'Softplus',
           'Rectifier', 'LeakyRectifier']


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
    initialized. The input may have any number of leading axes.

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
        W = shared_floatx_nans((self.input_dim, self.output_dim), name='W')
        add_role(W, WEIGHT)
        self.parameters.append(W)
        self.add_auxiliary_variable(W.norm(2), name='W_norm')
        if self.use_bias:
            b = shared_floatx_nans((self.output_dim,), name='b')
            add_role(b, BIAS)
            self.parameters.append(b)
            self.add_auxiliary_variable(b.norm(2), name='b_norm')

    @application(inputs=['input_'], outputs=['output'])
    def apply(self, input_):
        """Apply the affine map to the last axis of `input_`."""
        output = pt.dot(input_, self.W)
        if self.use_bias:
            output += self.b
        return output

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
        return input_


class Tanh(Activation):
    """The hyperbolic tangent."""
    @application(inputs=['input_'], outputs=['output'])
    def apply(self, input_):
        return pt.tanh(input_)


class Logistic(Activation):
    """The logistic sigmoid, 1 / (1 + exp(-x))."""
    @application(inputs=['input_'], outputs=['output'])
    def apply(self, input_):
        return pt.sigmoid(input_)


class Softplus(Activation):
    """log(1 + exp(x)), computed stably."""
    @application(inputs=['input_'], outputs=['output'])
    def apply(self, input_):
        return pt.softplus(input_)


class Rectifier(Activation):
    """max(x, 0)."""
    @application(inputs=['input_'], outputs=['output'])
    def apply(self, input_):
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
        return pt.switch(input_ > 0, input_, self.leak * input_)
