"""Smoke test of the benchmark runner: its tiniest configuration runs (in
a subprocess: the runner sets floatX and thread limits for its whole
process) and writes its three files. No timing is asserted."""
import json
import os
import subprocess
import sys

import pytest

pytest.importorskip('torch')

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from benchmarks.__main__ import NOTES_MARKER, kept_notes  # noqa: E402


def test_runner_writes_results(tmp_path):
    docs = tmp_path / 'table.rst'
    notes = NOTES_MARKER + '\n\n## Measured by hand\n'
    (tmp_path / 'results.md').write_text('| an old table |\n\n' + notes)
    subprocess.run([sys.executable, '-m', 'benchmarks', '--quick', '--only',
                    'lenet_bricks', '--threads', '1', '--peers',
                    'torch eager', '--output-dir', str(tmp_path), '--docs',
                    str(docs)], cwd=ROOT, check=True, capture_output=True,
                   timeout=600)
    saved = json.loads((tmp_path / 'results.json').read_text())
    assert saved['benchmarks']['lenet_bricks']['step_time_ratio'] > 0
    assert saved['machine']['cpu']
    assert saved['targets'][0]['target'] == '<= 1.5'
    assert 'LeNet' in (tmp_path / 'results.md').read_text()
    written = (tmp_path / 'results.md').read_text()
    assert 'an old table' not in written and written.endswith(notes)
    assert '.. list-table::' in docs.read_text()


def test_only_the_hand_written_notes_are_kept(tmp_path):
    path = tmp_path / 'results.md'
    assert kept_notes(str(path)) == ''
    path.write_text('| table |\n')
    assert kept_notes(str(path)) == ''
    path.write_text('| table |\n' + NOTES_MARKER + '\n## Notes\n')
    assert kept_notes(str(path)) == NOTES_MARKER + '\n## Notes\n'


def test_lstm_rows_judge_each_target():
    from benchmarks.__main__ import lstm_rows
    entry = {'blocks step_seconds': 0.03, 'nn.LSTM step_seconds': 0.025,
             'LSTMCell loop step_seconds': 0.02,
             'ratio vs nn.LSTM': 1.2, 'ratio vs LSTMCell loop': 1.5,
             'blocks seconds per time step': 6e-4,
             'empty loop seconds per time step': 5e-5,
             'load_average': [3.0, 3.0, 3.0]}
    result = {'dim': 256, 'batch': 32, 'steps': 50, 'threads': {'1': entry},
              'compile': {'lstm': {'seconds': 4.0, 'first_seconds': 9.0,
                                   'repeats': 3},
                          'stack_4': {'error': 'ImportError()'}}}
    rows = {row[0]: row[1:] for row in lstm_rows(result)}
    versus_lstm, versus_cells, scan, compile_, stack = rows
    assert rows[versus_lstm][-2:] == ('<= 1.5', True)
    assert rows[versus_cells][-2:] == ('< 1', False)
    assert rows[scan][0] == '50 us, 600 us'
    assert rows[compile_][1:] == ('-', '-', '< 5 s', True)
    assert rows[stack][0] == 'ImportError()'


def test_seqgen_rows_judge_the_training_ratio_per_thread_setting():
    from benchmarks.__main__ import seqgen_rows

    def entry(blocks, torch):
        return {'blocks step_seconds': blocks, 'torch step_seconds': torch,
                'training ratio': blocks / torch,
                'blocks sentences_per_second': 20.0,
                'torch sentences_per_second': 25.0,
                'beam search ratio': 1.25, 'load_average': [2.0, 2.0, 2.0]}
    result = {'batch': 10, 'beam': 10,
              'threads': {'1': entry(0.3, 0.25), '2': entry(0.5, 0.25)}}
    train_1, beam_1, train_2, beam_2 = seqgen_rows(result)
    assert train_1[1:] == ('300.0 ms', '250.0 ms', '1.20 (time ratio)',
                           '<= 1.5', True)
    assert train_2[-2:] == ('<= 1.5', False)
    assert beam_1[1:] == ('20.0 sentences/s', '25.0 sentences/s',
                          '1.25 (time ratio)')
    assert '2 thread(s)' in beam_2[0]


def test_peer_rows_name_the_fastest_peer_and_compare_first_losses():
    from benchmarks.__main__ import peer_rows
    from benchmarks.peers import comparison
    step = {'peers': comparison({'blocks': 0.003, 'torch eager': 0.004,
                                 'torch.compile': 0.002}),
            'first_losses': {'blocks': 2.3, 'torch eager': 2.3000001}}
    settings = [{'threads': 2, 'benchmarks': {
        'mlp_training': {'wide_bn': step},
        'cold_compile': {'blocks-cold': [{'seconds': 6.0,
                                          'modules_compiled': 3}],
                         'flax': [{'seconds': 2.0}]}}}]
    wide, cold = peer_rows(settings)
    assert wide['threads'] == 2 and wide['blocks'] == '3.00 ms'
    assert wide['ratio'] == '1.50 (torch.compile)'
    assert wide['losses'].startswith('agree')
    assert cold['ratio'] == '3.00 (jax+flax)'
    step['first_losses']['torch eager'] = 2.4
    assert 'torch eager 2.4' in peer_rows(settings)[0]['losses']
