"""Blocks' module name for the PyTensor helpers, kept so that
``from blocks.utils.theano_utils import shared_floatx`` still works; the
helpers live in :mod:`blocks.utils.pytensor_utils`."""
from blocks.utils.pytensor_utils import *  # noqa: F401,F403
from blocks.utils.pytensor_utils import __all__  # noqa: F401
