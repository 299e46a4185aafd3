r"""Batch normalization bricks.

A :class:`BatchNormalization` brick computes

.. math:: y = \gamma \frac{x - \mu}{\sigma} + \beta

per feature. In *inference mode* (the default) :math:`\mu` and
:math:`\sigma` are the population statistics ``population_mean`` and
``population_stdev`` (no epsilon is added: the stdev already contains it).
In *training mode* they are the statistics of the minibatch,
:math:`\mu_B` and :math:`\sigma_B = \sqrt{\mathrm{Var}_B(x) + \epsilon}`
with the biased two-pass variance. Training mode is switched on with
``with brick:``, :func:`blocks.graph.bn.batch_normalization` or the graph
rewrite :func:`blocks.graph.bn.apply_batch_normalization`.

Masked statistics (padded sequences)
------------------------------------
``apply(input_, mask)`` takes a mask of 1 (real position) and 0 (padding)
shaped like the input on the normalization axes, the input's shape
without its feature axes: ``(time, batch)`` for a ``(time, batch,
features)`` input with ``input_dim=(None, features)`` and
``broadcastable=(True, False)``, ``(batch, height, width)`` for a spatial
brick. In training mode the statistics average the real positions only,
:math:`\mu_B = \sum m x / \sum m` and the biased variance likewise, so that
padding does not bias them; every position is normalized. Inference mode
ignores the mask's values. The population updates and the exact
re-estimation use the masked statistics (and count the real positions).
A masked application always uses the plain expression (the fused operation
has no mask).

Two formulations of training mode (``conserve_memory``)
-------------------------------------------------------
``conserve_memory=True`` (the default) computes training mode with the
fused operation :func:`blocks.ops.batch_normalization_train`, whose gradient
is the closed form

.. math:: \frac{\partial L}{\partial x} = \frac{1}{\sigma_B}\left(
   g - \overline{g} - \hat{x}\,\overline{g\hat{x}}\right),\quad
   g = \gamma \frac{\partial L}{\partial y},\quad
   \hat x = \frac{x - \mu_B}{\sigma_B}

computed by a second operation from the input and the per-feature
statistics alone: the backward pass keeps nothing input-sized from the
forward pass. Each layer is then two graph nodes instead of the hundred or
so of the automatic gradient, which makes deep networks compile several
times faster. ``conserve_memory=False`` builds the plain expression
``(x - mean) * (scale / stdev) + shift`` and lets automatic differentiation
derive the gradient. Both run in every compile mode (the fused operations
have JAX implementations, :mod:`blocks.ops.jax`). Inference mode and
``mean_only`` bricks always use the plain expression (their backward pass
keeps nothing input-sized).

The fused path also peaks lower in memory and steps faster than the plain
one; the measurements (``python -m benchmarks.bn_memory``) are in
``benchmarks/results.md``, section "Batch normalization:
conserve_memory".

"""
import numbers
from collections import OrderedDict

import numpy
import pytensor.tensor as pt
from pytensor.raise_op import Assert

from blocks.bricks.base import application, lazy, NoneAllocation
from blocks.bricks.interfaces import Feedforward, RNGMixin
from blocks.bricks.sequences import MLP, Sequence
from blocks.annotations import add_annotation
from blocks.initialization import Constant
from blocks.ops.batch_norm import (batch_normalization_train,
                                    check_epsilon, minibatch_statistics,
                                    normalize)
from blocks.roles import (add_role, BATCH_NORM_POPULATION_MEAN,
                          BATCH_NORM_POPULATION_STDEV, BATCH_NORM_OFFSET,
                          BATCH_NORM_DIVISOR, BATCH_NORM_MINIBATCH_ESTIMATE,
                          BATCH_NORM_SCALE_PARAMETER,
                          BATCH_NORM_SHIFT_PARAMETER)
from blocks.utils import shared_floatx, floatx

__all__ = ['BatchNormalization', 'SpatialBatchNormalization',
           'BatchNormalizedMLP', 'load_pytorch_state', 'pytorch_state']


