import numpy
import pytensor
import pytensor.tensor as pt
import pytest

from blocks.filter import VariableFilter
from blocks.graph import ComputationGraph, collect_parameters
from blocks.roles import COLLECTED, COLLECTOR, PARAMETER, add_role
from blocks.utils import shared_floatx

floatX = pytensor.config.floatX


def test_collect_parameters():
    W = shared_floatx(numpy.arange(6).reshape(2, 3), name='W')
    b = shared_floatx([10, 20, 30], name='b', broadcastable=(False,))
    row = shared_floatx([[1, 2, 3]], name='row', broadcastable=(True, False))
    for parameter in (W, b, row):
        add_role(parameter, PARAMETER)
    x = pt.matrix('x')
    y = pt.dot(x, W) + b + row
    cg = ComputationGraph(y)
    new = collect_parameters(cg, [W, b, row])
    collector, = new.parameters
    assert collector.name == 'collected_parameters'
    assert collector.tag.roles == [COLLECTOR]
    numpy.testing.assert_array_equal(
        collector.get_value(),
        numpy.concatenate([W.get_value().ravel(), b.get_value(),
                           row.get_value().ravel()]))
    collected = VariableFilter(roles=[COLLECTED])(new)
    assert {var.tag.replacement_of for var in collected} == {W, b, row}
    value = numpy.ones((1, 2), dtype=floatX)
    numpy.testing.assert_allclose(new.outputs[0].eval({x: value}),
                                  cg.outputs[0].eval({x: value}))
    # training the collector moves the model
    collector.set_value(collector.get_value() * 0)
    assert not new.outputs[0].eval({x: value}).any()
    assert W.get_value().any()


def test_collect_parameters_errors():
    x = pt.vector('x')
    W = shared_floatx([1.0], name='W')
    cg = ComputationGraph(x * W)
    with pytest.raises(ValueError, match='at least one'):
        collect_parameters(cg, [])
    with pytest.raises(ValueError, match='shared variables'):
        collect_parameters(cg, [x])
    other = pytensor.shared(numpy.zeros(1, dtype='int32'), name='k')
    with pytest.raises(ValueError, match='different dtypes'):
        collect_parameters(cg, [W, other])
