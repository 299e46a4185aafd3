import pickle
from collections import OrderedDict

import numpy
import pytensor
import pytensor.tensor as pt
import pytest

from blocks.algorithms import GradientDescent, Momentum, UpdatesAlgorithm
from blocks.bricks import MLP, Tanh
from blocks.initialization import Constant
from blocks.roles import add_role, WEIGHT
from blocks.select import Selector
from blocks.utils import shared_floatx
from tests.training_helpers import tiering_held

FLOATX = pytensor.config.floatX


@pytest.fixture(scope='module')
def regression():
    """A compiled GradientDescent on y ~ x @ W (one function for the
    module's tests that only feed batches)."""
    x = pt.matrix('x')
    y = pt.lvector('y')
    weights = shared_floatx(numpy.zeros((2, 1)), name='W')
    cost = pt.sqr((x @ weights)[:, 0] - y).mean()
    algorithm = GradientDescent(cost=cost, parameters=[weights],
                                step_rule=Momentum(0.1, 0.5))
    algorithm.initialize()
    return algorithm, weights


def batch(**kwargs):
    values = {'x': numpy.ones((3, 2), dtype=FLOATX),
              'y': numpy.ones(3, dtype='int64')}
    values.update(kwargs)
    return OrderedDict((k, v) for k, v in values.items() if v is not None)


def test_gradient_descent_matches_numpy():
    x = pt.vector('x')
    weights = shared_floatx([1.0, -1.0], name='W')
    add_role(weights, WEIGHT)
    cost = (weights * x).sum() ** 2
    algorithm = GradientDescent(cost=cost, step_rule=Momentum(0.1, 0.5))
    assert algorithm.parameters == [weights]  # found from the cost's graph
    algorithm.initialize()
    w, velocity = numpy.array([1.0, -1.0]), 0
    for data in ([1.0, 2.0], [0.5, -1.0], [2.0, 0.0]):
        data = numpy.asarray(data, dtype=FLOATX)
        algorithm.process_batch({'x': data})
        gradient = 2 * (w * data).sum() * data
        velocity = 0.5 * velocity + 0.1 * gradient
        w = w - velocity
        numpy.testing.assert_allclose(weights.get_value(), w, rtol=1e-5)


def test_total_norms_are_named_and_computable():
    x = pt.vector('x')
    weights = shared_floatx([3.0, 4.0], name='W')
    algorithm = GradientDescent(cost=(weights * x).sum(), parameters=[weights])
    assert algorithm.total_gradient_norm.name == 'total_gradient_norm'
    assert algorithm.total_step_norm.name == 'total_step_norm'
    numpy.testing.assert_allclose(
        algorithm.total_gradient_norm.eval({x: numpy.asarray(
            [3.0, 4.0], dtype=FLOATX)}), 5.0, rtol=1e-6)


def test_missing_source_is_named(regression):
    algorithm, _ = regression
    with pytest.raises(ValueError, match=r"lacks the sources \['y'\]"):
        algorithm.process_batch(batch(y=None))


def test_unused_source_raises_by_default(regression):
    algorithm, _ = regression
    with pytest.raises(ValueError, match=r"sources \['mask'\] that no input"):
        algorithm.process_batch(batch(mask=numpy.ones(3)))


def test_unused_source_warn_and_ignore():
    x = pt.vector('x')
    weights = shared_floatx([1.0], name='W')
    for policy in ('warn', 'ignore'):
        algorithm = GradientDescent(cost=(weights * x).sum(),
                                    parameters=[weights],
                                    on_unused_sources=policy)
        data = {'x': numpy.ones(1, dtype=FLOATX), 'extra': numpy.ones(1)}
        if policy == 'warn':
            with pytest.warns(UserWarning, match='extra'):
                algorithm.process_batch(data)
        else:
            algorithm.process_batch(data)
    with pytest.raises(ValueError, match='on_unused_sources'):
        UpdatesAlgorithm(on_unused_sources='sometimes')


