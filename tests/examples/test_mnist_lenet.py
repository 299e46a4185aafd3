"""The LeNet example, run for one short epoch on a tiny MNIST."""
import pytest

from blocks.serialization import load_parameters

from examples import mnist_lenet


def test_help(capsys):
    with pytest.raises(SystemExit) as exit_:
        mnist_lenet.parse_args(['--help'])
    assert exit_.value.code == 0
    assert '--no-batch-normalize' in capsys.readouterr().out


def test_lenet_with_spatial_batch_normalization_trains(tiny_mnist):
    loop = mnist_lenet.main(save_to='lenet.tar', num_epochs=1,
                            feature_maps=(4, 6), hidden=16, batch_size=40,
                            test_batch_size=40, progress_bar=False)
    assert loop.status['iterations_done'] == 3
    row = loop.log.last_epoch_row
    assert 0 <= row['test_error_rate'] <= 1
    assert row['train_cost'] > 0
    saved = load_parameters('lenet.tar')
    # One (channel, 1, 1) population mean per convolution, updated.
    for i, channels in enumerate((4, 6)):
        mean = saved['/convolutions/bn_{}.population_mean'.format(i)]
        assert mean.shape == (channels, 1, 1)
        assert abs(mean).max() > 0
    assert not any(name.startswith('/convolutions/conv_') and
                   name.endswith('.b') for name in saved)
