"""Step rules: how gradient descent turns gradients into parameter steps.

A step rule maps the steps proposed so far (at first, the gradients) to
new steps; :class:`~blocks.algorithms.GradientDescent` subtracts the final
step from each parameter. Rules chain with :class:`CompositeRule`:
``CompositeRule([StepClipping(1.0), Scale(0.01)])`` clips the gradient and
then scales it.

Every rule keeps its hyperparameters in floatX shared variables with role
``ALGORITHM_HYPERPARAMETER`` (so that extensions can change them during
training, see :class:`~blocks.extensions.training.SharedVariableModifier`)
and its per-parameter state in shared variables with role
``ALGORITHM_BUFFER`` that have exactly their parameter's shape, dtype and
broadcastable pattern.

Examples
--------
>>> import numpy, pytensor
>>> from blocks.algorithms import Momentum
>>> parameter = pytensor.shared(numpy.ones(3), name='W')
>>> gradient = parameter * 2
>>> steps, updates = Momentum(learning_rate=0.1, momentum=0.9).compute_steps(
...     {parameter: gradient})
>>> steps[parameter].eval()
array([0.2, 0.2, 0.2])
>>> [buffer.name for buffer, _ in updates]
['W_velocity']

"""
from collections import OrderedDict

import numpy
import pytensor.tensor as pt
from pytensor.graph.basic import Variable

from blocks.expressions import l2_norm
from blocks.roles import (add_role, ALGORITHM_BUFFER, ALGORITHM_HYPERPARAMETER,
                          ALGORITHM_STATE)
from blocks.utils import shared_floatx, shared_floatx_zeros_matching

__all__ = ['StepRule', 'CompositeRule', 'Scale', 'BasicMomentum',
           'Momentum', 'AdaDelta', 'BasicRMSProp', 'RMSProp', 'StepClipping',
           'VariableClipping', 'AdaGrad', 'Adam', 'RemoveNotFinite',
           'Restrict', 'l2_norm']


def hyperparameter(value, name):
    """A floatX shared scalar with role ALGORITHM_HYPERPARAMETER."""
    if isinstance(value, Variable):
        add_role(value, ALGORITHM_HYPERPARAMETER)
        return value
    variable = shared_floatx(value, name=name)
    add_role(variable, ALGORITHM_HYPERPARAMETER)
    return variable


def algorithm_buffer(parameter, name):
    """A zero-filled shared variable typed exactly like `parameter` (shape,
    dtype and broadcastable pattern), with role ALGORITHM_BUFFER."""
    full_name = ('{}_{}'.format(parameter.name, name) if parameter.name
                 else name)
    buffer = shared_floatx_zeros_matching(parameter, name=full_name)
    buffer.tag.for_parameter = parameter
    add_role(buffer, ALGORITHM_BUFFER)
    return buffer


def _like(value, reference):
    """`value` cast to the dtype of `reference`: hyperparameters are floatX,
    which must not upcast float32 parameters when floatX is float64."""
    if value.dtype != reference.dtype:
        return pt.cast(value, reference.dtype)
    return value


def _update(buffer, value):
    """An update pair whose value has the buffer's exact type."""
    return buffer, buffer.type.filter_variable(_like(value, buffer),
                                               allow_convert=True)


class StepRule:
    """Turns the steps proposed so far into new steps.

    Subclasses implement :meth:`compute_step` (one parameter at a time) or,
    when all parameters must be seen together, :meth:`compute_steps`.

    """
    def compute_step(self, parameter, previous_step):
        """The step for one parameter.

        Parameters
        ----------
        parameter : shared variable
            The parameter.
        previous_step : tensor variable
            The step proposed so far (the gradient for the first rule).

        Returns
        -------
        step : tensor variable
        updates : list of (shared variable, expression) pairs
            Updates of the rule's buffers.

        """
        raise NotImplementedError

    def compute_steps(self, previous_steps):
        """The steps for all parameters.

        Parameters
        ----------
        previous_steps : OrderedDict
            Parameter -> step proposed so far; the order is kept.

        Returns
        -------
        steps : OrderedDict
            Parameter -> new step, in the same order.
        updates : list of pairs

        """
        steps = OrderedDict()
        updates = []
        for parameter, previous_step in previous_steps.items():
            step, step_updates = self.compute_step(parameter, previous_step)
            steps[parameter] = step
            updates.extend(step_updates)
        return steps, updates


class CompositeRule(StepRule):
    """Apply several step rules one after the other.

    Parameters
    ----------
    components : list of :class:`StepRule`
        Applied in the order given; each gets the steps of the previous.

    """
    def __init__(self, components):
        self.components = list(components)

    def compute_steps(self, previous_steps):
        steps = previous_steps
        updates = []
        for rule in self.components:
            steps, rule_updates = rule.compute_steps(steps)
            updates.extend(rule_updates)
        return steps, updates


