from unittest import mock, SkipTest

import pytest

from blocks.extensions import FinishAfter, SimpleExtension
from blocks.utils.testing import (MockAlgorithm, MockMainLoop,
                                  silence_printing,
                                  skip_if_configuration_set,
                                  skip_if_not_available)


class RecordBatches(SimpleExtension):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.batches = []

    def do(self, which_callback, *args):
        self.batches.append(self.main_loop.algorithm.batch)


def test_mock_main_loop_runs_extensions_over_ten_examples():
    recorder = RecordBatches(after_batch=True)
    main_loop = MockMainLoop(extensions=[recorder,
                                         FinishAfter(after_n_epochs=1)])
    main_loop.run()
    assert [batch['data'] for batch in recorder.batches] == list(range(10))
    assert main_loop.status['epochs_done'] == 1


def test_mock_main_loop_can_be_wrapped_by_a_mock():
    real = MockMainLoop(extensions=[FinishAfter(after_n_epochs=1)])
    main_loop = mock.MagicMock(wraps=real)
    main_loop.run()
    main_loop.run.assert_called_once_with()
    assert real.status['iterations_done'] == 10


def test_mock_algorithm_refuses_a_second_initialization():
    algorithm = MockAlgorithm()
    algorithm.initialize()
    with pytest.raises(AssertionError, match='twice'):
        algorithm.initialize()


def test_skips():
    from blocks.config import config
    with pytest.raises(SkipTest, match='sqlite'):
        skip_if_configuration_set('log_backend', config.log_backend,
                                  'not with sqlite')
    skip_if_configuration_set('log_backend', 'not a backend')
    skip_if_not_available(modules=['json'], configurations=['default_seed'])
    with pytest.raises(SkipTest, match='no_such_module'):
        skip_if_not_available(modules=['no_such_module'])
    with pytest.raises(SkipTest, match='no_such_dataset'):
        skip_if_not_available(datasets=['no_such_dataset'])
    with pytest.raises(SkipTest, match='no_such_setting'):
        skip_if_not_available(configurations=['no_such_setting'])


def test_silence_printing(capsys):
    @silence_printing
    def noisy():
        print('hidden')
        return 3

    assert noisy() == 3
    assert capsys.readouterr().out == ''
