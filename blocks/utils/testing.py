"""Helpers for testing extensions and training code, at Blocks' path.

:class:`MockMainLoop` runs extensions on a tiny stream with an algorithm
that only records batches, so an extension's test needs no model and
compiles nothing. Unlike the rest of :mod:`blocks.utils`, this module
sits at the top of the stack (it builds a main loop); it lives here
because that is where Blocks users import it from.
"""
import contextlib
import io
import logging
import os
import time
from functools import wraps
from importlib import import_module
from unittest import SkipTest

from blocks.algorithms import TrainingAlgorithm
from blocks.config import ConfigurationError, config
from blocks.data import IterableDataset
from blocks.data.datasets.base import data_path
from blocks.main_loop import MainLoop

__all__ = ['MockAlgorithm', 'MockMainLoop', 'skip_if_configuration_set',
           'skip_if_not_available', 'silence_printing']


def silence_printing(test):
    """Decorate a test so that it prints nothing and logs only errors."""
    @wraps(test)
    def quiet_test(*args, **kwargs):
        logger = logging.getLogger('blocks')
        old_level = logger.level
        logger.setLevel(logging.ERROR)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                return test(*args, **kwargs)
        finally:
            logger.setLevel(old_level)
    return quiet_test


def skip_if_not_available(modules=None, datasets=None, configurations=None):
    """Skip the calling test unless its requirements are met.

    Parameters
    ----------
    modules : list of str, optional
        Modules that must import.
    datasets : list of str, optional
        Folders that must exist under the data path
        (``$BLOCKS_DATA_PATH``).
    configurations : list of str, optional
        Settings of ``blocks.config.config`` that must exist.

    Raises
    ------
    unittest.SkipTest
        Which pytest reports as a skipped test.

    """
    for module in modules or []:
        try:
            import_module(module)
        except Exception as error:
            raise SkipTest('module {} is not available: {}'.format(
                module, error)) from error
    for dataset in datasets or []:
        if not os.path.exists(os.path.join(data_path(), dataset)):
            raise SkipTest('dataset {} is not in {}'.format(dataset,
                                                            data_path()))
    for configuration in configurations or []:
        try:
            getattr(config, configuration)
        except (AttributeError, ConfigurationError):
            raise SkipTest('setting {} is not set'.format(
                configuration)) from None


def skip_if_configuration_set(configuration, value, message=None):
    """Skip the calling test if ``config.<configuration> == value``.

    >>> skip_if_configuration_set('log_backend', 'no such backend')

    """
    if getattr(config, configuration) == value:
        raise SkipTest(message or '{} is {!r}'.format(configuration, value))


class MockAlgorithm(TrainingAlgorithm):
    """An algorithm that keeps the last batch and checks that it is
    initialized only once.

    Parameters
    ----------
    delay_time : float, optional
        Seconds to sleep in every batch (for timing tests).

    """
    def __init__(self, delay_time=0):
        self._initialized = False
        self.delay_time = delay_time
        self.batch = None

    def initialize(self, **kwargs):
        if self._initialized:
            raise AssertionError('MockAlgorithm initialized twice')
        self._initialized = True

    def process_batch(self, batch):
        self.batch = batch
        if self.delay_time:
            time.sleep(self.delay_time)


class MockMainLoop(MainLoop):
    """A main loop over the examples 0 to 9 with a :class:`MockAlgorithm`,
    for testing extensions.

    Wrap it (``MagicMock(wraps=MockMainLoop())``) to check which calls an
    extension makes.

    Parameters
    ----------
    delay_time : float, optional
        For the default :class:`MockAlgorithm`.
    \\*\\*kwargs
        For :class:`~blocks.main_loop.MainLoop`; ``data_stream`` and
        ``algorithm`` have the defaults above.

    Examples
    --------
    >>> from blocks.extensions import FinishAfter
    >>> main_loop = MockMainLoop(extensions=[FinishAfter(after_n_epochs=2)])
    >>> main_loop.run()
    >>> main_loop.status['iterations_done']
    20

    """
    def __init__(self, delay_time=0, **kwargs):
        kwargs.setdefault('data_stream',
                          IterableDataset(range(10)).get_example_stream())
        kwargs.setdefault('algorithm', MockAlgorithm(delay_time))
        super().__init__(**kwargs)
