"""Scan step functions made smaller before the loop rewrites see them.

The gradient of a scan is a second scan whose step function PyTensor
builds by differentiating the first one's, without simplifying it: the
step of an LSTM's gradient is mostly duplicated subgraphs (each gate's
forward computation again for every term of its gradient) and the copies
that blocks' applications make of their inputs and outputs (``Identity``
nodes that carry annotations). Every rewrite of the loop (pushing
computations out of it, the memory and in-place rewrites) rebuilds the
scan node, and each rebuilt node has its shapes inferred by a walk over
the whole step function, so the size of that function is paid many times
per compiled training step (see ``benchmarks/results.md``, section
"Recurrent networks: the LSTM layer").

:func:`simplified_scan` rebuilds a scan whose step function has its
duplicated subgraphs merged and those copies removed, which the compiler
of the step function would do anyway: the loop computes the same values.
"""
from pytensor.graph.rewriting.basic import (
    MergeOptimizer,
    dfs_rewriter,
    node_rewriter,
)
from pytensor.tensor.basic import tensor_copy

from blocks.ops.scan_shapes import shape_inferring

__all__ = ['simplified_scan', 'remove_inner_copy']


@node_rewriter([tensor_copy])
def remove_inner_copy(fgraph, node):
    """Replace a copy by its input, unless the copy is an output of the
    step: a scan's inner output must not be one of its inner inputs."""
    (output,) = node.outputs
    if output in fgraph.outputs:
        return None
    return node.inputs


def _simplified_step(op):
    """A simplified clone of the step function of the Scan `op`."""
    fgraph = op.fgraph.clone()
    MergeOptimizer().rewrite(fgraph)
    dfs_rewriter(remove_inner_copy).rewrite(fgraph)
    return fgraph


def simplified_scan(op, mode=None):
    """The Scan `op` with duplicated subgraphs merged and copies removed
    from its step function, and compiling that function with `mode` (the
    op's own mode when None).

    Parameters
    ----------
    op : :class:`pytensor.scan.op.Scan`
    mode : :class:`pytensor.compile.mode.Mode`, optional

    Returns
    -------
    :class:`~blocks.ops.scan_shapes.ShapeInferringScan`
        A new op with the same loop signature, so that
        ``simplified_scan(node.op).make_node(*node.inputs)`` replaces
        `node` output for output.

    Examples
    --------
    >>> import pytensor, pytensor.tensor as pt
    >>> from pytensor.tensor.basic import tensor_copy
    >>> x = pt.vector('x')
    >>> totals = pytensor.scan(lambda v, total: total + tensor_copy(v),
    ...                        sequences=[x], outputs_info=[pt.zeros(())],
    ...                        return_updates=False)
    >>> op = totals.owner.inputs[0].owner.op
    >>> len(op.fgraph.apply_nodes), len(
    ...     simplified_scan(op).fgraph.apply_nodes)
    (2, 1)

    """
    fgraph = _simplified_step(op)
    return shape_inferring(op, fgraph.inputs, fgraph.outputs, mode=mode)
