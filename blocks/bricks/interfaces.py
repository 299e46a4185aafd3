"""Interfaces that bricks share: activations, feedforward bricks,
initializable bricks and bricks that draw random numbers."""
import numpy

from blocks.bricks.base import Brick
from blocks.config import config
from blocks.utils.random_streams import RandomStream

__all__ = ['Activation', 'Feedforward', 'RNGMixin', 'Initializable',
           'LinearLike', 'Random']


def _draw_seed(owner):
    """Draw a seed from the generator `owner` (a class) shares among its
    bricks; the generator is created, from ``config.default_seed``, when
    the first brick draws, so that setting the seed after import counts."""
    if owner.seed_rng is None:
        owner.seed_rng = numpy.random.RandomState(config.default_seed)
    return int(owner.seed_rng.randint(numpy.iinfo(numpy.int32).max))


class Activation(Brick):
    """A brick that applies an elementwise function; it has no parameters
    and its ``apply`` takes ``input_`` and returns ``output``."""


class Feedforward(Brick):
    """A brick with one input and one output whose sizes are
    ``input_dim`` and ``output_dim``."""


class RNGMixin:
    """Give a brick a NumPy random generator for initialization.

    Unless given, the seed is drawn, the first time it is read, from a
    generator shared by all bricks and seeded with ``config.default_seed``
    (as in Blocks): a script that builds its bricks in the same order gets
    the same seeds, yet two bricks built apart do not start from identical
    weights. Parents push their generator to their :class:`Initializable`
    children, so that all the bricks of one model draw from one stream.

    Examples
    --------
    >>> from blocks.bricks import Linear
    >>> Linear(seed=3).seed
    3
    >>> Linear().seed != Linear().seed
    True

    """
    #: The generator seeds are drawn from (Blocks' name); None until the
    #: first brick draws one. Assign a ``numpy.random.RandomState`` to
    #: restart the sequence of seeds.
    seed_rng = None

    @property
    def seed(self):
        """The seed of :attr:`rng` (drawn on first use unless given)."""
        if getattr(self, '_seed', None) is None:
            self._seed = _draw_seed(RNGMixin)
        return self._seed

    @seed.setter
    def seed(self, value):
        if getattr(self, '_rng', None) is not None:
            raise AttributeError('{}: the seed cannot change once the random '
                                 'generator exists'.format(self.path))
        self._seed = value

    @property
    def rng(self):
        """The NumPy generator that initialization schemes draw from."""
        if getattr(self, '_rng', None) is None:
            self._rng = numpy.random.RandomState(self.seed)
        return self._rng

    @rng.setter
    def rng(self, rng):
        self._rng = rng


class Initializable(RNGMixin, Brick):
    """A brick whose parameters are filled by initialization schemes.

    Parameters
    ----------
    weights_init : :class:`~blocks.initialization.NdarrayInitialization`
        How to fill the weights.
    biases_init : :class:`~blocks.initialization.NdarrayInitialization`
        How to fill the biases.
    use_bias : bool, optional
        Whether to have biases. ``None`` (default) means True unless a
        parent says otherwise.
    seed : int, optional
        Seed of the NumPy generator used for initialization.

    Notes
    -----
    ``weights_init`` and ``biases_init`` given to a parent are pushed to
    its Initializable children at :meth:`~Brick.push_initialization_config`
    and ``use_bias`` at :meth:`~Brick.push_allocation_config`; what the
    parent sets wins over the child's own value, as in Blocks. The parent
    also gives the children its random generator.

    """
    has_biases = True

    def __init__(self, weights_init=None, biases_init=None, use_bias=None,
                 seed=None, **kwargs):
        super().__init__(**kwargs)
        self.weights_init = weights_init
        self.biases_init = biases_init
        self.use_bias = use_bias
        self._seed = seed

    @property
    def use_bias(self):
        """Whether the brick has biases (True unless set otherwise)."""
        return True if self._use_bias is None else self._use_bias

    @use_bias.setter
    def use_bias(self, value):
        self._use_bias = value

    def _push_initialization_config(self):
        for child in self.children:
            if isinstance(child, Initializable):
                child.rng = self.rng
                if self.weights_init is not None:
                    child.weights_init = self.weights_init
                if self.biases_init is not None:
                    child.biases_init = self.biases_init

    def _push_allocation_config(self):
        if self._use_bias is None:
            return
        for child in self.children:
            if isinstance(child, Initializable):
                child.use_bias = self._use_bias

    def initialize_with(self, variable, scheme_name):
        """Fill `variable` with the scheme stored in attribute
        `scheme_name` (``'weights_init'`` or ``'biases_init'``).

        Raises
        ------
        ValueError
            If that scheme was never given.

        """
        scheme = getattr(self, scheme_name)
        if scheme is None:
            raise ValueError(
                '{}: {} is not set, so {} cannot be initialized; give it to '
                'this brick or to a parent'.format(
                    self.path, scheme_name, variable.name))
        scheme.initialize(variable, self.rng)


class LinearLike(Initializable):
    """An initializable brick with a weight ``W`` (``parameters[0]``) and,
    when it uses biases, a bias ``b`` (``parameters[1]``)."""
    @property
    def W(self):
        """The weight matrix, ``parameters[0]``."""
        return self.parameters[0]

    @property
    def b(self):
        """The biases, ``parameters[1]``; AttributeError without biases."""
        if not self.use_bias:
            raise AttributeError('{}: this brick has no biases (use_bias is '
                                 'False)'.format(self.path))
        return self.parameters[1]

    def _initialize(self):
        # The parameters themselves, not W and b: as in Blocks, a subclass
        # may redefine W or b as an expression of its parameter (a
        # normalized weight, say). Parameters that are not shared
        # variables (constants) stay as they are.
        if self.use_bias:
            self.initialize_with(self.parameters[1], 'biases_init')
        self.initialize_with(self.parameters[0], 'weights_init')


class Random(Brick):
    """A brick that draws random numbers in its graphs.

    Parameters
    ----------
    theano_seed : int, optional
        Seed of the PyTensor random stream. By default it is drawn, on
        first use, from a generator shared by all Random bricks and seeded
        with ``config.default_seed``, so that two bricks do not draw the
        same numbers. (The name is kept from Blocks.)

    """
    #: The generator seeds are drawn from (Blocks' name); None until the
    #: first brick draws one.
    seed_rng = None

    def __init__(self, theano_seed=None, **kwargs):
        super().__init__(**kwargs)
        self.theano_seed = theano_seed

    @property
    def theano_seed(self):
        """The seed of :attr:`random_stream` (drawn on first use unless
        given)."""
        if self._theano_seed is None:
            self._theano_seed = _draw_seed(Random)
        return self._theano_seed

    @theano_seed.setter
    def theano_seed(self, value):
        self._theano_seed = value

    @property
    def random_stream(self):
        """The brick's :class:`~blocks.utils.random_streams.RandomStream`,
        created on first use."""
        if getattr(self, '_random_stream', None) is None:
            self._random_stream = RandomStream(self.theano_seed)
        return self._random_stream

    #: Blocks' name for :attr:`random_stream`
    theano_rng = random_stream
