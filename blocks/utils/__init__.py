"""Small helpers used throughout blocks.

Importing this package does not import PyTensor (Blocks' utils were
importable without the engine, and configuration tools rely on that): the
helpers that need it are loaded from their module the first time they are
used.
"""
import importlib

from blocks.utils.utils import (pack, unpack, dict_union, dict_subset,
                                reraise_as, change_recursion_limit,
                                find_bricks, extract_args, repr_attrs)
from blocks.utils.containers import AnnotatingList

_PYTENSOR_HELPERS = {
    'blocks.utils.pytensor_utils': [
        'shared_floatx', 'shared_floatx_zeros', 'shared_floatx_nans',
        'shared_floatx_zeros_matching', 'shared_like', 'is_graph_input',
        'is_shared_variable', 'check_variable', 'check_theano_variable',
        'floatx'],
    'blocks.utils.random_streams': [
        'RandomStream', 'MRGRandomStream', 'MRG_RandomStreams'],
}
_MODULE_OF = {name: module for module, names in _PYTENSOR_HELPERS.items()
              for name in names}

__all__ = ['pack', 'unpack', 'dict_union', 'dict_subset', 'reraise_as',
           'change_recursion_limit', 'find_bricks', 'extract_args',
           'repr_attrs', 'AnnotatingList'] + list(_MODULE_OF)


def __getattr__(name):
    if name not in _MODULE_OF:
        raise AttributeError(
            'module {!r} has no attribute {!r}'.format(__name__, name))
    value = getattr(importlib.import_module(_MODULE_OF[name]), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
