"""The parity example: its data, and Blocks' test (one epoch of ten
batches of sequences up to 20 long, one LSTM cell)."""
import signal
from types import SimpleNamespace

import numpy
import pytest

from examples import parity_problem


def test_help(capsys):
    with pytest.raises(SystemExit) as exit_:
        parity_problem.parse_args(['--help'])
    assert exit_.value.code == 0
    assert '--max-seq-length' in capsys.readouterr().out


def test_batches_have_one_length_each_and_parity_targets():
    data = parity_problem.parity_batches(
        5, 3, 40, numpy.random.RandomState(0))
    lengths = {x.shape[0] for x in data['x']}
    assert lengths <= set(range(1, 6)) and len(lengths) > 1
    for x, y in zip(data['x'], data['y']):
        assert x.shape[1:] == (3, 1) and y.shape == (3, 1)
        assert set(numpy.unique(x)) <= {0, 1}
        for sequence, target in zip(x[:, :, 0].T, y[:, 0]):
            assert target == list(sequence).count(1) % 2


def test_one_epoch_of_ten_batches():
    main_loop = parity_problem.main(20, 1, 10, 10, 1, verbose=False)
    assert main_loop.status['epochs_done'] == 1
    assert main_loop.status['iterations_done'] == 10
    row = main_loop.log.last_epoch_row
    # Binary cross-entropies of an untrained net: near log(2), both sets.
    for name in ('train_cost', 'test_cost'):
        assert 0 < float(row[name]) < 3, name


@pytest.mark.parametrize('signum, status', [(None, 0),
                                            (signal.SIGINT, 130),
                                            (signal.SIGTERM, 143)])
def test_command_line_exits_as_shells_expect(monkeypatch, signum, status):
    stopped = SimpleNamespace(interrupted_by=signum,
                              log=SimpleNamespace(to_records=list))
    monkeypatch.setattr(parity_problem, 'main',
                        lambda *args, **kwargs: stopped)
    assert parity_problem.cli(['--num-epochs', '1']) == status
