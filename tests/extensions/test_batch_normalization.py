"""EstimatePopulationStatistics inside a main loop."""
from collections import OrderedDict

import numpy
import pytensor
import pytensor.tensor as pt

from blocks.algorithms import GradientDescent, Scale
from blocks.bricks import BatchNormalizedMLP, Tanh
from blocks.data import DataStream, IndexableDataset, SequentialScheme
from blocks.extensions import FinishAfter
from blocks.extensions.batch_normalization import EstimatePopulationStatistics
from blocks.graph import ComputationGraph, apply_batch_normalization
from blocks.initialization import Constant, IsotropicGaussian
from blocks.main_loop import MainLoop

FLOATX = pytensor.config.floatX


def test_statistics_equal_the_average_over_the_stream_after_training():
    rng = numpy.random.RandomState(3)
    features = (3 + 2 * rng.normal(size=(24, 4))).astype(FLOATX)
    stream = DataStream(IndexableDataset(OrderedDict(features=features)),
                        iteration_scheme=SequentialScheme(24, 8))
    mlp = BatchNormalizedMLP([Tanh()], [4, 3],
                             weights_init=IsotropicGaussian(0.5), seed=1,
                             biases_init=Constant(0))
    mlp.initialize()
    x = pt.matrix('features', dtype=FLOATX)
    inference_cost = pt.sqr(mlp.apply(x)).mean()
    training_graph = apply_batch_normalization(
        ComputationGraph(inference_cost))
    algorithm = GradientDescent(cost=training_graph.outputs[0],
                                parameters=training_graph.parameters,
                                step_rule=Scale(0.1))
    estimate = EstimatePopulationStatistics(
        inference_cost, stream, after_epoch=False, after_training=True)
    MainLoop(algorithm, stream,
             extensions=[FinishAfter(after_n_epochs=1), estimate]).run()

    W = mlp.linear_transformations[0].W.get_value()
    pre_activations = (features @ W).reshape(3, 8, 3)
    bn = mlp.activations[0].children[0]
    expected_mean = pre_activations.mean(axis=1).mean(axis=0)
    expected_stdev = numpy.sqrt(pre_activations.var(axis=1).mean(axis=0)
                                + bn.epsilon)
    tolerance = 1e-5 if FLOATX == 'float64' else 1e-3
    numpy.testing.assert_allclose(bn.population_mean.get_value(),
                                  expected_mean, rtol=tolerance)
    numpy.testing.assert_allclose(bn.population_stdev.get_value(),
                                  expected_stdev, rtol=tolerance)
    assert estimate.main_loop.log.current_row[
        'population_statistics_batches'] == 3
