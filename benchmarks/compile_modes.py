"""Compile time, first call and step time of blocks training functions
under several PyTensor compile modes, with PyTorch CPU eager as reference.

Models (float32): batch-normalized MLPs of `depth` tanh layers of width 200
(batch 100; SGD updates and moving-average updates of the population
statistics, as blocks trains them), the Blocks tutorial MNIST MLP
[784, 100, 10] (batch 50, SGD) and a wide batch-normalized MLP
[784, 1000, 1000, 1000, 10] (batch 100).

Modes:

- ``auto``: :func:`blocks.compilation.default_mode`;
- ``cvm``: PyTensor's C VM linker with all ``fast_run`` rewrites;
- ``cvm-noinplace``: the same without ``inplace_elemwise``;
- ``numba``: PyTensor 3's default mode.

Each measurement runs in its own process (``--worker``), so that caches
inside a process do not help the next one; PyTensor's compiledir and
Numba's on-disk cache are shared unless ``--cold`` gives the ``auto`` mode a
fresh, empty compiledir (a brand-new machine or CI runner). Compile times
are CPU seconds of the compiling process (the wall time is also recorded):
the machine this was written on is shared and its wall times vary threefold.
BLAS and PyTorch use `--threads` threads (1 by default: two busy cores
shared with other jobs make multi-threaded BLAS many times slower).

Run ``python -m benchmarks.compile_modes [--quick] [--cold]``; prints a
Markdown table, returns ``{(mode, model): result}``.

The results are in ``benchmarks/results.md``, section "Compile modes".
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

MODES = ('auto', 'cvm-noinplace', 'cvm', 'numba')
# Plain cvm and numba are quadratic / JIT-bound: deep graphs take minutes.
MAX_DEPTH = {'cvm': 25, 'numba': 10, 'cvm-noinplace': 50}


def _bn_mlp(depth, width=200, batch=100, inputs=200, classes=10,
            activation='tanh', dims=None):
    import numpy
    import pytensor.tensor as pt
    from blocks.algorithms import GradientDescent, Scale
    from blocks.bricks import BatchNormalizedMLP, Rectifier, Softmax, Tanh
    from blocks.bricks.cost import CategoricalCrossEntropy
    from blocks.graph import ComputationGraph, batch_normalization
    from blocks.graph.bn import get_population_moving_average_updates
    from blocks.initialization import Constant, IsotropicGaussian
    if dims is None:
        dims = [inputs] + [width] * depth + [classes]
    brick = Tanh if activation == 'tanh' else Rectifier
    mlp = BatchNormalizedMLP([brick() for _ in dims[2:]] + [None], dims,
                             weights_init=IsotropicGaussian(0.05),
                             biases_init=Constant(0))
    mlp.initialize()
    x = pt.matrix('x', dtype='float32')
    y = pt.ivector('y')
    with batch_normalization(mlp):
        probs = Softmax().apply(mlp.apply(x))
    cost = CategoricalCrossEntropy().apply(y, probs)
    graph = ComputationGraph(cost)
    algorithm = GradientDescent(cost=cost, parameters=graph.parameters,
                                step_rule=Scale(0.01))
    updates = (list(algorithm.updates)
               + get_population_moving_average_updates(graph))
    rng = numpy.random.RandomState(0)
    data = [rng.normal(size=(batch, dims[0])).astype('float32'),
            rng.randint(0, dims[-1], size=batch).astype('int32')]
    return [x, y], [cost], updates, data


def _mnist_mlp(batch=50):
    import numpy
    import pytensor.tensor as pt
    from blocks.algorithms import GradientDescent, Scale
    from blocks.bricks import MLP, Rectifier, Softmax
    from blocks.bricks.cost import CategoricalCrossEntropy
    from blocks.graph import ComputationGraph
    from blocks.initialization import Constant, IsotropicGaussian
    mlp = MLP([Rectifier(), Softmax()], [784, 100, 10],
              weights_init=IsotropicGaussian(0.01), biases_init=Constant(0))
    mlp.initialize()
    x = pt.matrix('features', dtype='float32')
    y = pt.ivector('targets')
    cost = CategoricalCrossEntropy().apply(y, mlp.apply(x))
    algorithm = GradientDescent(cost=cost,
                                parameters=ComputationGraph(cost).parameters,
                                step_rule=Scale(0.1))
    rng = numpy.random.RandomState(0)
    data = [rng.uniform(size=(batch, 784)).astype('float32'),
            rng.randint(0, 10, size=batch).astype('int32')]
    return [x, y], [cost], list(algorithm.updates), data


def build(model):
    """(inputs, outputs, updates, data) of a model name: 'mnist', 'wide'
    or a depth."""
    if model == 'mnist':
        return _mnist_mlp()
    if model == 'wide':
        return _bn_mlp(None, batch=100, activation='relu',
                       dims=[784, 1000, 1000, 1000, 10])
    return _bn_mlp(int(model))


def make_mode(name):
    """A mode of MODES; ``name+rewrite1+rewrite2`` excludes rewrites."""
    from pytensor.compile.mode import Mode, get_mode
    from blocks.compilation import default_mode
    if '+' in name:
        base, *excluded = name.split('+')
        return make_mode(base).excluding(*excluded)
    if name == 'auto':
        return default_mode()
    if name == 'cvm':
        return Mode(linker='cvm', optimizer='fast_run')
    if name == 'cvm-noinplace':
        return Mode(linker='cvm', optimizer='fast_run').excluding(
            'inplace_elemwise')
    return get_mode(name.upper())


def _cpu_seconds():
    """CPU time of this process and its finished children (gcc)."""
    times = os.times()
    return sum(times[:4])


def measure(model, mode_name, steps=20):
    """Compile and time one model in this process."""
    import numpy
    from blocks.compilation import compile_function
    inputs, outputs, updates, data = build(model)
    mode = make_mode(mode_name)
    wall, cpu = time.perf_counter(), _cpu_seconds()
    function = compile_function(inputs, outputs, updates=updates, mode=mode)
    compile_wall = time.perf_counter() - wall
    compile_cpu = _cpu_seconds() - cpu
    wall = time.perf_counter()
    function(*data)
    first = time.perf_counter() - wall
    times = []
    for _ in range(steps):
        wall = time.perf_counter()
        function(*data)
        times.append(time.perf_counter() - wall)
    return {'compile_cpu': compile_cpu, 'compile_wall': compile_wall,
            'first_call': first,
            'step_ms': 1000 * float(numpy.median(times)),
            'nodes': len(function.maker.fgraph.apply_nodes)}


def measure_torch(model, steps=20, threads=1):
    """PyTorch CPU eager training step of the same model (median ms)."""
    import numpy
    import torch
    torch.set_num_threads(threads)
    if model == 'mnist':
        net = torch.nn.Sequential(torch.nn.Linear(784, 100), torch.nn.ReLU(),
                                  torch.nn.Linear(100, 10))
        batch, features, lr = 50, 784, 0.1
    else:
        dims = [784, 1000, 1000, 1000, 10]
        layers = []
        for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
            layers += [torch.nn.Linear(a, b, bias=False),
                       torch.nn.BatchNorm1d(b, eps=1e-4, momentum=0.1)]
            if i < len(dims) - 2:
                layers.append(torch.nn.ReLU())
        net = torch.nn.Sequential(*layers)
        batch, features, lr = 100, 784, 0.01
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    rng = numpy.random.RandomState(0)
    x = torch.from_numpy(rng.normal(size=(batch, features)).astype('float32'))
    y = torch.from_numpy(rng.randint(0, 10, size=batch).astype('int64'))
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad()
        loss = loss_fn(net(x), y)
        loss.backward()
        optimizer.step()
        return loss.item()

    step()
    times = []
    for _ in range(steps):
        wall = time.perf_counter()
        step()
        times.append(time.perf_counter() - wall)
    return {'step_ms': 1000 * float(numpy.median(times))}


def _thread_env(threads, compiledir=None):
    env = dict(os.environ)
    for name in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS',
                 'MKL_NUM_THREADS', 'NUMBA_NUM_THREADS'):
        env[name] = str(threads)
    flags = [env.get('PYTENSOR_FLAGS', ''), 'floatX=float32']
    if compiledir:
        flags.append('base_compiledir=' + compiledir)
    env['PYTENSOR_FLAGS'] = ','.join(flag for flag in flags if flag)
    return env


def run_worker(model, mode, threads, compiledir=None, timeout=1800):
    """One measurement in a fresh process; None if it failed or timed
    out."""
    command = [sys.executable, '-m', 'benchmarks.compile_modes', '--worker',
               model, mode, '--threads', str(threads)]
    try:
        result = subprocess.run(command, env=_thread_env(threads, compiledir),
                                capture_output=True, text=True,
                                timeout=timeout)
    except subprocess.TimeoutExpired:
        return {'error': 'timeout after {} s'.format(timeout)}
    lines = [line for line in result.stdout.splitlines()
             if line.startswith('{')]
    if result.returncode or not lines:
        return {'error': result.stderr.strip().splitlines()[-1:]}
    return json.loads(lines[-1])


def _cell(result):
    if result is None:
        return 'skipped'
    if 'error' in result:
        return 'failed'
    text = '{:.1f} s ({:.0f}) / {:.2f} s / {:.1f} ms'.format(
        result['compile_cpu'], result['compile_wall'],
        result['first_call'], result['step_ms'])
    return text


def markdown(results, models, modes):
    lines = ['| model | ' + ' | '.join(modes) + ' |',
             '|---' * (len(modes) + 1) + '|']
    for model in models:
        name = 'BN-MLP depth {}'.format(model) if model.isdigit() else model
        cells = [_cell(results.get((mode, model))) for mode in modes]
        lines.append('| {} | {} |'.format(name, ' | '.join(cells)))
    lines.append('')
    lines.append('cells: compile CPU s (wall s) / first call / median step')
    torch_rows = [(model, results[('torch', model)]) for model in models
                  if ('torch', model) in results]
    for model, result in torch_rows:
        lines.append('PyTorch eager {}: {:.1f} ms per step'.format(
            model, result['step_ms']))
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true',
                        help='depths 10 and 25 only')
    parser.add_argument('--cold', action='store_true',
                        help='also time the auto mode with an empty '
                             'compiledir')
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--modes', default=','.join(MODES))
    parser.add_argument('--models', default=None,
                        help='comma-separated: depths, mnist, wide')
    parser.add_argument('--worker', nargs=2, metavar=('MODEL', 'MODE'),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        warnings.simplefilter('ignore')
        model, mode = args.worker
        if mode == 'torch':
            result = measure_torch(model, threads=args.threads)
        else:
            result = measure(model, mode)
        print(json.dumps(result), flush=True)
        return result
    modes = args.modes.split(',')
    if args.models:
        models = args.models.split(',')
    else:
        depths = ['10', '25'] if args.quick else ['10', '25', '50', '100']
        models = ['mnist', 'wide'] + depths
    results = {}
    for model in models:
        for mode in modes:
            if model.isdigit() and int(model) > MAX_DEPTH.get(mode, 1000):
                continue
            results[(mode, model)] = run_worker(model, mode, args.threads)
            print(mode, model, results[(mode, model)], flush=True)
        if model in ('mnist', 'wide'):
            results[('torch', model)] = run_worker(model, 'torch',
                                                   args.threads)
    columns = list(modes)
    if args.cold:
        for model in models:
            compiledir = tempfile.mkdtemp(prefix='blocks-cold-pytensor-')
            try:
                results[('auto-cold', model)] = run_worker(
                    model, 'auto', args.threads, compiledir)
            finally:
                shutil.rmtree(compiledir, ignore_errors=True)
            print('auto-cold', model, results[('auto-cold', model)],
                  flush=True)
        columns.append('auto-cold')
    print(markdown(results, models, columns))
    return results


if __name__ == '__main__':
    main()
