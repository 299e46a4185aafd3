"""The row-by-row MNIST example on a tiny MNIST: each model trains for an
epoch and adds its curve to the shared JSON file, whose plot then shows
both."""
import json
import signal
from types import SimpleNamespace

import numpy
import pytest
from pytensor import tensor

from examples import mnist_rnn

TINY = dict(num_epochs=1, dim=6, batch_size=40, test_batch_size=40,
            curves='curves.json', plot_to='curves.png', progress_bar=False)


def test_help(capsys):
    with pytest.raises(SystemExit) as exit_:
        mnist_rnn.parse_args(['--help'])
    assert exit_.value.code == 0
    assert '--model' in capsys.readouterr().out


def test_unknown_model_is_refused():
    with pytest.raises(ValueError, match="model must be one of .* 'gru'"):
        mnist_rnn.recurrent_brick('gru', 4)


def test_unknown_input_statistics_are_refused():
    with pytest.raises(ValueError, match="input_statistics must be one of "
                       ".* got 'rows'"):
        mnist_rnn.recurrent_brick('bnlstm', 4, input_statistics='rows')


def test_bn_options_reach_the_brick():
    args = mnist_rnn.parse_args(['--input-statistics', 'per-step',
                                 '--initial-state-noise', '0.3'])
    brick = mnist_rnn.recurrent_brick(
        'bnlstm', 4, input_statistics=args.input_statistics,
        initial_state_noise=args.initial_state_noise)
    assert not brick.share_input_statistics
    assert brick.initial_state_noise == 0.3
    assert mnist_rnn.recurrent_brick('bnlstm', 4).share_input_statistics


def test_rows_are_the_time_steps():
    images = tensor.tensor4('features')
    batch = numpy.random.RandomState(0).uniform(
        size=(5, 1, 28, 28)).astype(images.dtype)
    rows = mnist_rnn.time_major_rows(images).eval({images: batch})
    numpy.testing.assert_array_equal(rows, batch[:, 0].transpose(1, 0, 2))


@pytest.mark.parametrize('models', [('lstm', 'bnlstm')])
def test_each_model_adds_its_curve_and_the_plot_shows_both(tiny_mnist,
                                                           models, capsys):
    for model in models:
        loop = mnist_rnn.main(model=model, **TINY)
        assert loop.status['iterations_done'] == 3  # 120 examples / 40
        assert (tiny_mnist / 'mnist_rnn_{}.tar'.format(model)).exists()
    curves = json.loads((tiny_mnist / 'curves.json').read_text())
    assert sorted(curves) == sorted(models)
    for model, curve in curves.items():
        assert curve['epoch'] == [1]
        assert 0 <= curve['test_error'][0] <= 1
        assert 0 <= curve['train_error'][0] <= 1
        assert curve['epoch_seconds'][0] > 0
        assert curve['settings']['model'] == model
    assert (tiny_mnist / 'curves.png').read_bytes()[:4] == b'\x89PNG'
    assert 'Epoch 1: train error' in capsys.readouterr().out


@pytest.mark.parametrize('signum, status', [(None, 0),
                                            (signal.SIGINT, 130),
                                            (signal.SIGTERM, 143)])
def test_command_line_exits_as_shells_expect(monkeypatch, tmp_path, signum,
                                             status):
    stopped = SimpleNamespace(
        interrupted_by=signum, status={'iterations_done': 3,
                                       'epochs_done': 1},
        log=SimpleNamespace(last_epoch_row={'test_error_rate': 0.5}))
    monkeypatch.setattr(mnist_rnn, 'main', lambda **kwargs: stopped)
    assert mnist_rnn.cli([str(tmp_path / 'run.tar')]) == status
