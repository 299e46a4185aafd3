"""Gradient loops that read the forward loop's values instead of
recomputing them.

PyTensor differentiates a scan into a second scan that runs backwards
over the steps. That scan receives the forward loop's inputs and states
(and outputs) as sequences, but every intermediate value of the forward
step it needs, it computes again from them: for an LSTM, the product
``h_{t-1} W``, the pre-activations and the three sigmoid gates, once
more at every step of the backward loop. PyTorch's LSTM stores those
values in the forward pass and reads them in the backward one.

:class:`ReuseForwardValues` does the same as a graph rewrite. In a
backward scan it finds the values that depend only on sequences that
mirror the forward loop's own values (its inputs, its states before and
after the step, read at the mirrored step, as PyTensor's gradient builds
them) and on the loop invariants both loops share; it has the forward
scan emit those values as extra outputs, one buffer per value, and the
backward scan read them as sequences. The forward step already computes
them, so its compiler merges the copies; the backward step keeps only
the gradient's own arithmetic. The values are the same: each is the
same expression of the same inputs, only evaluated in the other loop.
"""
import dataclasses

import pytensor.scalar as ps
import pytensor.tensor as pt
from pytensor.graph.basic import Constant, equal_computations
from pytensor.graph.replace import clone_replace
from pytensor.graph.rewriting.basic import GraphRewriter
from pytensor.graph.traversal import ancestors
from pytensor.scan.op import Scan
from pytensor.tensor.blas import Dot22
from pytensor.tensor.elemwise import Elemwise
from pytensor.tensor.math import Dot
from pytensor.tensor.shape import SpecifyShape

from blocks.ops.scan_inner_graph import simplified_scan

__all__ = ['ReuseForwardValues', 'forward_correspondence', 'values_to_save',
           'with_more_outputs', 'reading_values']


def _mirrored_values(forward, n_steps):
    """(outer expression, forward inner variable) pairs: the sequences a
    gradient scan of `n_steps` steps builds from the forward scan node
    `forward` (as :meth:`pytensor.scan.op.Scan.L_op` does), each with
    the variable of the forward step whose value it holds at the mirrored
    step (backward step j, forward step T - 1 - j)."""
    op = forward.op
    pairs = [(outer[::-1][:n_steps], inner) for outer, inner in zip(
        op.outer_seqs(forward.inputs), op.inner_seqs(op.inner_inputs))]
    for outer, before, after in zip(
            op.outer_sitsot_outs(forward.outputs),
            op.inner_sitsot(op.inner_inputs),
            op.inner_sitsot_outs(op.inner_outputs)):
        pairs.append((outer[:-1][::-1][:n_steps], before))
        pairs.append((outer[::-1][:-1][:n_steps], after))
    for outer, inner in zip(op.outer_nitsot_outs(forward.outputs),
                            op.inner_nitsot_outs(op.inner_outputs)):
        pairs.append((outer[::-1][:n_steps], inner))
    return pairs


def forward_correspondence(backward, forward):
    """The variables of the step of the scan node `backward` that hold
    values of the step of the scan node `forward`: {backward inner
    variable: forward inner variable}, for the sequences that mirror the
    forward loop's values and the loop invariants the two share."""
    op = backward.op
    mirrored = _mirrored_values(forward, backward.inputs[0])
    found = {}
    for outer, inner in zip(op.outer_seqs(backward.inputs),
                            op.inner_seqs(op.inner_inputs)):
        outer = _without_specify_shape(outer)
        for expression, forward_inner in mirrored:
            if equal_computations([outer], [expression]):
                found[inner] = forward_inner
                break
    forward_invariants = dict(zip(
        forward.op.outer_non_seqs(forward.inputs),
        forward.op.inner_non_seqs(forward.op.inner_inputs)))
    for outer, inner in zip(op.outer_non_seqs(backward.inputs),
                            op.inner_non_seqs(op.inner_inputs)):
        if outer in forward_invariants:
            found[inner] = forward_invariants[outer]
    return found


def _without_specify_shape(variable):
    """The variable a ``specify_shape`` (which the gradient puts on some
    sequences) asserts the shape of, or `variable` itself."""
    while variable.owner is not None and isinstance(variable.owner.op,
                                                    SpecifyShape):
        variable = variable.owner.inputs[0]
    return variable


