"""Training throughput of batch-normalized MLPs, end to end, blocks
against PyTorch CPU eager (benchmarks 1a, 1b and 4 of the suite).

Blocks side: bricks (:class:`~blocks.bricks.BatchNormalizedMLP`),
:func:`~blocks.graph.apply_batch_normalization`,
:class:`~blocks.algorithms.GradientDescent` (plain SGD) with the
moving-average population updates
(:func:`~blocks.graph.get_population_moving_average_updates`, alpha 0.1),
run by a :class:`~blocks.main_loop.MainLoop` over a
:class:`~blocks.data.DataStream` of an in-memory
:class:`~blocks.data.datasets.IndexableDataset` with a
:class:`~blocks.data.ShuffledScheme`, stopped by
:class:`~blocks.extensions.FinishAfter`.

PyTorch side: ``nn.Sequential`` of ``Linear(bias=False)``,
``BatchNorm1d(eps=1e-4, momentum=0.1)`` and the activation, the same
initial weights, ``CrossEntropyLoss``, ``optim.SGD`` and a ``DataLoader``
over a ``TensorDataset`` of the same arrays, same batch size, shuffled.

Models (float32, MNIST-sized random data, 10000 examples):

``mnist_bn`` (1a)
    the Blocks MNIST MLP [784, 100, 10] (tanh) with batch normalization,
    batch 50, learning rate 0.1;
``wide_bn`` (1b)
    [784, 1000, 1000, 1000, 10] (ReLU) with batch normalization, batch
    100, learning rate 0.01.

Each round runs a fresh MainLoop for `batches` batches and the PyTorch loop
for as many, in turn; the throughput ratio is
``median(torch time) / median(blocks time)`` (>= 1: blocks is faster). The
compiled step alone (``algorithm.process_batch`` on a fixed batch, and the
PyTorch step on fixed tensors) is timed the same way, so that the loop's
own overhead shows. Before timing, one step on the same batch from the
same weights is taken on both sides and the largest difference of the
updated first-layer weights is recorded.

Benchmark 4 divides the FLOP rate of the ``wide_bn`` training step (the
matrix products: forward, weight gradients and input gradients but the
first layer's) by NumPy's float32 GEMM rate on 2000 x 2000 matrices,
measured in the same run.

Run ``python -m benchmarks.mlp_training [--quick] [--threads N]``.
"""
import argparse
import json

from benchmarks.peers import (COMPILED, EAGER, FLAX, PEERS, available,
                              first_calls, flax_peers, peers_line,
                              record_peers, torch_compiled)

MODELS = {
    'mnist_bn': dict(dims=[784, 100, 10], activation='tanh', batch=50,
                     learning_rate=0.1),
    'wide_bn': dict(dims=[784, 1000, 1000, 1000, 10], activation='relu',
                    batch=100, learning_rate=0.01),
}
EXAMPLES = 10000


def make_data(features, classes, examples=EXAMPLES, seed=1):
    import numpy
    rng = numpy.random.RandomState(seed)
    return (rng.uniform(size=(examples, features)).astype('float32'),
            rng.randint(0, classes, size=examples).astype('int32'))


def build_blocks(dims, activation, learning_rate, seed=0):
    """The brick, its training algorithm (not compiled yet) and the
    bricks' BN layers, for the torch copy."""
    import pytensor.tensor as pt
    from blocks.algorithms import GradientDescent, Scale
    from blocks.bricks import (BatchNormalizedMLP, Rectifier, Softmax,
                               Tanh)
    from blocks.bricks.cost import CategoricalCrossEntropy
    from blocks.graph import (ComputationGraph, apply_batch_normalization,
                              get_population_moving_average_updates)
    from blocks.initialization import Constant, IsotropicGaussian
    brick = {'tanh': Tanh, 'relu': Rectifier}[activation]
    mlp = BatchNormalizedMLP([brick() for _ in dims[2:]] + [Softmax()], dims,
                             weights_init=IsotropicGaussian(0.05),
                             biases_init=Constant(0), seed=seed)
    mlp.initialize()
    features = pt.matrix('features')
    targets = pt.ivector('targets')
    cost = CategoricalCrossEntropy().apply(targets, mlp.apply(features))
    training = apply_batch_normalization(ComputationGraph(cost))
    algorithm = GradientDescent(cost=training.outputs[0],
                                parameters=training.parameters,
                                step_rule=Scale(learning_rate))
    algorithm.add_updates(get_population_moving_average_updates(training,
                                                                alpha=0.1))
    return mlp, algorithm


