"""Inference throughput of a batch-normalized MLP (benchmark 5 of the
suite): the wide model of benchmark 1b, [784, 1000, 1000, 1000, 10] with
ReLU, in inference mode (population statistics), at batch 1 and batch
1000.

The population statistics are set to the same non-trivial values on both
sides (blocks' ``population_stdev`` is ``sqrt(running_var + eps)``,
:func:`blocks.bricks.bn.load_pytorch_state`), as after training; the
largest difference of the two outputs is recorded. Blocks: the inference
graph built from the bricks, compiled with
:meth:`ComputationGraph.get_function
<blocks.graph.ComputationGraph.get_function>`;
PyTorch: ``net.eval()`` under ``torch.inference_mode()``. Throughput =
examples per second, ratio = blocks / torch (>= 1: blocks is faster).

Run ``python -m benchmarks.inference [--quick]``.
"""
import argparse
import json
import time

from benchmarks.peers import (COMPILED, EAGER, PEERS, available,
                              comparison, torch_compiled)

DIMS = [784, 1000, 1000, 1000, 10]
BATCHES = (1, 1000)


def run(quick=False, verbose=True, peers=PEERS):
    import numpy
    import pytensor.tensor as pt
    import torch
    from blocks.bricks.bn import load_pytorch_state
    from blocks.graph import ComputationGraph

    from benchmarks.mlp_training import build_blocks, build_torch
    from benchmarks.timing import interleave, median, time_calls
    peers = available(peers)
    mlp, _ = build_blocks(DIMS, 'relu', 0.01)
    net, _ = build_torch(mlp, 'relu', 0.01)
    rng = numpy.random.RandomState(3)
    norms = [module for module in net
             if isinstance(module, torch.nn.BatchNorm1d)]
    for bn, norm in zip(mlp.batch_normalizations, norms):
        state = {'running_mean': rng.normal(0, 0.5, bn.input_dim),
                 'running_var': rng.uniform(0.5, 2, bn.input_dim),
                 'weight': rng.uniform(0.5, 1.5, bn.input_dim),
                 'bias': rng.normal(0, 0.1, bn.input_dim),
                 'eps': norm.eps}
        load_pytorch_state(bn, state)
        with torch.no_grad():
            for key in ('running_mean', 'running_var', 'weight', 'bias'):
                getattr(norm, key).copy_(torch.from_numpy(
                    state[key].astype('float32')))
    net.eval()
    compiled = torch_compiled(net) if COMPILED in peers else None
    features = pt.matrix('features')
    predict = ComputationGraph(mlp.apply(features)).get_function()
    softmax = torch.nn.Softmax(dim=1)
    images = rng.uniform(size=(max(BATCHES), DIMS[0])).astype('float32')
    with torch.inference_mode():
        difference = float(numpy.abs(
            predict(images)[0]
            - softmax(net(torch.from_numpy(images))).numpy()).max())
    results = {'dims': DIMS, 'max_output_difference': difference}
    rounds = 5 if quick else 9
    for batch in BATCHES:
        x = images[:batch]
        x_torch = torch.from_numpy(x)
        calls = max(3, (200 if quick else 500) // batch)

        def torch_predict(model=net):
            with torch.inference_mode():
                return softmax(model(x_torch))
        contenders = {
            'blocks': lambda: time_calls(lambda: predict(x), calls),
            'torch': lambda: time_calls(torch_predict, calls)}
        first_call = {}
        if compiled is not None:
            start = time.perf_counter()
            with torch.inference_mode():
                compiled_difference = float(numpy.abs(
                    predict(x)[0] - torch_predict(compiled).numpy()).max())
            first_call[COMPILED] = time.perf_counter() - start
            contenders[COMPILED] = lambda: time_calls(
                lambda: torch_predict(compiled), calls)
        times = interleave(contenders, rounds)
        entry = {'blocks_seconds': median(times['blocks']),
                 'torch_seconds': median(times['torch'])}
        seconds = {'blocks': entry['blocks_seconds'],
                   EAGER: entry['torch_seconds']}
        if compiled is not None:
            seconds[COMPILED] = median(times[COMPILED])
            entry['max_output_difference ' + COMPILED] = compiled_difference
        entry['peers'] = comparison(seconds)
        entry['peers_first_call_seconds'] = first_call
        entry['blocks_examples_per_second'] = batch / entry['blocks_seconds']
        entry['torch_examples_per_second'] = batch / entry['torch_seconds']
        entry['throughput_ratio'] = (entry['torch_seconds']
                                     / entry['blocks_seconds'])
        results['batch_{}'.format(batch)] = entry
        if verbose:
            print('inference batch {}: blocks {:.0f} ex/s, torch {:.0f} ex/s,'
                  ' ratio {:.2f}'.format(
                      batch, entry['blocks_examples_per_second'],
                      entry['torch_examples_per_second'],
                      entry['throughput_ratio']), flush=True)
            print('  ' + ', '.join('{} {:.2f} ms'.format(key, 1e3 * value)
                                   for key, value in seconds.items()),
                  flush=True)
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true')
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--peers', nargs='*', default=list(PEERS),
                        choices=PEERS)
    args = parser.parse_args(argv)
    from benchmarks.timing import (set_thread_environment, limit_threads,
                                   use_float32)
    set_thread_environment(args.threads)
    use_float32()
    limiter = limit_threads(args.threads)  # noqa: F841
    result = run(args.quick, peers=args.peers)
    print(json.dumps(result, indent=1))
    return result


if __name__ == '__main__':
    main()
