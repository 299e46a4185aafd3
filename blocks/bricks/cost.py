"""Cost bricks: scalar costs of predictions `y_hat` given targets `y`.

Every brick's ``apply(y, y_hat)`` returns a scalar averaged over the
examples (rows). :class:`CostMatrix` subclasses define an elementwise
``cost_matrix(y, y_hat)``; their cost sums it over the features and
averages over the examples.
"""
import numbers

import pytensor
import pytensor.tensor as pt

from blocks.bricks.base import Brick, application
from blocks.bricks.checks import check_input, checked_labels
from blocks.expressions import entry_per_row

__all__ = ['Cost', 'CostMatrix', 'BinaryCrossEntropy', 'AbsoluteError',
           'SquaredError', 'CategoricalCrossEntropy', 'MisclassificationRate']


class Cost(Brick):
    """The base class of cost bricks; subclasses define ``apply``."""


def _check_matrix_pair(brick, y, y_hat):
    check_input(brick, y_hat, ndim=2, name='y_hat')
    check_input(brick, y, ndim=2, dims=dict(enumerate(y_hat.type.shape)),
                dtype_kind='number', name='y')


def _check_labels(brick, y, y_hat, allow_one_hot):
    """Labels are an integer vector with one entry per row of `y_hat` or,
    when `allow_one_hot`, a matrix shaped like `y_hat`."""
    check_input(brick, y_hat, ndim=2, name='y_hat')
    if allow_one_hot and y.ndim == 2:
        check_input(brick, y, ndim=2, dims=dict(enumerate(y_hat.type.shape)),
                    dtype_kind='number', name='y')
    else:
        check_input(brick, y, ndim=1, dims={0: y_hat.type.shape[0]},
                    dtype_kind='int', name='y')


class CostMatrix(Cost):
    """A cost that is the row sum, averaged over rows, of an elementwise
    cost matrix.

    Subclasses implement ``cost_matrix(y, y_hat)``, returning a matrix
    shaped like `y_hat`. Both arguments are matrices (examples, features).
    """
    @application(outputs=['cost'])
    def apply(self, y, y_hat):
        """The mean over examples of the summed cost matrix."""
        _check_matrix_pair(self, y, y_hat)
        return self.cost_matrix(y, y_hat).sum(axis=1).mean()

    @application(outputs=['cost_matrix'])
    def cost_matrix(self, y, y_hat):
        raise NotImplementedError


class BinaryCrossEntropy(CostMatrix):
    r"""The cross-entropy of independent binary targets:
    :math:`-y \log \hat y - (1 - y) \log(1 - \hat y)`.

    `y_hat` holds probabilities (the output of a logistic, say).

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> y, y_hat = pt.matrix('y'), pt.matrix('y_hat')
    >>> cost = BinaryCrossEntropy().apply(y, y_hat)
    >>> float(cost.eval({y: [[1., 0.]], y_hat: [[0.5, 0.5]]}))
    1.3862943611198906

    """
    @application(outputs=['cost_matrix'])
    def cost_matrix(self, y, y_hat):
        _check_matrix_pair(self, y, y_hat)
        return -(y * pt.log(y_hat) + (1 - y) * pt.log(1 - y_hat))


class AbsoluteError(CostMatrix):
    r"""The absolute error :math:`|y - \hat y|`.

    Examples
    --------
    >>> import pytensor.tensor as pt
    >>> y, y_hat = pt.matrix('y'), pt.matrix('y_hat')
    >>> float(AbsoluteError().apply(y, y_hat).eval(
    ...     {y: [[1., 2.]], y_hat: [[0., 4.]]}))
    3.0

    """
    @application(outputs=['cost_matrix'])
    def cost_matrix(self, y, y_hat):
        _check_matrix_pair(self, y, y_hat)
        return abs(y - y_hat)


