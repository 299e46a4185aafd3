"""The MNIST examples, run for one short epoch on a tiny MNIST."""
import os
import subprocess
import sys

import pytensor
import pytest

from blocks.bricks import BatchNormalizedMLP
from blocks.serialization import load, load_parameters

from examples import mnist, mnist_bn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


@pytest.mark.parametrize('module', [mnist, mnist_bn])
def test_help(module, capsys):
    with pytest.raises(SystemExit) as exit_:
        module.parse_args(['--help'])
    assert exit_.value.code == 0
    assert '--num-epochs' in capsys.readouterr().out


def test_mnist_trains_saves_and_resumes(tiny_mnist):
    floatx = pytensor.config.floatX
    loop = mnist.main(save_to='mnist.tar', num_epochs=1, batch_size=40,
                      test_batch_size=20)
    assert pytensor.config.floatX == floatx  # restored after the example
    assert loop.status['iterations_done'] == 3
    row = loop.log.last_epoch_row
    for record in ('test_final_cost', 'test_error_rate', 'train_final_cost',
                   'train_error_rate', 'train_total_gradient_norm',
                   'time_train_this_epoch'):
        assert record in row
    assert row['train_error_rate'] < 0.9

    # Blocks' test: reload the checkpoint, ask for one more epoch, resume.
    resumed = load('mnist.tar')
    resumed.find_extension('FinishAfter').set_conditions(after_n_epochs=2)
    resumed.run()
    assert resumed.status['epochs_done'] == 2
    assert resumed.status['iterations_done'] == 6


def test_mnist_bn_trains_in_training_mode_and_saves_statistics(tiny_mnist,
                                                               capsys):
    loop = mnist_bn.main(save_to='bn.tar', plot_to='bn.png', num_epochs=2,
                         hidden_dims=(20,), batch_size=40,
                         test_batch_size=20, progress_bar=False)
    assert loop.status['iterations_done'] == 6
    row = loop.log.last_epoch_row
    assert row['test_error_rate'] < 0.5  # the tiny digits are easy
    assert 'Epoch 2: train error' in capsys.readouterr().out
    assert (tiny_mnist / 'bn.png').read_bytes()[:4] == b'\x89PNG'

    # The moving averages ran, and the checkpoint holds their values.
    saved = load_parameters('bn.tar')
    means = {name: value for name, value in saved.items()
             if name.endswith('population_mean')}
    assert len(means) == 2
    for name, value in means.items():
        assert abs(value).max() > 0, name
    mlp, = [brick for brick in loop.model.get_top_bricks()
            if isinstance(brick, BatchNormalizedMLP)]
    bn = mlp.batch_normalizations[0]
    assert (saved[
        '/batchnormalizedmlp/batch_norm_activation_0/'
        'batchnormalization.population_mean'] ==
        bn.population_mean.get_value()).all()


def test_mnist_bn_command_line_checkpoint_loads(tiny_mnist):
    result = subprocess.run(
        [sys.executable, '-m', 'examples.mnist_bn', '--num-epochs', '1',
         '--hidden-dims', '10', '--batch-size', '60', '--no-progress-bar',
         '--plot-to', 'curve.png', 'cli.tar'],
        cwd=str(tiny_mnist), capture_output=True, text=True,
        env=dict(os.environ, PYTHONPATH=ROOT), timeout=600)
    assert result.returncode == 0, result.stderr
    assert 'Test error after 1 epochs, in inference mode' in result.stdout
    assert str(tiny_mnist / 'cli.tar') in result.stdout
    loop = load(str(tiny_mnist / 'cli.tar'))  # no class left in __main__
    assert loop.status['epochs_done'] == 1
