"""Graph rewrites that add noise: Gaussian noise and dropout.

Both take a :class:`~blocks.graph.ComputationGraph` and variables of it,
and return a new graph in which each variable is replaced by a noisy
version, in one replacement pass. When the variables depend on each other
(the outputs of chained layers), the noise composes: the noisy version of
a later layer is computed from the noisy version of an earlier one.
"""
import numbers

import numpy
import pytensor.tensor as pt

from blocks.config import config
from blocks.roles import add_role, DROPOUT
from blocks.utils.random_streams import RandomStream

__all__ = ['apply_noise', 'apply_dropout']


def _constant_like(value, variable):
    """A Python number as a constant of `variable`'s dtype (so that
    float32 graphs stay float32); symbolic values are left alone."""
    if isinstance(value, numbers.Number):
        return pt.constant(numpy.asarray(value, dtype=variable.dtype))
    return value


def _stream(seed):
    return RandomStream(config.default_seed if seed is None else seed)


def _replace_each(computation_graph, variables, noisy_version):
    """The graph with each variable ``v`` replaced by
    ``noisy_version(v)``, which records ``tag.replacement_of = v``, in one
    replacement pass."""
    replacements = []
    for variable in variables:
        noisy = noisy_version(variable)
        noisy.tag.replacement_of = variable
        replacements.append((variable, noisy))
    return computation_graph.replace(replacements)


def apply_noise(computation_graph, variables, level, seed=None):
    """Add Gaussian noise to variables of a graph.

    Each variable ``v`` is replaced by ``v + n``, where ``n`` is drawn from
    a normal distribution with mean 0 and standard deviation `level`, of
    the shape of ``v``.

    Parameters
    ----------
    computation_graph : :class:`~blocks.graph.ComputationGraph`
        The graph to rewrite.
    variables : list of variables
        The variables to make noisy.
    level : float or scalar variable
        The standard deviation of the noise.
    seed : int, optional
        Seed of the noise; ``config.default_seed`` by default.

    Returns
    -------
    :class:`~blocks.graph.ComputationGraph`
        The new graph.

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> from blocks.graph import ComputationGraph
    >>> x = pt.vector('x')
    >>> cg = ComputationGraph(2 * x)
    >>> noisy = apply_noise(cg, [x], level=0.0)
    >>> noisy.outputs[0].eval({x: numpy.ones(2)})
    array([2., 2.])

    """
    stream = _stream(seed)

    def noisy(variable):
        noise = stream.normal(0, _constant_like(level, variable),
                              size=variable.shape)
        return variable + pt.cast(noise, variable.dtype)
    return _replace_each(computation_graph, variables, noisy)


def apply_dropout(computation_graph, variables, drop_prob, rng=None,
                  seed=None, custom_divisor=None):
    """Apply dropout to variables of a graph.

    Each variable ``v`` is replaced by ``v * mask / divisor``: ``mask`` is
    1 with probability ``1 - drop_prob`` and 0 otherwise, independently for
    each element; ``divisor`` is ``1 - drop_prob`` unless `custom_divisor`
    is given, which keeps the expected value of ``v`` unchanged. The
    result has the role DROPOUT and ``tag.replacement_of = v``.

    Parameters
    ----------
    computation_graph : :class:`~blocks.graph.ComputationGraph`
        The graph to rewrite.
    variables : list of variables
        The variables to drop out (the inputs of the layers to regularize,
        typically).
    drop_prob : float or scalar variable
        The probability of dropping each element.
    rng : :class:`~blocks.utils.random_streams.RandomStream`, optional
        Where to draw the masks from; a new stream seeded with `seed`
        otherwise.
    seed : int, optional
        Seed of the new stream; ``config.default_seed`` by default.
    custom_divisor : float, optional
        What to divide by instead of ``1 - drop_prob`` (1 for no
        rescaling).

    Returns
    -------
    :class:`~blocks.graph.ComputationGraph`
        The new graph.

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> from blocks.graph import ComputationGraph
    >>> x = pt.vector('x')
    >>> cg = ComputationGraph(x.sum())
    >>> dropped = apply_dropout(cg, [x], drop_prob=0.5, seed=3)
    >>> total = dropped.outputs[0].eval({x: numpy.ones(1000)})
    >>> bool(800 < total < 1200)  # each kept element counts twice
    True

    """
    if rng is None:
        rng = _stream(seed)

    def dropped(variable):
        keep_prob = 1 - _constant_like(drop_prob, variable)
        if custom_divisor is None:
            divisor = keep_prob
        else:
            divisor = _constant_like(custom_divisor, variable)
        mask = rng.binomial(1, keep_prob, size=variable.shape)
        output = pt.cast(variable * pt.cast(mask, variable.dtype) / divisor,
                         variable.dtype)
        add_role(output, DROPOUT)
        return output
    return _replace_each(computation_graph, variables, dropped)
