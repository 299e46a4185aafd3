"""The command line and the report the MNIST examples share."""
import os
from types import SimpleNamespace

import pytest

from examples import mnist, mnist_bn, mnist_lenet, mnist_parser, report


@pytest.mark.parametrize('module, defaults', [
    (mnist, dict(num_epochs=2, batch_size=50, subset=None, seed=1,
                 save_to='mnist.tar')),
    (mnist_bn, dict(num_epochs=5, batch_size=100, learning_rate=0.002,
                    alpha=0.1, hidden_dims=[500, 500], subset=None,
                    no_progress_bar=False, plot_to='mnist_bn.png',
                    save_to='mnist_bn.tar')),
    (mnist_lenet, dict(num_epochs=5, batch_size=100, learning_rate=0.002,
                       no_batch_normalize=False, subset=None,
                       no_progress_bar=False, save_to='mnist_lenet.tar')),
])
def test_each_example_keeps_its_options(module, defaults):
    assert vars(module.parse_args([])) == defaults
    given = module.parse_args(['--num-epochs', '3', '--subset', '7',
                               'other.tar'])
    assert (given.num_epochs, given.subset, given.save_to) == \
        (3, 7, 'other.tar')


def test_mnist_parser_adds_only_what_is_asked():
    plain = vars(mnist_parser('Train.', 1, 10, 'a.tar').parse_args([]))
    assert plain == dict(num_epochs=1, batch_size=10, subset=None,
                         save_to='a.tar')
    full = mnist_parser('Train.', 1, 10, 'a.tar', learning_rate=0.5,
                        progress_bar_option=True).parse_args(
        ['--no-progress-bar'])
    assert full.learning_rate == 0.5 and full.no_progress_bar


def test_report_prints_the_test_error_and_the_files(capsys):
    loop = SimpleNamespace(
        status={'epochs_done': 4},
        log=SimpleNamespace(last_epoch_row={'test_error_rate': 0.0125}))
    report(loop, ', in inference mode',
           files=[('Checkpoint', 'model.tar'), ('Learning curve', None)])
    assert capsys.readouterr().out.splitlines() == [
        'Test error after 4 epochs, in inference mode: 1.25%',
        'Checkpoint: {}'.format(os.path.abspath('model.tar'))]
