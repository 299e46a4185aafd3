"""Each step rule against a NumPy implementation, over three steps, on a
plain matrix parameter and on a parameter with a broadcastable axis."""
from collections import OrderedDict

import numpy
import pytensor
import pytensor.tensor as pt
import pytest

from blocks.algorithms import (
    AdaDelta, AdaGrad, Adam, BasicMomentum, BasicRMSProp, CompositeRule,
    Momentum, RMSProp, RemoveNotFinite, Restrict, Scale, StepClipping,
    VariableClipping)
from blocks.roles import (ALGORITHM_BUFFER, ALGORITHM_HYPERPARAMETER,
                          has_roles)
from blocks.utils import shared_floatx

from tests.tolerances import TOLERANCE

FLOATX = pytensor.config.floatX
RTOL = TOLERANCE.rtol


def make_parameters(rng):
    weights = shared_floatx(rng.normal(size=(3, 4)), name='W')
    # a batch-normalization-like scale: first axis broadcastable
    scale = shared_floatx(rng.normal(size=(1, 4)), name='scale',
                          shape=(1, None))
    return [weights, scale]


def make_gradients(rng, parameters, steps=3):
    return [[rng.normal(size=p.get_value().shape).astype(FLOATX)
             for p in parameters] for _ in range(steps)]


def run_rule(rule, gradient_values, parameters):
    """Apply `rule` for len(gradient_values) steps; return the parameter
    values after each step."""
    gradients = [pt.TensorType(FLOATX, shape=p.type.shape)('g_' + p.name)
                 for p in parameters]
    steps, updates = rule.compute_steps(
        dict(zip(parameters, gradients)))
    for parameter in parameters:
        assert steps[parameter].type.broadcastable == parameter.broadcastable
    for buffer, value in updates:
        if has_roles(buffer, [ALGORITHM_BUFFER]):
            parameter = buffer.tag.for_parameter
            assert buffer.type == parameter.type
            assert buffer.get_value().shape == parameter.get_value().shape
        assert value.type == buffer.type or buffer.type.is_super(value.type)
    new_values = [(p, p - steps[p]) for p in parameters]
    function = pytensor.function(gradients, [], updates=new_values + updates,
                                 mode='FAST_COMPILE')
    history = []
    for values in gradient_values:
        function(*values)
        history.append([p.get_value() for p in parameters])
    return history


def numpy_rule(name, params, grads_sequence):
    """NumPy reference: parameter values after each step."""
    params = [p.copy() for p in params]
    state = [dict() for _ in params]
    history = []
    for t, grads in enumerate(grads_sequence, start=1):
        if name == 'clipping':
            norm = numpy.sqrt(sum((g ** 2).sum() for g in grads))
            grads = [g * min(1.0, 1.0 / norm) for g in grads]
        for i, (p, g) in enumerate(zip(params, grads)):
            s = state[i]
            if name == 'scale':
                step = 0.1 * g
            elif name == 'basic_momentum':
                s['v'] = 0.5 * s.get('v', 0) + g
                step = s['v']
            elif name == 'momentum':
                s['v'] = 0.5 * s.get('v', 0) + 0.1 * g
                step = s['v']
            elif name == 'adadelta':
                s['msg'] = 0.95 * s.get('msg', 0) + 0.05 * g ** 2
                delta = (numpy.sqrt(s.get('msd', 0) + 1e-6)
                         / numpy.sqrt(s['msg'] + 1e-6) * g)
                s['msd'] = 0.95 * s.get('msd', 0) + 0.05 * delta ** 2
                step = delta
            elif name in ('basic_rmsprop', 'rmsprop'):
                s['ms'] = 0.9 * s.get('ms', 0) + 0.1 * g ** 2
                step = g / numpy.maximum(numpy.sqrt(s['ms']), 1e-5)
                if name == 'rmsprop':
                    step = 0.1 * step
            elif name == 'clipping':
                step = g
            elif name == 'variable_clipping':
                new = p - g
                norm = numpy.sqrt((new ** 2).sum(axis=1, keepdims=True))
                step = p - new * 1.0 / numpy.maximum(norm, 1.0)
            elif name == 'adagrad':
                s['ss'] = s.get('ss', 0) + g ** 2
                step = 0.1 * g / (numpy.sqrt(s['ss']) + 1e-6)
            elif name == 'adam':
                beta1_t = 0.9 * (1 - 1e-8) ** (t - 1)
                s['m'] = beta1_t * s.get('m', 0) + (1 - beta1_t) * g
                s['v'] = 0.999 * s.get('v', 0) + 0.001 * g ** 2
                lr = 0.01 * numpy.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
                step = lr * s['m'] / (numpy.sqrt(s['v']) + 1e-8)
            elif name == 'remove_not_finite':
                step = 0.5 * p if not numpy.isfinite(g).all() else g
            elif name == 'restrict':
                step = 0.1 * g if i == 0 else g
            params[i] = p - step
        history.append([p.copy() for p in params])
    return history


RULES = {
    'scale': lambda: Scale(0.1),
    'basic_momentum': lambda: BasicMomentum(0.5),
    'momentum': lambda: Momentum(0.1, 0.5),
    'adadelta': lambda: AdaDelta(),
    'basic_rmsprop': lambda: BasicRMSProp(),
    'rmsprop': lambda: RMSProp(0.1),
    'clipping': lambda: StepClipping(1.0),
    'variable_clipping': lambda: VariableClipping(1.0, axis=1),
    'adagrad': lambda: AdaGrad(0.1),
    'adam': lambda: Adam(0.01),
    'remove_not_finite': lambda: RemoveNotFinite(0.5),
}


