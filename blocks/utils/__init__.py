"""Small helpers used throughout blocks."""
from blocks.utils.utils import (pack, unpack, dict_union, dict_subset,
                                reraise_as, change_recursion_limit,
                                find_bricks, extract_args, repr_attrs)
from blocks.utils.pytensor_utils import (
    shared_floatx, shared_floatx_zeros, shared_floatx_nans,
    shared_floatx_zeros_matching, shared_like, is_graph_input,
    is_shared_variable, check_variable, floatx)
from blocks.utils.containers import AnnotatingList
from blocks.utils.random_streams import RandomStream

__all__ = ['pack', 'unpack', 'dict_union', 'dict_subset', 'reraise_as',
           'change_recursion_limit', 'find_bricks', 'extract_args',
           'repr_attrs', 'shared_floatx', 'shared_floatx_zeros',
           'shared_floatx_nans', 'shared_floatx_zeros_matching',
           'shared_like', 'is_graph_input', 'is_shared_variable',
           'check_variable', 'floatx', 'AnnotatingList', 'RandomStream']
