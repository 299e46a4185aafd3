"""Bricks that chain other bricks: Sequence, FeedforwardSequence, MLP."""
from copy import deepcopy

from blocks.bricks.base import (Brick, BoundApplication, LazyNone,
                                NoneAllocation, application, lazy)
from blocks.bricks.checks import check_input
from blocks.bricks.interfaces import Feedforward, Initializable
from blocks.bricks.simple import Linear

__all__ = ['Sequence', 'FeedforwardSequence', 'MLP']


class Sequence(Brick):
    """Apply several applications one after the other.

    Parameters
    ----------
    application_methods : list of applications or bricks
        What to apply, in order; a brick stands for its ``apply``. The
        bricks owning them become this brick's children (each once).

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> from blocks.bricks import Tanh, Rectifier
    >>> sequence = Sequence([Rectifier().apply, Tanh()])
    >>> x = pt.vector('x')
    >>> sequence.apply(x).eval({x: numpy.array([-1., 1.])})
    array([0.        , 0.76159416])

    """
    def __init__(self, application_methods, **kwargs):
        methods = []
        for method in application_methods:
            if isinstance(method, Brick):
                method = method.apply
            if not isinstance(method, BoundApplication):
                raise TypeError('Sequence takes bound applications or '
                                'bricks, got {!r}'.format(method))
            methods.append(method)
        self.application_methods = methods
        if not methods:
            raise ValueError('Sequence needs at least one application')
        children = list(kwargs.pop('children', None) or [])
        for method in methods:
            if not any(method.brick is child for child in children):
                children.append(method.brick)
        super().__init__(children=children, **kwargs)

    @application
    def apply(self, *args):
        """Feed the inputs to the first application, its outputs to the
        second, and so on."""
        self._check_chain_input(*args)
        child_input = args
        for application_method in self.application_methods:
            output = application_method(*child_input)
            child_input = output if isinstance(output, (list, tuple)) \
                else (output,)
        return output

    def _check_chain_input(self, *args):
        """Refuse, before the first application, inputs that a later one
        would refuse; a plain sequence cannot tell (its applications may
        change the number of axes), so it checks nothing."""

    @apply.property('inputs')
    def apply_inputs(self):
        return self.application_methods[0].inputs

    @apply.property('outputs')
    def apply_outputs(self):
        return self.application_methods[-1].outputs


class FeedforwardSequence(Sequence, Feedforward):
    """A sequence whose ``input_dim`` is that of its first brick and whose
    ``output_dim`` is that of its last."""
    @property
    def input_dim(self):
        """The input dimension of the first layer."""
        return self.application_methods[0].brick.input_dim

    @input_dim.setter
    def input_dim(self, value):
        self.application_methods[0].brick.input_dim = value

    @property
    def output_dim(self):
        """The output dimension of the last layer."""
        return self.application_methods[-1].brick.output_dim

    @output_dim.setter
    def output_dim(self, value):
        self.application_methods[-1].brick.output_dim = value


