"""Train two batch-normalized networks a few steps on one device and on
all of JAX's devices, and print the largest difference between the
parameters and population statistics each run ends with.

Run by tests/test_compilation.py in a subprocess, with
``XLA_FLAGS=--xla_force_host_platform_device_count=4``: JAX fixes its
devices when it starts, so the test cannot change them in its own process.
"""
import json

import jax
import numpy
import pytensor
from pytensor import tensor

from blocks.bricks import BatchNormalizedMLP, Rectifier, Softmax
from blocks.bricks.conv import Flattener
from blocks.bricks.cost import CategoricalCrossEntropy
from blocks.compilation import compile_function, data_parallel_mode
from blocks.graph import (ComputationGraph, apply_batch_normalization,
                          get_batch_normalization_updates)
from blocks.initialization import Constant, IsotropicGaussian
from blocks.roles import PARAMETER, PERSISTENT
from blocks.filter import VariableFilter

from examples.mnist_lenet import lenet

STEPS, BATCH, LEARNING_RATE, ALPHA = 3, 16, 0.1, 0.1


def bn_mlp(features):
    mlp = BatchNormalizedMLP([Rectifier(), Softmax()], [6, 8, 3],
                             weights_init=IsotropicGaussian(0.5),
                             biases_init=Constant(0), seed=1)
    mlp.initialize()
    return mlp.apply(features)


def bn_lenet(images):
    convolutions, dense = lenet(feature_maps=(2,), hidden=6)
    return dense.apply(Flattener().apply(convolutions.apply(images)))


def training_step(build, inputs, mode):
    """A compiled SGD step with the population-statistics updates, and
    the variables whose values the step changes."""
    labels = tensor.lvector('labels')
    cost = CategoricalCrossEntropy().apply(labels, build(inputs))
    graph = apply_batch_normalization(ComputationGraph([cost]))
    parameters = VariableFilter(roles=[PARAMETER])(graph.variables)
    gradients = pytensor.grad(graph.outputs[0], parameters)
    updates = [(p, p - LEARNING_RATE * g)
               for p, g in zip(parameters, gradients)]
    for population, minibatch in get_batch_normalization_updates(graph):
        updates.append((population,
                        (1 - ALPHA) * population + ALPHA * minibatch))
    step = compile_function([inputs, labels], graph.outputs[0],
                            updates=updates, mode=mode)
    persistent = VariableFilter(roles=[PERSISTENT])(
        ComputationGraph([cost]).variables)
    return step, parameters + persistent


def trained_values(build, inputs, shape, devices):
    step, variables = training_step(build, inputs,
                                    data_parallel_mode(devices))
    rng = numpy.random.RandomState(0)
    for _ in range(STEPS):
        step(rng.normal(size=(BATCH,) + shape).astype(inputs.dtype),
             rng.randint(0, 3, size=BATCH))
    return [variable.get_value() for variable in variables]


def largest_difference(build, inputs, shape):
    one = trained_values(build, inputs, shape, jax.devices()[:1])
    every = trained_values(build, inputs, shape, jax.devices())
    assert len(one) == len(every) > 0
    return max(float(numpy.abs(a - b).max()) for a, b in zip(one, every))


if __name__ == '__main__':
    print(json.dumps({
        'devices': len(jax.devices()),
        'bn_mlp': largest_difference(bn_mlp, tensor.matrix('features'),
                                     (6,)),
        'bn_lenet': largest_difference(bn_lenet, tensor.tensor4('images'),
                                       (1, 28, 28)),
    }))
