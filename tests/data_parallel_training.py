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

from blocks.bricks import (BatchNormalization, BatchNormalizedMLP,
                           Rectifier, Softmax)
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
EPSILON = 1e-3


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


def shard_normalized(x, gamma, beta, g, axes, shards):
    """NumPy's ghost batch normalization: each of `shards` blocks of rows
    normalized with its own statistics; the output, the average
    statistics, and the gradients of ``(output * g).sum()`` with respect
    to x and gamma."""
    outputs, means, stdevs, g_xs, g_gamma = [], [], [], [], 0
    for x_s, g_s in zip(numpy.split(x, shards), numpy.split(g, shards)):
        mean = x_s.mean(axis=axes, keepdims=True)
        stdev = numpy.sqrt(x_s.var(axis=axes, keepdims=True) + EPSILON)
        x_hat = (x_s - mean) / stdev
        outputs.append(gamma * x_hat + beta)
        means.append(mean)
        stdevs.append(stdev)
        count = x_s.size / mean.size
        g_hat = g_s * gamma
        g_xs.append((g_hat - g_hat.mean(axis=axes, keepdims=True)
                     - x_hat * (g_hat * x_hat).sum(axis=axes, keepdims=True)
                     / count) / stdev)
        g_gamma = g_gamma + (g_s * x_hat).sum(axis=axes, keepdims=True)
    return (numpy.concatenate(outputs), numpy.mean(means, axis=0),
            numpy.mean(stdevs, axis=0), numpy.concatenate(g_xs), g_gamma)


def ghost_difference(shape, axes):
    """Largest difference between the per-device ('ghost') statistics
    mode on all devices and NumPy's per-shard reference."""
    rng = numpy.random.RandomState(2)
    x, g = rng.normal(size=(2,) + shape), rng.normal(size=(2,) + shape)
    x = x.reshape((-1,) + shape[1:])
    g = g.reshape(x.shape)
    broadcastable = tuple(axis in axes for axis in range(x.ndim))[1:]
    brick = BatchNormalization(input_dim=x.shape[1:], epsilon=EPSILON,
                               broadcastable=broadcastable)
    brick.initialize()
    gamma = 1 + rng.uniform(size=brick.scale.get_value().shape)
    beta = rng.normal(size=gamma.shape)
    brick.scale.set_value(gamma)
    brick.shift.set_value(beta)
    inputs = tensor.tensor(shape=(None,) * x.ndim, name='x')
    with brick:
        output = brick.apply(inputs)
    estimates = dict(get_batch_normalization_updates(
        ComputationGraph([output])))
    mean = estimates[brick.population_mean]
    stdev = estimates[brick.population_stdev]
    weights = tensor.tensor(shape=(None,) * x.ndim, name='g')
    cost = (output * weights).sum()
    function = compile_function(
        [inputs, weights],
        [output, mean, stdev] + pytensor.grad(cost, [inputs, brick.scale]),
        mode=data_parallel_mode(batch_statistics='per_device'))
    ours = function(x, g)
    reference = shard_normalized(x, gamma[None], beta[None], g, axes,
                                 len(jax.devices()))
    return max(float(numpy.abs(numpy.reshape(a, numpy.shape(b)) - b).max())
               for a, b in zip(ours, reference))


if __name__ == '__main__':
    print(json.dumps({
        'devices': len(jax.devices()),
        'bn_mlp': largest_difference(bn_mlp, tensor.matrix('features'),
                                     (6,)),
        'bn_lenet': largest_difference(bn_lenet, tensor.tensor4('images'),
                                       (1, 28, 28)),
        # 16 rows, then 8 images of 3 channels: 4 and 2 rows per device
        'ghost_bn': ghost_difference((8, 3), (0,)),
        'ghost_spatial_bn': ghost_difference((4, 3, 2, 2), (0, 2, 3)),
    }))
