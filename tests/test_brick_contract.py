"""The brick contract checker passes a brick that keeps the contract and
fails each way of breaking it."""
import numpy
import pytest

from blocks.bricks import Feedforward, Initializable, application
from blocks.bricks.checks import check_input
from blocks.initialization import Constant
from blocks.roles import BIAS, WEIGHT
from blocks.utils import shared_floatx

from tests.brick_contract import BrickCase, check_brick


class Scale(Initializable, Feedforward):
    """Multiplies each feature by a weight; keeps the contract."""
    def __init__(self, dim, **kwargs):
        super().__init__(**kwargs)
        self.dim = dim

    def _allocate(self):
        self.add_parameter('w', (self.dim,), WEIGHT)

    def _initialize(self):
        self.initialize_with(self.parameters[0], 'weights_init')

    @application(inputs=['input_'], outputs=['output'])
    def apply(self, input_):
        check_input(self, input_, ndim=2, last_dim=self.dim)
        return input_ * self.parameters[0]

    def get_dim(self, name):
        if name in ('input_', 'output'):
            return self.dim
        return super().get_dim(name)


class LyingDims(Scale):
    def get_dim(self, name):
        return self.dim + 1


class UncheckedInput(Scale):
    @application(inputs=['input_'], outputs=['output'])
    def apply(self, input_):
        return input_ * self.parameters[0]


class NeverInitialized(Scale):
    def _initialize(self):
        pass


class ForgetsWeightsWhenPickled(Scale):
    def __setstate__(self, state):
        super().__setstate__(state)
        if self.parameters:
            self.parameters[0].set_value(numpy.ones(self.dim))


class AllocatedWithZeros(Scale):
    def _allocate(self):
        self.parameters.append(shared_floatx(numpy.zeros(self.dim), 'w'))
        self.parameters[0].tag.roles = [WEIGHT]


def case(brick_class, **changes):
    settings = dict(parameters={WEIGHT: 1}, wrong_ndim=3)
    settings.update(changes)
    return BrickCase(brick_class,
                     lambda: brick_class(3, weights_init=Constant(2)),
                     {'input_': (2, 3)}, **settings)


def test_a_brick_keeping_the_contract_passes(rng, tolerance):
    check_brick(case(Scale), rng, tolerance)


@pytest.mark.parametrize('broken, match', [
    (case(Scale, parameters={BIAS: 1}), 'parameters by role'),
    (case(AllocatedWithZeros), 'is not NaN before initialization'),
    (case(Scale, persistent={WEIGHT: 1}), 'besides the parameters'),
    (case(NeverInitialized), 'is not finite after initialization'),
    (case(ForgetsWeightsWhenPickled), 'unpickled, output output differs'),
    (case(LyingDims), r"get_dim\('output'\) is 4, the output has shape"),
    (case(Scale, dims=False), 'DID NOT RAISE'),
])
def test_each_broken_rule_fails(broken, match, rng, tolerance):
    with pytest.raises((AssertionError, pytest.fail.Exception), match=match):
        check_brick(broken, rng, tolerance)


def test_an_unchecked_input_fails(rng, tolerance):
    with pytest.raises(pytest.fail.Exception, match='DID NOT RAISE'):
        check_brick(case(UncheckedInput, wrong_ndim=1), rng, tolerance)
