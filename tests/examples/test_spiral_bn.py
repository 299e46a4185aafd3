"""Blocks' batch normalization example test: after two epochs on the
spiral, batch normalization clearly helps (Blocks' own thresholds)."""
import pytest

from examples import spiral_bn


def test_help(capsys):
    with pytest.raises(SystemExit) as exit_:
        spiral_bn.parse_args(['--help'])
    assert exit_.value.code == 0
    assert '--no-batch-normalize' in capsys.readouterr().out


def test_batch_normalization_helps_after_two_epochs():
    row = spiral_bn.main(num_epochs=2, batch_normalized=True,
                         printing=False).log.current_row
    assert row['test_misclass'] < 0.62
    assert row['train_misclass'] < 0.6


def test_plain_mlp_is_still_near_chance_after_two_epochs():
    row = spiral_bn.main(num_epochs=2, batch_normalized=False,
                         printing=False).log.current_row
    assert row['test_misclass'] > 0.65
    assert row['train_misclass'] > 0.65
