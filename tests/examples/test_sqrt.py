"""The sqrt example: Blocks' test (stop after 7 batches, the checkpoint's
path in that row of the log), and that training lowers the test cost."""
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
