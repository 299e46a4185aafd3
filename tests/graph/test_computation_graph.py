import numpy
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.graph.traversal import applys_between, graph_inputs
from pytensor.scan import scan

from blocks.bricks import MLP, Tanh
from blocks.bricks.base import Brick, application
from blocks.filter import VariableFilter, get_brick
from blocks.graph import ComputationGraph
from blocks.initialization import Constant
from blocks.roles import (AUXILIARY, COST, OUTPUT, PARAMETER, add_role,
                          has_roles)
from blocks.utils import shared_floatx

floatX = pytensor.config.floatX


def count_nodes(outputs):
    outputs = list(outputs)
    return len(list(applys_between(list(graph_inputs(outputs)), outputs)))


class AddOne(Brick):
    @application(inputs=['x'], outputs=['y'])
    def apply(self, x):
        return x + 1


class Scaled(Brick):
    """Multiplies by a parameter and keeps a running sum as an update."""
    def _allocate(self):
        self.parameters.append(shared_floatx(2.0, name='a'))
        self.total = shared_floatx(0.0, name='total')

    @application(inputs=['x'], outputs=['y'])
    def apply(self, x, application_call):
        y = self.parameters[0] * x
        application_call.updates[self.total] = self.total + y.sum()
        application_call.add_auxiliary_variable(y.mean(), name='mean')
        return y


def test_variables_inputs_outputs():
    x, y = pt.matrix('x'), pt.matrix('y')
    z = x + y
    a = z.copy(name='a')
    b = z.copy(name='b')
    cg = ComputationGraph([a, b])
    assert set(cg.inputs) == {x, y}
    assert cg.outputs == [a, b]
    assert set(cg.variables) == {x, y, z, a, b}
    assert cg.variables[2] is z
    assert list(cg) == cg.variables
    assert ComputationGraph(a).inputs == cg.inputs
    assert cg.dict_of_inputs() == {'x': x, 'y': y}
    assert cg.intermediary_variables == [z]
    with pytest.raises(TypeError, match='expects PyTensor variables'):
        ComputationGraph([1.0])


def test_outputs_inside_the_graph_are_not_duplicated():
    x, y = pt.matrix('x'), pt.matrix('y')
    w = x + y
    z = pt.exp(w)
    assert ComputationGraph([z, w]).variables == [x, y, w, z]


def test_shared_variables_and_parameters():
    W = shared_floatx(numpy.zeros((3, 3)), name='W')
    other = shared_floatx(numpy.zeros((3, 3)))
    add_role(W, PARAMETER)
    x = pt.matrix('x')
    cg = ComputationGraph([x + W + other])
    assert set(cg.shared_variables) == {W, other}
    assert cg.parameters == [W]
    assert ComputationGraph([W]).variables == [W]
    assert W in ComputationGraph([W ** 2]).variables


def test_has_inputs():
    x = pt.vector('x')
    W = shared_floatx([1.0])
    cg = ComputationGraph(x + W)
    assert cg.has_inputs(x + W)
    assert not cg.has_inputs(W * 2)


def test_auxiliary_variables_and_updates_from_annotations():
    brick = Scaled()
    x = pt.vector('x')
    y = brick.apply(x)
    cg = ComputationGraph(y)
    mean, = cg.auxiliary_variables
    assert mean.name == 'scaled_apply_mean'
    assert has_roles(mean, [AUXILIARY])
    assert list(cg.updates) == [brick.total]
    function = cg.get_function()
    numpy.testing.assert_allclose(function(numpy.array([1.0, 2.0],
                                                       dtype=floatX))[0],
                                  [2.0, 4.0])
    assert brick.total.get_value() == pytest.approx(6.0)


def test_brick_level_auxiliary_variables():
    brick = Scaled()
    brick.allocate()
    norm = brick.parameters[0] ** 2
    brick.add_auxiliary_variable(norm, name='a_squared')
    cg = ComputationGraph(brick.apply(pt.vector()))
    assert norm in cg.auxiliary_variables
    assert norm.tag.name == 'a_squared'


