import pytensor.tensor as pt
import pytest

from blocks.bricks import Linear, Tanh
from blocks.bricks.base import Brick, application
from blocks.filter import (VariableFilter, get_annotation,
                           get_application_call, get_brick)
from blocks.graph import Annotation, ComputationGraph
from blocks.roles import (AUXILIARY, BIAS, FILTER, INPUT, OUTPUT, PARAMETER,
                          WEIGHT)


@pytest.fixture(scope='module')
def graph():
    first = Linear(2, 3, name='first')
    activation = Tanh(name='act')
    second = Linear(3, 2, name='second')
    x = pt.matrix('x')
    h = first.apply(x)
    y = second.apply(activation.apply(h), call_id='top')
    return first, activation, second, ComputationGraph(y)


def test_roles_and_each_role(graph):
    first, _, second, cg = graph
    parameters = VariableFilter(roles=[PARAMETER])(cg)
    assert set(parameters) == set(first.parameters) | set(second.parameters)
    assert VariableFilter(roles=[FILTER])(cg) == []
    assert set(VariableFilter(roles=[WEIGHT, BIAS])(cg)) == set(parameters)
    both = VariableFilter(roles=[PARAMETER, BIAS], each_role=True)(cg)
    assert set(both) == {first.b, second.b}
    # as in Blocks, roles come in a list
    with pytest.raises(TypeError, match=r'roles must be a list.*roles=\['):
        VariableFilter(roles=WEIGHT)


def test_bricks_by_class_and_instance(graph):
    first, activation, second, cg = graph
    assert set(VariableFilter(roles=[BIAS], bricks=[Linear])(cg)) == {
        first.b, second.b}
    assert VariableFilter(roles=[BIAS], bricks=[first])(cg) == [first.b]
    assert VariableFilter(roles=[BIAS], bricks=first)(cg) == [first.b]
    outputs = VariableFilter(bricks=[Tanh], roles=[OUTPUT])(cg)
    assert [get_brick(var) for var in outputs] == [activation]
    with pytest.raises(ValueError, match='bricks must be bricks'):
        VariableFilter(bricks=['first'])


def test_name_and_name_regex(graph):
    first, _, second, cg = graph
    norms = VariableFilter(name='W_norm')(cg)
    assert {get_brick(var) for var in norms} == {first, second}
    assert VariableFilter(name_regex='W_no.?m')(cg) == norms
    assert VariableFilter(name_regex='norm')(cg) == []  # anchored at start


def test_theano_name_and_regex(graph):
    first, _, _, cg = graph
    found = VariableFilter(theano_name='first_apply_output')(cg)
    assert len(found) == 1 and get_brick(found[0]) is first
    inputs = VariableFilter(theano_name_regex=r'.*_apply_input_$')(cg)
    assert {get_brick(var).name for var in inputs} == {'first', 'act',
                                                       'second'}
    assert VariableFilter(theano_name='x')(cg)[0].name == 'x'


def test_applications(graph):
    first, activation, second, cg = graph
    found = VariableFilter(applications=[first.apply])(cg)
    assert [var.name for var in found] == ['first_apply_input_',
                                           'first_apply_output']
    with pytest.raises(TypeError, match='applications must be a list'):
        VariableFilter(applications=first.apply)
    # an unbound application matches the calls of every brick
    unbound = VariableFilter(applications=[Linear.apply],
                             roles=[OUTPUT])(cg)
    assert {get_brick(var) for var in unbound} == {first, second}
    assert VariableFilter(applications=[activation.apply],
                          roles=[INPUT])(cg)[0].name == 'act_apply_input_'


def test_call_id(graph):
    _, _, second, cg = graph
    found = VariableFilter(call_id='top')(cg)
    assert {get_brick(var) for var in found} == {second}
    assert len(found) == 2
    assert VariableFilter(call_id='other')(cg) == []


def test_criteria_combine(graph):
    first, _, _, cg = graph
    assert VariableFilter(roles=[OUTPUT], bricks=[first],
                          name='output')(cg)[0].name == 'first_apply_output'
    assert VariableFilter(roles=[AUXILIARY], bricks=[first],
                          name='b_norm')(cg)[0].tag.name == 'b_norm'
    assert VariableFilter()(cg) == cg.variables


def test_getters():
    class Doubler(Brick):
        @application(inputs=['x'], outputs=['y'])
        def apply(self, x):
            return 2 * x

    brick = Doubler()
    y = brick.apply(pt.vector())
    assert get_brick(y) is brick
    assert get_application_call(y).application.brick is brick
    assert get_annotation(y, Annotation) is brick
    plain = pt.vector()
    assert get_brick(plain) is None
    assert get_application_call(plain) is None
