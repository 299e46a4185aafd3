"""The Op contract checker passes an Op that keeps the contract and fails
each way of breaking it."""
import pytensor.tensor as pt
import pytest
from pytensor.gradient import GradientError
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op

from tests.op_contract import OpCase, check_op


class Double(Op):
    """2 x; keeps the contract."""
    __props__ = ()

    def make_node(self, x):
        x = pt.as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, outputs):
        outputs[0][0] = 2 * inputs[0]

    def infer_shape(self, fgraph, node, shapes):
        return shapes

    def pullback(self, inputs, outputs, output_grads):
        return [2 * output_grads[0]]


class WrongShape(Double):
    def infer_shape(self, fgraph, node, shapes):
        return [shapes[0][::-1]]


class NoShape(Double):
    infer_shape = None


class WrongGradient(Double):
    def pullback(self, inputs, outputs, output_grads):
        return [3 * output_grads[0]]


# PyTensor warns that it falls back to computing NoShape for its shape.
NO_SHAPE_WARNING = pytest.mark.filterwarnings('ignore:Failed to infer_shape')


def case(op_class):
    return OpCase(op_class, lambda x: op_class()(x), [(2, 3)])


def test_an_op_keeping_the_contract_passes(rng):
    check_op(case(Double), rng)


@pytest.mark.parametrize('broken, error, match', [
    (case(WrongShape), AssertionError, r'infer_shape gives \(3, 2\)'),
    pytest.param(case(NoShape), AssertionError,
                 'the shape graph computes the Op', marks=NO_SHAPE_WARNING),
    (case(WrongGradient), GradientError, 'numeric gradient'),
    (OpCase(Double, lambda x: 2 * x, [(2, 3)]), AssertionError,
     'holds no Double node'),
])
def test_each_broken_rule_fails(broken, error, match, rng):
    with pytest.raises(error, match=match):
        check_op(broken, rng)