def _movable(step, sequences, invariants):
    """The variables of the FunctionGraph `step` computed from the inner
    `sequences` and `invariants` and constants only, and, among them,
    those that vary from step to step (depend on a sequence)."""
    movable = set(sequences) | set(invariants)
    varying = set(sequences)
    for node in step.toposort():
        if all(variable in movable or isinstance(variable, Constant)
               for variable in node.inputs):
            movable.update(node.outputs)
            if any(variable in varying for variable in node.inputs):
                varying.update(node.outputs)
    return movable, varying


def values_to_save(step, sequences, invariants):
    """What the forward loop can hand over to the backward step `step`
    (a FunctionGraph), given its inner `sequences` and `invariants` that
    hold forward values.

    The values are the variables computed from those inputs alone,
    varying from step to step, and costly (products, transcendental
    functions). What the rest of the step reads from such values through
    cheap operations (arithmetic, views) it keeps computing itself, so
    that the forward loop stores one buffer per costly value, not one per
    derived term.
    """
    known = set(sequences) | set(invariants)
    movable, varying = _movable(step, sequences, invariants)
    needed = [variable for variable in step.variables
              if variable in varying and variable not in known
              and _read_by_the_rest(step, variable, movable)]
    saved, seen = set(), set()
    while needed:
        variable = needed.pop()
        if variable in seen or variable in known or variable not in varying:
            continue
        seen.add(variable)
        if _is_cheap(variable.owner):
            needed.extend(variable.owner.inputs)
        else:
            saved.add(variable)
    return [variable for node in step.toposort()
            for variable in node.outputs if variable in saved]


def _read_by_the_rest(step, variable, movable):
    """Whether a node of `step` that cannot move reads `variable`, or
    `variable` is an output of `step`."""
    return variable in step.outputs or any(
        any(output not in movable for output in client.outputs)
        for client, _ in step.clients.get(variable, ()))


#: The scalar operations not worth a buffer: the backward step recomputes
#: them from the values it is handed.
_CHEAP_SCALAR_OPS = (ps.Add, ps.Sub, ps.Mul, ps.Neg, ps.Second,
                     ps.Identity, ps.Cast, ps.Sqr)


def _is_cheap(node):
    """Everything but matrix products and elementwise functions other
    than plain arithmetic."""
    if isinstance(node.op, (Dot, Dot22)):
        return False
    if isinstance(node.op, Elemwise):
        return isinstance(node.op.scalar_op, _CHEAP_SCALAR_OPS)
    return True


def _insert(items, position, new):
    return list(items[:position]) + list(new) + list(items[position:])


def with_more_outputs(forward, values):
    """A scan node computing what the scan node `forward` computes and,
    as extra outputs (one buffer of all steps each), the values of its
    step's variables `values`; returns (node, position of the first
    extra outer output)."""
    op, info = forward.op, forward.op.info
    inner_position = (info.n_mit_mot_outs + info.n_mit_sot + info.n_sit_sot
                      + info.n_nit_sot)
    outer_position = (info.n_mit_mot + info.n_mit_sot + info.n_sit_sot
                      + info.n_nit_sot)
    input_position = (1 + info.n_seqs + info.n_mit_mot + info.n_mit_sot
                      + info.n_sit_sot + info.n_untraced_sit_sot
                      + info.n_nit_sot)
    new_op = simplified_scan(Scan(
        op.inner_inputs, _insert(op.inner_outputs, inner_position, values),
        dataclasses.replace(info, n_nit_sot=info.n_nit_sot + len(values)),
        mode=op.mode, truncate_gradient=op.truncate_gradient, name=op.name,
        profile=op.profile, allow_gc=op.allow_gc, strict=op.strict))
    node = new_op.make_node(*_insert(forward.inputs, input_position,
                                     [forward.inputs[0]] * len(values)))
    return node, outer_position