class Scale(StepRule):
    """Multiply the step by a learning rate (plain SGD on its own).

    Parameters
    ----------
    learning_rate : float, optional
        1 by default.

    Attributes
    ----------
    learning_rate : shared variable

    """
    def __init__(self, learning_rate=1.0):
        self.learning_rate = hyperparameter(learning_rate, 'learning_rate')

    def compute_step(self, parameter, previous_step):
        return _like(self.learning_rate, previous_step) * previous_step, []


class BasicMomentum(StepRule):
    """Accumulate steps with exponential decay: v <- momentum * v + step,
    and take v as the step.

    Parameters
    ----------
    momentum : float, optional
        0 by default (no accumulation).

    """
    def __init__(self, momentum=0.):
        self.momentum = hyperparameter(momentum, 'momentum')

    def compute_step(self, parameter, previous_step):
        velocity = algorithm_buffer(parameter, 'velocity')
        step = _like(self.momentum, velocity) * velocity + previous_step
        return step, [_update(velocity, step)]


class Momentum(CompositeRule):
    """SGD with momentum: :class:`Scale` followed by
    :class:`BasicMomentum`.

    Parameters
    ----------
    learning_rate : float, optional
    momentum : float, optional

    Attributes
    ----------
    learning_rate, momentum : shared variables

    """
    def __init__(self, learning_rate=1.0, momentum=0.):
        scale = Scale(learning_rate=learning_rate)
        basic_momentum = BasicMomentum(momentum=momentum)
        self.learning_rate = scale.learning_rate
        self.momentum = basic_momentum.momentum
        super().__init__([scale, basic_momentum])


def _check_decay_rate(decay_rate):
    if not 0.0 <= decay_rate <= 1.0:
        raise ValueError('decay_rate must be in [0, 1], got {!r}'.format(
            decay_rate))


class AdaDelta(StepRule):
    """Adapt the step size with running averages of squared steps and
    squared updates (Zeiler, 2012).

    Parameters
    ----------
    decay_rate : float, optional
        In [0, 1]; 0.95 by default.
    epsilon : float, optional
        1e-6 by default.

    """
    def __init__(self, decay_rate=0.95, epsilon=1e-6):
        _check_decay_rate(decay_rate)
        self.decay_rate = hyperparameter(decay_rate, 'decay_rate')
        self.epsilon = hyperparameter(epsilon, 'epsilon')

    def compute_step(self, parameter, previous_step):
        mean_square_step_tm1 = algorithm_buffer(parameter,
                                                'mean_square_step_tm1')
        mean_square_delta_x_tm1 = algorithm_buffer(parameter,
                                                   'mean_square_delta_x_tm1')
        decay = _like(self.decay_rate, previous_step)
        epsilon = _like(self.epsilon, previous_step)
        mean_square_step_t = (decay * mean_square_step_tm1
                              + (1 - decay) * pt.sqr(previous_step))
        rms_delta_x_tm1 = pt.sqrt(mean_square_delta_x_tm1 + epsilon)
        rms_step_t = pt.sqrt(mean_square_step_t + epsilon)
        delta_x_t = rms_delta_x_tm1 / rms_step_t * previous_step
        mean_square_delta_x_t = (decay * mean_square_delta_x_tm1
                                 + (1 - decay) * pt.sqr(delta_x_t))
        return delta_x_t, [_update(mean_square_step_tm1, mean_square_step_t),
                           _update(mean_square_delta_x_tm1,
                                   mean_square_delta_x_t)]


class BasicRMSProp(StepRule):
    """Divide the step by a running root mean square of past steps.

    Parameters
    ----------
    decay_rate : float, optional
        In [0, 1]; 0.9 by default.
    max_scaling : float, optional
        The largest factor a step can be multiplied by (the running RMS is
        floored at ``1 / max_scaling``); 1e5 by default.

    """
    def __init__(self, decay_rate=0.9, max_scaling=1e5):
        _check_decay_rate(decay_rate)
        if max_scaling <= 0:
            raise ValueError('max_scaling must be positive, got {!r}'.format(
                max_scaling))
        self.decay_rate = hyperparameter(decay_rate, 'decay_rate')
        self.epsilon = 1. / max_scaling

    def compute_step(self, parameter, previous_step):
        mean_square_step_tm1 = algorithm_buffer(parameter,
                                                'mean_square_step_tm1')
        decay = _like(self.decay_rate, previous_step)
        mean_square_step_t = (decay * mean_square_step_tm1
                              + (1 - decay) * pt.sqr(previous_step))
        rms_step_t = pt.maximum(
            pt.sqrt(mean_square_step_t),
            numpy.asarray(self.epsilon, dtype=previous_step.dtype))
        step = previous_step / rms_step_t
        return step, [_update(mean_square_step_tm1, mean_square_step_t)]


