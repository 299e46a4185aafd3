"""LeNet with spatial batch normalization, built from bricks, against
PyTorch CPU eager (benchmark 3 of the suite).

The network (as ``examples/mnist_lenet.py``): conv 5x5 (20 filters) ->
:class:`~blocks.bricks.SpatialBatchNormalization` -> ReLU -> max-pool 2x2;
conv 5x5 (50) -> spatial BN -> ReLU -> max-pool 2x2; flatten (800) ->
:class:`~blocks.bricks.BatchNormalizedMLP` [800, 500, 10] (ReLU, softmax).
Convolutions have no biases (the BN shift plays their role). Blocks side:
a :class:`~blocks.bricks.conv.ConvolutionalSequence`, training graph by
:func:`~blocks.graph.apply_batch_normalization`, SGD
(:class:`~blocks.algorithms.GradientDescent`, ``Scale(0.01)``) with the
moving-average population updates in the same function; one step is
``algorithm.process_batch``. PyTorch side: ``Conv2d(bias=False)``,
``BatchNorm2d`` / ``BatchNorm1d`` (eps 1e-4, momentum 0.1), the same
initial weights (flipped: blocks' convolution bricks flip their filters),
``CrossEntropyLoss``, ``optim.SGD``. float32, MNIST-sized random images.
Both step on the same fixed batch, interleaved in rounds; the ratio is
``median(blocks step) / median(torch step)`` (target <= 1.5).

``benchmarks/lenet.py`` (the ops engineer's) times the plain LeNet of the
Theano tutorial built directly on ``blocks.ops``; this module times the
brick-built, batch-normalized one.

Run ``python -m benchmarks.lenet_bricks [--quick] [--batch N]``.
"""
import argparse
import json
import time

from benchmarks.peers import (COMPILED, EAGER, FLAX, PEERS, available,
                              first_calls, flax_peers, peers_line,
                              record_peers, torch_compiled)

LEARNING_RATE = 0.01


def build_blocks(seed=0):
    import pytensor.tensor as pt
    from blocks.algorithms import GradientDescent, Scale
    from blocks.bricks import (BatchNormalizedMLP, Rectifier, Softmax,
                               SpatialBatchNormalization)
    from blocks.bricks.conv import (Convolutional, ConvolutionalSequence,
                                    Flattener, MaxPooling)
    from blocks.bricks.cost import CategoricalCrossEntropy
    from blocks.graph import (ComputationGraph, apply_batch_normalization,
                              get_population_moving_average_updates)
    from blocks.initialization import Constant, IsotropicGaussian
    init = dict(weights_init=IsotropicGaussian(0.05),
                biases_init=Constant(0))
    layers = []
    for i, filters in enumerate((20, 50)):
        layers += [Convolutional((5, 5), filters, name='conv_{}'.format(i)),
                   SpatialBatchNormalization(name='bn_{}'.format(i)),
                   Rectifier(name='relu_{}'.format(i)),
                   MaxPooling((2, 2), name='pool_{}'.format(i))]
    convolutions = ConvolutionalSequence(layers, num_channels=1,
                                         image_size=(28, 28), use_bias=False,
                                         name='convolutions', **init)
    convolutions.initialize()
    dense = BatchNormalizedMLP([Rectifier(), Softmax()], [800, 500, 10],
                               name='dense', **init)
    dense.initialize()
    images = pt.tensor4('images')
    targets = pt.ivector('targets')
    probs = dense.apply(Flattener().apply(convolutions.apply(images)))
    cost = CategoricalCrossEntropy().apply(targets, probs)
    training = apply_batch_normalization(ComputationGraph(cost))
    algorithm = GradientDescent(cost=training.outputs[0],
                                parameters=training.parameters,
                                step_rule=Scale(LEARNING_RATE))
    algorithm.add_updates(get_population_moving_average_updates(training))
    return convolutions, dense, algorithm


