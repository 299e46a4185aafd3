r"""Recurrent batch normalization (Cooijmans et al. 2016).

The batch-normalized LSTM normalizes, at every time step, the
input-to-hidden and the hidden-to-hidden terms separately, and the cell
before the output nonlinearity:

.. math::

    a_t &= BN(x_t; \gamma_x, 0) + BN(h_{t-1} W_h; \gamma_h, \beta_h) \\
    i &= g(a_0), \quad f = g(a_1), \quad \tilde c = \phi(a_2), \quad
    o = g(a_3) \\
    c_t &= f \odot c_{t-1} + i \odot \tilde c, \quad
    h_t = o \odot \phi(BN(c_t; \gamma_c, \beta_c))

where :math:`x_t` is the step's input, already projected (``W_x x``: give a
:class:`~blocks.bricks.Linear` without bias in front, as for
:class:`~blocks.bricks.recurrent.LSTM`), :math:`\beta_h` plays the LSTM's
bias and :math:`BN` uses the statistics of the minibatch *at this time
step* in training mode. The gates are in Blocks' LSTM order, input,
forget, candidate, output (the paper writes f, i, o, g: its blocks
``[f; i; o; g]`` are our blocks 1, 0, 3, 2); there are no peepholes (the
paper has none).

Population statistics (inference mode) are kept **per time step**: every
normalization owns ``population_mean`` and ``population_stdev`` of shape
``(T_max, features)``; step t uses row ``min(t, T_max - 1)``, so that steps
at or beyond ``T_max`` share the last row. The scales and shifts are shared
over time; the scales start at 0.1, the paper's initialization (1 saturates
the tanh and makes gradients vanish), the shifts at 0.

Per-step statistics fail where a term barely varies over the training
sequences at some step (blank image rows, padding, identical initial
states): its population variance there is near zero, and inference
magnifies any difference. Two options of :class:`BatchNormalizedLSTM`
address this: input-term statistics shared over time (the paper's BN-e*)
and noise on the initial states in training (the paper's sequential
MNIST setup).

Training mode is switched on as for feedforward batch normalization: ``with
lstm:``, :func:`~blocks.graph.bn.batch_normalization` or the rewrite
:func:`~blocks.graph.bn.apply_batch_normalization` (which rebuilds the
loop in training mode). In training mode the loop also outputs each step's
statistics and number of real positions; the graph tools turn them into
estimates of the population rows (:func:`~blocks.graph.bn.per_step_estimate`),
so :func:`~blocks.graph.bn.get_batch_normalization_updates` gives one
``(population, estimate)`` pair per statistic, each with the time axis,
and moving averages and exact re-estimation work row by row (a row no step
of a batch reaches is left as it is). With a mask, each step's statistics
use the sequences that are still running at that step.
"""
import numbers

import pytensor
import pytensor.tensor as pt

from blocks.bricks.base import application, lazy
from blocks.bricks.bn import BatchNormalization
from blocks.bricks.interfaces import Initializable
from blocks.bricks.recurrent.architectures import LSTMDimensions
from blocks.bricks.simple import Logistic, Tanh
from blocks.initialization import Constant
from blocks.ops.batch_norm import minibatch_statistics, normalize
from blocks.roles import INITIAL_STATE, WEIGHT
from blocks.utils.random_streams import RandomStream

__all__ = ['RecurrentBatchNormalization', 'BatchNormalizedLSTM']