def build_torch(mlp, activation, learning_rate):
    """The same network in PyTorch, with the brick's initial weights."""
    import torch
    layers = []
    last = len(mlp.linear_transformations) - 1
    for i, (linear, bn) in enumerate(zip(mlp.linear_transformations,
                                         mlp.batch_normalizations)):
        weights = linear.W.get_value()
        layer = torch.nn.Linear(*weights.shape, bias=False)
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(weights.T.copy()))
        norm = torch.nn.BatchNorm1d(weights.shape[1], eps=bn.epsilon,
                                    momentum=0.1)
        layers += [layer, norm]
        if i < last:
            layers.append(torch.nn.Tanh() if activation == 'tanh'
                          else torch.nn.ReLU())
    net = torch.nn.Sequential(*layers)
    net.train()
    optimizer = torch.optim.SGD(net.parameters(), lr=learning_rate)
    loss_function = torch.nn.CrossEntropyLoss()

    def step(x, y):
        optimizer.zero_grad()
        loss = loss_function(net(x), y)
        loss.backward()
        optimizer.step()
        return loss
    return net, step


def blocks_loop_runner(algorithm, stream):
    """Run `batches` batches with a new MainLoop over the (continuing)
    stream."""
    from blocks.extensions import FinishAfter
    from blocks.main_loop import MainLoop

    def run(batches):
        loop = MainLoop(algorithm, stream,
                        extensions=[FinishAfter(after_n_batches=batches)])
        loop.run()
    return run


def torch_loop_runner(step, loader):
    state = {'iterator': iter(loader)}

    def run(batches):
        for _ in range(batches):
            try:
                x, y = next(state['iterator'])
            except StopIteration:
                state['iterator'] = iter(loader)
                x, y = next(state['iterator'])
            step(x, y)
    return run


def training_flops(dims, batch):
    """Multiply-adds x 2 of the matrix products of one training step."""
    pairs = list(zip(dims[:-1], dims[1:]))
    forward = sum(2 * batch * a * b for a, b in pairs)
    input_gradients = sum(2 * batch * a * b for a, b in pairs[1:])
    return 2 * forward + input_gradients