def reading_values(backward, replaced, new_outers):
    """A scan node computing what the scan node `backward` computes, with
    its step's variables `replaced` read from the new outer sequences
    `new_outers` instead of computed; sequences the step no longer reads
    are dropped."""
    op, info = backward.op, backward.op.info
    stand_ins, new_inners = {}, []
    for variable, outer in zip(replaced, new_outers):
        inner = outer.type.clone(shape=outer.type.shape[1:])()
        new_inners.append(inner)
        stand_ins[variable] = pt.specify_shape(inner, variable.type.shape)
    outputs = clone_replace(op.inner_outputs, replace=stand_ins)
    read = set(ancestors(outputs))
    inner_seqs = op.inner_seqs(op.inner_inputs) + new_inners
    outer_seqs = op.outer_seqs(backward.inputs) + list(new_outers)
    kept = [index for index, inner in enumerate(inner_seqs) if inner in read]
    inner_states = op.inner_inputs[info.n_seqs:]
    new_op = simplified_scan(Scan(
        [inner_seqs[index] for index in kept] + inner_states, outputs,
        dataclasses.replace(info, n_seqs=len(kept)), mode=op.mode,
        truncate_gradient=op.truncate_gradient, name=op.name,
        profile=op.profile, allow_gc=op.allow_gc, strict=op.strict))
    return new_op.make_node(
        backward.inputs[0], *([outer_seqs[index] for index in kept]
                              + backward.inputs[1 + info.n_seqs:]))


def _candidate_forwards(backward):
    """The scan nodes whose outputs or inputs the sequences of the scan
    node `backward` are built from."""
    found = []
    for variable in ancestors(backward.op.outer_seqs(backward.inputs)):
        node = variable.owner
        if (node is not None and isinstance(node.op, Scan)
                and node is not backward and node not in found):
            found.append(node)
    return found


def _merged(node):
    """The scan node `node` with the duplicated subgraphs of its step
    merged (a gradient step computes each forward value several times),
    so that each value is handed over once."""
    return simplified_scan(node.op).make_node(*node.inputs)


def _mirrored_sequences(backward, forward):
    """The inner sequences and invariants of the scan node `backward`
    that hold values of the scan node `forward`, and the correspondence
    (:func:`forward_correspondence`)."""
    correspondence = forward_correspondence(backward, forward)
    op = backward.op
    return ([inner for inner in op.inner_seqs(op.inner_inputs)
             if inner in correspondence],
            [inner for inner in op.inner_non_seqs(op.inner_inputs)
             if inner in correspondence],
            correspondence)


def _rewrite_pair(backward, forward):
    """Replacement pairs for the scan nodes `backward` and `forward` that
    hand the forward step's values to the backward step; empty when the
    backward scan recomputes none of them."""
    if (backward.op.info.as_while or forward.op.info.as_while
            or not _mirrored_sequences(backward, forward)[0]):
        return []  # checked before the merge, which costs more
    original, backward = backward, _merged(backward)
    sequences, invariants, correspondence = _mirrored_sequences(backward,
                                                                forward)
    values = values_to_save(backward.op.fgraph, sequences, invariants)
    if not values:
        return []
    in_forward = clone_replace(values, replace=correspondence)
    new_forward, position = with_more_outputs(forward, in_forward)
    saved = new_forward.outputs[position:position + len(values)]
    n_steps = backward.inputs[0]
    new_backward = reading_values(
        backward, values, [buffer[::-1][:n_steps] for buffer in saved])
    forward_outputs = (new_forward.outputs[:position]
                       + new_forward.outputs[position + len(values):])
    return (list(zip(forward.outputs, forward_outputs))
            + list(zip(original.outputs, new_backward.outputs)))


class ReuseForwardValues(GraphRewriter):
    """Have each gradient scan read the values of the forward step it
    recomputes from the forward scan (see the module notes).

    Examples
    --------
    >>> import numpy, pytensor, pytensor.tensor as pt
    >>> from pytensor.graph.fg import FunctionGraph
    >>> x = pt.matrix('x')
    >>> h = pytensor.scan(lambda x_t, h: pt.tanh(pt.exp(x_t) * h),
    ...                   sequences=[x], outputs_info=[pt.ones(2)],
    ...                   return_updates=False)
    >>> graph = FunctionGraph([x], pytensor.grad(h.sum(), [x]))
    >>> ReuseForwardValues().apply(graph)
    1

    """

    def apply(self, fgraph):
        """Rewrite the gradient scans of `fgraph`; returns how many
        read values from their forward scans."""
        rewritten = 0
        for backward in list(fgraph.toposort()):
            if backward not in fgraph.apply_nodes or not isinstance(
                    backward.op, Scan):
                continue
            for forward in _candidate_forwards(backward):
                pairs = _rewrite_pair(backward, forward)
                if pairs:
                    fgraph.replace_all_validate(
                        pairs, reason='reuse_forward_values')
                    rewritten += 1
                    break
        return rewritten

    @classmethod
    def print_profile(cls, stream, prof, level=0):
        print('{}{} {} gradient scans read forward values'.format(
            '    ' * level, cls.__name__, prof), file=stream)
