"""Flax peers of the BN-MLP and LeNet benchmarks: the same networks in
Flax linen, with the same initial weights, batch and learning rate.

Each peer is an ordinary Flax training step: ``nn.Dense(use_bias=False)``
/ ``nn.Conv(use_bias=False)``, ``nn.BatchNorm`` (training statistics,
blocks' epsilon, momentum 0.9 = blocks' moving-average alpha 0.1, exact
two-pass variance as blocks computes it), ``optax.sgd``,
``optax.softmax_cross_entropy_with_integer_labels``, the whole step (forward,
gradients, update, new batch statistics) under one :func:`jax.jit` with
its state donated. The convolutions run in Flax's own layout (NHWC); the
step takes blocks' NCHW images and transposes them inside the jitted
function, and the first dense layer's rows are permuted to match the
NHWC flattening, so that both compute the same function of the same
weights.

Models (as :mod:`benchmarks.mlp_training` and
:mod:`benchmarks.lenet_bricks` build them; float32):

``mnist_bn``
    BN-MLP [784, 100, 10], tanh, batch 50, learning rate 0.1;
``wide_bn``
    BN-MLP [784, 1000, 1000, 1000, 10], ReLU, batch 100, learning rate
    0.01;
``lenet_bn``
    LeNet with spatial BN (conv 5x5 20, BN, ReLU, pool 2; conv 5x5 50,
    BN, ReLU, pool 2; BN-MLP [800, 500, 10]), batch 100, learning rate
    0.01.

For another benchmark's table: :func:`peer` returns a :class:`FlaxPeer`
for blocks' bricks, whose ``step(inputs, targets)`` runs one training
step on NumPy arrays (blocks' layout) and waits for it.

Run ``python -m benchmarks.flax_peers [--quick] [--threads N] [--models
...] [--modes auto jax]``: one process times blocks' step
(``algorithm.process_batch``) in each compile mode and the Flax step on
the same fixed batch, interleaved in rounds; it prints the ratios
``median(blocks step) / median(Flax step)`` and the largest difference of
the weights after one step from the same weights on the same batch.
"""
import argparse
import functools
import json
import os
import time

import jax
import jax.numpy as jnp
import numpy
import optax
from flax import linen as nn

from benchmarks import lenet_bricks, mlp_training
from benchmarks.timing import (interleave, limit_threads, median,
                               set_thread_environment, time_calls,
                               use_float32)

LENET_LEARNING_RATE = 0.01
#: Flax's BatchNorm momentum that matches blocks' moving-average alpha 0.1
MOMENTUM = 0.9
MODELS = ('mnist_bn', 'wide_bn', 'lenet_bn')
LENET_BATCH = 100


ACTIVATIONS = {'tanh': jnp.tanh, 'relu': jax.nn.relu}


class BNMLP(nn.Module):
    """For each width, a dense layer without bias, batch normalization and
    (but after the last) the activation."""
    widths: tuple
    activation: str
    epsilons: tuple

    @nn.compact
    def __call__(self, x):
        return _dense_stack(x, self.widths, self.activation, self.epsilons)


class LeNetBN(nn.Module):
    """LeNet with spatial BN, taking NCHW images (see the module notes)."""
    filters: tuple
    conv_epsilons: tuple
    widths: tuple
    dense_epsilons: tuple

    @nn.compact
    def __call__(self, images):
        x = jnp.transpose(images, (0, 2, 3, 1))
        for i, (count, epsilon) in enumerate(zip(self.filters,
                                                 self.conv_epsilons)):
            x = nn.Conv(count, (5, 5), padding='VALID', use_bias=False,
                        name='conv_{}'.format(i))(x)
            x = _batch_norm(x, epsilon, 'conv_bn_{}'.format(i))
            x = nn.max_pool(nn.relu(x), (2, 2), strides=(2, 2))
        x = x.reshape((x.shape[0], -1))
        return _dense_stack(x, self.widths, 'relu', self.dense_epsilons)


