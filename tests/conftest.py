"""Fixtures shared by the whole test suite.

``tests`` is a package, so its modules import each other by their full
name (``from tests.training_helpers import ...``) and pytest puts the
repository root, and with it ``examples``, on the import path.
"""
import os

import numpy
import pytensor
import pytest

from tests.tolerances import TOLERANCE

# blocks makes float32 its default when PyTensor's floatX was not chosen:
# the suite keeps PyTensor's (float64, or float32 under
# PYTENSOR_FLAGS=floatX=float32), which the tolerances follow.
os.environ.setdefault('BLOCKS_FLOATX', pytensor.config.floatX)
# Training functions compile their C tier before the first step, as other
# functions do: a tier built in the background would outlive the test that
# started it. tests/test_tiered.py turns tiering on where it tests it.
os.environ.setdefault('BLOCKS_TIERED_COMPILATION', 'false')


def pytest_addoption(parser):
    parser.addoption('--run-slow', action='store_true',
                     help='also run the tests marked slow')
    parser.addoption(
        '--compile-mode', default=None,
        help="blocks' compile_mode for the whole run ('auto', 'jax' or a "
             "PyTensor mode name), as BLOCKS_COMPILE_MODE would set it")


def pytest_configure(config):
    mode = config.getoption('--compile-mode')
    if mode is not None:
        # Imported here, not above: blocks reads BLOCKS_FLOATX when it is
        # first imported, after the line above sets it.
        from blocks.config import config as blocks_config
        blocks_config.compile_mode = mode


def pytest_collection_modifyitems(config, items):
    if config.getoption('--run-slow'):
        return
    skip = pytest.mark.skip(reason='slow: give --run-slow to run it')
    for item in items:
        if 'slow' in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def rng():
    """A NumPy generator with a fixed seed: every test draws the same
    data on every run."""
    return numpy.random.default_rng(1234)


@pytest.fixture
def numpy_rng():
    """A seeded legacy ``RandomState``, the generator type the
    initialization schemes take."""
    return numpy.random.RandomState(123)


@pytest.fixture
def tolerance():
    """``(rtol, atol)`` of comparisons with a NumPy reference, by
    ``pytensor.config.floatX``."""
    return TOLERANCE