class RecurrentBatchNormalization(BatchNormalization):
    """One normalization inside a recurrence: scale and shift shared over
    time, population statistics per time step.

    Parameters
    ----------
    input_dim : int
        The number of features.
    T_max : int
        The number of time steps with their own population statistics.
    \\*\\*kwargs
        As for :class:`~blocks.bricks.BatchNormalization` (epsilon,
        scale_init, shift_init, learn_shift ...).

    Notes
    -----
    ``population_mean`` and ``population_stdev`` have shape ``(T_max,
    input_dim)``. :meth:`apply` normalizes *one step*; it records no batch
    normalization metadata: the recurrent brick that calls it in its loop
    records the statistics of the whole loop.

    Examples
    --------
    >>> bn = RecurrentBatchNormalization(input_dim=3, T_max=5)
    >>> bn.initialize()
    >>> bn.population_mean.get_value().shape
    (5, 3)

    """
    @lazy(allocation=['input_dim', 'T_max'])
    def __init__(self, input_dim, T_max, **kwargs):
        super().__init__(input_dim=input_dim, **kwargs)
        self.T_max = T_max

    def _allocate(self):
        if (isinstance(self.T_max, bool)
                or not isinstance(self.T_max, numbers.Integral)
                or self.T_max < 1):
            raise ValueError('{}: T_max must be a positive int, got {!r}'
                             .format(self.path, self.T_max))
        super()._allocate()

    def _allocate_population_statistics(self, var_dim, pattern):
        super()._allocate_population_statistics(
            (self.T_max,) + tuple(var_dim), (False,) + tuple(pattern))

    @application(inputs=['input_', 'time', 'mask'],
                 outputs=['output', 'mean', 'stdev'])
    def apply(self, input_, time, mask=None):
        """Normalize one time step.

        Parameters
        ----------
        input_ : tensor variable
            ``(batch, input_dim)``.
        time : integer scalar
            The step's index: its population statistics are row
            ``min(time, T_max - 1)``.
        mask : tensor variable, optional
            ``(batch,)``: the sequences still running (training-mode
            statistics use them only).

        Returns
        -------
        output, mean, stdev
            The normalized input and the statistics used, ``(1,
            input_dim)``.

        """
        self._check_input(input_)
        if self.training_mode:
            weights = None if mask is None else pt.cast(
                mask, input_.dtype)[:, None]
            mean, stdev = minibatch_statistics(input_, (0,), self.epsilon,
                                               weights=weights)
        else:
            row = pt.minimum(time, self.T_max - 1)
            mean = self.population_mean[row][None, :]
            stdev = self.population_stdev[row][None, :]
        scale = self.scale[None, :] if self._learns_scale else None
        shift = self.shift[None, :] if self.learn_shift else None
        return normalize(input_, mean, stdev, scale, shift), mean, stdev


