"""Compile time of the training function of deep batch-normalized MLPs
(benchmark 2 of the suite).

Model: ``BatchNormalizedMLP`` of `depth` tanh layers of width 200 on 200
inputs, 10 classes (softmax), float32, batch 100; SGD
(:class:`~blocks.algorithms.GradientDescent` with ``Scale(0.01)``) plus the
moving-average updates of the population statistics, compiled by
``algorithm.initialize()`` with blocks' default mode
(:func:`blocks.compilation.default_mode`). Two ways of building the
training graph:

``context``
    the cost is built inside ``with batch_normalization(mlp):``;
``rewrite``
    the cost is built in inference mode and rewritten with
    :func:`~blocks.graph.apply_batch_normalization`.

Each measurement runs in a fresh process (nothing cached in memory;
PyTensor's on-disk compiledir is shared, as in normal use), preceded by
one unrecorded warm-up process so that the C code of the ops is on disk,
and is repeated; the median is reported, with the fastest beside it.
Reported: wall and CPU seconds of the compile, seconds to build the graph
(bricks, gradients, updates) and the median step time of each process.

Targets: depth 100 under 10 s; time(100) / time(50) <= 2.3; the two
routes within 10 % of each other.

Run ``python -m benchmarks.compile_time [--quick] [--depths 10 25 ...]``.
"""
import argparse
import json
import os
import subprocess
import sys
import time

DEPTHS = (10, 25, 50, 100)
ROUTES = ('context', 'rewrite')
WIDTH, INPUTS, CLASSES, BATCH = 200, 200, 10, 100


def build(depth, route):
    """(algorithm, batch) of the training function, not compiled."""
    import numpy
    import pytensor.tensor as pt
    from blocks.algorithms import GradientDescent, Scale
    from blocks.bricks import BatchNormalizedMLP, Softmax, Tanh
    from blocks.bricks.cost import CategoricalCrossEntropy
    from blocks.graph import (ComputationGraph, apply_batch_normalization,
                              batch_normalization,
                              get_population_moving_average_updates)
    from blocks.initialization import Constant, IsotropicGaussian
    dims = [INPUTS] + [WIDTH] * depth + [CLASSES]
    mlp = BatchNormalizedMLP([Tanh() for _ in dims[2:]] + [Softmax()], dims,
                             weights_init=IsotropicGaussian(0.05),
                             biases_init=Constant(0))
    mlp.initialize()
    features = pt.matrix('features')
    targets = pt.ivector('targets')
    if route == 'context':
        with batch_normalization(mlp):
            cost = CategoricalCrossEntropy().apply(targets,
                                                   mlp.apply(features))
        graph = ComputationGraph(cost)
    else:
        cost = CategoricalCrossEntropy().apply(targets, mlp.apply(features))
        graph = apply_batch_normalization(ComputationGraph(cost))
        cost = graph.outputs[0]
    algorithm = GradientDescent(cost=cost, parameters=graph.parameters,
                                step_rule=Scale(0.01))
    algorithm.add_updates(get_population_moving_average_updates(graph))
    rng = numpy.random.RandomState(0)
    batch = {'features': rng.normal(size=(BATCH, INPUTS)).astype('float32'),
             'targets': rng.randint(0, CLASSES, BATCH).astype('int32')}
    return algorithm, batch


def _cpu_seconds():
    times = os.times()
    return times[0] + times[1] + times[2] + times[3]  # with gcc children


def measure(depth, route, steps=10):
    """Build, compile and time one training function in this process."""
    import numpy
    start = time.perf_counter()
    algorithm, batch = build(depth, route)
    build_seconds = time.perf_counter() - start
    wall, cpu = time.perf_counter(), _cpu_seconds()
    algorithm.initialize()
    compile_wall = time.perf_counter() - wall
    compile_cpu = _cpu_seconds() - cpu
    algorithm.process_batch(batch)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        algorithm.process_batch(batch)
        times.append(time.perf_counter() - start)
    function = algorithm._function
    return {'depth': depth, 'route': route, 'build_seconds': build_seconds,
            'compile_seconds': compile_wall, 'compile_cpu_seconds':
            compile_cpu, 'step_seconds': float(numpy.median(times)),
            'nodes': len(function.maker.fgraph.apply_nodes)}


