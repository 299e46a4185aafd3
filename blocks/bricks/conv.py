"""Convolutional bricks: convolution, transposed convolution, pooling,
sequences of them, and flattening.

Images are 4-d tensors ``(batch, channels, rows, cols)``. Every brick here
describes one example with ``get_dim``: ``(channels, rows, cols)``, with
None for what is not known (image sizes may be left unknown when they vary
from batch to batch). A :class:`ConvolutionalSequence` pushes the output
size of each layer into the next one at allocation, so that only the
first layer's input needs to be described.

As in Blocks (which used Theano's ``conv2d``), :class:`Convolutional`
computes a true convolution: the filters are flipped before they slide
over the image. Set ``filter_flip = False`` on a brick (or a subclass) to
cross-correlate instead, which is what PyTorch's ``Conv2d`` does, when
loading weights trained there.
"""
import numbers

import pytensor.tensor as pt

from blocks.bricks.base import (BoundApplication, Brick, NoneAllocation,
                                application, lazy)
from blocks.bricks.checks import check_input
from blocks.bricks.interfaces import (Activation, Feedforward, Initializable,
                                      LinearLike)
from blocks.bricks.sequences import Sequence
from blocks.ops import (conv2d, conv2d_grad_wrt_inputs, conv_output_shape,
                        pool_2d, pool_output_shape)
from blocks.ops.conv import border_padding, dilated_size, int_pair
from blocks.roles import FILTER, BIAS

__all__ = ['Convolutional', 'ConvolutionalTranspose', 'Pooling',
           'MaxPooling', 'AveragePooling', 'ConvolutionalSequence',
           'Flattener']


def _is_size(value):
    return (isinstance(value, numbers.Integral)
            and not isinstance(value, bool) and value > 0)


def _as_tuple(value):
    """Lists become tuples (so that ``(channels,) + size`` works); anything
    else is left for the checks to report."""
    return tuple(value) if isinstance(value, (list, tuple)) else value


def _check_pair(brick, name, value, minimum=1, allow_none=False):
    """`value`, a list or tuple, as a pair of ints >= `minimum` (1 or 0;
    None entries where allowed), else a ValueError naming the brick."""
    # Unlike the operations, bricks take no bare int for a pair (nor did
    # Blocks' bricks).
    if isinstance(value, (list, tuple)):
        try:
            return int_pair(value, name, minimum, allow_none)
        except ValueError:
            pass
    raise ValueError('{}: {} must be a pair of {} ints{}, got {!r}'.format(
        brick.path, name, 'positive' if minimum else 'non-negative',
        ' or None' if allow_none else '', value))


def _check_size(brick, name, value, allow_none=False):
    if not (_is_size(value) or (allow_none and value is None)):
        raise ValueError('{}: {} must be a positive int{}, got {!r}'.format(
            brick.path, name, ' or None' if allow_none else '', value))


