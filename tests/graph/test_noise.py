import numpy
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.graph.traversal import applys_between, graph_inputs

from blocks.bricks.base import Brick, application
from blocks.filter import VariableFilter
from blocks.graph import ComputationGraph, apply_dropout, apply_noise
from blocks.roles import DROPOUT, INPUT, OUTPUT, has_roles
from blocks.utils import RandomStream

floatX = pytensor.config.floatX


class AddOne(Brick):
    @application(inputs=['x'], outputs=['y'])
    def apply(self, x):
        return x + 1


def chain(length, x):
    h = x
    for i in range(length):
        h = AddOne(name='add_{}'.format(i)).apply(h)
    return h


def test_apply_noise_statistics_and_seed():
    x = pt.vector('x')
    cg = ComputationGraph(x * 1)
    noisy = apply_noise(cg, [x], level=0.5)
    value = numpy.zeros(20000, dtype=floatX)
    sample = noisy.outputs[0].eval({x: value})
    assert sample.dtype == floatX
    assert abs(sample.mean()) < 0.02
    assert sample.std() == pytest.approx(0.5, rel=0.03)
    again = apply_noise(cg, [x], level=0.5).outputs[0].eval({x: value})
    numpy.testing.assert_array_equal(sample, again)  # default seed
    other = apply_noise(cg, [x], level=0.5, seed=2).outputs[0].eval(
        {x: value})
    assert not numpy.array_equal(sample, other)


def test_apply_noise_keeps_float32():
    x = pt.vector('x', dtype='float32')
    noisy = apply_noise(ComputationGraph(2 * x), [x], level=1.0)
    assert noisy.outputs[0].dtype == 'float32'


def test_apply_dropout_mask_and_scaling():
    x = pt.vector('x')
    cg = ComputationGraph(x * 1)
    dropped = apply_dropout(cg, [x], drop_prob=0.25, seed=3)
    value = numpy.ones(20000, dtype=floatX)
    sample = dropped.outputs[0].eval({x: value})
    kept = sample != 0
    numpy.testing.assert_allclose(sample[kept], 1 / 0.75, rtol=1e-6)
    assert kept.mean() == pytest.approx(0.75, abs=0.015)
    custom = apply_dropout(cg, [x], 0.25, seed=3, custom_divisor=1.0)
    sample = custom.outputs[0].eval({x: value})
    assert set(numpy.unique(sample)) <= {0.0, 1.0}


def test_apply_dropout_tags_result():
    x = pt.matrix('x')
    h = chain(2, x)
    cg = ComputationGraph(h)
    inputs = VariableFilter(roles=[INPUT])(cg)
    dropped = apply_dropout(cg, inputs, 0.5)
    found = VariableFilter(roles=[DROPOUT])(dropped)
    assert len(found) == 2
    assert {var.tag.replacement_of for var in found} == set(inputs)
    assert not any(has_roles(var, [DROPOUT]) for var in cg.variables)


def test_apply_dropout_with_given_stream_and_symbolic_probability():
    x = pt.vector('x')
    probability = pytensor.shared(numpy.asarray(0.5, dtype=floatX))
    cg = ComputationGraph(x.sum())
    dropped = apply_dropout(cg, [x], probability, rng=RandomStream(4))
    function = dropped.get_function()
    value = numpy.ones(1000, dtype=floatX)
    first, second = function(value)[0], function(value)[0]
    assert first != second  # the masks advance between calls
    probability.set_value(numpy.asarray(0.0, dtype=floatX))
    assert function(value)[0] == pytest.approx(1000)


def test_dropout_on_chained_layers_composes_in_one_pass():
    x = pt.vector('x')
    cg = ComputationGraph(chain(20, x))
    outputs = VariableFilter(roles=[OUTPUT])(cg)
    dropped = apply_dropout(cg, outputs, drop_prob=0.5, seed=1)

    def count(outs):
        return len(list(applys_between(list(graph_inputs(outs)), outs)))
    assert len(VariableFilter(roles=[DROPOUT])(dropped)) == 20
    # each dropout adds a fixed number of nodes; nothing is cloned twice
    single = apply_dropout(ComputationGraph(x * 1), [x], 0.5)
    per_dropout = count(single.outputs) - count([x * 1])
    assert count(dropped.outputs) <= count(cg.outputs) + 20 * per_dropout


def test_dropout_on_chained_layers_composes():
    # y1 = (x + 1) m1 / 0.5 and y2 = (y1 + 1) m2 / 0.5: with x = 0, y2 is
    # 0, 2 (first unit dropped) or 6 (kept). Without composition the second
    # layer would see the undropped y1 = 1 and give 0 or 4.
    x = pt.vector('x')
    cg = ComputationGraph(chain(2, x))
    outputs = VariableFilter(roles=[OUTPUT])(cg)
    dropped = apply_dropout(cg, outputs, drop_prob=0.5, seed=1)
    value = dropped.outputs[0].eval({x: numpy.zeros(200, dtype=floatX)})
    assert set(numpy.unique(value)) == {0.0, 2.0, 6.0}
