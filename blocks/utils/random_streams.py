"""A seeded source of symbolic random variables.

PyTensor 3 deprecates its ``RandomStream`` in favour of explicit generator
variables whose next state the caller must thread through ``updates``.
Bricks build graphs far from where functions are compiled, so blocks keeps
the older convenience: every draw gets its own shared generator, seeded
from one seed sequence, whose ``default_update`` advances it each time a
compiled function runs.
"""
import warnings

import numpy
from pytensor.compile.sharedvalue import shared
from pytensor.tensor.random import basic

__all__ = ['RandomStream']


class RandomStream:
    """Draw symbolic random variables from one seed.

    Any distribution of :mod:`pytensor.tensor.random.basic` is available as
    a method taking that function's arguments (``normal(loc, scale,
    size=...)``, ``binomial(n, p, size=...)`` ...).

    Parameters
    ----------
    seed : int
        The seed; the same seed gives the same sequence of draws.

    Attributes
    ----------
    state_updates : list of pairs
        (shared generator, its next state) for each draw made so far.

    Examples
    --------
    >>> import pytensor
    >>> stream = RandomStream(1)
    >>> sample = stream.uniform(0, 1, size=(2,))
    >>> draw = pytensor.function([], sample)
    >>> bool((draw() != draw()).all())
    True

    """
    def __init__(self, seed):
        self.seed = seed
        self._seed_sequence = numpy.random.SeedSequence(seed)
        self.state_updates = []

    def __getattr__(self, name):
        if name.startswith('_') or name not in basic.__all__:
            raise AttributeError(
                'RandomStream has no distribution {!r}'.format(name))
        distribution = getattr(basic, name)

        def draw(*args, **kwargs):
            return self._draw(distribution, *args, **kwargs)
        draw.__name__ = name
        draw.__doc__ = distribution.__doc__
        return draw

    def _draw(self, distribution, *args, **kwargs):
        if 'rng' in kwargs:
            raise ValueError('a RandomStream supplies its own generator; do '
                             'not pass rng')
        (child_seed,) = self._seed_sequence.spawn(1)
        rng = shared(numpy.random.default_rng(child_seed), borrow=True)
        sample = distribution(*args, rng=rng, **kwargs)
        next_rng = sample.owner.outputs[0]
        with warnings.catch_warnings():
            # PyTensor 3 deprecates default updates but still applies them;
            # they are what lets a brick draw random numbers without
            # reaching the code that compiles the function.
            warnings.simplefilter('ignore', DeprecationWarning)
            rng.default_update = next_rng
        self.state_updates.append((rng, next_rng))
        return sample

    def updates(self):
        """The (generator, next state) pairs of every draw so far."""
        return list(self.state_updates)