def run_worker(depth, route, timeout=900):
    """`measure` in a fresh process with this process's environment."""
    command = [sys.executable, '-m', 'benchmarks.compile_time', '--worker',
               str(depth), route]
    env = dict(os.environ)
    flags = [env.get('PYTENSOR_FLAGS', ''), 'floatX=float32']
    env['PYTENSOR_FLAGS'] = ','.join(flag for flag in flags if flag)
    try:
        done = subprocess.run(command, env=env, capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {'depth': depth, 'route': route,
                'error': 'timeout after {} s'.format(timeout)}
    lines = [line for line in done.stdout.splitlines()
             if line.startswith('{')]
    if done.returncode or not lines:
        return {'depth': depth, 'route': route,
                'error': (done.stderr.strip().splitlines() or ['?'])[-1]}
    return json.loads(lines[-1])


def summarize(measurements):
    """Targets from the measurements: the depth-100 time, the 100/50
    ratio and the largest relative difference between the routes."""
    times = {(m['depth'], m['route']): m['compile_seconds']
             for m in measurements if 'error' not in m}
    summary = {}
    for route in ROUTES:
        if (100, route) in times:
            summary['depth100_' + route] = times[(100, route)]
        if (100, route) in times and (50, route) in times:
            summary['ratio_100_50_' + route] = (times[(100, route)]
                                                / times[(50, route)])
    gaps = [abs(times[(d, 'context')] - times[(d, 'rewrite')])
            / min(times[(d, 'context')], times[(d, 'rewrite')])
            for d in DEPTHS if (d, 'context') in times
            and (d, 'rewrite') in times]
    if gaps:
        summary['largest_route_difference'] = max(gaps)
    return summary


def run(quick=False, depths=DEPTHS, repeats=None, verbose=True):
    """All depths and routes, each in a fresh process; `repeats` processes
    per measurement, 5 with `quick`, else 9, whose median is reported (and
    the fastest beside it). The routes alternate within each repeat, so
    that a change of the machine's load affects both alike."""
    import statistics
    repeats = repeats or (5 if quick else 9)
    run_worker(min(depths), 'rewrite')  # warm-up: C code on disk
    measurements = []
    for depth in depths:
        results = {route: [] for route in ROUTES}
        for _ in range(repeats):
            for route in ROUTES:
                results[route].append(run_worker(depth, route))
        for route in ROUTES:
            good = [r for r in results[route] if 'error' not in r]
            if not good:
                measurement = results[route][0]
            else:
                measurement = dict(good[0])
                for key in ('build_seconds', 'compile_seconds',
                            'compile_cpu_seconds', 'step_seconds'):
                    values = [r[key] for r in good]
                    measurement[key] = statistics.median(values)
                    measurement[key + '_fastest'] = min(values)
                measurement['repeats'] = len(good)
            measurements.append(measurement)
            if verbose:
                print('compile depth {:3d} {:8s}: {}'.format(
                    depth, route, measurement.get('error') or
                    '{:.1f} s (CPU {:.1f} s), build {:.1f} s, step {:.1f} ms'
                    .format(measurement['compile_seconds'],
                            measurement['compile_cpu_seconds'],
                            measurement['build_seconds'],
                            1e3 * measurement['step_seconds'])), flush=True)
    return {'measurements': measurements,
            'summary': summarize(measurements)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true',
                        help="5 processes per measurement instead of 9")
    parser.add_argument('--depths', nargs='+', type=int, default=DEPTHS)
    parser.add_argument('--worker', nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        import warnings
        warnings.simplefilter('ignore')
        result = measure(int(args.worker[0]), args.worker[1])
        print(json.dumps(result), flush=True)
        return result
    results = run(args.quick, tuple(args.depths))
    print(json.dumps(results['summary'], indent=1))
    return results


if __name__ == '__main__':
    main()