class BatchNormalization(RNGMixin, Feedforward):
    r"""Normalize the input by its mean and standard deviation per feature.

    Parameters
    ----------
    input_dim : int or tuple of int
        The shape of one example; the batch axis is prepended. May be given
        later (lazy allocation).
    broadcastable : tuple of bool, optional
        One flag per axis of `input_dim`; True means "also average over this
        axis" (the statistics then have size 1 on it). All False by default.
    conserve_memory : bool, optional
        Compute training mode with the fused operation, whose backward pass
        keeps nothing input-sized from the forward pass (True, default), or
        with the plain expression (False); see the module documentation.
    epsilon : float, optional
        Added to the minibatch variance in training mode (1e-4).
    scale_init, shift_init : initialization schemes, optional
        ``Constant(1)`` and ``Constant(0)`` by default.
    mean_only : bool, optional
        Only subtract the mean: no scale, no division, no stdev statistic.
    learn_scale, learn_shift : bool, optional
        When False, the scale (shift) is the constant 1 (0) instead of a
        parameter.

    Attributes
    ----------
    scale, shift : variables
        Shared variables with roles BATCH_NORM_SCALE_PARAMETER and
        BATCH_NORM_SHIFT_PARAMETER (or constants when not learned).
    population_mean, population_stdev : shared variables
        Zeros and ones with roles BATCH_NORM_POPULATION_MEAN and
        BATCH_NORM_POPULATION_STDEV. They are not parameters (gradient
        descent never trains them) but are in :attr:`persistent_variables`,
        so models and checkpoints save and restore them.

    Notes
    -----
    The brick is a context manager: ``with brick:`` pushes a training-mode
    flag on a stack and applications inside the block use minibatch
    statistics. Each application records in its call's metadata
    ``training_mode`` (bool), ``offset`` and ``divisor`` (the statistics
    used, without the batch axis, typed like the population variables;
    ``divisor`` is None for ``mean_only``). The statistics carry the roles
    BATCH_NORM_OFFSET and BATCH_NORM_DIVISOR, plus
    BATCH_NORM_MINIBATCH_ESTIMATE in training mode.

    The fused operation computes the statistics itself, so it is used only
    while ``_compute_training_statistics`` is this class's own: a subclass
    that overrides that method (to compute its statistics differently) is
    detected and gets the plain expression, whatever `conserve_memory`.

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> bn = BatchNormalization(input_dim=2)
    >>> bn.initialize()
    >>> x = pt.matrix('x')
    >>> data = numpy.array([[1., 10.], [3., 30.]])
    >>> bn.apply(x).eval({x: data})  # inference mode: a fresh brick is id
    array([[ 1., 10.],
           [ 3., 30.]])
    >>> with bn:
    ...     y = bn.apply(x)
    >>> y.eval({x: data}).round(3)
    array([[-1., -1.],
           [ 1.,  1.]])

    """
    @lazy(allocation=['input_dim'])
    def __init__(self, input_dim, broadcastable=None, conserve_memory=True,
                 epsilon=1e-4, scale_init=None, shift_init=None,
                 mean_only=False, learn_scale=True, learn_shift=True,
                 **kwargs):
        super().__init__(**kwargs)
        self.input_dim = input_dim
        self.broadcastable = broadcastable
        self.conserve_memory = conserve_memory
        check_epsilon(epsilon, where=self.path)
        self.epsilon = epsilon
        self.scale_init = Constant(1) if scale_init is None else scale_init
        self.shift_init = Constant(0) if shift_init is None else shift_init
        self.mean_only = mean_only
        self.learn_scale = learn_scale
        self.learn_shift = learn_shift
        self._training_mode = []

    # Training-mode stack

    def __enter__(self):
        self._training_mode.append(True)
        return self

    def __exit__(self, *exc_info):
        self._training_mode.pop()

    @property
    def training_mode(self):
        """Whether applications built now use minibatch statistics."""
        return bool(self._training_mode)

    # Shapes

    def _input_shape(self):
        """input_dim as a tuple."""
        if isinstance(self.input_dim, numbers.Integral):
            return (self.input_dim,)
        return tuple(self.input_dim)

    def _broadcastable_pattern(self):
        shape = self._input_shape()
        if self.broadcastable is None:
            return (False,) * len(shape)
        pattern = tuple(bool(flag) for flag in self.broadcastable)
        if len(pattern) != len(shape):
            raise ValueError(
                '{}: input_dim and broadcastable must be same length: '
                'input_dim {!r} has {} axes, broadcastable {!r} has {}'.format(
                    self.path, self.input_dim, len(shape),
                    self.broadcastable, len(pattern)))
        return pattern

    @property
    def normalization_axes(self):
        """The axes averaged over in training mode: the batch axis and every
        broadcastable axis. Subclasses may override it."""
        return (0,) + tuple(i + 1 for i, flag in
                            enumerate(self._broadcastable_pattern()) if flag)

    @property
    def output_dim(self):
        """The output has the input's shape."""
        return self.input_dim

    @property
    def image_size(self):
        """The last two entries of input_dim (for ConvolutionalSequence);
        setting it on a brick without input_dim gives ``(None,) + size``."""
        return self._input_shape()[-2:]

    @image_size.setter
    def image_size(self, value):
        if self.input_dim is NoneAllocation or isinstance(
                self.input_dim, numbers.Integral):
            self.input_dim = (None,) + tuple(value)
        else:
            self.input_dim = tuple(self.input_dim[:-2]) + tuple(value)

    @property
    def num_channels(self):
        """The first entry of input_dim (for ConvolutionalSequence); setting
        it on a brick without input_dim gives ``(channels, None, None)``."""
        return self._input_shape()[0]

    @num_channels.setter
    def num_channels(self, value):
        if self.input_dim is NoneAllocation or isinstance(
                self.input_dim, numbers.Integral):
            self.input_dim = (value, None, None)
        else:
            self.input_dim = (value,) + tuple(self.input_dim[1:])

    @property
    def num_output_channels(self):
        """The number of channels of the output: that of the input."""
        return self.num_channels

    def get_dim(self, name):
        if name in ('input_', 'output'):
            return self.input_dim
        raise ValueError('{}: unknown dimension {!r}; a batch normalization '
                         'brick knows input_ and output'.format(
                             self.path, name))

    # Lifecycle

    def _check_input_dim(self):
        """Sizes must be known on the axes that have their own statistics;
        averaged (broadcastable) axes may be None, so that a spatial brick
        works on images of any size."""
        shape = self._input_shape()
        pattern = self._broadcastable_pattern()
        if not shape or not all(
                (flag and dim is None)
                or (isinstance(dim, numbers.Integral)
                    and not isinstance(dim, bool) and dim > 0)
                for dim, flag in zip(shape, pattern)):
            raise ValueError('{}: input_dim must be a positive int or a tuple '
                             'of them (None allowed on averaged axes), got '
                             '{!r}'.format(self.path, self.input_dim))

    def _allocate(self):
        self._check_input_dim()
        check_epsilon(self.epsilon, where=self.path)
        pattern = self._broadcastable_pattern()
        var_dim = tuple(1 if flag else dim
                        for dim, flag in zip(self._input_shape(), pattern))
        if self.learn_scale and not self.mean_only:
            self.scale = self.add_parameter(
                'batch_norm_scale', var_dim, BATCH_NORM_SCALE_PARAMETER,
                broadcastable=pattern)
        else:
            self.scale = pt.constant(floatx(1), name='batch_norm_scale')
        if self.learn_shift:
            self.shift = self.add_parameter(
                'batch_norm_shift', var_dim, BATCH_NORM_SHIFT_PARAMETER,
                broadcastable=pattern)
        else:
            self.shift = pt.constant(floatx(0), name='batch_norm_shift')
        self._allocate_population_statistics(var_dim, pattern)

    def _allocate_population_statistics(self, var_dim, pattern):
        # Persistent but not parameters: gradient descent must not train
        # them, so they are annotated with the brick without joining
        # ``self.parameters``.
        self.population_mean = shared_floatx(
            numpy.zeros(var_dim), name='population_mean',
            broadcastable=pattern)
        add_role(self.population_mean, BATCH_NORM_POPULATION_MEAN)
        add_annotation(self.population_mean, self)
        if self.mean_only:
            self.population_stdev = None
            return
        self.population_stdev = shared_floatx(
            numpy.ones(var_dim), name='population_stdev',
            broadcastable=pattern)
        add_role(self.population_stdev, BATCH_NORM_POPULATION_STDEV)
        add_annotation(self.population_stdev, self)

    def _initialize(self):
        if self._learns_scale:
            self.scale_init.initialize(self.scale, self.rng)
        if self.learn_shift:
            self.shift_init.initialize(self.shift, self.rng)

    @property
    def _learns_scale(self):
        return self.learn_scale and not self.mean_only

    @property
    def population_statistics(self):
        """The population variables: mean, and stdev unless mean_only."""
        return [var for var in (self.population_mean,
                                getattr(self, 'population_stdev', None))
                if var is not None]

    @property
    def persistent_variables(self):
        variables = list(super().persistent_variables)
        if self.allocated:
            variables.extend(self.population_statistics)
        return variables

    # Application

    def _check_input(self, input_):
        expected = len(self._input_shape()) + 1
        if input_.ndim != expected:
            raise ValueError(
                '{}: expected an input with {} axes (a batch axis plus '
                'input_dim {!r}), got {} axes ({})'.format(
                    self.path, expected, self.input_dim, input_.ndim,
                    input_.type))
        for axis, (dim, static) in enumerate(zip(self._input_shape(),
                                                 input_.type.shape[1:])):
            if static is not None and dim is not None and static != dim:
                raise ValueError(
                    '{}: input axis {} has size {} but input_dim {!r} says '
                    '{}'.format(self.path, axis + 1, static, self.input_dim,
                                dim))

    def _compute_training_statistics(self, input_, axes=None, weights=None):
        """Minibatch mean and stdev, keeping the reduced axes (stdev is
        None for mean_only), weighted by a broadcast mask if given.
        Subclasses may override this; the fused conserve_memory operation
        is then not used."""
        axes = self.normalization_axes if axes is None else axes
        return minibatch_statistics(input_, axes, self.epsilon,
                                    self.mean_only, weights=weights)

    def _check_mask(self, input_, mask):
        """The input, checked at run time against the mask (which must have
        its shape on the normalization axes), and the mask as weights of
        the input's ndim and dtype (size 1 on the feature axes).

        What static shapes tell is checked now. The run-time check sits on
        the input in both modes, which also keeps the mask in inference
        graphs, for :func:`~blocks.graph.apply_batch_normalization` to
        find."""
        axes = self.normalization_axes
        expected = tuple(input_.type.shape[axis] for axis in axes)
        if mask.ndim != len(axes):
            raise ValueError(
                '{}: the mask must have the input\'s shape on the '
                'normalization axes {}, {} axes; got {} axes ({})'.format(
                    self.path, axes, len(axes), mask.ndim, mask.type))
        if any(known is not None and given is not None and known != given
               for known, given in zip(expected, mask.type.shape)):
            raise ValueError(
                '{}: the mask must have the input\'s shape on the '
                'normalization axes {}: {}, got {}'.format(
                    self.path, axes, expected, mask.type.shape))
        if not (mask.dtype.startswith(('float', 'int', 'uint'))
                or mask.dtype == 'bool'):
            raise TypeError('{}: the mask must be numeric (1 for real '
                            'positions, 0 for padding), got {}'.format(
                                self.path, mask.type))
        same_shape = pt.all(pt.eq(
            pt.stack([mask.shape[i] for i in range(len(axes))]),
            pt.stack([input_.shape[axis] for axis in axes])))
        checked = Assert(
            '{}: the mask must have the input\'s shape on the normalization '
            'axes {}'.format(self.path, axes))(input_, same_shape)
        pattern = ['x'] * input_.ndim
        for position, axis in enumerate(axes):
            pattern[axis] = position
        return checked, pt.cast(mask, input_.dtype).dimshuffle(pattern)

    def _check_enough_values(self, input_, weights):
        """The input, checked to hold at least two values per feature on
        the normalization axes (real positions only, with a mask): with one
        the output is 0, the layers below get no gradient and the
        population stdev collapses; with none every statistic is NaN.
        Static shapes are checked now, the others when the function
        runs."""
        axes = self.normalization_axes
        message = (
            '{}: training-mode batch normalization needs at least 2 values '
            'per feature on the normalization axes {} (real positions only, '
            'with a mask); the batch has fewer: it is empty, or one example '
            'with nothing else to average over. Its statistics would be NaN '
            'or its output 0, and the population statistics spoilt. '
            'Normalize single examples in inference mode, use larger '
            'batches, or normalize each example on its own axes'.format(
                self.path, axes))
        if weights is not None:
            count = weights.sum()
        else:
            static = [input_.type.shape[axis] for axis in axes]
            if None not in static and numpy.prod(static) < 2:
                raise ValueError(message)
            count = pt.prod(pt.stack([input_.shape[axis] for axis in axes]))
        return Assert(message)(input_, pt.ge(count, 2))

    def _population_statistics_padded(self):
        mean = pt.shape_padleft(self.population_mean)
        stdev = (None if self.mean_only
                 else pt.shape_padleft(self.population_stdev))
        return mean, stdev

    def _uses_fused_operation(self):
        return (self.conserve_memory and not self.mean_only
                and type(self)._compute_training_statistics
                is BatchNormalization._compute_training_statistics)

    @application(inputs=['input_', 'mask'], outputs=['output'])
    def apply(self, input_, application_call, mask=None):
        """Normalize `input_` with population statistics, or with minibatch
        statistics in training mode.

        Parameters
        ----------
        input_ : tensor variable
            A batch axis followed by `input_dim`.
        mask : tensor variable, optional
            1 for the real positions, 0 for padding, shaped like the input
            on the normalization axes (``(time, batch)`` for a
            ``(time, batch, features)`` input whose time axis is
            broadcastable; ``(batch, height, width)`` for a spatial
            brick). In training mode the statistics average the real
            positions only; every position is normalized. Inference mode
            ignores it.

        """
        self._check_input(input_)
        weights = None
        if mask is not None:
            input_, weights = self._check_mask(input_, mask)
        training = self.training_mode
        if training:
            input_ = self._check_enough_values(input_, weights)
        scale = self.scale if self._learns_scale else None
        shift = self.shift if self.learn_shift else None
        if training and weights is None and self._uses_fused_operation():
            output, mean, stdev = batch_normalization_train(
                input_, scale, shift, self.normalization_axes, self.epsilon)
        else:
            if training and weights is not None:
                mean, stdev = self._compute_training_statistics(
                    input_, weights=weights)
            elif training:
                mean, stdev = self._compute_training_statistics(input_)
            else:
                mean, stdev = self._population_statistics_padded()
            output = normalize(
                input_, mean, stdev,
                *[None if parameter is None else pt.shape_padleft(parameter)
                  for parameter in (scale, shift)])
        self._annotate_statistics(application_call, training, mean, stdev)
        return output

    def _annotate_statistics(self, call, training, mean, stdev):
        call.metadata['training_mode'] = training
        prefix = 'minibatch' if training else 'population'
        for variable, role, name in ((mean, BATCH_NORM_OFFSET, 'mean'),
                                     (stdev, BATCH_NORM_DIVISOR, 'stdev')):
            if variable is None:
                continue
            variable.name = '{}_{}_{}'.format(self.name, prefix, name)
            if training:
                add_role(variable, BATCH_NORM_MINIBATCH_ESTIMATE)
            add_role(variable, role)
            add_annotation(variable, self)
            add_annotation(variable, call)
        call.metadata['offset'] = self._like_population(mean)
        call.metadata['divisor'] = (None if stdev is None
                                    else self._like_population(stdev))

    def _like_population(self, statistic):
        """Drop the batch axis so that `statistic` can update the
        population variables (same ndim and broadcastable pattern)."""
        return statistic[0]


