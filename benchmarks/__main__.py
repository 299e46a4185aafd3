"""Run the benchmark suite: ``python -m benchmarks [--quick] [--only NAME
...] [--threads N ...] [--peers NAME ...]``.

Every benchmark compares blocks with PyTorch CPU eager (``pip install
torch==2.13.0``) on the same model, float32, batch, data and thread count,
in the same run, interleaved, median of several repeats; the training and
inference benchmarks also with ``torch.compile`` and JAX + Flax
(:mod:`benchmarks.peers`; the ``bench`` extra), from the same initial
weights, their first losses side by side. Each thread setting (``--threads``:
1 and the machine's CPUs by default) runs in a process of its own, one
after the other; the benchmarks that set their threads themselves or do
not depend on them (``ONCE``) run in the first only. Writes
``benchmarks/results.json`` (all measurements and the machine's facts),
``benchmarks/results.md`` (the table of targets) and
``docs/benchmarks_table.rst`` (the same table for the documentation).

Benchmarks (``--only`` names):

``mlp_training``  1a, 1b and 4: MainLoop training throughput of BN-MLPs,
                  FLOP rate over the measured GEMM peak;
``compile_time``  2: compile time of BN-MLPs of depth 10-100;
``lenet_bricks``  3: brick-built LeNet with spatial batch normalization;
``lenet``         the ops engineer's LeNet on ``blocks.ops`` (no BN);
``inference``     5: BN-MLP inference throughput at batch 1 and 1000;
``compile_modes`` compile and step time under several PyTensor modes;
``lstm``          6: an LSTM layer's training step against ``nn.LSTM`` and
                  an ``nn.LSTMCell`` loop, its compile time, a 4-layer
                  RecurrentStack's, and the scan overhead per step;
``cold_compile``  the first training step of 1b's model on an empty
                  compile cache, and warm, against the Flax peer's;
``seqgen``        the reverse_words model (issue 16): its training step
                  and its beam search (beam 10) against PyTorch.

In a thread setting, BLAS, PyTorch and XLA use that many threads (the
process is bound to as many CPUs, XLA sizing its pool by them).
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time

from benchmarks.peers import COMPILED, EAGER, FLAX, PEERS

NAMES = ('mlp_training', 'compile_time', 'lenet_bricks', 'lenet',
         'inference', 'compile_modes', 'lstm', 'cold_compile', 'seqgen')
#: Run in the first thread setting only.
ONCE = ('compile_time', 'compile_modes', 'lstm', 'cold_compile', 'seqgen')
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m benchmarks', description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true',
                        help='fewer repeats, one process per compile '
                             'measurement (under 10 minutes)')
    parser.add_argument('--only', nargs='+', choices=NAMES, metavar='NAME',
                        help='run only these benchmarks: ' + ', '.join(NAMES))
    parser.add_argument('--threads', type=int, nargs='+',
                        default=[1, len(os.sched_getaffinity(0))],
                        help='thread settings, each in its own process '
                             "(default: 1 and the process's CPUs)")
    parser.add_argument('--peers', nargs='*', default=list(PEERS),
                        choices=PEERS, help='peers beside blocks (default: '
                        'all those installed)')
    parser.add_argument('--setting-output', help=argparse.SUPPRESS)
    parser.add_argument('--depths', nargs='+', type=int, default=None,
                        help='depths of the compile-time benchmark')
    parser.add_argument('--output-dir', default=HERE,
                        help='where results.json and results.md go')
    parser.add_argument('--docs', default=os.path.join(
        ROOT, 'docs', 'benchmarks_table.rst'),
        help="the docs' copy of the table ('' for none)")
    return parser.parse_args(argv)


def run_benchmark(name, args):
    if name == 'mlp_training':
        from benchmarks import mlp_training
        return mlp_training.run(args.quick, peers=args.peers)
    if name == 'compile_time':
        from benchmarks import compile_time
        depths = tuple(args.depths or compile_time.DEPTHS)
        return compile_time.run(args.quick, depths)
    if name == 'lenet_bricks':
        from benchmarks import lenet_bricks
        return lenet_bricks.run(args.quick, peers=args.peers)
    if name == 'lenet':
        from benchmarks import lenet
        return lenet.run(quick=args.quick, threads=args.threads[0])
    if name == 'inference':
        from benchmarks import inference
        return inference.run(args.quick, peers=args.peers)
    if name == 'compile_modes':
        from benchmarks import compile_modes
        argv = ['--threads', str(args.threads[0])]
        argv += (['--modes', 'auto,cvm-noinplace', '--models', '10,25']
                 if args.quick else ['--quick'])
        results = compile_modes.main(argv)
        return {'{} {}'.format(mode, model): value
                for (mode, model), value in results.items()}
    if name == 'lstm':
        from benchmarks import lstm
        return lstm.run(args.quick)
    if name == 'seqgen':
        from benchmarks import seqgen
        return seqgen.run(args.quick)
    if name == 'cold_compile':
        from benchmarks import cold_compile
        workers = [worker for worker in cold_compile.WORKERS
                   if worker != 'flax' or FLAX in args.peers]
        return cold_compile.run(workers=workers)
    raise ValueError(name)


# The table ---------------------------------------------------------------

def _fmt(value, spec):
    return '-' if value is None else format(value, spec)


def target_rows(results):
    """(benchmark, blocks, PyTorch, ratio, target, met) rows."""
    rows = []

    def add(name, blocks, torch, ratio, target=None, met=None):
        rows.append({'benchmark': name, 'blocks': blocks, 'torch': torch,
                     'ratio': ratio, 'target': target or '-',
                     'met': '-' if met is None else ('yes' if met
                                                     else 'no')})

    training = results.get('mlp_training', {})
    for key, label, short in (
            ('mnist_bn', '1a MNIST BN-MLP [784,100,10], batch 50, MainLoop',
             '1a'),
            ('wide_bn', '1b BN-MLP [784,1000,1000,1000,10], batch 100, '
             'MainLoop', '1b')):
        if key in training:
            r = training[key]
            add(label,
                '{:.0f} ex/s'.format(r['blocks_loop_examples_per_second']),
                '{:.0f} ex/s'.format(r['torch_loop_examples_per_second']),
                '{:.2f} (speed-up)'.format(r['throughput_ratio']),
                '>= 1.0', r['throughput_ratio'] >= 1.0)
            add(short + ', compiled step alone (process_batch)',
                '{:.2f} ms'.format(1e3 * r['blocks_step_seconds']),
                '{:.2f} ms'.format(1e3 * r['torch_step_seconds']),
                '{:.2f} (speed-up)'.format(r['step_ratio']))
    compile_results = results.get('compile_time')
    if compile_results:
        for m in compile_results['measurements']:
            if 'error' in m:
                add('2 compile, depth {} ({})'.format(m['depth'], m['route']),
                    m['error'], '-', '-')
                continue
            target = met = None
            if m['depth'] == 100:
                target, met = '< 10 s', m['compile_seconds'] < 10
            add('2 compile, depth {} ({}), median of {} (fastest); step '
                '{:.1f} ms'.format(m['depth'], m['route'], m['repeats'],
                                   1e3 * m['step_seconds']),
                '{:.1f} s ({:.1f} s)'.format(m['compile_seconds'],
                                             m['compile_seconds_fastest']),
                '-', '-', target, met)
        summary = compile_results['summary']
        for route in ('context', 'rewrite'):
            key = 'ratio_100_50_' + route
            if key in summary:
                add('2 compile time(100) / time(50) ({})'.format(route),
                    '-', '-', '{:.2f}'.format(summary[key]), '<= 2.3',
                    summary[key] <= 2.3)
        if 'largest_route_difference' in summary:
            gap = summary['largest_route_difference']
            add('2 compile, context manager vs apply_batch_normalization',
                '-', '-', '{:.0%} apart (largest)'.format(gap), '<= 10 %',
                gap <= 0.10)
    if 'lenet_bricks' in results:
        r = results['lenet_bricks']
        add('3 LeNet + SpatialBatchNormalization (bricks), batch {}, '
            'step'.format(r['batch']),
            '{:.1f} ms'.format(1e3 * r['blocks_step_seconds']),
            '{:.1f} ms'.format(1e3 * r['torch_step_seconds']),
            '{:.2f} (time ratio)'.format(r['step_time_ratio']), '<= 1.5',
            r['step_time_ratio'] <= 1.5)
    if 'lenet' in results:
        r = results['lenet']
        for key, value in r.items():
            if key.startswith('ratio '):
                name = key[len('ratio '):].split('/')[0]
                add('3 LeNet on blocks.ops (no BN), batch {}, step, {}'
                    .format(r['batch'], name),
                    '{:.1f} ms'.format(1e3 * r[name]),
                    '{:.1f} ms'.format(1e3 * r['torch']),
                    '{:.2f} (time ratio)'.format(value))
    if 'efficiency' in training:
        e = training['efficiency']
        add('4 FLOP rate of 1b over GEMM peak ({:.1f} GFLOP/s), MainLoop'
            .format(e['gemm_peak_gflops']),
            '{:.1f} GFLOP/s = {:.0%}'.format(
                e['blocks_loop_gflops'], e['blocks_loop_fraction_of_peak']),
            '{:.1f} GFLOP/s = {:.0%}'.format(
                e['torch_loop_gflops'], e['torch_loop_fraction_of_peak']),
            '{:.2f}'.format(e['blocks_loop_fraction_of_peak']
                            / e['torch_loop_fraction_of_peak']))
    if 'inference' in results:
        r = results['inference']
        for key in sorted(k for k in r if k.startswith('batch_')):
            entry = r[key]
            add('5 inference, BN-MLP [784,1000,1000,1000,10], batch {}'
                .format(key[len('batch_'):]),
                '{:.0f} ex/s'.format(entry['blocks_examples_per_second']),
                '{:.0f} ex/s'.format(entry['torch_examples_per_second']),
                '{:.2f} (speed-up)'.format(entry['throughput_ratio']))
    if 'lstm' in results:
        for row in lstm_rows(results['lstm']):
            add(*row)
    if 'seqgen' in results:
        for row in seqgen_rows(results['seqgen']):
            add(*row)
    return rows


def seqgen_rows(r):
    """The reverse_words rows (issue 16): (benchmark, blocks, PyTorch,
    ratio[, target, met]) tuples."""
    rows = []
    for threads, entry in sorted(r['threads'].items()):
        load = entry['load_average'][0]
        ratio = entry['training ratio']
        rows.append((
            '16 reverse_words train step, batch {}, {} thread(s) (load '
            '{:.1f})'.format(r['batch'], threads, load),
            '{:.1f} ms'.format(1e3 * entry['blocks step_seconds']),
            '{:.1f} ms'.format(1e3 * entry['torch step_seconds']),
            '{:.2f} (time ratio)'.format(ratio), '<= 1.5', ratio <= 1.5))
        rows.append((
            '16 reverse_words beam search (beam {}), {} thread(s)'.format(
                r['beam'], threads),
            '{:.1f} sentences/s'.format(
                entry['blocks sentences_per_second']),
            '{:.1f} sentences/s'.format(
                entry['torch sentences_per_second']),
            '{:.2f} (time ratio)'.format(entry['beam search ratio'])))
    return rows


def lstm_rows(r):
    """Benchmark 6's rows: (benchmark, blocks, PyTorch, ratio[, target,
    met]) tuples."""
    rows = []
    layer = '6 LSTM {dim}, batch {batch}, {steps} steps, train step'.format(
        **r)
    for threads, entry in sorted(r['threads'].items()):
        load = entry['load_average'][0]
        for torch_name, target, met in (
                ('nn.LSTM', '<= 1.5', lambda ratio: ratio <= 1.5),
                ('LSTMCell loop', '< 1', lambda ratio: ratio < 1)):
            ratio = entry['ratio vs ' + torch_name]
            rows.append((
                '{}, {} thread(s), vs {} (load {:.1f})'.format(
                    layer, threads, torch_name, load),
                '{:.1f} ms'.format(1e3 * entry['blocks step_seconds']),
                '{:.1f} ms'.format(1e3 * entry[torch_name + ' step_seconds']),
                '{:.2f} (time ratio)'.format(ratio), target, met(ratio)))
        rows.append((
            "6 scan per time step, {} thread(s): empty step, the LSTM's"
            .format(threads),
            '{:.0f} us, {:.0f} us'.format(
                1e6 * entry['empty loop seconds per time step'],
                1e6 * entry['blocks seconds per time step']), '-', '-'))
    for key, label, limit in (('lstm', 'the LSTM step', 5),
                              ('stack_4', 'a 4-layer RecurrentStack step',
                               10)):
        compile_ = r['compile'].get(key)
        if compile_ is None:
            continue
        if 'error' in compile_:
            rows.append(('6 compile, ' + label, compile_['error'], '-', '-'))
            continue
        rows.append((
            '6 compile, {}, median of {} (first)'.format(
                label, compile_['repeats']),
            '{:.1f} s ({:.1f} s)'.format(compile_['seconds'],
                                         compile_['first_seconds']),
            '-', '-', '< {} s'.format(limit), compile_['seconds'] < limit))
    return rows


PEER_COLUMNS = (('workload', 'workload'), ('threads', 'threads'),
                ('blocks', 'blocks'), (EAGER, 'PyTorch eager'),
                (COMPILED, 'torch.compile'), (FLAX, 'JAX + Flax'),
                ('ratio', 'blocks / fastest peer'),
                ('losses', 'first losses'))
PEER_WORKLOADS = (
    ('mlp_training', 'mnist_bn', 'BN-MLP 784-100-10, batch 50, train step'),
    ('mlp_training', 'wide_bn',
     'BN-MLP 784-1000x3-10, batch 100, train step'),
    ('lenet_bricks', None, 'LeNet + spatial BN, batch 100, train step'),
    ('inference', 'batch_1', 'BN-MLP 784-1000x3-10 inference, batch 1'),
    ('inference', 'batch_1000',
     'BN-MLP 784-1000x3-10 inference, batch 1000'),
)


def _ms(seconds):
    if seconds is None:
        return '-'
    return '{:.{}f} ms'.format(1e3 * seconds, 2 if seconds < 0.01 else 1)


def _losses(losses):
    """'agree' with the largest relative difference of the first losses,
    or the losses themselves when they differ beyond float32 rounding."""
    values = [value for value in (losses or {}).values() if value is not None]
    if len(values) < 2:
        return '-'
    spread = (max(values) - min(values)) / max(abs(max(values)), 1e-30)
    if spread < 1e-5:
        return 'agree ({:.0e})'.format(spread)
    return ', '.join('{} {:.6g}'.format(key, value)
                     for key, value in losses.items())


def peer_rows(settings):
    """A row per workload and thread setting: blocks' and each peer's
    time, blocks over the fastest peer, the first losses."""
    rows = []
    for setting in settings:
        benchmarks = setting['benchmarks']
        for name, key, label in PEER_WORKLOADS:
            entry = benchmarks.get(name, {})
            entry = entry.get(key, {}) if key else entry
            if 'peers' not in entry:
                continue
            comparison = entry['peers']
            seconds = comparison['seconds']
            ratio = comparison['ratio_to_fastest']
            row = {'workload': label, 'threads': setting['threads'],
                   'blocks': _ms(seconds['blocks']),
                   'ratio': '-' if ratio is None else '{:.2f} ({})'.format(
                       ratio, comparison['fastest_peer']),
                   'losses': _losses(entry.get('first_losses'))}
            for peer in PEERS:
                row[peer] = _ms(seconds.get(peer))
            rows.append(row)
        rows += cold_compile_rows(benchmarks.get('cold_compile'))
    return rows


def cold_compile_rows(result):
    """The first-step rows: blocks cold and warm against the Flax peer."""
    if not result or 'error' in result:
        return []
    rows = []
    flax = [r['seconds'] for r in result.get('flax', []) if 'error' not in r]
    for worker, label in (('tiered-cold', 'first training step of the '
                           'wide BN-MLP, empty compile cache'),
                          ('tiered-warm', 'same, compile cache warm'),
                          ('blocks-cold', 'same, empty cache, C tier alone '
                           '(tiered_compilation off)'),
                          ('blocks-warm', 'same, warm cache, C tier alone'),
                          ('blocks-python', "same, 'auto-python' mode")):
        runs = [r for r in result.get(worker, []) if 'error' not in r]
        if not runs:
            continue
        blocks = min(r['seconds'] for r in runs)
        row = {'workload': '{} ({} C modules compiled)'.format(
                   label, runs[0]['modules_compiled']),
               'threads': '-', 'blocks': '{:.1f} s'.format(blocks),
               EAGER: '-', COMPILED: '-', 'losses': '-',
               FLAX: '{:.1f} s'.format(min(flax)) if flax else '-',
               'ratio': '{:.2f} ({})'.format(blocks / min(flax), FLAX)
               if flax else '-'}
        rows.append(row)
    return rows


COLUMNS = (('benchmark', 'benchmark'), ('blocks', 'blocks'),
           ('torch', 'PyTorch eager'), ('ratio', 'ratio'),
           ('target', 'target'), ('met', 'met'))


def machine_lines(report):
    machine = report['machine']
    torch_version = (machine['torch'] or {}).get('version', 'not installed')
    blas = ', '.join('{} {} ({} threads{})'.format(
        info.get('internal_api'), info.get('version') or '',
        info.get('num_threads'),
        ', ' + info['architecture'] if info.get('architecture') else '')
        for info in machine['numpy_blas'])
    return [
        'CPU: {} ({} logical CPUs, {} usable; load average {} at the start)'
        .format(machine['cpu'], machine['logical_cpus'],
                machine['usable_cpus'],
                ' '.join(str(x) for x in machine['load_average'])),
        'Threads: {} for BLAS, PyTorch and XLA (load average {} at the '
        'start of each setting); OPENBLAS_CORETYPE={}'.format(
            ' and '.join(str(s['threads']) for s in report['settings']),
            ', '.join('{:.1f}'.format(s['load_average'][0])
                      for s in report['settings']),
            machine['environment'].get('OPENBLAS_CORETYPE')),
        'Versions: Python {}, NumPy {}, PyTensor {}, PyTorch {}'.format(
            machine['python'], machine['numpy'], machine['pytensor'],
            torch_version),
        "BLAS: NumPy's {}; PyTensor blas__ldflags {!r}".format(
            blas, machine['pytensor_blas_ldflags']),
        'Run: {}{}, {:.0f} s'.format(report['created'],
                                     ' (--quick)' if report['quick'] else '',
                                     report['seconds']),
    ]


#: In results.md, the generated table comes first; from this line on, the
#: sections are written by hand (measurements the code's documentation
#: refers to) and a new run keeps them.
NOTES_MARKER = ('<!-- The sections below are written by hand; '
                '`python -m benchmarks` keeps them. -->')


def kept_notes(path):
    """The hand-written part of an existing results.md ('' if none)."""
    try:
        with open(path) as file:
            text = file.read()
    except FileNotFoundError:
        return ''
    start = text.find(NOTES_MARKER)
    return '' if start < 0 else text[start:]


def _markdown_table(rows, columns):
    lines = ['| ' + ' | '.join(title for _, title in columns) + ' |',
             '|' + '---|' * len(columns)]
    for row in rows:
        lines.append('| ' + ' | '.join(str(row[key]) for key, _ in columns)
                     + ' |')
    return lines + ['']


def markdown(report):
    lines = []
    if report.get('peer_rows'):
        lines += _markdown_table(report['peer_rows'], PEER_COLUMNS)
    lines += _markdown_table(report['targets'], COLUMNS)
    lines += ['- ' + line for line in machine_lines(report)]
    return '\n'.join(lines) + '\n'


def _rst_cell(text):
    if str(text) == '-':
        return '\u2014'  # a lone '-' would start a bullet list
    return str(text).replace('*', r'\*').replace('|', r'\|')


def _rst_table(rows, columns):
    lines = ['.. list-table::', '   :header-rows: 1', '']
    for i, (_, title) in enumerate(columns):
        lines.append(('   * - ' if i == 0 else '     - ') + title)
    for row in rows:
        for i, (key, _) in enumerate(columns):
            lines.append(('   * - ' if i == 0 else '     - ')
                         + _rst_cell(row[key]))
    return lines + ['']


def rst(report):
    lines = ['.. Generated by ``python -m benchmarks``; do not edit.', '',
             'Ratios compare blocks with PyTorch measured side by side in '
             'the same run (speed-up: PyTorch time / blocks time, above 1 '
             'when blocks is faster; time ratio: blocks time / PyTorch '
             'time).', '']
    if report.get('peer_rows'):
        lines += ['Against every peer, at each thread setting (blocks / '
                  'fastest peer: below 1 when blocks is the fastest):', '']
        lines += _rst_table(report['peer_rows'], PEER_COLUMNS)
        lines += ['The targets, at {} thread(s):'.format(
            report['settings'][0]['threads']), '']
    lines += _rst_table(report['targets'], COLUMNS)
    lines += ['* ' + _rst_cell(line) for line in machine_lines(report)]
    lines.append('')
    return '\n'.join(lines)


def run_setting(args):
    """Run the benchmarks of one thread setting in this process; returns
    {'threads', 'load_average', 'seconds', 'benchmarks'}."""
    threads = args.threads[0]
    # Before NumPy is imported: BLAS reads these when it loads; XLA sizes
    # its thread pool by the CPUs the process may use.
    from benchmarks.timing import set_thread_environment
    set_thread_environment(threads)
    os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:threads])
    from benchmarks.timing import limit_threads, use_float32, import_torch
    use_float32()
    limiter = limit_threads(threads)  # noqa: F841 (kept alive)
    if import_torch() is None:
        sys.exit('PyTorch is needed for the comparisons: '
                 'pip install torch==2.13.0')
    names = args.only or [name for name in NAMES
                          if not (args.quick and name == 'compile_modes')]
    setting = {'threads': threads, 'load_average': list(os.getloadavg()),
               'benchmarks': {}}
    start = time.perf_counter()
    for name in names:
        print('== {} ({} thread(s)) =='.format(name, threads), flush=True)
        began = time.perf_counter()
        try:
            setting['benchmarks'][name] = run_benchmark(name, args)
        except Exception as error:  # one failure should not lose the rest
            setting['benchmarks'][name] = {'error': repr(error)}
            print('{} failed: {!r}'.format(name, error), flush=True)
        print('({} took {:.0f} s)'.format(name, time.perf_counter() - began),
              flush=True)
    setting['seconds'] = time.perf_counter() - start
    return setting


def run_settings(args, argv):
    """Each thread setting of `args` in a process of its own (the
    benchmarks of ONCE in the first only); returns their results."""
    settings = []
    for index, threads in enumerate(args.threads):
        names = args.only or [name for name in NAMES
                              if not (args.quick and name == 'compile_modes')]
        if index:
            names = [name for name in names if name not in ONCE]
        if not names:
            continue
        with tempfile.TemporaryDirectory() as directory:
            output = os.path.join(directory, 'setting.json')
            command = [sys.executable, '-m', 'benchmarks', '--threads',
                       str(threads), '--only', *names, '--peers',
                       *args.peers, '--setting-output', output]
            if args.quick:
                command.append('--quick')
            if args.depths:
                command += ['--depths', *map(str, args.depths)]
            subprocess.run(command, check=True, cwd=ROOT)
            with open(output) as file:
                settings.append(json.load(file))
    return settings


def kept_settings(settings, path):
    """`settings` with, for each thread setting, the benchmarks of the
    previous report at `path` that this run did not run (marked with the
    date of that report), so that runs of a few benchmarks each (``--only``,
    to keep each run short) add up to the whole table."""
    try:
        with open(path) as file:
            previous = json.load(file)
    except (FileNotFoundError, ValueError):
        return settings
    by_threads = {setting['threads']: setting for setting in settings}
    for old in previous.get('settings', []):
        setting = by_threads.get(old['threads'])
        if setting is None:
            setting = by_threads[old['threads']] = dict(old, benchmarks={})
            settings.append(setting)
        for name, result in old['benchmarks'].items():
            if name not in setting['benchmarks'] and 'error' not in result:
                result.setdefault('run', previous.get('created'))
                setting['benchmarks'][name] = result
    return sorted(settings, key=lambda setting: setting['threads'])


def main(argv=None):
    args = parse_args(argv)
    if args.setting_output:
        setting = run_setting(args)
        with open(args.setting_output, 'w') as file:
            json.dump(setting, file, default=str)
        return setting
    from benchmarks.machine import facts
    start = time.perf_counter()
    report = {'created': datetime.datetime.now().isoformat(
                  timespec='seconds'),
              'quick': args.quick, 'threads': args.threads,
              'machine': facts()}
    report['settings'] = kept_settings(
        run_settings(args, argv),
        os.path.join(args.output_dir, 'results.json'))
    report['seconds'] = time.perf_counter() - start
    # The first setting's results, as before thread settings existed.
    report['benchmarks'] = report['settings'][0]['benchmarks']
    ok = {name: value for name, value in report['benchmarks'].items()
          if 'error' not in value}
    report['targets'] = target_rows(ok)
    report['peer_rows'] = peer_rows(report['settings'])
    os.makedirs(args.output_dir, exist_ok=True)
    with open(os.path.join(args.output_dir, 'results.json'), 'w') as file:
        json.dump(report, file, indent=1, default=str)
    table = markdown(report)
    results_path = os.path.join(args.output_dir, 'results.md')
    notes = kept_notes(results_path)
    with open(results_path, 'w') as file:
        file.write(table + ('\n' + notes if notes else ''))
    if args.docs:
        with open(args.docs, 'w') as file:
            file.write(rst(report))
    print(table)
    return report


if __name__ == '__main__':
    main()