def test_duplicate_update_keys_raise():
    total = shared_floatx(0.0, name='total')
    first, second = Scaled(name='first'), Scaled(name='second')
    first.allocate()
    second.allocate()
    second.total = first.total = total
    x = pt.vector()
    with pytest.raises(ValueError, match='total'):
        ComputationGraph([first.apply(x), second.apply(x)])
    cg = ComputationGraph(first.apply(x))
    with pytest.raises(ValueError, match='total'):
        cg.get_function(additional_updates=[(total, total + 1)])


def test_get_function_additional_updates_and_alias():
    counter = shared_floatx(0.0, name='counter')
    x = pt.vector('x')
    cg = ComputationGraph(x.sum())
    function = cg.get_theano_function(
        additional_updates=[(counter, counter + 1)])
    assert function(numpy.ones(2, dtype=floatX)) == [2.0]
    assert counter.get_value() == 1.0
    assert ComputationGraph.get_theano_function is \
        ComputationGraph.get_function


def test_get_snapshot_evaluates_the_variables_with_roles():
    x = pt.vector('x')
    h = 2 * x
    h.name = 'h'
    add_role(h, OUTPUT)
    untagged = h + 1
    total = untagged.sum()
    add_role(total, COST)
    weight = pytensor.shared(numpy.asarray(3.0, dtype=floatX), name='w')
    add_role(weight, PARAMETER)
    cg = ComputationGraph(total * weight)
    snapshot = cg.get_snapshot({'x': numpy.array([1.0, 3.0], dtype=floatX)})
    # as in Blocks: variables with roles, not shared ones, not the rest
    assert list(snapshot) == [h, total]
    numpy.testing.assert_allclose(snapshot[h], [2.0, 6.0])
    assert snapshot[total] == pytest.approx(10.0)
    with pytest.raises(ValueError, match='needs values for the inputs x'):
        cg.get_snapshot({})


def test_replacing_a_variable_outside_the_graph_warns():
    x = pt.scalar('x')
    y = x + 1
    elsewhere = pt.scalar('z')
    cg = ComputationGraph([y])
    with pytest.warns(UserWarning, match='not a part of the graph'):
        new = cg.replace([(y, 2 * y), (elsewhere, 2 * elsewhere)])
    assert new.outputs[0].eval({x: 1.0}) == pytest.approx(4.0)


def test_scans():
    x = pt.matrix('x')
    result = scan(lambda row, total: total + row, sequences=x,
                  outputs_info=pt.zeros_like(x[0]), return_updates=False)
    cg = ComputationGraph(result)
    assert len(cg.scans) == 1
    scan_op = cg.scans[0]
    inner = scan_op.inner_inputs + scan_op.inner_outputs
    assert all(var in cg.scan_variables for var in inner)


def test_replace_simple_and_self_referencing():
    x, y = pt.matrix('x'), pt.matrix('y')
    z = x + y
    a, b = z.copy(name='a'), z.copy(name='b')
    r = pt.matrix('r')
    cg = ComputationGraph([a, b]).replace({z: r})
    assert cg.inputs == [r]
    assert [out.name for out in cg.outputs] == ['a', 'b']
    doubled = ComputationGraph(z).replace({z: 2 * z})
    ones = numpy.ones((1, 1), dtype=floatX)
    assert doubled.outputs[0].eval({x: ones, y: ones}) == 4


def test_replace_dependent_variables_in_any_order():
    a = pt.vector('a')
    h1 = a + 1
    h2 = h1 * 3
    out = h2 - 1
    cg = ComputationGraph(out)
    value = numpy.array([1.0], dtype=floatX)
    expected = ((1 + 1) * 10 * 3 + 100) - 1
    for replacements in ([(h1, h1 * 10), (h2, h2 + 100)],
                         [(h2, h2 + 100), (h1, h1 * 10)]):
        new = cg.replace(replacements)
        assert new.outputs[0].eval({a: value}) == expected
    # the original graph is untouched
    assert cg.outputs[0].eval({a: value}) == 5