def _dense_stack(x, widths, activation, epsilons):
    last = len(widths) - 1
    for i, (width, epsilon) in enumerate(zip(widths, epsilons)):
        x = nn.Dense(width, use_bias=False, name='linear_{}'.format(i))(x)
        x = _batch_norm(x, epsilon, 'bn_{}'.format(i))
        if i < last:
            x = ACTIVATIONS[activation](x)
    return x


def _batch_norm(x, epsilon, name):
    return nn.BatchNorm(use_running_average=False, momentum=MOMENTUM,
                        epsilon=epsilon, use_fast_variance=False,
                        name=name)(x)


def _bn_variables(bn):
    """Flax's (params, batch_stats) entries of a blocks BN brick."""
    params = {'scale': bn.scale.get_value().reshape(-1),
              'bias': bn.shift.get_value().reshape(-1)}
    stats = {'mean': bn.population_mean.get_value().reshape(-1),
             'var': bn.population_stdev.get_value().reshape(-1) ** 2}
    return params, stats


def _mlp_variables(mlp, params, stats):
    for i, (linear, bn) in enumerate(zip(mlp.linear_transformations,
                                         mlp.batch_normalizations)):
        params['linear_{}'.format(i)] = {'kernel': linear.W.get_value()}
        name = 'bn_{}'.format(i)
        params[name], stats[name] = _bn_variables(bn)


def mlp_variables(mlp):
    """The Flax variables of a blocks BatchNormalizedMLP."""
    params, stats = {}, {}
    _mlp_variables(mlp, params, stats)
    return {'params': params, 'batch_stats': stats}


def lenet_variables(convolutions, dense):
    """The Flax variables of blocks' LeNet (see the module notes)."""
    params, stats = {}, {}
    layers = convolutions.layers
    convs = [layer for layer in layers
             if type(layer).__name__ == 'Convolutional']
    norms = [layer for layer in layers
             if type(layer).__name__ == 'SpatialBatchNormalization']
    for i, (conv, bn) in enumerate(zip(convs, norms)):
        # blocks' bricks convolve (flipped filters); Flax cross-correlates
        # with HWIO kernels.
        weights = conv.W.get_value()[:, :, ::-1, ::-1]
        params['conv_{}'.format(i)] = {
            'kernel': weights.transpose(2, 3, 1, 0).copy()}
        name = 'conv_bn_{}'.format(i)
        params[name], stats[name] = _bn_variables(bn)
    _mlp_variables(dense, params, stats)
    channels, rows, cols = convolutions.get_dim('output')
    first = params['linear_0']['kernel']
    # rows of blocks' (C, H, W) flattening, reordered to Flax's (H, W, C)
    params['linear_0']['kernel'] = first.reshape(
        channels, rows, cols, -1).transpose(1, 2, 0, 3).reshape(
            first.shape).copy()
    return {'params': params, 'batch_stats': stats}


def _checked(module, variables, example):
    """`variables`, after checking they have the tree, shapes and dtypes
    the module's own initialization gives."""
    expected = jax.eval_shape(
        lambda x: module.init(jax.random.PRNGKey(0), x), example)

    def check(mine, theirs):
        if mine.shape != theirs.shape or mine.dtype != theirs.dtype:
            raise ValueError('Flax expects {} {}, the bricks give {} {}'
                             .format(theirs.shape, theirs.dtype,
                                     mine.shape, mine.dtype))
        return mine
    return jax.tree.map(check, dict(variables), dict(expected))


