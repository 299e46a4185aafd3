"""A seeded source of symbolic random variables.

PyTensor 3 deprecates its ``RandomStream`` in favour of explicit generator
variables whose next state the caller must thread through ``updates``.
Bricks build graphs far from where functions are compiled, so blocks keeps
the older convenience: every draw gets its own shared generator, seeded
from one seed sequence, whose ``default_update`` advances it each time a
compiled function runs.

:class:`MRGRandomStream` takes the arguments in the order of Theano's
``MRG_RandomStreams`` (size first), so scripts written for it port by
changing the import.
"""
import warnings

import numpy
import pytensor
from pytensor.compile.sharedvalue import shared
from pytensor.tensor.random import basic

__all__ = ['RandomStream', 'MRGRandomStream', 'MRG_RandomStreams']


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


class MRGRandomStream:
    """Random draws with the signatures of Theano's ``MRG_RandomStreams``.

    The size comes first and the distribution's parameters after it, as in
    Theano (``normal(size, avg, std)``); :class:`RandomStream` follows
    NumPy instead (``normal(loc, scale, size)``), so a call written for
    Theano, such as ``normal((), 0, 1)``, would silently draw something
    else there. The numbers themselves come from NumPy's generators, not
    from the MRG31k3p algorithm: the same seed does not give Theano's
    numbers.

    Parameters
    ----------
    seed : int, optional
        Theano's default, 12345, if not given.

    Examples
    --------
    >>> import pytensor
    >>> stream = MRGRandomStream(1)
    >>> noise = stream.normal((2, 3), avg=1., std=0.1)
    >>> pytensor.function([], noise)().shape
    (2, 3)
    >>> stream.binomial((4,), p=0.5).dtype
    'int64'

    """
    def __init__(self, seed=12345):
        self.seed = seed
        self._stream = RandomStream(seed)

    @property
    def state_updates(self):
        """(shared generator, next state) for each draw so far."""
        return self._stream.state_updates

    def updates(self):
        """The (generator, next state) pairs of every draw so far."""
        return self._stream.updates()

    def uniform(self, size, low=0.0, high=1.0, ndim=None, dtype=None,
                nstreams=None):
        """Uniform numbers in [low, high). `ndim` and `nstreams` are
        accepted for compatibility and ignored."""
        return self._stream.uniform(low, high, size=size,
                                    dtype=_float_dtype(dtype))

    def normal(self, size, avg=0.0, std=1.0, ndim=None, dtype=None,
               nstreams=None):
        """Normal numbers of mean `avg` and standard deviation `std`."""
        return self._stream.normal(avg, std, size=size,
                                   dtype=_float_dtype(dtype))

    def binomial(self, size=None, p=1, n=1, ndim=None, dtype='int64',
                 nstreams=None):
        """The number of successes in `n` trials of probability `p`."""
        return self._stream.binomial(n, p, size=size, dtype=dtype)


def _float_dtype(dtype):
    return pytensor.config.floatX if dtype is None else dtype


MRG_RandomStreams = MRGRandomStream