class SquaredError(CostMatrix):
    r"""The squared error :math:`(y - \hat y)^2`.

    Examples
    --------
    >>> import pytensor.tensor as pt
    >>> y, y_hat = pt.matrix('y'), pt.matrix('y_hat')
    >>> float(SquaredError().apply(y, y_hat).eval(
    ...     {y: [[1., 2.]], y_hat: [[0., 4.]]}))
    5.0

    """
    @application(outputs=['cost_matrix'])
    def cost_matrix(self, y, y_hat):
        _check_matrix_pair(self, y, y_hat)
        return pt.sqr(y - y_hat)


class CategoricalCrossEntropy(Cost):
    r"""The mean of :math:`-\log \hat y_{i, y_i}` over examples `i`.

    `y_hat` is a matrix of probabilities (the output of a softmax, say),
    one row per example; `y` is an integer vector of labels, or a matrix
    of target probabilities (one-hot, say) shaped like `y_hat`. To work
    from unnormalized log probabilities, which is more stable, use
    :meth:`~blocks.bricks.Softmax.categorical_cross_entropy`.

    Examples
    --------
    >>> import pytensor.tensor as pt
    >>> y, y_hat = pt.lvector('y'), pt.matrix('y_hat')
    >>> cost = CategoricalCrossEntropy().apply(y, y_hat)
    >>> float(cost.eval({y: [1], y_hat: [[0.5, 0.5]]}))
    0.6931471805599453

    """
    @application(outputs=['cost'])
    def apply(self, y, y_hat):
        """The mean cross-entropy between the labels and `y_hat`. As with
        Theano's ``categorical_crossentropy``, `y_hat` may also be a vector
        (one example) with `y` its integer label or target probabilities.
        """
        if getattr(y_hat, 'ndim', None) == 1:
            return self._single_example_cost(y, y_hat)
        _check_labels(self, y, y_hat, allow_one_hot=True)
        if y.ndim == 2:
            return -(y * pt.log(y_hat)).sum(axis=1).mean()
        return checked_labels(
            self, -pt.log(entry_per_row(y_hat, y)).mean(), y,
            y_hat.shape[1])


    def _single_example_cost(self, y, y_hat):
        if y.ndim == 0:
            check_input(self, y, ndim=0, dtype_kind='int', name='y')
            return checked_labels(self, -pt.log(y_hat[y]), y,
                                  y_hat.shape[0])
        check_input(self, y, ndim=1, dims={0: y_hat.type.shape[0]},
                    dtype_kind='number', name='y')
        return -(y * pt.log(y_hat)).sum()


class MisclassificationRate(Cost):
    """The fraction of examples whose label is not among the `top_k`
    highest scores.

    Parameters
    ----------
    top_k : int, optional
        How many of the best-scoring classes count as a correct guess (1).
        With ``top_k=1`` the guess is the argmax (the first class among
        equals). With ``top_k > 1`` the label is a correct guess only if
        fewer than `top_k` other classes score at least as high as it:
        ties count against the model.

    Examples
    --------
    >>> import pytensor.tensor as pt
    >>> y, y_hat = pt.lvector('y'), pt.matrix('y_hat')
    >>> rate = MisclassificationRate().apply(y, y_hat)
    >>> float(rate.eval({y: [0, 1], y_hat: [[0.9, 0.1], [0.8, 0.2]]}))
    0.5

    """
    def __init__(self, top_k=1, **kwargs):
        if not isinstance(top_k, numbers.Integral) or top_k < 1:
            raise ValueError('MisclassificationRate needs an int top_k >= 1, '
                             'got {!r}'.format(top_k))
        super().__init__(**kwargs)
        self.top_k = top_k

    @application(outputs=['error_rate'])
    def apply(self, y, y_hat):
        """The misclassification rate, a scalar of floatX."""
        _check_labels(self, y, y_hat, allow_one_hot=False)
        if self.top_k == 1:
            mistakes = pt.neq(y, y_hat.argmax(axis=1))
        else:
            true_score = entry_per_row(y_hat, y)
            # Count the classes scoring at least as high as the label,
            # the label itself excluded.
            rivals = pt.ge(y_hat, true_score[:, None]).sum(axis=1) - 1
            mistakes = pt.ge(rivals, self.top_k)
        rate = mistakes.mean(dtype=pytensor.config.floatX)
        return checked_labels(self, rate, y, y_hat.shape[1])
