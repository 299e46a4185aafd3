import numpy
import pytensor
import pytensor.tensor as pt
import pytest

from blocks.bricks import MLP, Tanh
from blocks.model import Model

floatX = pytensor.config.floatX


def test_top_bricks_and_parameter_names():
    x = pt.matrix('x')
    mlp1 = MLP([Tanh(), Tanh()], [4, 5, 6], name='mlp1')
    mlp2 = MLP([Tanh()], [6, 3], name='mlp2')
    model = Model(mlp2.apply(mlp1.apply(x)).sum())
    assert model.get_top_bricks() == [mlp1, mlp2]
    names = model.get_parameter_dict()
    assert set(names) == {'/mlp1/linear_0.W', '/mlp1/linear_0.b',
                          '/mlp1/linear_1.W', '/mlp1/linear_1.b',
                          '/mlp2/linear_0.W', '/mlp2/linear_0.b'}
    assert names['/mlp1/linear_1.W'] is mlp1.linear_transformations[1].W
    assert names['/mlp2/linear_0.b'] is mlp2.linear_transformations[0].b


def test_bricks_applied_only_inside_a_loop_are_found():
    mlp = MLP([Tanh()], [3, 3], name='step_mlp')
    steps = pytensor.scan(mlp.apply, sequences=pt.tensor3('x'),
                          return_updates=False)
    model = Model(steps.sum())
    assert model.get_top_bricks() == [mlp]
    assert set(model.get_parameter_dict()) == {'/step_mlp/linear_0.W',
                                               '/step_mlp/linear_0.b'}


def test_get_and_set_parameter_values():
    x = pt.matrix('x')
    mlp = MLP([Tanh()], [3, 3])
    model = Model(mlp.apply(x))
    values = {'/mlp/linear_0.W': 2 * numpy.ones((3, 3), dtype=floatX),
              '/mlp/linear_0.b': 3 * numpy.ones(3, dtype=floatX)}
    model.set_parameter_values(values)
    assert (mlp.linear_transformations[0].W.get_value() == 2).all()
    assert (mlp.linear_transformations[0].b.get_value() == 3).all()
    got = model.get_parameter_values()
    assert set(got) == set(values)
    for name, value in values.items():
        numpy.testing.assert_array_equal(got[name], value)


def test_set_parameter_values_errors_name_parameter_and_change_nothing():
    x = pt.matrix('x')
    mlp = MLP([Tanh()], [2, 2])
    model = Model(mlp.apply(x))
    W = mlp.linear_transformations[0].W
    W.set_value(numpy.zeros((2, 2), dtype=floatX))
    with pytest.raises(ValueError, match=r'shape mismatch for parameter '
                                         r'/mlp/linear_0.b: expected '
                                         r'\(2,\), got \(3,\)'):
        model.set_parameter_values({
            '/mlp/linear_0.W': numpy.ones((2, 2), dtype=floatX),
            '/mlp/linear_0.b': numpy.ones(3, dtype=floatX)})
    assert not W.get_value().any()  # nothing was set
    with pytest.raises(ValueError, match='dtype mismatch for parameter '
                                         '/mlp/linear_0.W'):
        model.set_parameter_values(
            {'/mlp/linear_0.W': numpy.ones((2, 2), dtype='complex128')})
    with pytest.raises(KeyError, match='no parameter /mlp/linear_9.W'):
        model.set_parameter_values({'/mlp/linear_9.W': numpy.ones((2, 2))})


def test_two_top_bricks_with_one_name_raise():
    x = pt.matrix('x')
    first = MLP([Tanh()], [2, 2])
    second = MLP([Tanh()], [2, 2])
    with pytest.raises(ValueError, match='several top bricks named mlp'):
        Model(second.apply(first.apply(x)))


def test_sibling_bricks_with_one_name_raise_when_the_model_is_built():
    from blocks.bricks import Linear, Sequence
    x = pt.matrix('x')
    first, second = Linear(2, 2), Linear(2, 2)
    sequence = Sequence([first, second], name='pair')
    with pytest.raises(ValueError,
                       match=r'/pair/linear\.[Wb]; do two sibling'):
        Model(sequence.apply(x))