def run_model(name, quick=False, verbose=True, peers=PEERS):
    """Benchmark one model of MODELS; returns a dict of results."""
    import time

    import numpy
    import torch
    from blocks.data import DataStream, ShuffledScheme
    from blocks.data.datasets import IndexableDataset

    from benchmarks.timing import interleave, median, time_calls
    peers = available(peers)
    spec = MODELS[name]
    dims, batch = spec['dims'], spec['batch']
    features, targets = make_data(dims[0], dims[-1])
    mlp, algorithm = build_blocks(dims, spec['activation'],
                                  spec['learning_rate'])
    net, torch_step = build_torch(mlp, spec['activation'],
                                  spec['learning_rate'])
    fixed = {'features': features[:batch], 'targets': targets[:batch]}
    fixed_torch = (torch.from_numpy(features[:batch]),
                   torch.from_numpy(targets[:batch].astype('int64')))
    # The peers, from the same initial weights (before blocks' first step).
    steps_of_peers = peer_steps(mlp, spec, fixed, fixed_torch, peers)
    algorithm.add_outputs([algorithm.cost])
    start = time.perf_counter()
    algorithm.initialize()
    compile_seconds = time.perf_counter() - start

    # Same first step on every side, from the same weights.
    algorithm.process_batch(fixed)
    first = first_calls(steps_of_peers)
    first['blocks'] = (float(algorithm.output_values[0]), compile_seconds)
    first[EAGER] = (float(torch_step(*fixed_torch).detach()), None)
    first_weights = mlp.linear_transformations[0].W.get_value()
    difference = float(numpy.abs(
        first_weights - net[0].weight.detach().numpy().T).max())

    dataset = IndexableDataset({'features': features, 'targets': targets})
    stream = DataStream(dataset, iteration_scheme=ShuffledScheme(
        len(features), batch, rng=numpy.random.RandomState(2)))
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(
            torch.from_numpy(features),
            torch.from_numpy(targets.astype('int64'))),
        batch_size=batch, shuffle=True,
        generator=torch.Generator().manual_seed(2))
    blocks_loop = blocks_loop_runner(algorithm, stream)
    torch_loop = torch_loop_runner(torch_step, loader)
    # batches per round: about half a second of work on each side
    batches = max(5, int(0.5 / max(time_calls(
        lambda: algorithm.process_batch(fixed), 3), 1e-4)))
    if quick:
        batches = max(5, batches // 2)
    rounds = 5 if quick else 9
    blocks_loop(batches)  # warm-up (first epoch iterator, caches)
    torch_loop(batches)
    steps = 20 if quick else 50
    contenders = {
        'blocks_loop': lambda: blocks_loop(batches),
        'torch_loop': lambda: torch_loop(batches),
        'blocks_step': lambda: time_calls(
            lambda: algorithm.process_batch(fixed), steps),
        'torch_step': lambda: time_calls(
            lambda: torch_step(*fixed_torch), steps),
    }
    for peer, step in steps_of_peers.items():
        contenders[peer] = lambda step=step: time_calls(step, steps)
    times = interleave(contenders, rounds)
    result = {'model': name, 'dims': dims, 'batch': batch,
              'activation': spec['activation'],
              'learning_rate': spec['learning_rate'],
              'batches_per_round': batches, 'rounds': rounds,
              'compile_seconds': compile_seconds,
              'first_step_max_weight_difference': difference}
    for key in ('blocks_loop', 'torch_loop'):
        result[key + '_seconds_per_batch'] = median(times[key]) / batches
        result[key + '_examples_per_second'] = batch / result[
            key + '_seconds_per_batch']
    for key in ('blocks_step', 'torch_step'):
        result[key + '_seconds'] = median(times[key])
    result['throughput_ratio'] = (result['torch_loop_seconds_per_batch']
                                  / result['blocks_loop_seconds_per_batch'])
    result['step_ratio'] = (result['torch_step_seconds']
                            / result['blocks_step_seconds'])
    result['blocks_loop_overhead_seconds'] = (
        result['blocks_loop_seconds_per_batch']
        - result['blocks_step_seconds'])
    result['torch_loop_overhead_seconds'] = (
        result['torch_loop_seconds_per_batch']
        - result['torch_step_seconds'])
    result['flops_per_step'] = training_flops(dims, batch)
    record_peers(result, first, times, steps_of_peers)
    if verbose:
        print('{}: blocks {:.0f} ex/s (loop {:.2f} ms/batch, step {:.2f} ms)'
              ', torch {:.0f} ex/s (loop {:.2f} ms, step {:.2f} ms), '
              'throughput ratio {:.2f}, step ratio {:.2f}, first-step '
              'weight difference {:.1e}'.format(
                  name, result['blocks_loop_examples_per_second'],
                  1e3 * result['blocks_loop_seconds_per_batch'],
                  1e3 * result['blocks_step_seconds'],
                  result['torch_loop_examples_per_second'],
                  1e3 * result['torch_loop_seconds_per_batch'],
                  1e3 * result['torch_step_seconds'],
                  result['throughput_ratio'], result['step_ratio'],
                  difference), flush=True)
        print(peers_line(result, decimals=2), flush=True)
    return result


def peer_steps(mlp, spec, fixed, fixed_torch, peers):
    """name -> one-step callable of each peer but PyTorch eager, built
    from the bricks' current weights."""
    steps = {}
    if COMPILED in peers:
        _, step = build_torch(mlp, spec['activation'], spec['learning_rate'])
        compiled = torch_compiled(step)
        steps[COMPILED] = lambda: compiled(*fixed_torch)
    if FLAX in peers:
        peer = flax_peers().mlp_peer(mlp, spec['activation'],
                                     spec['learning_rate'],
                                     fixed['features'])
        steps[FLAX] = lambda: peer.step(fixed['features'], fixed['targets'])
    return steps


def efficiency(wide_result, gemm_flops):
    """Benchmark 4: the wide model's training FLOP rate over the GEMM
    peak, for blocks and PyTorch (loop and step alone)."""
    flops = wide_result['flops_per_step']
    result = {'gemm_peak_gflops': gemm_flops / 1e9,
              'flops_per_step': flops}
    for key in ('blocks_loop', 'torch_loop'):
        rate = flops / wide_result[key + '_seconds_per_batch']
        result[key + '_gflops'] = rate / 1e9
        result[key + '_fraction_of_peak'] = rate / gemm_flops
    for key in ('blocks_step', 'torch_step'):
        rate = flops / wide_result[key + '_seconds']
        result[key + '_gflops'] = rate / 1e9
        result[key + '_fraction_of_peak'] = rate / gemm_flops
    return result


def run(quick=False, models=tuple(MODELS), verbose=True, peers=PEERS):
    """Benchmarks 1a, 1b and 4; returns {'mnist_bn': ..., 'wide_bn': ...,
    'efficiency': ...}."""
    from benchmarks.timing import gemm_peak
    results = {}
    for name in models:
        results[name] = run_model(name, quick, verbose, peers)
    if 'wide_bn' in results:
        results['efficiency'] = efficiency(results['wide_bn'], gemm_peak())
        if verbose:
            print('efficiency: GEMM peak {:.1f} GFLOP/s; blocks loop {:.0%}, '
                  'torch loop {:.0%} of it'.format(
                      results['efficiency']['gemm_peak_gflops'],
                      results['efficiency']['blocks_loop_fraction_of_peak'],
                      results['efficiency']['torch_loop_fraction_of_peak']))
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true')
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--peers', nargs='*', default=list(PEERS),
                        choices=PEERS)
    parser.add_argument('--models', nargs='+', default=list(MODELS),
                        choices=list(MODELS))
    args = parser.parse_args(argv)
    from benchmarks.timing import (set_thread_environment, limit_threads,
                                   use_float32)
    set_thread_environment(args.threads)
    use_float32()
    limiter = limit_threads(args.threads)  # noqa: F841 (kept alive)
    results = run(args.quick, tuple(args.models), peers=args.peers)
    print(json.dumps(results, indent=1))
    return results


if __name__ == '__main__':
    main()
