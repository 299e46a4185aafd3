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


def test_runner_writes_results(tmp_path):
    docs = tmp_path / 'table.rst'
    subprocess.run([sys.executable, '-m', 'benchmarks', '--quick', '--only',
                    'lenet_bricks', '--output-dir', str(tmp_path), '--docs',
                    str(docs)], cwd=ROOT, check=True, capture_output=True,
                   timeout=600)
    saved = json.loads((tmp_path / 'results.json').read_text())
    assert saved['benchmarks']['lenet_bricks']['step_time_ratio'] > 0
    assert saved['machine']['cpu']
    assert saved['targets'][0]['target'] == '<= 1.5'
    assert 'LeNet' in (tmp_path / 'results.md').read_text()
    assert '.. list-table::' in docs.read_text()