@pytest.mark.parametrize('name', sorted(RULES) + ['restrict'])
def test_rule_matches_numpy(name):
    rng = numpy.random.RandomState(1)
    parameters = make_parameters(rng)
    gradient_values = make_gradients(rng, parameters)
    if name == 'remove_not_finite':
        gradient_values[1][0][0, 0] = numpy.nan
        gradient_values[2][1][0, 1] = numpy.inf
    initial = [p.get_value() for p in parameters]
    if name == 'restrict':
        rule = Restrict(Scale(0.1), [parameters[0]])
    else:
        rule = RULES[name]()
    history = run_rule(rule, gradient_values, parameters)
    expected = numpy_rule(name, initial, gradient_values)
    for got_step, expected_step in zip(history, expected):
        for got, want in zip(got_step, expected_step):
            numpy.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-12)


def test_composite_rule_chains_in_order():
    rng = numpy.random.RandomState(2)
    parameters = make_parameters(rng)
    gradient_values = make_gradients(rng, parameters, steps=1)
    initial = [p.get_value() for p in parameters]
    history = run_rule(CompositeRule([StepClipping(1.0), Scale(0.1)]),
                       gradient_values, parameters)
    clipped = numpy_rule('clipping', initial, gradient_values)
    for got, start, end in zip(history[0], initial, clipped[0]):
        numpy.testing.assert_allclose(got, start - 0.1 * (start - end),
                                      rtol=RTOL)


@pytest.mark.parametrize('rule, names', [
    (Momentum(0.1, 0.9), ['learning_rate', 'momentum']),
    (RMSProp(0.1, 0.8), ['learning_rate', 'decay_rate']),
    (Adam(), ['learning_rate', 'beta1', 'beta2', 'epsilon',
              'decay_factor']),
    (AdaDelta(), ['decay_rate', 'epsilon']),
    (StepClipping(2.0), ['threshold']),
])
def test_hyperparameters_are_shared_with_role(rule, names):
    for name in names:
        variable = getattr(rule, name)
        assert has_roles(variable, [ALGORITHM_HYPERPARAMETER])
        assert variable.get_value().dtype == FLOATX


def test_hyperparameter_change_takes_effect():
    parameter = shared_floatx([1.0, 1.0], name='p')
    rule = Scale(0.5)
    steps, _ = rule.compute_steps({parameter: parameter})
    function = pytensor.function([], steps[parameter], mode='FAST_COMPILE')
    rule.learning_rate.set_value(numpy.asarray(0.25, dtype=FLOATX))
    numpy.testing.assert_allclose(function(), [0.25, 0.25])


def test_float32_parameters_stay_float32():
    parameter = pytensor.shared(numpy.ones((2, 1), dtype='float32'),
                                shape=(None, 1), name='p')
    steps, updates = Adam().compute_steps({parameter: parameter * 2})
    assert steps[parameter].dtype == 'float32'
    for buffer, value in updates:
        assert value.type.dtype == buffer.type.dtype


@pytest.mark.parametrize('kwargs', [dict(decay_rate=1.5),
                                    dict(decay_rate=-0.1),
                                    dict(max_scaling=0)])
def test_rmsprop_checks_arguments(kwargs):
    with pytest.raises(ValueError, match='decay_rate|max_scaling'):
        BasicRMSProp(**kwargs)


def test_variable_clipping_checks_axis():
    parameter = shared_floatx(numpy.ones(3), name='b')
    with pytest.raises(ValueError, match='axis'):
        VariableClipping(1.0, axis=1).compute_step(parameter, parameter)


def test_step_clipping_without_threshold_is_identity():
    parameter = shared_floatx(numpy.ones(3), name='b')
    steps, updates = StepClipping().compute_steps({parameter: parameter})
    assert steps[parameter] is parameter and updates == []


def test_remove_not_finite_takes_plain_numbers_as_steps():
    parameter = shared_floatx([2.0, 4.0], name='p')
    rule = RemoveNotFinite(0.25)
    steps, _ = rule.compute_steps({parameter: float('nan')})
    numpy.testing.assert_allclose(steps[parameter].eval(), [1.5, 3.0])
    steps, _ = rule.compute_steps({parameter: 0.5})
    numpy.testing.assert_allclose(steps[parameter].eval(), [0.5, 0.5])


def test_variable_clipping_broadcasts_steps_shaped_unlike_the_parameter():
    parameter_value = numpy.array([-1.0, 2.0, 0.5])
    step_value = numpy.array([[3.0, -9.0, 2.0]])  # (1, 3) for a (3,)
    parameter = shared_floatx(parameter_value, name='p')
    step = shared_floatx(step_value)
    for threshold in (5.0, 50.0):
        steps, _ = VariableClipping(threshold).compute_steps(
            OrderedDict([(parameter, step)]))
        new_value = parameter_value - step_value
        norm = numpy.sqrt((new_value ** 2).sum())
        expected = (parameter_value - threshold / norm * new_value
                    if norm > threshold else step_value)
        numpy.testing.assert_allclose(steps[parameter].eval(), expected,
                                      rtol=RTOL)
    with pytest.raises(ValueError, match='unique'):
        VariableClipping(1.0, axis=(0, 0))