class FlaxPeer:
    """A Flax module's SGD training step, holding its state.

    Parameters
    ----------
    module : flax.linen.Module
        Maps a batch of inputs to logits; its batch normalizations update
        the ``batch_stats`` collection.
    variables : dict
        ``{'params': ..., 'batch_stats': ...}`` of NumPy arrays.
    learning_rate : float
    example : numpy.ndarray
        A batch of inputs (its shape and dtype check `variables`).

    """

    def __init__(self, module, variables, learning_rate, example):
        variables = _checked(module, variables, example)
        self.params = jax.tree.map(jnp.asarray, variables['params'])
        self.batch_stats = jax.tree.map(jnp.asarray,
                                        variables['batch_stats'])
        optimizer = optax.sgd(learning_rate)
        self.opt_state = optimizer.init(self.params)
        self._step = _jitted_step(module, optimizer)

    def step(self, inputs, targets):
        """One training step on NumPy arrays; returns the cost (float)."""
        self.params, self.batch_stats, self.opt_state, cost = self._step(
            self.params, self.batch_stats, self.opt_state, inputs, targets)
        return float(cost)

    def parameter(self, *path):
        """A parameter as a NumPy array, e.g. ``('linear_0', 'kernel')``."""
        value = self.params
        for key in path:
            value = value[key]
        return numpy.asarray(value)


def _jitted_step(module, optimizer):
    def cost_and_stats(params, batch_stats, inputs, targets):
        logits, state = module.apply(
            {'params': params, 'batch_stats': batch_stats}, inputs,
            mutable=['batch_stats'])
        cost = optax.softmax_cross_entropy_with_integer_labels(
            logits, targets).mean()
        return cost, state['batch_stats']

    @functools.partial(jax.jit, donate_argnums=(0, 1, 2))
    def step(params, batch_stats, opt_state, inputs, targets):
        (cost, batch_stats), grads = jax.value_and_grad(
            cost_and_stats, has_aux=True)(params, batch_stats, inputs,
                                          targets)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), batch_stats,
                opt_state, cost)
    return step


def mlp_peer(mlp, activation, learning_rate, example):
    """The Flax peer of a blocks BatchNormalizedMLP (its current
    weights)."""
    widths = [linear.output_dim for linear in mlp.linear_transformations]
    epsilons = [bn.epsilon for bn in mlp.batch_normalizations]
    return FlaxPeer(BNMLP(tuple(widths), activation, tuple(epsilons)),
                    mlp_variables(mlp), learning_rate, example)


def lenet_peer(convolutions, dense, example,
               learning_rate=LENET_LEARNING_RATE):
    """The Flax peer of :func:`benchmarks.lenet_bricks.build_blocks`'
    bricks (their current weights)."""
    layers = convolutions.layers
    filters = [layer.num_filters for layer in layers
               if type(layer).__name__ == 'Convolutional']
    conv_epsilons = [layer.epsilon for layer in layers
                     if type(layer).__name__ == 'SpatialBatchNormalization']
    widths = [linear.output_dim for linear in dense.linear_transformations]
    dense_epsilons = [bn.epsilon for bn in dense.batch_normalizations]
    module = LeNetBN(tuple(filters), tuple(conv_epsilons), tuple(widths),
                     tuple(dense_epsilons))
    return FlaxPeer(module, lenet_variables(convolutions, dense),
                    learning_rate, example)


# Blocks' side and the comparison ----------------------------------------

def blocks_model(name, mode=None):
    """Blocks' bricks, training algorithm (compiled in `mode`, blocks'
    default if None), fixed batch and Flax peer of model `name`.

    Returns
    -------
    (algorithm, batch, peer, inputs, compare): ``batch`` is the dict
    ``process_batch`` takes, ``peer.step(*inputs)`` the Flax step on the
    same arrays, ``compare()`` the largest difference between a weight
    matrix of each side.
    """
    if name == 'lenet_bn':
        rng = numpy.random.RandomState(1)
        images = rng.uniform(size=(LENET_BATCH, 1, 28, 28)).astype(
            'float32')
        targets = rng.randint(0, 10, LENET_BATCH).astype('int32')
        convolutions, dense, algorithm = lenet_bricks.build_blocks()
        peer = lenet_peer(convolutions, dense, images)
        batch = {'images': images, 'targets': targets}
        inputs = (images, targets)
        last = len(dense.linear_transformations) - 1
        brick_weights = dense.linear_transformations[last].W
        path = ('linear_{}'.format(last), 'kernel')
    else:
        spec = mlp_training.MODELS[name]
        features, targets = mlp_training.make_data(
            spec['dims'][0], spec['dims'][-1], examples=spec['batch'])
        mlp, algorithm = mlp_training.build_blocks(
            spec['dims'], spec['activation'], spec['learning_rate'])
        peer = mlp_peer(mlp, spec['activation'], spec['learning_rate'],
                        features)
        batch = {'features': features, 'targets': targets}
        inputs = (features, targets)
        brick_weights = mlp.linear_transformations[0].W
        path = ('linear_0', 'kernel')
    if mode is not None:
        algorithm.function_kwargs['mode'] = mode

    def compare():
        return float(numpy.abs(brick_weights.get_value()
                               - peer.parameter(*path)).max())
    return algorithm, batch, peer, inputs, compare


