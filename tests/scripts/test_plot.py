"""blocks-plot, on an SQLite log and on a checkpoint."""
import tomllib
import pathlib

import pytest

from blocks.extensions import FinishAfter
from blocks.extensions.saveload import Checkpoint
from blocks.log import SQLiteLog
from blocks.main_loop import MainLoop
from blocks.scripts import plot

from tests.extensions.test_plot import LogCost, png_size
from tests.training_helpers import CountingAlgorithm, counting_stream

pytest.importorskip('matplotlib')

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_the_console_script_is_declared():
    with open(ROOT / 'pyproject.toml', 'rb') as file_:
        scripts = tomllib.load(file_)['project']['scripts']
    assert scripts['blocks-plot'] == 'blocks.scripts.plot:main'


def test_plot_of_the_last_run_of_an_sqlite_log(tmp_path, capsys):
    database = str(tmp_path / 'log.sqlite')
    for cost in (0.5, 0.25):  # two runs; the last one is drawn
        log = SQLiteLog(database)
        log[1]['train_cost'] = cost
        log[2]['train_cost'] = cost / 2
        log.close()
    output = str(tmp_path / 'curves.png')
    assert plot.main([database, 'train_cost', '-o', output,
                      '--size', '400', '300']) == 0
    assert png_size(output) == (400, 300)
    assert capsys.readouterr().out.strip().endswith('curves.png')
    assert plot.read_log(database)[2]['train_cost'] == 0.125


def test_plot_of_a_checkpoint_and_its_errors(tmp_path, capsys):
    checkpoint = str(tmp_path / 'run.tar')
    MainLoop(CountingAlgorithm(), counting_stream(2),
             extensions=[LogCost(), FinishAfter(after_n_epochs=1),
                         Checkpoint(checkpoint, after_training=True)]).run()
    assert plot.main([checkpoint]) == 0
    assert png_size(str(tmp_path / 'run.png')) == (800, 500)
    assert plot.main([checkpoint, 'valid_cost']) == 1
    error = capsys.readouterr().err
    assert 'no numbers recorded as valid_cost' in error
    assert 'train_cost' in error
    assert plot.main([str(tmp_path / 'missing.tar')]) == 1
    assert 'no log or checkpoint at' in capsys.readouterr().err