class BatchNormalizedLSTM(LSTMDimensions, Initializable):
    r"""An LSTM with recurrent batch normalization (see the module notes).

    Parameters
    ----------
    dim : int
        The dimension of the states and cells; the inputs have ``4 * dim``
        features (gate order input, forget, candidate, output).
    T_max : int
        Time steps with their own population statistics (the longest
        training sequence, as in the paper).
    activation, gate_activation : bricks, optional
        :class:`~blocks.bricks.Tanh` and :class:`~blocks.bricks.Logistic`
        by default.
    epsilon : float, optional
        Added to the variances (1e-4).
    scale_init : initialization scheme, optional
        Of the three scales; ``Constant(0.1)`` by default (the paper's).
    share_input_statistics : bool, optional
        Normalize the input term with one set of statistics over all time
        steps and sequences (the paper's BN-e*) instead of per step (the
        default, the paper's BN-LSTM). Where some steps' inputs are
        (nearly) constant over the training sequences, their per-step
        population variance is (nearly) zero, and an input that differs
        there at inference is multiplied by up to ``1 / sqrt(epsilon)``:
        the blank top and bottom rows of MNIST images, or padding.
    initial_state_noise : float, optional
        In training mode, add Gaussian noise of this standard deviation to
        the trainable initial states (not to states given to
        :meth:`apply`); 0 (none) by default. Until the inputs tell the
        sequences apart, all of them have the same state, so the
        recurrent term's variance at the first steps is zero, with the
        same effect at inference; the paper adds noise of 0.1 for
        sequential MNIST. Inference mode adds none.

    Attributes
    ----------
    input_normalization, state_normalization, cell_normalization :
    :class:`RecurrentBatchNormalization`
        The normalizations of the input term (no shift), of the recurrent
        term (whose shift is the LSTM's bias) and of the cell. With
        `share_input_statistics` the input's is a
        :class:`~blocks.bricks.BatchNormalization` of the whole input
        sequence (statistics of shape ``(1, 4 dim)``), applied before the
        loop.

    Notes
    -----
    Parameters: ``W_state`` (dim, 4 dim), WEIGHT, filled by
    ``weights_init``; ``initial_state`` and ``initial_cells`` (dim,),
    INITIAL_STATE, zeros; the scales and shifts of the normalizations.
    ``apply`` returns the states and the cells, ``(time, batch, dim)``.
    Blocks' ``@recurrent`` options (``iterate``, ``reverse`` ...) are not
    offered: the loop must output its statistics as well.

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> from blocks.initialization import IsotropicGaussian
    >>> lstm = BatchNormalizedLSTM(dim=2, T_max=4,
    ...                            weights_init=IsotropicGaussian(0.1))
    >>> lstm.initialize()
    >>> x = pt.tensor3('x')
    >>> with lstm:
    ...     states, cells = lstm.apply(x)
    >>> states.eval({x: numpy.ones((3, 5, 8))}).shape
    (3, 5, 2)

    """
    @lazy(allocation=['dim', 'T_max'])
    def __init__(self, dim, T_max, activation=None, gate_activation=None,
                 epsilon=1e-4, scale_init=None, share_input_statistics=False,
                 initial_state_noise=0, **kwargs):
        self.dim = dim
        self.T_max = T_max
        self.activation = Tanh() if activation is None else activation
        self.gate_activation = (Logistic() if gate_activation is None
                                else gate_activation)
        scale_init = Constant(0.1) if scale_init is None else scale_init
        self.share_input_statistics = share_input_statistics
        # Averaged over time (axis 0 of the whole sequence) and batch.
        self.input_normalization = (
            BatchNormalization(broadcastable=(True, False), epsilon=epsilon,
                               scale_init=scale_init, learn_shift=False,
                               name='input_normalization')
            if share_input_statistics else RecurrentBatchNormalization(
                epsilon=epsilon, scale_init=scale_init, learn_shift=False,
                name='input_normalization'))
        self.state_normalization = RecurrentBatchNormalization(
            epsilon=epsilon, scale_init=scale_init,
            name='state_normalization')
        self.cell_normalization = RecurrentBatchNormalization(
            epsilon=epsilon, scale_init=scale_init,
            name='cell_normalization')
        children = [self.activation, self.gate_activation] + list(
            self.normalizations) + list(kwargs.pop('children', None) or [])
        super().__init__(children=children, **kwargs)
        if (isinstance(initial_state_noise, bool)
                or not isinstance(initial_state_noise, numbers.Real)
                or not initial_state_noise >= 0):
            raise ValueError('{}: initial_state_noise must be a standard '
                             'deviation >= 0, got {!r}'.format(
                                 self.path, initial_state_noise))
        self.initial_state_noise = initial_state_noise

    @property
    def normalizations(self):
        """The input, state and cell normalizations."""
        return (self.input_normalization, self.state_normalization,
                self.cell_normalization)

    # Training mode: that of the normalizations.

    def __enter__(self):
        for normalization in self.normalizations:
            normalization.__enter__()
        return self

    def __exit__(self, *exc_info):
        for normalization in reversed(self.normalizations):
            normalization.__exit__(*exc_info)

    @property
    def training_mode(self):
        """Whether applications built now use minibatch statistics."""
        modes = {normalization.training_mode
                 for normalization in self.normalizations}
        if len(modes) > 1:
            raise ValueError('{}: its normalizations are not all in the same '
                             'mode; enter the LSTM itself (with lstm:) to '
                             'switch them together'.format(self.path))
        return modes.pop()

    @property
    def _loop_normalizations(self):
        """The normalizations applied at each step, inside the loop."""
        if self.share_input_statistics:
            return self.normalizations[1:]
        return self.normalizations

    def _push_allocation_config(self):
        super()._push_allocation_config()
        for normalization, dim in zip(self.normalizations,
                                      (4 * self.dim, 4 * self.dim, self.dim)):
            normalization.input_dim = dim
        for normalization in self._loop_normalizations:
            normalization.T_max = self.T_max
        if self.share_input_statistics:
            # Its "examples" are the time steps, each (batch, features),
            # and it averages over the batch axis as well.
            self.input_normalization.input_dim = (None, 4 * self.dim)

    def _allocate(self):
        self.W_state = self.add_parameter(
            'W_state', (self.dim, 4 * self.dim), WEIGHT)
        # The trailing underscore keeps the name of Blocks' application
        # `initial_states` free.
        self.initial_state_ = self.add_parameter(
            'initial_state', (self.dim,), INITIAL_STATE)
        self.initial_cells = self.add_parameter(
            'initial_cells', (self.dim,), INITIAL_STATE)

    def _initialize(self):
        self.initialize_with(self.W_state, 'weights_init')
        for state in (self.initial_state_, self.initial_cells):
            Constant(0).initialize(state, self.rng)

    def _check_inputs(self, inputs, mask):
        if inputs.ndim != 3:
            raise ValueError('{}: expected inputs of 3 axes (time, batch, '
                             '{}), got {} axes ({})'.format(
                                 self.path, 4 * self.dim, inputs.ndim,
                                 inputs.type))
        features = inputs.type.shape[2]
        if features is not None and features != 4 * self.dim:
            raise ValueError('{}: expected inputs of {} features (4 * dim), '
                             'got {}'.format(self.path, 4 * self.dim,
                                             features))
        if mask is not None and mask.ndim != 2:
            raise ValueError('{}: expected a mask of 2 axes (time, batch), '
                             'got {} axes ({})'.format(self.path, mask.ndim,
                                                       mask.type))

    def _initial(self, given, parameter, batch_size):
        if given is not None:
            return given
        return pt.repeat(parameter[None, :], batch_size, axis=0)

    def _noisy(self, initial_states):
        """The trainable initial states plus Gaussian noise (training
        mode): without it every sequence has the same state until its
        inputs differ, and the first steps' recurrent statistics are those
        of a constant."""
        noise = RandomStream(self.seed).normal(
            0, self.initial_state_noise, size=initial_states.shape,
            dtype=initial_states.dtype)
        return initial_states + noise

    def _step(self, x_t, time, *args, masked, training):
        """One step; in training mode also its statistics and count."""
        mask_t = args[0] if masked else None
        states, cells = args[-2:]
        statistics = []
        if self.share_input_statistics:
            x_hat = x_t  # normalized before the loop
        else:
            x_hat, x_mean, x_stdev = self.input_normalization.apply(
                x_t, time, mask=mask_t)
            statistics.extend([x_mean, x_stdev])
        h_hat, h_mean, h_stdev = self.state_normalization.apply(
            pt.dot(states, self.W_state), time, mask=mask_t)
        activations = x_hat + h_hat
        dim = self.dim
        gate = self.gate_activation.apply
        in_gate = gate(activations[:, :dim])
        forget_gate = gate(activations[:, dim:2 * dim])
        candidate = self.activation.apply(activations[:, 2 * dim:3 * dim])
        out_gate = gate(activations[:, 3 * dim:])
        next_cells = forget_gate * cells + in_gate * candidate
        c_hat, c_mean, c_stdev = self.cell_normalization.apply(
            next_cells, time, mask=mask_t)
        statistics.extend([h_mean, h_stdev, c_mean, c_stdev])
        next_states = out_gate * self.activation.apply(c_hat)
        if masked:
            keep = pt.cast(mask_t, states.dtype)[:, None]
            next_states = keep * next_states + (1 - keep) * states
            next_cells = keep * next_cells + (1 - keep) * cells
        if not training:
            return next_states, next_cells
        count = (pt.cast(mask_t, 'float64').sum() if masked
                 else pt.cast(x_t.shape[0], 'float64'))
        return [next_states, next_cells] + [
            statistic[0] for statistic in statistics] + [count]

    @application(inputs=['inputs', 'states', 'cells', 'mask'],
                 outputs=['states', 'cells'])
    def apply(self, inputs, application_call, states=None, cells=None,
              mask=None):
        """Run the LSTM over `inputs` ``(time, batch, 4 dim)``, from the
        given (or the trainable) initial states and cells ``(batch,
        dim)``, with an optional mask ``(time, batch)`` (1 keeps the new
        state, 0 the old one)."""
        self._check_inputs(inputs, mask)
        training = self.training_mode
        batch_size = inputs.shape[1]
        if self.share_input_statistics:
            inputs = self.input_normalization.apply(inputs, mask=mask)
        sequences = [inputs, pt.arange(inputs.shape[0])]
        if mask is not None:
            sequences.append(mask)
        initial = [self._initial(states, self.initial_state_, batch_size),
                   self._initial(cells, self.initial_cells, batch_size)]
        if training and states is None and self.initial_state_noise:
            initial[0] = self._noisy(initial[0])
        loop_statistics = 2 * len(self._loop_normalizations) + 1
        outputs_info = initial + ([None] * loop_statistics if training
                                  else [])

        def step(*args):
            return self._step(*args, masked=mask is not None,
                              training=training)

        results = pytensor.scan(step, sequences=sequences,
                                outputs_info=outputs_info,
                                name='{}_apply_scan'.format(self.name),
                                return_updates=False)
        application_call.metadata['training_mode'] = training
        application_call.metadata['loop_statistics'] = (
            self._loop_statistics(results) if training else [])
        return results[0], results[1]

    def _loop_statistics(self, results):
        """(normalization, output indices of its per-step mean, stdev and
        count) for the graph tools, which find the loop again in rewritten
        graphs."""
        node = _scan_output(results[0]).owner
        indices = [node.outputs.index(_scan_output(result))
                   for result in results[2:]]
        count = indices[-1]
        return [(normalization, indices[2 * i], indices[2 * i + 1], count)
                for i, normalization in enumerate(self._loop_normalizations)]


def _scan_output(result):
    """The Scan node output behind a result of ``pytensor.scan`` (which
    may slice the buffer)."""
    variable = result
    while variable.owner is not None and not hasattr(variable.owner.op,
                                                     'inner_outputs'):
        variable = variable.owner.inputs[0]
    return variable