class MLP(FeedforwardSequence, Initializable):
    """A multi-layer perceptron: Linear layers, each followed by an
    activation.

    Parameters
    ----------
    activations : list of bricks, applications or None
        The activation after each layer (a brick stands for its ``apply``);
        ``None`` means no activation.
    dims : list of int
        ``[input_dim, hidden_1, ..., output_dim]``; one more than the
        number of activations by allocation time. As in Blocks it is only
        checked then, so a parent may complete it first (a convolutional
        network prepends the size of its flattened feature maps).
    prototype : :class:`~blocks.bricks.Linear`, optional
        The layer brick; deep copies of it are made for each layer
        (``Linear`` by default).

    Notes
    -----
    The layers are named ``linear_0``, ``linear_1`` ... (after the
    prototype's name). Their input and output dimensions and ``use_bias``
    are pushed at allocation; ``weights_init`` and ``biases_init`` at
    initialization. ``dims`` is lazy: leave it out and assign ``mlp.dims``
    (or ``mlp.input_dim`` and ``mlp.output_dim`` when there are no hidden
    layers) before allocation.

    Examples
    --------
    >>> from blocks.bricks import Tanh, Softmax
    >>> from blocks.initialization import IsotropicGaussian, Constant
    >>> mlp = MLP([Tanh(), Softmax()], [784, 100, 10],
    ...           weights_init=IsotropicGaussian(0.01),
    ...           biases_init=Constant(0))
    >>> mlp.initialize()
    >>> [linear.name for linear in mlp.linear_transformations]
    ['linear_0', 'linear_1']

    """
    @lazy(allocation=['dims'])
    def __init__(self, activations, dims, prototype=None, **kwargs):
        self.activations = list(activations)
        if not self.activations:
            raise ValueError('MLP needs at least one activation (or None)')
        if prototype is None:
            prototype = Linear()
        self.prototype = prototype
        self.linear_transformations = []
        for i in range(len(self.activations)):
            layer = deepcopy(prototype)
            layer.name = '{}_{}'.format(prototype.name, i)
            self.linear_transformations.append(layer)
        application_methods = []
        for layer, activation in zip(self.linear_transformations,
                                     self.activations):
            application_methods.append(layer.apply)
            if activation is not None:
                application_methods.append(activation)
        super().__init__(application_methods, **kwargs)
        self.dims = dims

    @property
    def dims(self):
        """``[input_dim, hidden_1, ..., output_dim]``; may be assigned
        until allocation. Entries may be None until then too."""
        return self._dims

    @dims.setter
    def dims(self, dims):
        if isinstance(dims, LazyNone) or dims is None:
            self._dims = NoneAllocation
            return
        self._dims = list(dims)

    def _dims_or_placeholders(self):
        if isinstance(self.dims, LazyNone):
            self.dims = [NoneAllocation] * (len(self.activations) + 1)
        return self.dims

    @property
    def input_dim(self):
        """The input dimension of the first layer."""
        return self.dims[0] if not isinstance(self.dims, LazyNone) \
            else NoneAllocation

    @input_dim.setter
    def input_dim(self, value):
        self._dims_or_placeholders()[0] = value

    @property
    def output_dim(self):
        """The output dimension of the last layer."""
        return self.dims[-1] if not isinstance(self.dims, LazyNone) \
            else NoneAllocation

    @output_dim.setter
    def output_dim(self, value):
        self._dims_or_placeholders()[-1] = value

    def _check_chain_input(self, input_):
        """Refuse a number of axes that an activation takes not, naming
        the first layer: it is the one given the wrong input. (Layers and
        activations keep the number of axes, so the activations' limits
        hold for the MLP's input.)"""
        first = self.linear_transformations[0]
        for method in self.application_methods[1:]:
            ndims = method.brick.input_ndims
            if ndims is not None:
                check_input(first, input_, ndim=ndims,
                            last_dim=self.input_dim,
                            because='{} further on takes ndim {}'.format(
                                method.brick.path,
                                ' or '.join(map(str, sorted(ndims)))))

    def _push_allocation_config(self):
        if len(self.dims) != len(self.activations) + 1:
            raise ValueError('{}: {} activations need {} dims, got {}'.format(
                self.path, len(self.activations), len(self.activations) + 1,
                self.dims))
        missing = [i for i, dim in enumerate(self.dims)
                   if dim is None or isinstance(dim, LazyNone)]
        if missing:
            raise ValueError('{}: allocation config not set: dims {} (entries '
                             '{} missing)'.format(self.path, self.dims,
                                                  missing))
        for input_dim, output_dim, layer in zip(
                self.dims[:-1], self.dims[1:], self.linear_transformations):
            layer.input_dim = input_dim
            layer.output_dim = output_dim
            if self._use_bias is not None:
                layer.use_bias = self._use_bias

