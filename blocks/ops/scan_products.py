"""Products of a sequence by a loop-invariant matrix, out of the loop.

A scan step that multiplies the current element of a sequence by a
matrix that is the same at every step (``dot(x_t, W)``, ``W`` a
non-sequence) makes one small product per step; the same values are one
large product of the whole sequence, before the loop, which a BLAS runs
much closer to its peak. PyTensor moves elementwise computations on
sequences out of loops (``scan_push_out_seq``) but not products. The case
matters in gradients: the scan of an LSTM's gradient recomputes the
forward product ``h_{t-1} W`` from the stored states at every step.

:func:`push_out_sequence_products` rewrites such a scan: each such
product becomes a new sequence, computed before the loop as
``dot(x.reshape(T * batch, n), W).reshape(T, batch, m)``. The values are
those of the per-step products, up to the order of floating-point sums
inside the BLAS.
"""
import pytensor.tensor as pt
from pytensor.graph.replace import clone_replace
from pytensor.graph.rewriting.basic import node_rewriter
from pytensor.scan.op import Scan, ScanInfo
from pytensor.tensor.math import Dot

__all__ = ['push_out_sequence_products']


def _sequence_product(op):
    """The first inner ``dot(sequence element, non-sequence)`` of matrices
    in the step of `op`, with the positions of its two factors among the
    sequences and non-sequences; None if there is none."""
    sequences = op.inner_seqs(op.inner_inputs)
    non_sequences = op.inner_non_seqs(op.inner_inputs)
    for node in op.fgraph.toposort():
        if not isinstance(node.op, Dot):
            continue
        left, right = node.inputs
        if (left in sequences and right in non_sequences
                and left.ndim == 2 and right.ndim == 2):
            return (node.outputs[0], sequences.index(left),
                    non_sequences.index(right))
    return None


def _outer_product(sequence, matrix, n_steps):
    """The products of the first `n_steps` elements of `sequence` (time,
    rows, n) by `matrix` (n, m), as one product: (time, rows, m)."""
    steps = sequence[:n_steps]
    flat = steps.reshape((steps.shape[0] * steps.shape[1], steps.shape[2]))
    product = pt.dot(flat, matrix)
    return product.reshape((steps.shape[0], steps.shape[1],
                            matrix.shape[1]))


@node_rewriter([Scan])
def push_out_sequence_products(fgraph, node):
    """Replace a per-step product of a sequence by a loop-invariant matrix
    by one product before the loop (see the module notes); one product
    per application, so that a rewriter run to a fixed point takes them
    all."""
    op = node.op
    if op.info.as_while:
        return None
    found = _sequence_product(op)
    if found is None:
        return None
    inner_product, sequence_index, matrix_index = found
    n_steps = node.inputs[0]
    outer = _outer_product(op.outer_seqs(node.inputs)[sequence_index],
                           op.outer_non_seqs(node.inputs)[matrix_index],
                           n_steps)
    new_sequence = outer.type.clone(shape=outer.type.shape[1:])()
    stand_in = pt.specify_shape(new_sequence, inner_product.type.shape)
    if stand_in.type != inner_product.type:
        return None
    new_outputs = clone_replace(op.inner_outputs,
                                replace={inner_product: stand_in})
    inner = op.inner_inputs
    n_seqs = op.info.n_seqs
    new_op = Scan(inner[:n_seqs] + [new_sequence] + inner[n_seqs:],
                  new_outputs, _with_one_more_sequence(op.info),
                  mode=op.mode, truncate_gradient=op.truncate_gradient,
                  name=op.name, profile=op.profile, allow_gc=op.allow_gc,
                  strict=op.strict)
    outer_inputs = list(node.inputs)
    new_node = new_op.make_node(*(outer_inputs[:1 + n_seqs] + [outer]
                                  + outer_inputs[1 + n_seqs:]))
    return new_node.outputs


def _with_one_more_sequence(info):
    return ScanInfo(
        n_seqs=info.n_seqs + 1,
        mit_mot_in_slices=info.mit_mot_in_slices,
        mit_mot_out_slices=info.mit_mot_out_slices,
        mit_sot_in_slices=info.mit_sot_in_slices,
        sit_sot_in_slices=info.sit_sot_in_slices,
        n_nit_sot=info.n_nit_sot,
        n_untraced_sit_sot=info.n_untraced_sit_sot,
        n_non_seqs=info.n_non_seqs,
        as_while=info.as_while)