class SpatialBatchNormalization(BatchNormalization):
    """Batch normalization with one statistic per channel, for input of
    shape ``(batch, channel, *spatial)``.

    ``input_dim`` must have at least two axes, (channels, height, width)
    say; every axis but the channel axis is averaged over, whatever
    `broadcastable` says.

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> bn = SpatialBatchNormalization(input_dim=(3, 4, 4))
    >>> bn.initialize()
    >>> bn.population_mean.get_value().shape
    (3, 1, 1)

    """
    def _allocate(self):
        if (isinstance(self.input_dim, numbers.Integral)
                or self.input_dim is NoneAllocation
                or len(self.input_dim) < 2):
            raise ValueError(
                '{}: expected input_dim to be length >= 2 e.g. (channels, '
                'height, width), got {!r}'.format(self.path, self.input_dim))
        self.broadcastable = (False,) + (True,) * (len(self.input_dim) - 1)
        super()._allocate()


class BatchNormalizedMLP(MLP):
    """An MLP whose activations are each preceded by batch normalization.

    Parameters
    ----------
    activations : list of bricks or None
        As in :class:`~blocks.bricks.MLP`; ``None`` means batch
        normalization alone.
    dims : list of int
        As in :class:`~blocks.bricks.MLP`.
    conserve_memory : bool, optional
        Given to every batch normalization brick, at once and whenever it is
        set (it matters at application time).
    mean_only, learn_scale, learn_shift : bool, optional
        Given to every batch normalization brick at allocation.

    Notes
    -----
    The Linear layers have no biases by default (``use_bias=False``): the
    shift of the following batch normalization plays their role. Each
    activation ``act`` becomes ``Sequence([bn.apply, act.apply],
    name='batch_norm_activation_{i}')``.

    Examples
    --------
    >>> from blocks.bricks import Tanh, Logistic
    >>> from blocks.initialization import IsotropicGaussian
    >>> mlp = BatchNormalizedMLP([Tanh(), Logistic()], [4, 5, 3],
    ...                          weights_init=IsotropicGaussian(0.1))
    >>> mlp.initialize()
    >>> [bn.input_dim for bn in mlp.batch_normalizations]
    [5, 3]

    """
    @lazy(allocation=['dims'])
    def __init__(self, activations, dims, *args, conserve_memory=True,
                 mean_only=False, learn_scale=True, learn_shift=True,
                 **kwargs):
        self.batch_normalizations = [
            BatchNormalization(conserve_memory=conserve_memory)
            for _ in activations]
        wrapped = []
        for i, (bn, activation) in enumerate(zip(self.batch_normalizations,
                                                 activations)):
            methods = [bn.apply]
            if activation is not None:
                methods.append(activation)  # a brick or an application
            wrapped.append(Sequence(methods,
                                    name='batch_norm_activation_{}'.format(i)))
        self._conserve_memory = conserve_memory
        self.mean_only = mean_only
        self.learn_scale = learn_scale
        self.learn_shift = learn_shift
        kwargs.setdefault('use_bias', False)
        super().__init__(wrapped, dims, *args, **kwargs)

    @property
    def conserve_memory(self):
        """Whether the batch normalizations use the memory-saving training
        operation; setting it sets it on every one of them."""
        return self._conserve_memory

    @conserve_memory.setter
    def conserve_memory(self, value):
        self._conserve_memory = value
        for bn in self.batch_normalizations:
            bn.conserve_memory = value

    def _push_allocation_config(self):
        super()._push_allocation_config()
        for bn, dim in zip(self.batch_normalizations, self.dims[1:]):
            bn.input_dim = dim
            bn.mean_only = self.mean_only
            bn.learn_scale = self.learn_scale
            bn.learn_shift = self.learn_shift


