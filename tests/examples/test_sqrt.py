"""The sqrt example: Blocks' test (stop after 7 batches, the checkpoint's
path in that row of the log), and that training lowers the test cost."""
import os
import pathlib
import signal
import subprocess
import sys

import pytest

from blocks.extensions.saveload import SAVED_TO
from blocks.serialization import load

from examples import sqrt


def test_help(capsys):
    with pytest.raises(SystemExit) as exit_:
        sqrt.parse_args(['--help'])
    assert exit_.value.code == 0
    assert '--num-batches' in capsys.readouterr().out


def test_sqrt_stops_after_seven_batches_and_saves(tmp_path):
    save_to = str(tmp_path / 'sqrt.tar')
    main_loop = sqrt.main(save_to, 7, printing=False)
    log = main_loop.log
    assert log[7][SAVED_TO][0] == save_to
    assert main_loop.status['iterations_done'] == 7
    assert main_loop.status['epochs_done'] == 1  # five batches an epoch
    assert log[5]['test_cost'] < log[0]['test_cost']
    assert load(save_to).status['iterations_done'] == 7


ROOT = str(pathlib.Path(__file__).resolve().parents[2])


def test_a_signal_saves_and_exits_as_shells_expect(tmp_path):
    # The command line of a long run, stopped by a kill: the checkpoint is
    # written and the status is 128 + the signal's number, 143. (Both
    # signals' statuses: tests/test_main_loop.py, in one process.)
    signum = signal.SIGTERM
    save_to = tmp_path / 'sqrt.tar'
    process = subprocess.Popen(
        [sys.executable, '-m', 'examples.sqrt', '--num-batches', '10000000',
         str(save_to)], cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in process.stdout:
            if 'AFTER ANOTHER EPOCH' in line:
                break
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 128 + signum, stderr
    assert 'Interrupted after' in stdout
    assert load(str(save_to)).status['iterations_done'] > 0
