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
                    'lenet_bricks', '--output-dir', str(tmp_path), '--docs',
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