class RMSProp(CompositeRule):
    """RMSProp (Tieleman and Hinton, 2012): :class:`BasicRMSProp` followed
    by :class:`Scale`.

    Parameters
    ----------
    learning_rate : float, optional
    decay_rate : float, optional
    max_scaling : float, optional

    Attributes
    ----------
    learning_rate, decay_rate : shared variables

    """
    def __init__(self, learning_rate=1.0, decay_rate=0.9, max_scaling=1e5):
        basic_rms_prop = BasicRMSProp(decay_rate=decay_rate,
                                      max_scaling=max_scaling)
        scale = Scale(learning_rate=learning_rate)
        self.learning_rate = scale.learning_rate
        self.decay_rate = basic_rms_prop.decay_rate
        super().__init__([basic_rms_prop, scale])


class StepClipping(StepRule):
    """Rescale the steps so that their total L2 norm (over all parameters)
    is at most `threshold`.

    Parameters
    ----------
    threshold : float, optional
        None (the default) leaves the steps unchanged.

    """
    def __init__(self, threshold=None):
        if threshold is not None:
            threshold = hyperparameter(threshold, 'threshold')
        self.threshold = threshold

    def compute_steps(self, previous_steps):
        if self.threshold is None:
            return OrderedDict(previous_steps), []
        norm = l2_norm(list(previous_steps.values()))
        threshold = _like(self.threshold, norm)
        multiplier = pt.switch(norm < threshold, 1, threshold / norm)
        steps = OrderedDict(
            (parameter, step * _like(multiplier, step))
            for parameter, step in previous_steps.items())
        return steps, []


class VariableClipping(StepRule):
    """Keep the norm of each parameter (or of its slices along `axis`)
    at most `threshold` after the update.

    The step is changed so that ``parameter - step`` is the clipped new
    value: rows, columns or whole tensors whose norm would exceed the
    threshold are rescaled to norm `threshold`.

    Parameters
    ----------
    threshold : float
        The largest norm allowed.
    axis : int or tuple of int, optional
        The axes to sum over when computing norms; None (the default) takes
        the norm of the whole parameter. ``axis=0`` on a weight matrix
        bounds the norm of each unit's incoming weights.

    """
    def __init__(self, threshold, axis=None):
        self.threshold = hyperparameter(threshold, 'threshold')
        if axis is not None:
            axis = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
            if len(set(axis)) != len(axis):
                raise ValueError('VariableClipping: axis must be unique, got '
                                 '{}'.format(axis))
        self.axis = axis

    def compute_step(self, parameter, previous_step):
        previous_step = pt.as_tensor_variable(previous_step)
        if self.axis is not None and any(
                ax >= previous_step.ndim for ax in self.axis):
            raise ValueError(
                'VariableClipping: axis {} out of range for parameter {} with '
                '{} dimensions'.format(self.axis,
                                       getattr(parameter, 'name', parameter),
                                       previous_step.ndim))
        # As in Blocks, everything is written in terms of the new value
        # ``parameter - previous_step``, which broadcasts when the step is
        # shaped differently from the parameter; a step that needs no
        # clipping is kept exactly as it was.
        next_value = parameter - previous_step
        squares = pt.sqr(next_value)
        if self.axis is None:
            norm = pt.sqrt(squares.sum())
        else:
            norm = pt.sqrt(squares.sum(axis=sorted(self.axis),
                                       keepdims=True))
        threshold = _like(self.threshold, next_value)
        shrinking_step = parameter - (threshold / norm) * next_value
        step = pt.switch(norm > threshold, shrinking_step, previous_step)
        return _like(step, previous_step), []


class AdaGrad(StepRule):
    """AdaGrad (Duchi et al., 2011): divide the step by the root of the sum
    of all past squared steps.

    Parameters
    ----------
    learning_rate : float, optional
        0.002 by default.
    epsilon : float, optional
        1e-6 by default.

    """
    def __init__(self, learning_rate=0.002, epsilon=1e-6):
        self.learning_rate = hyperparameter(learning_rate, 'learning_rate')
        self.epsilon = hyperparameter(epsilon, 'epsilon')

    def compute_step(self, parameter, previous_step):
        sum_square = algorithm_buffer(parameter, 'sum_square')
        sum_square_t = sum_square + pt.sqr(previous_step)
        step = (_like(self.learning_rate, previous_step) * previous_step
                / (pt.sqrt(sum_square_t)
                   + _like(self.epsilon, previous_step)))
        return step, [_update(sum_square, sum_square_t)]