def test_wrong_dtype_names_the_input(regression):
    algorithm, weights = regression
    before = weights.get_value()
    with pytest.raises(TypeError, match=r"source 'y' does not fit the input "
                                        r"variable y.*float"):
        algorithm.process_batch(batch(y=numpy.ones(3, dtype=FLOATX) / 2))
    numpy.testing.assert_array_equal(weights.get_value(), before)


def test_wrong_ndim_names_the_input(regression):
    algorithm, _ = regression
    with pytest.raises(TypeError, match=r"source 'x' .* shape \(3,\) "
                                        r"\(1 dimensions\)"):
        algorithm.process_batch(batch(x=numpy.ones(3, dtype=FLOATX)))


def test_unnamed_input_raises():
    weights = shared_floatx([1.0], name='W')
    algorithm = GradientDescent(cost=(weights * pt.vector()).sum(),
                                parameters=[weights])
    with pytest.raises(ValueError, match='have no name'):
        algorithm.initialize()


def test_given_gradients_keep_their_order_and_sets_are_refused():
    a = shared_floatx([1.0], name='a')
    b = shared_floatx([2.0], name='b')
    algorithm = GradientDescent(gradients=[(b, b * 0 + 1), (a, a * 0 + 1)])
    assert algorithm.parameters == [b, a]
    algorithm = GradientDescent(gradients={a: a, b: b}, parameters=[b, a])
    assert list(algorithm.steps) == [b, a]
    with pytest.raises(ValueError, match='differ'):
        GradientDescent(gradients={a: a}, parameters=[a, b])
    with pytest.raises(ValueError, match='known_grads'):
        GradientDescent(gradients={a: a}, known_grads={a: a})
    with pytest.raises(ValueError, match='cost or gradients'):
        GradientDescent()
    with pytest.raises(TypeError, match='shared variables'):
        GradientDescent(cost=a.sum(), parameters=[a * 2])


def test_gradients_and_parameters_as_blocks_required_them():
    a = shared_floatx([1.0], name='a')
    b = shared_floatx([2.0], name='b')
    with pytest.raises(ValueError, match='fixed order'):
        GradientDescent(gradients={a: a, b: b})
    ordered = OrderedDict([(b, b * 2), (a, a * 2)])
    algorithm = GradientDescent(gradients=ordered)
    assert algorithm.parameters == [b, a]
    with pytest.raises(ValueError, match='no cost'):
        GradientDescent(parameters=[a])
    unrelated = pt.vector('x').sum()
    with pytest.raises(ValueError, match='no parameters'):
        GradientDescent(cost=unrelated)


def test_add_updates_accepts_pairs_and_dicts_in_one_function():
    x = pt.vector('x')
    weights = shared_floatx([0.0], name='W')
    count = shared_floatx(0.0, name='count')
    total = shared_floatx(0.0, name='total')
    algorithm = GradientDescent(cost=((weights - x) ** 2).sum(),
                                parameters=[weights])
    algorithm.add_updates([(count, count + 1)])
    algorithm.add_updates({total: total + x.sum()})
    algorithm.process_batch({'x': numpy.ones(1, dtype=FLOATX)})
    algorithm.process_batch({'x': numpy.ones(1, dtype=FLOATX)})
    assert count.get_value() == 2 and total.get_value() == 2
    with pytest.raises(TypeError, match='only shared variables'):
        algorithm.add_updates([(x, x)])
    algorithm.add_updates([(count, count + 2)])
    with pytest.raises(ValueError, match='several updates'):
        algorithm.initialize()


def test_broadcastable_parameter_keeps_its_type():
    x = pt.matrix('x')
    scale = shared_floatx(numpy.ones((1, 3)), name='scale', shape=(1, None))
    algorithm = GradientDescent(cost=(scale * x).sum(), parameters=[scale],
                                step_rule=Momentum(0.1, 0.9))
    algorithm.process_batch({'x': numpy.ones((4, 3), dtype=FLOATX)})
    assert scale.broadcastable == (True, False)
    numpy.testing.assert_allclose(scale.get_value(), 0.6 * numpy.ones((1, 3)))