def _per_feature(brick, name, value, variable):
    """`value` reshaped to `variable`'s shape, which must hold as many
    elements."""
    value = numpy.asarray(value, dtype='float64')
    shape = variable.get_value(borrow=True).shape
    if value.size != numpy.prod(shape, dtype=int):
        raise ValueError('{}: {} has {} elements, the brick expects shape {}'
                         .format(brick.path, name, value.size, shape))
    return value.reshape(shape).astype(variable.dtype)


def load_pytorch_state(brick, state, set_epsilon=True):
    """Load a PyTorch-style batch normalization state into a brick.

    Parameters
    ----------
    brick : :class:`BatchNormalization`
        An allocated (or allocatable) brick with one statistic per feature
        (per channel for :class:`SpatialBatchNormalization`).
    state : dict
        ``running_mean``, ``running_var`` and optionally ``weight``,
        ``bias`` and ``eps`` (1e-5 by default, PyTorch's); arrays or
        anything :func:`numpy.asarray` accepts (CPU tensors included).
        ``num_batches_tracked`` is ignored.
    set_epsilon : bool, optional
        Also set the brick's ``epsilon`` to ``eps``, so that training mode
        matches PyTorch's too.

    Notes
    -----
    ``population_stdev = sqrt(running_var + eps)``, so that inference
    outputs equal PyTorch's ``eval()`` outputs.

    Examples
    --------
    >>> bn = BatchNormalization(input_dim=2)
    >>> load_pytorch_state(bn, {'running_mean': [1., 2.],
    ...                         'running_var': [4., 9.], 'eps': 0.})
    Traceback (most recent call last):
    ...
    ValueError: /batchnormalization: eps must be positive, got 0.0
    >>> load_pytorch_state(bn, {'running_mean': [1., 2.],
    ...                         'running_var': [3.99999, 8.99999],
    ...                         'eps': 1e-5})
    >>> bn.population_stdev.get_value()
    array([2., 3.])

    """
    if not brick.allocated:
        brick.allocate()
    eps = float(state.get('eps', 1e-5))
    if not eps > 0:
        raise ValueError('{}: eps must be positive, got {!r}'.format(
            brick.path, eps))
    values = [(brick.population_mean, _per_feature(
        brick, 'running_mean', state['running_mean'], brick.population_mean))]
    if not brick.mean_only:
        variance = _per_feature(brick, 'running_var', state['running_var'],
                                brick.population_stdev)
        if numpy.any(variance < 0):
            raise ValueError('{}: running_var has negative values'.format(
                brick.path))
        values.append((brick.population_stdev,
                       numpy.sqrt(variance.astype('float64') + eps).astype(
                           brick.population_stdev.dtype)))
    for key, variable, learned in (('weight', brick.scale,
                                    brick._learns_scale),
                                   ('bias', brick.shift, brick.learn_shift)):
        if state.get(key) is None:
            continue
        if not learned:
            raise ValueError('{}: the state has a {} but the brick does not '
                             'learn it'.format(brick.path, key))
        values.append((variable, _per_feature(brick, key, state[key],
                                              variable)))
    for variable, value in values:
        variable.set_value(value)
    if set_epsilon:
        brick.epsilon = eps


def pytorch_state(brick):
    """The state of a brick in PyTorch's convention (numpy arrays): the
    inverse of :func:`load_pytorch_state` (``running_var`` is
    ``population_stdev**2 - epsilon``, flattened per feature)."""
    state = OrderedDict()
    state['running_mean'] = brick.population_mean.get_value().ravel()
    if not brick.mean_only:
        stdev = brick.population_stdev.get_value().astype('float64').ravel()
        state['running_var'] = numpy.maximum(
            stdev ** 2 - brick.epsilon, 0).astype(
                brick.population_stdev.dtype)
    if brick._learns_scale:
        state['weight'] = brick.scale.get_value().ravel()
    if brick.learn_shift:
        state['bias'] = brick.shift.get_value().ravel()
    state['eps'] = brick.epsilon
    return state
