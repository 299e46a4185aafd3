"""The lookup table: vectors (embeddings) indexed by integers."""
from blocks.bricks.base import application, lazy
from blocks.bricks.checks import check_input
from blocks.bricks.interfaces import Feedforward, Initializable
from blocks.roles import WEIGHT

__all__ = ['LookupTable']


class LookupTable(Initializable, Feedforward):
    """A table of `length` vectors of size `dim`, looked up by index.

    Parameters
    ----------
    length : int
        The number of vectors (the size of the vocabulary).
    dim : int
        The size of each vector.

    Notes
    -----
    The table ``W`` has shape (length, dim), role WEIGHT, and is filled by
    ``weights_init``; there are no biases. Applied to integer indices of
    any shape, the output has that shape plus a last axis of size `dim`.

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> from blocks.initialization import Identity
    >>> table = LookupTable(length=3, dim=3, weights_init=Identity())
    >>> table.initialize()
    >>> indices = pt.lmatrix('indices')
    >>> table.apply(indices).eval({indices: [[2, 0]]})
    array([[[0., 0., 1.],
            [1., 0., 0.]]])

    """
    has_biases = False

    @lazy(allocation=['length', 'dim'])
    def __init__(self, length, dim, **kwargs):
        super().__init__(**kwargs)
        self.length = length
        self.dim = dim

    @property
    def W(self):
        return self.parameters[0]

    def _allocate(self):
        self.add_parameter('W', (self.length, self.dim), WEIGHT)

    def _initialize(self):
        self.initialize_with(self.W, 'weights_init')

    @application(inputs=['indices'], outputs=['output'])
    def apply(self, indices):
        """The vectors at `indices` (an integer tensor of any shape)."""
        check_input(self, indices, dtype_kind='int', name='indices')
        return self.W[indices]

    def get_dim(self, name):
        if name == 'output':
            return self.dim
        if name == 'indices':
            return 0
        return super().get_dim(name)

    @property
    def input_dim(self):
        """Indices are scalars: 0. As in Blocks, a parent may set it, to 0
        only."""
        return 0

    @input_dim.setter
    def input_dim(self, value):
        if value != 0:
            raise ValueError('{}: the input of a LookupTable is integer '
                             'indices, so its input_dim is 0, not '
                             '{!r}'.format(self.path, value))

    @property
    def output_dim(self):
        return self.dim

    @output_dim.setter
    def output_dim(self, value):
        self.dim = value