def test_replace_keeps_tags_roles_and_updates():
    bricks = [Scaled(name='first'), AddOne(name='second')]
    x = pt.vector('x')
    h = bricks[0].apply(x)
    y = bricks[1].apply(h)
    cg = ComputationGraph(y)
    new = cg.replace({h: h * 10})
    outputs = VariableFilter(roles=[OUTPUT])(new)
    assert [var.name for var in outputs] == ['first_apply_y',
                                             'second_apply_y']
    second_output = new.outputs[0]
    assert second_output is not y  # rebuilt on top of the replacement
    assert get_brick(second_output) is bricks[1]
    assert second_output.tag.roles == [OUTPUT]
    assert second_output.tag.name == 'y'
    assert list(new.updates) == [bricks[0].total]
    assert len(new.auxiliary_variables) == 1
    # adding a role to the rebuilt variable leaves the original alone
    add_role(second_output, AUXILIARY)
    assert y.tag.roles == [OUTPUT]
    value = numpy.array([1.0], dtype=floatX)
    assert new.outputs[0].eval({x: value}) == 2 * 10 + 1


def test_replace_applies_to_update_values():
    brick = Scaled()
    x = pt.vector('x')
    y = brick.apply(x)
    cg = ComputationGraph(y)
    input_copy = VariableFilter(theano_name='scaled_apply_x')(cg)[0]
    new = cg.replace({input_copy: input_copy + 1})
    function = new.get_function()
    function(numpy.array([1.0], dtype=floatX))
    assert brick.total.get_value() == pytest.approx(4.0)


def test_replace_type_checks():
    x = pt.vector('x')
    cg = ComputationGraph(x * 2)
    with pytest.raises(ValueError, match='cannot replace'):
        cg.replace({x: pt.matrix()})
    with pytest.raises(TypeError, match='must be a PyTensor variable'):
        cg.replace({x: 1.0})


def test_replace_outputs_of_50_chained_bricks_in_one_pass():
    x = pt.vector('x')
    h = x
    for i in range(50):
        h = AddOne(name='add_{}'.format(i)).apply(h)
    cg = ComputationGraph(h)
    outputs = VariableFilter(roles=[OUTPUT])(cg)
    assert len(outputs) == 50
    values = {out: out * 2 for out in outputs}
    # nodes a replacement adds on top of the variable it replaces
    added = sum(count_nodes([value]) - count_nodes([key])
                for key, value in values.items())
    new = cg.replace(values)
    assert count_nodes(new.outputs) <= count_nodes(cg.outputs) + added
    expected = 0.0
    for _ in range(50):
        expected = 2 * (expected + 1)
    assert new.outputs[0].eval({x: numpy.zeros(1, dtype=floatX)}) == \
        pytest.approx(expected)


def test_graph_module_reexports_blocks_role_helpers():
    import blocks.graph
    from blocks import roles
    assert blocks.graph.add_role is roles.add_role
    assert blocks.graph.PARAMETER is roles.PARAMETER


def test_get_function_names_the_brick_when_it_fails():
    mlp = MLP([Tanh(), Tanh()], [6, 5, 3], name='mlp',
              weights_init=Constant(0.1), biases_init=Constant(0))
    mlp.initialize()
    x = pt.matrix('x')
    function = ComputationGraph(mlp.apply(x)).get_function()
    assert function.maker.fgraph.inputs  # the PyTensor function's own
    ones = numpy.ones((8, 6), dtype=x.dtype)
    assert function(ones)[0].shape == (8, 3)
    with pytest.raises(ValueError,
                       match=r'not aligned.*built by /mlp/linear_0 .*'
                             r'input shapes \(8, 7\), \(6, 5\)'):
        function(numpy.ones((8, 7), dtype=x.dtype))
