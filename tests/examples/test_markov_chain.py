"""The Markov chain example: the chain's facts, its data, and Blocks'
test (ten training batches), then sampling from the checkpoint."""
import signal
from types import SimpleNamespace

import numpy
import pytest

from examples import markov_chain


def test_help(capsys):
    with pytest.raises(SystemExit) as exit_:
        markov_chain.parse_args(['--help'])
    assert exit_.value.code == 0
    assert '--num-batches' in capsys.readouterr().out


def test_equilibrium_and_entropy_rate():
    pi = markov_chain.equilibrium()
    numpy.testing.assert_allclose(pi @ markov_chain.TRANSITIONS, pi)
    numpy.testing.assert_allclose(pi, [0.115, 0.808, 0.077], atol=1e-3)
    assert markov_chain.entropy_rate() == pytest.approx(0.455, abs=1e-3)


def test_chains_follow_the_transitions():
    dataset = markov_chain.MarkovChainDataset(numpy.random.RandomState(0),
                                              200)
    chains, = dataset.get_data(request=50)
    assert chains.shape == (200, 50) and (chains[0] == 0).all()
    counts = numpy.zeros((3, 3))
    for a, b in zip(chains[:-1].ravel(), chains[1:].ravel()):
        counts[a, b] += 1
    frequencies = counts / counts.sum(axis=1, keepdims=True)
    numpy.testing.assert_allclose(frequencies, markov_chain.TRANSITIONS,
                                  atol=0.05)


def test_train_ten_batches_then_sample(tmp_path):
    save_to = str(tmp_path / 'chain.tar')
    loop = markov_chain.main('train', save_to, None, 10)
    assert loop.status['iterations_done'] == 10
    assert float(loop.log.current_row['this_step_sequence_log_likelihood']) > 0
    outputs, cost, frequencies, transitions = markov_chain.main(
        'sample', save_to, 20)
    assert outputs.shape == (20,) and set(outputs) <= {0, 1, 2}
    assert cost > 0 and frequencies.sum() == pytest.approx(1)


@pytest.mark.parametrize('signum, status', [(None, 0),
                                            (signal.SIGINT, 130),
                                            (signal.SIGTERM, 143)])
def test_training_command_line_exits_as_shells_expect(monkeypatch, signum,
                                                      status):
    stopped = SimpleNamespace(interrupted_by=signum)
    monkeypatch.setattr(markov_chain, 'main',
                        lambda *args, **kwargs: stopped)
    assert markov_chain.cli(['train', 'chain.tar']) == status
