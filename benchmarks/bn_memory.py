"""Peak memory and step time of the two training-mode formulations of
batch normalization (``conserve_memory=True`` / ``False``).

Each setting runs in its own subprocess (so that one's allocations cannot
hide the other's): it compiles one SGD step (gradients with respect to the
input and to every scale and shift) through `--layers` stacked
training-mode BatchNormalization + Tanh layers on a `--batch` x `--features`
float32 input, then times `--steps` steps (median), with the C linker
("cvm") and with PyTensor's default Numba linker. Peak memory is measured
with tracemalloc during one step with the C linker, whose intermediates are
NumPy arrays (NumPy reports them to tracemalloc); it is the peak of the
allocations made during the step, input and parameters excluded. Numba's
own allocations are invisible to tracemalloc, so no peak is reported for
it.

Run with ``python -m benchmarks.bn_memory`` (about a minute); results are
recorded in the docstring of :mod:`blocks.bricks.bn`.
"""
import argparse
import json
import os
import subprocess
import sys
import time


def measure(conserve_memory, batch, features, layers, steps, linker):
    """One setting, in this process: (peak MiB above baseline, median ms)."""
    import numpy
    import pytensor
    import tracemalloc
    import pytensor.tensor as pt
    from pytensor.compile.mode import Mode
    from blocks.bricks import BatchNormalization, Tanh
    from blocks.graph import batch_normalization

    bricks = [BatchNormalization(features, conserve_memory=conserve_memory)
              for _ in range(layers)]
    x = pt.matrix('x', dtype='float32')
    h = x
    with batch_normalization(*bricks):
        for brick in bricks:
            brick.initialize()
            h = Tanh().apply(brick.apply(h))
    cost = h.sum()
    parameters = [p for brick in bricks for p in brick.parameters]
    gradients = pytensor.grad(cost, [x] + parameters)
    step = pytensor.function(
        [x], gradients[0].sum(),
        updates=[(p, p - 0.01 * g) for p, g in zip(parameters,
                                                  gradients[1:])],
        mode=Mode(linker=linker))
    data = numpy.random.RandomState(0).normal(
        size=(batch, features)).astype('float32')
    step(data)  # compile lazily (Numba) before measuring
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step(data)
        times.append(time.perf_counter() - start)
    times.sort()
    peak = None
    if linker == 'cvm':
        # NumPy reports its arrays to tracemalloc; the C linker allocates
        # every intermediate as a NumPy array (and frees it when dead).
        tracemalloc.start()
        baseline = tracemalloc.get_traced_memory()[0]
        step(data)
        peak = (tracemalloc.get_traced_memory()[1] - baseline) / 2 ** 20
        tracemalloc.stop()
    return {'conserve_memory': conserve_memory, 'linker': linker,
            'peak_mib': peak,
            'input_mib': data.nbytes / 2 ** 20,
            'step_ms': 1000 * times[len(times) // 2]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--batch', type=int, default=4096)
    parser.add_argument('--features', type=int, default=1024)
    parser.add_argument('--layers', type=int, default=4)
    parser.add_argument('--steps', type=int, default=20)
    parser.add_argument('--child', choices=['0', '1'], help=argparse.SUPPRESS)
    parser.add_argument('--linker', default='cvm', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(measure(args.child == '1', args.batch,
                                 args.features, args.layers, args.steps,
                                 args.linker)))
        return
    environment = dict(os.environ, PYTENSOR_FLAGS='floatX=float32')
    for linker, conserve_memory in (('cvm', '1'), ('cvm', '0'),
                                    ('numba', '1'), ('numba', '0')):
        output = subprocess.run(
            [sys.executable, '-m', 'benchmarks.bn_memory', '--child',
             conserve_memory, '--linker', linker, '--batch', str(args.batch),
             '--features', str(args.features), '--layers', str(args.layers),
             '--steps', str(args.steps)],
            env=environment, check=True, capture_output=True, text=True)
        result = json.loads(output.stdout.strip().splitlines()[-1])
        peak = ('' if result['peak_mib'] is None else
                'peak {:7.1f} MiB ({:.0f} MiB input)  '.format(
                    result['peak_mib'], result['input_mib']))
        print('{:5} conserve_memory={!s:5}  {}step {:8.2f} ms'.format(
            linker, result['conserve_memory'], peak, result['step_ms']))


if __name__ == '__main__':
    main()
