"""The first training step of the wide BN-MLP of benchmark 1b on an empty
compile cache, as a newcomer or a CI run pays it, against the same with
the cache warm and against the first step of the JAX + Flax peer.

Each measurement is a fresh process. ``blocks-python`` runs in an empty
PyTensor ``compiledir`` (``PYTENSOR_FLAGS=compiledir=...``) with the
``'auto-python'`` compile mode (no C compiler); ``blocks-cold`` then in
the same, still empty, directory with the default ``'auto'`` mode compiled
in one tier (``BLOCKS_TIERED_COMPILATION=false``), so that every C module
of the step is generated and compiled by gcc before the first step;
``blocks-warm`` then runs with that same directory. ``tiered-cold`` and
``tiered-warm`` do the same in a second empty directory with the default
settings: the training function in two tiers (``blocks.tiered``), the
first steps in the Python tier while the C tier compiles in a thread.
Each reports the wall and CPU seconds (gcc's included) from the start of
building the bricks to the end of the first ``process_batch``, the C
modules compiled (their number and the wall seconds of each compilation,
PyTensor's ``compile_str`` timed) and, for the tiered workers, the
seconds from the start of ``initialize`` until the C tier is ready
(``final_tier_seconds``; the worker waits for it, so that the directory
is complete for ``tiered-warm``). ``flax`` times the Flax peer's first
(jitted) step in its own process, XLA having no cache on disk.

Run ``python -m benchmarks.cold_compile [--repeats N]``.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

MODEL = 'wide_bn'
WORKERS = ('blocks-python', 'blocks-cold', 'blocks-warm', 'tiered-cold',
           'tiered-warm', 'flax')
#: The compile_mode of each blocks worker
MODES = {'blocks-python': 'auto-python', 'blocks-cold': 'auto',
         'blocks-warm': 'auto', 'tiered-cold': 'auto', 'tiered-warm': 'auto'}
#: The workers that compile the training function in two tiers; each
#: group of workers starts from its own empty compiledir.
TIERED = ('tiered-cold', 'tiered-warm')


def _cpu_seconds():
    times = os.times()
    return times[0] + times[1] + times[2] + times[3]  # with gcc children


def _timed_gcc():
    """Wrap PyTensor's C compiler call; returns the list of seconds it
    fills, one per module compiled."""
    from pytensor.link.c.cmodule import GCC_compiler
    seconds = []
    compile_str = GCC_compiler.compile_str

    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return compile_str(*args, **kwargs)
        finally:
            seconds.append(time.perf_counter() - start)
    GCC_compiler.compile_str = staticmethod(timed)
    return seconds


def measure_blocks():
    """Build the bricks, compile and take one step, in this process."""
    wall, cpu = time.perf_counter(), _cpu_seconds()
    from benchmarks import mlp_training
    from benchmarks.timing import use_float32
    use_float32()
    gcc = _timed_gcc()
    spec = mlp_training.MODELS[MODEL]
    features, targets = mlp_training.make_data(
        spec['dims'][0], spec['dims'][-1], examples=spec['batch'])
    _, algorithm = mlp_training.build_blocks(
        spec['dims'], spec['activation'], spec['learning_rate'])
    built = time.perf_counter()
    algorithm.initialize()
    compiled = time.perf_counter()
    algorithm.process_batch({'features': features, 'targets': targets})
    end = time.perf_counter()
    result = {'seconds': end - wall, 'cpu_seconds': _cpu_seconds() - cpu,
              'build_seconds': built - wall,
              'initialize_seconds': compiled - built,
              'first_call_seconds': end - compiled}
    wait = getattr(algorithm._function, 'wait', None)
    if wait is not None:
        result['first_tier'] = algorithm._function.tier
        result['final_tier'] = wait()
        result['final_tier_seconds'] = time.perf_counter() - built
    result.update(modules_compiled=len(gcc),
                  gcc_seconds=sorted(gcc, reverse=True))
    return result


def measure_flax():
    """The Flax peer's first step (jit compilation included)."""
    wall, cpu = time.perf_counter(), _cpu_seconds()
    from benchmarks import flax_peers, mlp_training
    from benchmarks.timing import use_float32
    use_float32()
    spec = mlp_training.MODELS[MODEL]
    features, targets = mlp_training.make_data(
        spec['dims'][0], spec['dims'][-1], examples=spec['batch'])
    mlp, _ = mlp_training.build_blocks(
        spec['dims'], spec['activation'], spec['learning_rate'])
    peer = flax_peers.mlp_peer(mlp, spec['activation'],
                               spec['learning_rate'], features)
    peer.step(features, targets)
    return {'seconds': time.perf_counter() - wall,
            'cpu_seconds': _cpu_seconds() - cpu}


def run_worker(worker, compiledir, timeout=900):
    env = dict(os.environ)
    flags = [env.get('PYTENSOR_FLAGS', ''), 'compiledir=' + compiledir]
    env['PYTENSOR_FLAGS'] = ','.join(flag for flag in flags if flag)
    if worker in MODES:
        env['BLOCKS_COMPILE_MODE'] = MODES[worker]
        env['BLOCKS_TIERED_COMPILATION'] = str(worker in TIERED).lower()
    command = [sys.executable, '-m', 'benchmarks.cold_compile', '--worker',
               worker]
    try:
        done = subprocess.run(command, env=env, capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {'error': 'timeout after {} s'.format(timeout)}
    lines = [line for line in done.stdout.splitlines()
             if line.startswith('{')]
    if done.returncode or not lines:
        return {'error': (done.stderr.strip().splitlines() or ['?'])[-1]}
    return json.loads(lines[-1])


def summary(result):
    """One line on a worker's measurement."""
    if 'error' in result:
        return result['error']
    parts = ['{:.1f} s (CPU {:.1f} s)'.format(result['seconds'],
                                              result['cpu_seconds'])]
    if 'initialize_seconds' in result:
        parts.append('initialize + first step {:.2f} s'.format(
            result['initialize_seconds'] + result['first_call_seconds']))
        parts.append('{} C modules, gcc {:.1f} s in all'.format(
            result['modules_compiled'], sum(result['gcc_seconds'])))
    if 'final_tier_seconds' in result:
        parts.append('C tier ready {:.1f} s after initialize began'.format(
            result['final_tier_seconds']))
    return '; '.join(parts)


def run(repeats=1, workers=WORKERS, verbose=True):
    """Each worker `repeats` times (a new empty compiledir for each cold
    run); returns worker -> list of measurements."""
    results = {worker: [] for worker in workers}
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix='blocks-cold-') as one, \
                tempfile.TemporaryDirectory(prefix='blocks-tiered-') as two:
            for worker in workers:
                result = run_worker(worker, two if worker in TIERED else one)
                results[worker].append(result)
                if verbose:
                    print('{}: {}'.format(worker, summary(result)),
                          flush=True)
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=1)
    parser.add_argument('--workers', nargs='+', default=list(WORKERS),
                        choices=WORKERS)
    parser.add_argument('--worker', choices=WORKERS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        import warnings
        warnings.simplefilter('ignore')
        result = (measure_flax() if args.worker == 'flax'
                  else measure_blocks())
        print(json.dumps(result), flush=True)
        return result
    results = run(args.repeats, tuple(args.workers))
    print(json.dumps(results, indent=1))
    return results


if __name__ == '__main__':
    main()
