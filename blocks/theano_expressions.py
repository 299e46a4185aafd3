"""Blocks' name for :mod:`blocks.expressions`, kept so that
``from blocks.theano_expressions import l2_norm`` still works."""
from blocks.expressions import hessian_times_vector, l2_norm

__all__ = ['l2_norm', 'hessian_times_vector']