class Adam(StepRule):
    """Adam (Kingma and Ba, 2014).

    With t the number of steps taken so far plus one::

        beta1_t = beta1 * decay_factor ** (t - 1)
        mean = beta1_t * mean + (1 - beta1_t) * step
        variance = beta2 * variance + (1 - beta2) * step ** 2
        step = learning_rate * sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
               * mean / (sqrt(variance) + epsilon)

    Parameters
    ----------
    learning_rate : float, optional
        0.002 by default.
    beta1 : float, optional
        Decay of the first moment estimate; 0.9 by default.
    beta2 : float, optional
        Decay of the second moment estimate; 0.999 by default.
    epsilon : float, optional
        1e-8 by default.
    decay_factor : float, optional
        Decay of beta1 over time; 1 - 1e-8 by default.

    Notes
    -----
    The step counter is one floatX scalar per :meth:`compute_steps` call,
    shared by the parameters, with role ``ALGORITHM_STATE`` (it is not a
    per-parameter buffer).

    """
    def __init__(self, learning_rate=0.002, beta1=0.9, beta2=0.999,
                 epsilon=1e-8, decay_factor=(1 - 1e-8)):
        self.learning_rate = hyperparameter(learning_rate, 'learning_rate')
        self.beta1 = hyperparameter(beta1, 'beta1')
        self.beta2 = hyperparameter(beta2, 'beta2')
        self.epsilon = hyperparameter(epsilon, 'epsilon')
        self.decay_factor = hyperparameter(decay_factor, 'decay_factor')

    @staticmethod
    def _new_time():
        time = shared_floatx(0., name='adam_time')
        add_role(time, ALGORITHM_STATE)
        return time

    def _step(self, parameter, previous_step, time):
        mean = algorithm_buffer(parameter, 'mean')
        variance = algorithm_buffer(parameter, 'variance')
        like = previous_step
        t1 = _like(time, like) + 1
        beta1 = _like(self.beta1, like)
        beta2 = _like(self.beta2, like)
        beta1_t = beta1 * _like(self.decay_factor, like) ** (t1 - 1)
        learning_rate = (_like(self.learning_rate, like)
                         * pt.sqrt(1. - beta2 ** t1) / (1. - beta1 ** t1))
        mean_t = beta1_t * mean + (1. - beta1_t) * previous_step
        variance_t = beta2 * variance + (1. - beta2) * pt.sqr(previous_step)
        step = (_like(learning_rate, like) * mean_t
                / (pt.sqrt(variance_t) + _like(self.epsilon, like)))
        return step, [_update(mean, mean_t), _update(variance, variance_t)]

    def compute_step(self, parameter, previous_step):
        time = self._new_time()
        step, updates = self._step(parameter, previous_step, time)
        return step, updates + [(time, time + 1)]

    def compute_steps(self, previous_steps):
        time = self._new_time()
        steps = OrderedDict()
        updates = []
        for parameter, previous_step in previous_steps.items():
            steps[parameter], step_updates = self._step(
                parameter, previous_step, time)
            updates.extend(step_updates)
        updates.append((time, time + 1))
        return steps, updates


class RemoveNotFinite(StepRule):
    """Replace a step that contains NaN or infinity.

    The parameter is then multiplied by `scaler` instead of being moved
    along the bad step.

    Parameters
    ----------
    scaler : float, optional
        1 by default: the parameter stays as it is.

    """
    def __init__(self, scaler=1):
        self.scaler = hyperparameter(scaler, 'scaler')

    def compute_step(self, parameter, previous_step):
        previous_step = pt.as_tensor_variable(previous_step)
        norm = l2_norm([previous_step])
        not_finite = pt.or_(pt.isnan(norm), pt.isinf(norm))
        shrink = (1 - _like(self.scaler, previous_step)) * parameter
        step = pt.switch(not_finite, _like(shrink, previous_step),
                         previous_step)
        return step, []


class Restrict(StepRule):
    """Apply a step rule to some parameters only; the others keep the steps
    proposed so far.

    Parameters
    ----------
    step_rule : :class:`StepRule`
    variables : list of shared variables
        The parameters `step_rule` applies to.

    """
    def __init__(self, step_rule, variables):
        self.step_rule = step_rule
        self.variables = list(variables)

    def compute_steps(self, previous_steps):
        chosen = set(self.variables)
        restricted = OrderedDict(
            (parameter, step) for parameter, step in previous_steps.items()
            if parameter in chosen)
        if not restricted:
            return OrderedDict(previous_steps), []
        new_steps, updates = self.step_rule.compute_steps(restricted)
        steps = OrderedDict(
            (parameter, new_steps.get(parameter, step))
            for parameter, step in previous_steps.items())
        return steps, updates