def build_torch(convolutions, dense):
    import torch
    nn = torch.nn

    def tensor(array):
        return torch.from_numpy(array.copy())

    modules = []
    for layer in convolutions.layers:
        name = type(layer).__name__
        if name == 'Convolutional':
            weights = layer.W.get_value()[:, :, ::-1, ::-1]  # flipped
            conv = nn.Conv2d(weights.shape[1], weights.shape[0],
                             weights.shape[2:], bias=False)
            with torch.no_grad():
                conv.weight.copy_(tensor(weights))
            modules.append(conv)
        elif name == 'SpatialBatchNormalization':
            modules.append(nn.BatchNorm2d(layer.input_dim[0],
                                          eps=layer.epsilon, momentum=0.1))
        elif name == 'Rectifier':
            modules.append(nn.ReLU())
        elif name == 'MaxPooling':
            modules.append(nn.MaxPool2d(2))
    modules.append(nn.Flatten())
    last = len(dense.linear_transformations) - 1
    for i, (linear, bn) in enumerate(zip(dense.linear_transformations,
                                         dense.batch_normalizations)):
        weights = linear.W.get_value()
        layer = nn.Linear(*weights.shape, bias=False)
        with torch.no_grad():
            layer.weight.copy_(tensor(weights.T))
        modules += [layer, nn.BatchNorm1d(weights.shape[1], eps=bn.epsilon,
                                          momentum=0.1)]
        if i < last:
            modules.append(nn.ReLU())
    net = nn.Sequential(*modules)
    net.train()
    optimizer = torch.optim.SGD(net.parameters(), lr=LEARNING_RATE)
    loss_function = nn.CrossEntropyLoss()

    def step(x, y):
        optimizer.zero_grad()
        loss = loss_function(net(x), y)
        loss.backward()
        optimizer.step()
        return loss
    return net, step


def run(quick=False, batch=100, verbose=True, peers=PEERS):
    """Benchmark 3; returns a dict of results."""
    import numpy
    import torch

    from benchmarks.timing import interleave, median, time_calls
    peers = available(peers)
    rng = numpy.random.RandomState(1)
    images = rng.uniform(size=(batch, 1, 28, 28)).astype('float32')
    targets = rng.randint(0, 10, batch).astype('int32')
    convolutions, dense, algorithm = build_blocks()
    net, torch_step = build_torch(convolutions, dense)
    fixed = {'images': images, 'targets': targets}
    fixed_torch = (torch.from_numpy(images),
                   torch.from_numpy(targets.astype('int64')))
    # The peers, from the same initial weights (before blocks' first step).
    steps_of_peers = {}
    if COMPILED in peers:
        compiled = torch_compiled(build_torch(convolutions, dense)[1])
        steps_of_peers[COMPILED] = lambda: compiled(*fixed_torch)
    if FLAX in peers:
        flax = flax_peers().lenet_peer(convolutions, dense, images,
                                       LEARNING_RATE)
        steps_of_peers[FLAX] = lambda: flax.step(images, targets)
    algorithm.add_outputs([algorithm.cost])
    start = time.perf_counter()
    algorithm.initialize()
    compile_seconds = time.perf_counter() - start
    algorithm.process_batch(fixed)
    first = first_calls(steps_of_peers)
    first['blocks'] = (float(algorithm.output_values[0]), compile_seconds)
    first[EAGER] = (float(torch_step(*fixed_torch).detach()), None)
    difference = float(numpy.abs(
        dense.linear_transformations[-1].W.get_value()
        - net[-2].weight.detach().numpy().T).max())
    rounds, steps = (5, 3) if quick else (9, 5)
    contenders = {
        'blocks': lambda: time_calls(lambda: algorithm.process_batch(fixed),
                                     steps),
        'torch': lambda: time_calls(lambda: torch_step(*fixed_torch), steps),
    }
    for peer, step in steps_of_peers.items():
        contenders[peer] = lambda step=step: time_calls(step, steps)
    times = interleave(contenders, rounds)
    result = {'batch': batch, 'rounds': rounds, 'steps_per_round': steps,
              'compile_seconds': compile_seconds,
              'blocks_step_seconds': median(times['blocks']),
              'torch_step_seconds': median(times['torch']),
              'first_step_max_weight_difference': difference}
    result['step_time_ratio'] = (result['blocks_step_seconds']
                                 / result['torch_step_seconds'])
    record_peers(result, first, times, steps_of_peers)
    if verbose:
        print('LeNet+SBN (bricks), batch {}: blocks {:.1f} ms, torch {:.1f} '
              'ms, ratio {:.2f} (first-step weight difference {:.1e})'.format(
                  batch, 1e3 * result['blocks_step_seconds'],
                  1e3 * result['torch_step_seconds'],
                  result['step_time_ratio'], difference), flush=True)
        print(peers_line(result), flush=True)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true')
    parser.add_argument('--batch', type=int, default=100)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--peers', nargs='*', default=list(PEERS),
                        choices=PEERS)
    args = parser.parse_args(argv)
    from benchmarks.timing import (set_thread_environment, limit_threads,
                                   use_float32)
    set_thread_environment(args.threads)
    use_float32()
    limiter = limit_threads(args.threads)  # noqa: F841
    result = run(args.quick, args.batch, peers=args.peers)
    print(json.dumps(result, indent=1))
    return result


if __name__ == '__main__':
    main()