def test_gradient_of_a_deep_chain_needs_no_recursion_limit_change():
    # The deepest weight first: PyTensor's gradient then recurses through
    # every layer, past the limit of 3000 frames that PyTensor sets.
    x = pt.vector('x')
    weights = [shared_floatx(numpy.ones(2), name='w{}'.format(i))
               for i in range(700)]
    hidden = x
    for weight in weights:
        hidden = pt.tanh(hidden * weight)
    algorithm = GradientDescent(cost=hidden.sum(), parameters=weights)
    assert len(algorithm.gradients) == 700


def test_process_batch_refuses_sources_of_different_lengths(regression):
    algorithm, weights = regression
    before = weights.get_value()
    with pytest.raises(ValueError,
                       match=r'different numbers of rows: x has 8, y has 5'):
        algorithm.process_batch({'x': numpy.ones((8, 2), dtype=FLOATX),
                                 'y': numpy.ones(5, dtype='int64')})
    numpy.testing.assert_array_equal(weights.get_value(), before)


def test_initialize_refuses_uninitialized_bricks():
    from blocks.bricks import Linear
    linear = Linear(2, 1, name='linear')
    x = pt.matrix('x')
    cost = linear.apply(x).sum()
    algorithm = GradientDescent(cost=cost, parameters=linear.parameters)
    with pytest.raises(ValueError, match=r'never initialized.*/linear '
                                         r'\(W, b\)'):
        algorithm.initialize()


def mlp_algorithm():
    """A GradientDescent on a 6-5-3 MLP, not compiled, and its input."""
    mlp = MLP([Tanh(), Tanh()], [6, 5, 3], name='mlp',
              weights_init=Constant(0.1), biases_init=Constant(0))
    mlp.initialize()
    x = pt.matrix('x')
    algorithm = GradientDescent(cost=mlp.apply(x).sum(),
                                parameters=Selector(mlp).get_parameters()
                                .values())
    return algorithm, x


def test_a_failing_training_step_names_the_brick_and_the_shapes():
    algorithm, x = mlp_algorithm()
    algorithm.initialize()
    before = [parameter.get_value() for parameter in algorithm.parameters]
    with pytest.raises(ValueError, match=r'not aligned.*built by '
                                         r'/mlp/linear_0 .*input shapes '
                                         r'\(8, 7\), \(6, 5\)'):
        algorithm.process_batch({'x': numpy.ones((8, 7), dtype=x.dtype)})
    for parameter, value in zip(algorithm.parameters, before):
        numpy.testing.assert_array_equal(parameter.get_value(), value)


def test_a_failing_first_tier_step_names_the_brick_and_the_shapes():
    algorithm, x = mlp_algorithm()
    with tiering_held():
        algorithm.initialize()
        with pytest.raises(ValueError, match=r'built by /mlp/linear_0 .*'
                                             r'input shapes \(8, 7\), '
                                             r'\(6, 5\)'):
            algorithm.process_batch({'x': numpy.ones((8, 7),
                                                     dtype=x.dtype)})
        assert algorithm._function.tier == 'first'


def test_tiered_training_steps_alike_and_pickles_while_compiling():
    x = pt.matrix('x')
    weights = shared_floatx(numpy.ones((2, 1)), name='W')
    cost = pt.sqr(x @ weights).mean()
    algorithm = GradientDescent(cost=cost, parameters=[weights],
                                step_rule=Momentum(0.1, 0.5))
    values = numpy.array([[1.0, 2.0], [0.5, -1.0]], dtype=FLOATX)
    expected, velocity = numpy.ones((2, 1)), numpy.zeros((2, 1))
    with tiering_held() as release:
        algorithm.initialize()
        function = algorithm._function
        algorithm.process_batch({'x': values})
        assert function.tier == 'first'
        copy = pickle.loads(pickle.dumps(algorithm))  # the C tier compiles
        assert copy._function is None
        release.set()
        function.wait()
        algorithm.process_batch({'x': values})
        assert function.tier == 'final'
    for _ in range(2):
        gradient = 2 * values.T @ (values @ expected) / len(values)
        velocity = 0.5 * velocity + 0.1 * gradient
        expected = expected - velocity
    numpy.testing.assert_allclose(weights.get_value(), expected, rtol=1e-5)
