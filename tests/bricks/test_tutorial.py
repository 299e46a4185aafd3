"""The Blocks tutorial model, as written there but with pytensor imports."""
import numpy
import pytensor
from pytensor import tensor

from blocks.bricks import MLP, Rectifier, Softmax
from blocks.bricks.cost import CategoricalCrossEntropy
from blocks.filter import VariableFilter
from blocks.graph import ComputationGraph
from blocks.initialization import Constant, IsotropicGaussian
from blocks.roles import WEIGHT


def test_tutorial_mlp():
    x = tensor.matrix('features')
    y = tensor.lmatrix('targets')
    mlp = MLP(activations=[Rectifier(), Softmax()], dims=[784, 100, 10],
              weights_init=IsotropicGaussian(0.01), biases_init=Constant(0))
    mlp.initialize()
    y_hat = mlp.apply(x)
    cost = CategoricalCrossEntropy().apply(y.flatten(), y_hat)
    cg = ComputationGraph(cost)
    W1, W2 = VariableFilter(roles=[WEIGHT])(cg.variables)
    cost = cost + 0.005 * (W1 ** 2).sum() + 0.005 * (W2 ** 2).sum()
    cost.name = 'cost_with_regularization'

    assert {W1.get_value().shape, W2.get_value().shape} == {(784, 100),
                                                            (100, 10)}
    weights = numpy.concatenate([W1.get_value().ravel(),
                                 W2.get_value().ravel()])
    assert abs(weights.std() - 0.01) < 1e-3
    layer_0, layer_1 = mlp.linear_transformations
    assert (layer_0.b.get_value() == 0).all()

    rng = numpy.random.RandomState(0)
    features = rng.rand(16, 784)
    targets = rng.randint(10, size=(16, 1))
    value = pytensor.function([x, y], cost)(features, targets)

    hidden = numpy.maximum(features.dot(layer_0.W.get_value()), 0)
    logits = hidden.dot(layer_1.W.get_value())
    probs = numpy.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    expected = (-numpy.log(probs[range(16), targets[:, 0]]).mean() +
                0.005 * (weights ** 2).sum())
    numpy.testing.assert_allclose(value, expected, rtol=1e-6)