class Convolutional(LinearLike):
    """A 2-d convolution of multi-channel images with a bank of filters.

    Parameters
    ----------
    filter_size : (int, int)
        The rows and columns of the filters.
    num_filters : int
        The number of filters, which is the number of output channels.
    num_channels : int
        The number of input channels (1 for grey images, 3 for RGB, the
        previous layer's number of filters ...).
    batch_size : int, optional
        The number of examples per batch, when always the same. It becomes
        part of the output's static shape and is checked at run time.
    image_size : (int or None, int or None), optional
        The rows and columns of the input images; None where they vary.
        Needed for untied biases. Known sizes become part of the output's
        static shape and are checked at run time.
    step : (int, int), optional
        The stride between output positions; (1, 1) by default.
    border_mode : {'valid', 'full', 'half'}, int or (int, int), optional
        ``'valid'`` (default) only places filters entirely inside the
        image; ``'full'`` wherever they overlap it (zero padding of filter
        size - 1); ``'half'`` pads with half the filter size (the output
        has the input's size for odd filters and step 1); ints give the
        zero padding of rows and columns.
    tied_biases : bool, optional
        True (default): one bias per filter. False: one bias per filter and
        output position, which needs `image_size`.
    filter_dilation : (int, int), optional
        The spacing of the filter taps on the image, rows and columns; a
        filter of size k then spans ``(k - 1) * dilation + 1`` pixels (and
        'full' and 'half' pad by that span). (1, 1) by default: adjacent
        pixels.

    Notes
    -----
    ``filter_size``, ``num_filters`` and ``num_channels`` may be set later
    as attributes (lazy allocation), which is how a
    :class:`ConvolutionalSequence` configures its layers.

    ``W`` has shape (num_filters, num_channels, rows, cols) and role
    FILTER; ``b`` has shape (num_filters,) or, untied, (num_filters,
    output rows, output cols) and role BIAS. The auxiliary variables
    ``W_norm`` and ``b_norm`` are their L2 norms.

    The filters are flipped (a true convolution, as in Blocks); the class
    attribute ``filter_flip`` turns this off.

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> from blocks.initialization import Constant
    >>> conv = Convolutional((3, 3), num_filters=2, num_channels=1,
    ...                      image_size=(5, 5), border_mode='half',
    ...                      weights_init=Constant(1.),
    ...                      biases_init=Constant(0.))
    >>> conv.initialize()
    >>> conv.get_dim('output')
    (2, 5, 5)
    >>> x = pt.tensor4('x')
    >>> y = conv.apply(x)
    >>> y.type.shape
    (None, 2, 5, 5)
    >>> y.eval({x: numpy.ones((1, 1, 5, 5))})[0, 0, 2]
    array([6., 9., 9., 9., 6.])

    """
    #: Flip the filters (a true convolution, as Theano's conv2d did)
    filter_flip = True

    @lazy(allocation=['filter_size', 'num_filters', 'num_channels'])
    def __init__(self, filter_size, num_filters, num_channels,
                 batch_size=None, image_size=(None, None), step=(1, 1),
                 border_mode='valid', tied_biases=True,
                 filter_dilation=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.filter_size = filter_size
        self.num_filters = num_filters
        self.num_channels = num_channels
        self.batch_size = batch_size
        self.image_size = image_size
        self.step = step
        self.border_mode = border_mode
        self.tied_biases = tied_biases
        self.filter_dilation = filter_dilation

    @property
    def image_size(self):
        """(rows, cols) of the input, None where unknown."""
        return self._image_size

    @image_size.setter
    def image_size(self, value):
        self._image_size = (None, None) if value is None else _as_tuple(value)

    @property
    def num_output_channels(self):
        return self.num_filters

    # Configuration

    def _check_configuration(self):
        """Raise ValueError naming the brick for any bad setting."""
        _check_pair(self, 'filter_size', self.filter_size)
        _check_size(self, 'num_filters', self.num_filters)
        _check_size(self, 'num_channels', self.num_channels)
        _check_size(self, 'batch_size', self.batch_size, allow_none=True)
        _check_pair(self, 'image_size', self.image_size, allow_none=True)
        _check_pair(self, 'step', self.step)
        _check_pair(self, 'filter_dilation', self.filter_dilation)
        self._output_image_size()  # checks border_mode

    def _filter_shape(self):
        """The shape of ``W``."""
        return ((self.num_filters, self.num_channels)
                + _as_tuple(self.filter_size))

    def _convolution_output_size(self, num_channels, image_size, filters):
        """Output (rows, cols) of a convolution of images of `image_size`
        with filters of shape `filters`, None where unknown."""
        try:
            shape = conv_output_shape(
                (None, num_channels) + tuple(image_size), filters,
                self.border_mode, _as_tuple(self.step),
                _as_tuple(self.filter_dilation))
        except ValueError as error:
            raise ValueError('{}: {}'.format(self.path, error)) from None
        return tuple(shape[2:])

    def _check_border_mode(self):
        self._convolution_output_size(None, (1, 1), (None, None, 1, 1))

    def _output_image_size(self):
        return self._convolution_output_size(
            self.num_channels, self.image_size, self._filter_shape())

    def get_dim(self, name):
        if name == 'input_':
            return (self.num_channels,) + self.image_size
        if name == 'output':
            self._check_config(['filter_size', 'num_filters'],
                               NoneAllocation, 'allocation')
            return (self.num_filters,) + self._output_image_size()
        return super().get_dim(name)

    # Allocation

    def _bias_shape(self):
        if self.tied_biases:
            return (self.num_filters,)
        output = self.get_dim('output')
        if None in output:
            raise ValueError(
                '{}: untied biases need the output size, but it is {} '
                '(image_size {}), so Cannot infer bias size; give '
                'image_size, or use tied_biases=True for images of varying '
                'size'.format(
                    self.path, output, self.image_size))
        return output

    def _allocate(self):
        self._check_configuration()
        self.add_parameter('W', self._filter_shape(), FILTER, norm=True)
        if self.use_bias:
            self.add_parameter('b', self._bias_shape(), BIAS, norm=True)

    # Application

    def _check_input(self, input_):
        rows, cols = self.image_size
        check_input(self, input_, ndim=4,
                    dims={0: self.batch_size, 1: self.num_channels,
                          2: rows, 3: cols})

    def _convolve(self, input_):
        return conv2d(input_, self.W,
                      input_shape=(self.batch_size, self.num_channels)
                      + self.image_size,
                      filter_shape=self._filter_shape(),
                      border_mode=self.border_mode,
                      subsample=_as_tuple(self.step),
                      filter_flip=self.filter_flip,
                      filter_dilation=_as_tuple(self.filter_dilation))

    @application(inputs=['input_'], outputs=['output'])
    def apply(self, input_):
        """Convolve a batch of images ``(batch, channels, rows, cols)``.

        Returns ``(batch, filters, rows, cols)``, the output image size
        depending on the border mode and the step (see :meth:`get_dim`).
        """
        self._check_input(input_)
        output = self._convolve(input_)
        if self.use_bias:
            # A static bias shape keeps the output's static shape known even
            # with a single filter (None + 1 would be unknown).
            b = pt.specify_shape(self.b, self._bias_shape())
            if self.tied_biases:
                output = output + b.dimshuffle('x', 0, 'x', 'x')
            else:
                output = output + pt.shape_padleft(b)
        return output


class ConvolutionalTranspose(Convolutional):
    """The transpose of a 2-d convolution (sometimes called a
    deconvolution): it maps the output of a convolution back to the size
    of its input.

    Its output is the gradient, with respect to its input, of a
    convolution with the same filters: the *corresponding convolution*
    maps images of `original_image_size` with `num_filters` channels to
    images of `image_size` with `num_channels` channels.

    Parameters
    ----------
    filter_size : (int, int)
        The rows and columns of the filters.
    num_filters : int
        The number of output channels (the corresponding convolution's
        input channels).
    num_channels : int
        The number of input channels (the corresponding convolution's
        filters).
    original_image_size : (int, int), optional
        The rows and columns of the output. By default, the smallest size
        that the corresponding convolution maps to `image_size`, plus
        `unused_edge`.
    unused_edge : (int, int), optional
        Rows and columns added to the inferred `original_image_size`: with
        a step larger than one, several image sizes give the same
        convolution output size, and the corresponding convolution ignores
        up to ``step - 1`` rows and columns at the bottom and right.
    step, border_mode, image_size, batch_size, tied_biases
        Those of the corresponding convolution (`image_size` is the size of
        this brick's input); see :class:`Convolutional`.

    Notes
    -----
    ``W`` has the shape of :class:`Convolutional`'s, (num_filters,
    num_channels, rows, cols), so that the brick with the filters of a
    convolution ``conv`` of ``num_channels`` filters, transposed on their
    first two axes, computes the transpose (adjoint) of ``conv``.
    Untied biases have shape (num_filters,) + original_image_size.

    Examples
    --------
    >>> import pytensor.tensor as pt
    >>> from blocks.initialization import Constant
    >>> deconv = ConvolutionalTranspose((3, 3), num_filters=1,
    ...                                 num_channels=4, image_size=(7, 7),
    ...                                 step=(2, 2),
    ...                                 weights_init=Constant(1.),
    ...                                 biases_init=Constant(0.))
    >>> deconv.get_dim('output')
    (1, 15, 15)
    >>> deconv.initialize()
    >>> deconv.apply(pt.tensor4('x')).type.shape
    (None, 1, 15, 15)

    """
    @lazy(allocation=['filter_size', 'num_filters', 'num_channels'])
    def __init__(self, filter_size, num_filters, num_channels,
                 original_image_size=None, unused_edge=(0, 0), **kwargs):
        super().__init__(filter_size, num_filters, num_channels, **kwargs)
        self.original_image_size = original_image_size
        self.unused_edge = unused_edge

    @property
    def original_image_size(self):
        """(rows, cols) of the output: as given, or inferred from
        `image_size`, `step`, `border_mode`, `filter_size` and
        `unused_edge`.

        Raises
        ------
        ValueError
            If it was not given and `image_size` is not known.

        """
        if self._original_image_size is not None:
            return self._original_image_size
        if None in self.image_size:
            raise ValueError(
                '{}: cannot infer original_image_size without image_size '
                '(got {}); give either'.format(self.path, self.image_size))
        filter_size = _check_pair(self, 'filter_size', self.filter_size)
        step = _check_pair(self, 'step', self.step)
        dilation = _check_pair(self, 'filter_dilation', self.filter_dilation)
        self._check_border_mode()
        edge = _as_tuple(self.unused_edge)
        padding = border_padding(self.border_mode, filter_size, dilation)
        # The smallest size the corresponding convolution maps to
        # image_size: invert (size + 2 p - span) // s + 1.
        return tuple(s * (size - 1) + e + dilated_size(k, d) - 2 * p
                     for size, s, e, k, d, p in zip(
                         self.image_size, step, edge, filter_size, dilation,
                         padding))

    @original_image_size.setter
    def original_image_size(self, value):
        self._original_image_size = None if value is None \
            else _as_tuple(value)

    def _corresponding_filter_shape(self):
        """The shape of the filters of the corresponding convolution."""
        return ((self.num_channels, self.num_filters)
                + _as_tuple(self.filter_size))

    def _expected_input_size(self):
        """(rows, cols) the input must have: what the corresponding
        convolution gives for the original image size."""
        return self._convolution_output_size(
            self.num_filters, self.original_image_size,
            self._corresponding_filter_shape())

    def _check_configuration(self):
        super()._check_configuration()
        _check_pair(self, 'unused_edge', self.unused_edge, minimum=0)
        original = self.original_image_size
        if not all(_is_size(size) for size in original):
            raise ValueError(
                '{}: original_image_size must be a pair of positive ints, '
                'got {!r}{}'.format(
                    self.path, original,
                    '' if self._original_image_size is not None else
                    ' (inferred from image_size {})'.format(self.image_size)))
        expected = self._expected_input_size()
        if any(given is not None and given != size
               for given, size in zip(self.image_size, expected)):
            raise ValueError(
                '{}: image_size {} does not match original_image_size {}: '
                'the corresponding convolution (filters {}, step {}, '
                'border_mode {!r}) maps it to {}'.format(
                    self.path, self.image_size, original, self.filter_size,
                    self.step, self.border_mode, expected))

    def get_dim(self, name):
        if name == 'output':
            try:
                return (self.num_filters,) + self.original_image_size
            except ValueError:
                return (self.num_filters, None, None)
        return super().get_dim(name)

    def _check_input(self, input_):
        self._check_configuration()
        rows, cols = self._expected_input_size()
        check_input(self, input_, ndim=4,
                    dims={0: self.batch_size, 1: self.num_channels,
                          2: rows, 3: cols})

    def _convolve(self, input_):
        filters = self.W.dimshuffle(1, 0, 2, 3)
        return conv2d_grad_wrt_inputs(
            input_, filters,
            input_shape=(self.batch_size, self.num_filters)
            + self.original_image_size,
            filter_shape=self._corresponding_filter_shape(),
            border_mode=self.border_mode, subsample=_as_tuple(self.step),
            filter_flip=self.filter_flip,
            filter_dilation=_as_tuple(self.filter_dilation))


class Pooling(Initializable, Feedforward):
    """Base class of the pooling bricks, which pool the last two axes of
    their input with a window of `pooling_size`; use :class:`MaxPooling`
    or :class:`AveragePooling`.

    Parameters
    ----------
    pooling_size : (int, int)
        The rows and columns of the pooling window.
    step : (int, int), optional
        The stride between windows; `pooling_size` by default (windows do
        not overlap).
    input_dim : (int or None, int or None, int or None), optional
        (channels, rows, cols) of one example, None where unknown; used by
        :meth:`get_dim` and to check inputs.
    ignore_border : bool, optional
        True (default) drops the windows that do not fit entirely in the
        (padded) image; False keeps partial windows at the bottom and right
        edges (a 5x5 image pooled 2x2 gives 3x3 instead of 2x2).
    padding : (int, int), optional
        Rows and columns of padding on each side, smaller than the window;
        needs ``ignore_border=True``. Padding never wins a maximum.

    Notes
    -----
    Pooling bricks have no parameters; like Blocks' they are
    :class:`~blocks.bricks.Initializable` so that they fit anywhere a
    convolutional layer does.

    """
    #: The mode of :func:`blocks.ops.pool_2d`
    mode = None

    @lazy(allocation=['pooling_size'])
    def __init__(self, pooling_size, step=None, input_dim=None,
                 ignore_border=True, padding=(0, 0), **kwargs):
        super().__init__(**kwargs)
        self.pooling_size = pooling_size
        self.step = step
        self.input_dim = input_dim
        self.ignore_border = ignore_border
        self.padding = padding

    @property
    def input_dim(self):
        """(channels, rows, cols) of one example, None where unknown."""
        return self._input_dim

    @input_dim.setter
    def input_dim(self, value):
        self._input_dim = (None,) * 3 if value is None else _as_tuple(value)

    @property
    def image_size(self):
        return self.input_dim[-2:]

    @image_size.setter
    def image_size(self, value):
        value = (None, None) if value is None else _as_tuple(value)
        self.input_dim = self.input_dim[:-2] + value

    @property
    def num_channels(self):
        return self.input_dim[0]

    @num_channels.setter
    def num_channels(self, value):
        self.input_dim = (value,) + self.input_dim[1:]

    @property
    def num_output_channels(self):
        return self.num_channels

    def __setstate__(self, state):
        # Pooling bricks pickled before these settings existed pooled with
        # partial windows at the edges and no padding (as Blocks' did).
        defaults = {'ignore_border': False, 'padding': (0, 0), 'step': None,
                    '_input_dim': (None,) * 3}
        super().__setstate__(dict(defaults, **state))

    def _pooled_size(self, input_dim):
        try:
            return pool_output_shape(
                input_dim, _as_tuple(self.pooling_size), self.ignore_border,
                _as_tuple(self.step), _as_tuple(self.padding))
        except ValueError as error:
            raise ValueError('{}: {}'.format(self.path, error)) from None

    def get_dim(self, name):
        if name == 'input_':
            return self.input_dim
        if name == 'output':
            self._check_config(['pooling_size'], NoneAllocation,
                               'allocation')
            return self._pooled_size(self.input_dim)
        return super().get_dim(name)

    def _allocate(self):
        self._pooled_size((None, None))  # checks the settings

    @application(inputs=['input_'], outputs=['output'])
    def apply(self, input_):
        """Pool the last two axes of `input_` (any ndim >= 2; a 4-d input
        is (batch, channels, rows, cols))."""
        dims = {-2: self.input_dim[-2], -1: self.input_dim[-1]}
        if input_.ndim == 4 and len(self.input_dim) == 3:
            dims[1] = self.num_channels
        check_input(self, input_, min_ndim=2, dims=dims,
                    dtype_kind='number')
        return pool_2d(input_, _as_tuple(self.pooling_size),
                       ignore_border=self.ignore_border,
                       stride=_as_tuple(self.step),
                       pad=_as_tuple(self.padding), mode=self.mode)


class MaxPooling(Pooling):
    """The maximum over each window of the last two axes.

    Parameters are those of :class:`Pooling`.

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> pool = MaxPooling((2, 2), input_dim=(3, 5, 5))
    >>> pool.get_dim('output')
    (3, 2, 2)
    >>> x = pt.matrix('x')
    >>> MaxPooling((2, 2)).apply(x).eval({x: numpy.arange(16.).reshape(4, 4)})
    array([[ 5.,  7.],
           [13., 15.]])

    """
    mode = 'max'

    @lazy(allocation=['pooling_size'])
    def __init__(self, pooling_size, step=None, input_dim=None,
                 ignore_border=True, padding=(0, 0), **kwargs):
        super().__init__(pooling_size, step=step, input_dim=input_dim,
                         ignore_border=ignore_border, padding=padding,
                         **kwargs)


class AveragePooling(Pooling):
    """The mean over each window of the last two axes.

    Parameters
    ----------
    include_padding : bool, optional
        Whether padded positions count in the divisor (False by default:
        each window is averaged over its pixels inside the image).

    Other parameters are those of :class:`Pooling`.

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> pool = AveragePooling((2, 2), padding=(1, 1))
    >>> x = pt.matrix('x')
    >>> pool.apply(x).eval({x: numpy.ones((2, 2))})
    array([[1., 1.],
           [1., 1.]])

    """
    @lazy(allocation=['pooling_size'])
    def __init__(self, pooling_size, step=None, input_dim=None,
                 ignore_border=True, padding=(0, 0), include_padding=False,
                 **kwargs):
        super().__init__(pooling_size, step=step, input_dim=input_dim,
                         ignore_border=ignore_border, padding=padding,
                         **kwargs)
        self.include_padding = include_padding

    @property
    def mode(self):
        return 'average_inc_pad' if self.include_padding \
            else 'average_exc_pad'


def _defines(obj, name):
    """Whether `obj` has attribute `name` without evaluating a property
    (which may fail before the brick is configured)."""
    return name in vars(obj) or any(name in vars(cls)
                                    for cls in type(obj).__mro__)


class ConvolutionalSequence(Sequence, Initializable, Feedforward):
    """A sequence of convolutional layers, each configured by the
    previous one.

    Parameters
    ----------
    layers : list of bricks
        :class:`Convolutional`, :class:`ConvolutionalTranspose`, pooling,
        :class:`~blocks.bricks.BatchNormalization` (and
        :class:`~blocks.bricks.SpatialBatchNormalization`) bricks, nested
        sequences, or any brick with ``image_size``, ``num_channels``,
        ``num_output_channels`` and ``get_dim('output')``; bare
        :class:`~blocks.bricks.Activation` bricks are applied as they are
        (they keep the shape).
    num_channels : int
        The number of channels of the input.
    batch_size : int, optional
        Given to every layer that takes one.
    image_size : (int or None, int or None), optional
        (rows, cols) of the input, None where unknown.
    border_mode : optional
        If given, set on every layer that has a border mode; otherwise the
        layers keep their own.
    tied_biases : bool, optional
        If given, set on every layer that has tied biases.

    Notes
    -----
    At :meth:`~blocks.bricks.Brick.push_allocation_config`, the layers are
    configured in order: each receives ``image_size`` and ``num_channels``
    (plus ``batch_size``, ``border_mode`` and ``tied_biases`` when it has
    them), and its ``get_dim('output')`` and ``num_output_channels`` give
    the next layer's. ``use_bias``, ``weights_init`` and ``biases_init``
    are pushed like those of any :class:`~blocks.bricks.Initializable`.
    Layers should therefore be built without their input sizes (lazily).

    Examples
    --------
    >>> from blocks.bricks import Rectifier
    >>> from blocks.initialization import Constant
    >>> sequence = ConvolutionalSequence(
    ...     [Convolutional((3, 3), 8), Rectifier(), MaxPooling((2, 2)),
    ...      Convolutional((3, 3), 4, border_mode='half')],
    ...     num_channels=3, image_size=(28, 28),
    ...     weights_init=Constant(0.1), biases_init=Constant(0.))
    >>> sequence.initialize()
    >>> sequence.layers[2].get_dim('output')
    (8, 13, 13)
    >>> sequence.get_dim('output')
    (4, 13, 13)

    """
    @lazy(allocation=['num_channels'])
    def __init__(self, layers, num_channels, batch_size=None,
                 image_size=None, border_mode=None, tied_biases=None,
                 **kwargs):
        # As in Blocks, a layer may be given as an application
        # (``pooling.apply``); the layer is its brick.
        layers = list(layers)
        self.layers = [layer.brick if isinstance(layer, BoundApplication)
                       else layer for layer in layers]
        self.num_channels = num_channels
        self.batch_size = batch_size
        self.image_size = image_size
        self.border_mode = border_mode
        self.tied_biases = tied_biases
        super().__init__(layers, **kwargs)

    def _input_image_size(self):
        return (None, None) if self.image_size is None \
            else _as_tuple(self.image_size)

    def _push_layer_settings(self):
        """batch_size, and border_mode and tied_biases when given: the
        settings that do not depend on the input's geometry."""
        for layer in self.layers:
            if isinstance(layer, Activation):
                continue
            for name in ('batch_size', 'border_mode', 'tied_biases'):
                value = getattr(self, name)
                if _defines(layer, name) and (value is not None
                                              or name == 'batch_size'):
                    setattr(layer, name, value)

    def _configure(self, layer, num_channels, image_size):
        missing = [name for name in ('image_size', 'num_channels',
                                     'num_output_channels')
                   if not _defines(layer, name)]
        if missing:
            raise ValueError(
                '{}: layer {} is neither convolutional nor an activation: '
                'it lacks {}'.format(self.path, layer.path,
                                     ', '.join(missing)))
        layer.image_size = image_size
        layer.num_channels = num_channels

    def push_allocation_config(self):
        """Push the configuration to the layers. As in Blocks, the
        settings that need no geometry (``border_mode`` ...) reach them even
        while ``num_channels`` is not known; the rest waits for it, and
        :meth:`allocate` reports it missing."""
        self._push_layer_settings()
        if self.num_channels is NoneAllocation:
            return
        super().push_allocation_config()

    def allocate(self):
        self._check_config(['num_channels'], NoneAllocation, 'allocation')
        super().allocate()

    def _push_allocation_config(self):
        super()._push_allocation_config()
        self._push_layer_settings()
        num_channels = self.num_channels
        image_size = self._input_image_size()
        for layer in self.layers:
            if isinstance(layer, Activation):
                continue
            self._configure(layer, num_channels, image_size)
            # Let the layer configure its own children before it is asked
            # for its output size (a nested sequence needs this).
            layer._push_allocation_config()
            image_size = tuple(layer.get_dim('output'))[-2:]
            num_channels = layer.num_output_channels

    def _last_shaping_layer(self):
        """The last layer that is not an activation, or None."""
        for layer in reversed(self.layers):
            if not isinstance(layer, Activation):
                return layer
        return None

    def get_dim(self, name):
        """``'input_'`` or ``'output'``: (channels, rows, cols), None
        where unknown. The output is read from the layers, configured
        first if the configuration was never pushed."""
        if name == 'input_':
            return (self.num_channels,) + self._input_image_size()
        if name == 'output':
            if not self.allocation_config_pushed:
                self._check_config(['num_channels'], NoneAllocation,
                                   'allocation')
                self.push_allocation_config()
            layer = self._last_shaping_layer()
            if layer is None:
                return self.get_dim('input_')
            return tuple(layer.get_dim('output'))
        return super().get_dim(name)

    @property
    def num_output_channels(self):
        layer = self._last_shaping_layer()
        if layer is None:
            return self.num_channels
        return layer.num_output_channels


class Flattener(Brick):
    """Flatten all the axes but the first (the batch axis), for instance to
    feed feature maps to an :class:`~blocks.bricks.MLP`.

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> x = pt.tensor4('x', shape=(None, 2, 3, 4))
    >>> y = Flattener().apply(x)
    >>> y.type.shape
    (None, 24)
    >>> y.eval({x: numpy.zeros((5, 2, 3, 4))}).shape
    (5, 24)

    """
    @application(inputs=['input_'], outputs=['output'])
    def apply(self, input_):
        """Reshape `input_` to (batch, features)."""
        check_input(self, input_, min_ndim=2, dtype_kind=None)
        trailing = input_.type.shape[1:]
        if None in trailing:
            return pt.flatten(input_, ndim=2)
        # A constant feature size keeps the output's static shape.
        size = 1
        for dim in trailing:
            size *= dim
        return input_.reshape((input_.shape[0], size))