def _mode(name):
    from blocks.compilation import auto_mode, jax_mode
    return {'auto': auto_mode, 'jax': jax_mode}[name]()


def run_model(name, modes=('auto', 'jax'), quick=False, verbose=True):
    """Time blocks' step in each of `modes` and the Flax step of `name`;
    returns a dict of results (seconds, ratios, weight differences)."""
    contenders, result = {}, {'model': name}
    peer = inputs = None
    for mode in modes:
        algorithm, batch, peer, inputs, compare = blocks_model(
            name, _mode(mode))
        start = time.perf_counter()
        algorithm.initialize()
        algorithm.process_batch(batch)
        result['blocks[{}] first_step_seconds'.format(mode)] = (
            time.perf_counter() - start)
        peer.step(*inputs)
        result['blocks[{}] first_step_max_weight_difference'.format(
            mode)] = compare()
        contenders['blocks[{}]'.format(mode)] = functools.partial(
            algorithm.process_batch, batch)
    contenders['flax'] = functools.partial(peer.step, *inputs)
    for step in contenders.values():
        step()  # warm-up
    rounds, steps = (5, 5) if quick else (9, 10)
    times = interleave({key: functools.partial(time_calls, step, steps)
                        for key, step in contenders.items()}, rounds)
    result.update(rounds=rounds, steps_per_round=steps,
                  load_average=list(os.getloadavg()))
    for key in contenders:
        result[key + ' step_seconds'] = median(times[key])
    for mode in modes:
        result['ratio blocks[{}]/flax'.format(mode)] = (
            result['blocks[{}] step_seconds'.format(mode)]
            / result['flax step_seconds'])
    if verbose:
        print('{}: '.format(name) + ', '.join(
            '{} {:.2f} ms'.format(key, 1e3 * result[key + ' step_seconds'])
            for key in contenders) + '; ' + ', '.join(
            '{} {:.2f}'.format(key, value) for key, value in result.items()
            if key.startswith('ratio')) + ' (weight differences ' + ', '.join(
            '{:.1e}'.format(value) for key, value in result.items()
            if key.endswith('difference')) + ')', flush=True)
    return result


def run(quick=False, models=MODELS, modes=('auto', 'jax'), verbose=True):
    return {name: run_model(name, modes, quick, verbose) for name in models}


def limit_cpus(threads):
    """Run this process on `threads` CPUs and ask BLAS for as many
    threads; call before JAX's first computation (XLA gives its thread
    pool one thread per CPU the process may use)."""
    set_thread_environment(threads)
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, cpus[:threads])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true')
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--models', nargs='+', default=list(MODELS),
                        choices=MODELS)
    parser.add_argument('--modes', nargs='+', default=['auto', 'jax'],
                        choices=['auto', 'jax'],
                        help="blocks' compile modes to time")
    args = parser.parse_args(argv)
    limit_cpus(args.threads)
    use_float32()
    limiter = limit_threads(args.threads)  # noqa: F841 (kept alive)
    results = run(args.quick, tuple(args.models), tuple(args.modes))
    results['threads'] = args.threads
    print(json.dumps(results, indent=1))
    return results


if __name__ == '__main__':
    main()
