import numpy
import pytensor
import pytensor.tensor as pt
import pytest

from blocks.bricks.cost import (AbsoluteError, BinaryCrossEntropy,
                                CategoricalCrossEntropy,
                                MisclassificationRate, SquaredError)


@pytest.fixture(scope='module')
def data():
    rng = numpy.random.RandomState(7)
    y_hat = rng.uniform(0.05, 0.95, size=(5, 4))
    targets = rng.uniform(0, 1, size=(5, 4))
    probs = y_hat / y_hat.sum(axis=1, keepdims=True)
    labels = numpy.array([0, 3, 1, 1, 2])
    return y_hat, targets, probs, labels


def test_cost_matrices(data):
    y_hat_value, targets, _, _ = data
    y, y_hat = pt.matrix('y'), pt.matrix('y_hat')
    costs = [BinaryCrossEntropy().apply(y, y_hat),
             AbsoluteError().apply(y, y_hat),
             SquaredError().apply(y, y_hat)]
    assert all(cost.ndim == 0 for cost in costs)
    values = pytensor.function([y, y_hat], costs)(targets, y_hat_value)
    references = [
        -(targets * numpy.log(y_hat_value) +
          (1 - targets) * numpy.log(1 - y_hat_value)),
        numpy.abs(targets - y_hat_value),
        (targets - y_hat_value) ** 2]
    for value, reference in zip(values, references):
        numpy.testing.assert_allclose(value, reference.sum(axis=1).mean())


def test_categorical_cross_entropy_and_misclassification(data):
    _, _, probs, labels = data
    y, t, y_hat = pt.lvector('y'), pt.matrix('t'), pt.matrix('y_hat')
    outputs = [CategoricalCrossEntropy().apply(y, y_hat),
               CategoricalCrossEntropy().apply(t, y_hat),
               MisclassificationRate().apply(y, y_hat),
               MisclassificationRate(top_k=2).apply(y, y_hat),
               MisclassificationRate(top_k=4).apply(y, y_hat)]
    for output in outputs:
        assert output.ndim == 0
    assert outputs[2].dtype == pytensor.config.floatX
    values = pytensor.function([y, t, y_hat], outputs)(
        labels, numpy.eye(4)[labels], probs)
    expected_cce = -numpy.log(probs[range(5), labels]).mean()
    numpy.testing.assert_allclose(values[0], expected_cce)
    numpy.testing.assert_allclose(values[1], expected_cce)
    ranks = (probs >= probs[range(5), labels][:, None]).sum(axis=1)
    for value, top_k in zip(values[2:], [1, 2, 4]):
        numpy.testing.assert_allclose(value, (ranks > top_k).mean())


def test_top_k_ties_count_against_the_model():
    y, y_hat = pt.lvector('y'), pt.matrix('y_hat')
    rate = MisclassificationRate(top_k=2).apply(y, y_hat)
    assert float(rate.eval({y: [0], y_hat: [[0.5, 0.5, 0.5, 0.]]})) == 1.0


def test_categorical_cross_entropy_gradient(data):
    _, _, probs, labels = data
    pytensor.gradient.verify_grad(
        lambda p: CategoricalCrossEntropy().apply(
            pt.as_tensor_variable(labels), p),
        [probs], rng=numpy.random.RandomState(0))


def test_cost_errors():
    y_hat = pt.matrix('y_hat', shape=(3, 4))
    with pytest.raises(TypeError, match='/categoricalcrossentropy: y '
                       'expected an int tensor with ndim 1 and shape '
                       r'\(3,\), got float64 tensor y'):
        CategoricalCrossEntropy().apply(pt.vector('y'), y_hat)
    with pytest.raises(ValueError, match=r'/misclassificationrate: y '
                       r'expected .*shape \(3,\), got int64 tensor y of '
                       r'shape \(2,\)'):
        MisclassificationRate().apply(pt.lvector('y', shape=(2,)), y_hat)
    with pytest.raises(ValueError, match=r'/squarederror: y expected a '
                       r'number tensor with ndim 2 and shape \(3, 4\)'):
        SquaredError().apply(pt.matrix('y', shape=(3, 5)), y_hat)
    with pytest.raises(ValueError, match='/absoluteerror: y_hat expected '
                       'a float tensor with ndim 2'):
        AbsoluteError().apply(pt.vector('y'), pt.vector('y_hat'))
    with pytest.raises(ValueError, match='top_k >= 1'):
        MisclassificationRate(top_k=0)


def test_categorical_cross_entropy_of_one_example():
    from blocks.bricks.cost import CategoricalCrossEntropy
    probabilities = pt.vector('p')
    value = numpy.array([0.2, 0.5, 0.3], dtype=probabilities.dtype)
    cost = CategoricalCrossEntropy()
    label = pt.lscalar('label')
    numpy.testing.assert_allclose(
        cost.apply(label, probabilities).eval(
            {label: 1, probabilities: value}), -numpy.log(0.5), rtol=1e-6)
    targets = pt.vector('targets')
    numpy.testing.assert_allclose(
        cost.apply(targets, probabilities).eval(
            {targets: numpy.array([0.5, 0, 0.5], dtype=value.dtype),
             probabilities: value}),
        -(0.5 * numpy.log(0.2) + 0.5 * numpy.log(0.3)), rtol=1e-6)


@pytest.mark.parametrize('mode', ['FAST_COMPILE', 'FAST_RUN', None])
def test_out_of_range_labels_raise_in_every_mode(mode):
    import pytensor
    from blocks.bricks import Softmax
    from blocks.bricks.cost import (CategoricalCrossEntropy,
                                    MisclassificationRate)
    y, y_hat = pt.lvector('y'), pt.matrix('y_hat')
    softmax = Softmax(name='softmax')
    costs = [CategoricalCrossEntropy(name='cce').apply(y, y_hat),
             MisclassificationRate(name='rate').apply(y, y_hat),
             softmax.categorical_cross_entropy(y, y_hat).sum()]
    probabilities = numpy.full((2, 3), 1 / 3, dtype=y_hat.dtype)
    for cost, name in zip(costs, ['/cce', '/rate', '/softmax']):
        function = pytensor.function([y, y_hat], cost, mode=mode)
        assert numpy.isfinite(function([0, 2], probabilities))
        # Past the last class: the check, or the indexing in modes that
        # index before checking.
        with pytest.raises((AssertionError, IndexError)):
            function([0, 3], probabilities)
        # A negative label would wrap around silently: only the check
        # catches it.
        with pytest.raises(AssertionError,
                           match='{}: class labels must lie'.format(name)):
            function([-1, 0], probabilities)
