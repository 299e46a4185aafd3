"""Rebuilding a Scan node around a rewritten step function.

A rewrite that reaches into a loop (dropout on a variable of the step,
batch normalization of a layer applied inside it) changes the inner graph
of a :class:`~pytensor.scan.op.Scan`. This module makes the new node: the
same loop, with the new inner outputs, plus whatever the rewritten step
needs from outside and whatever the caller wants out of it.

- A free variable of the new step (a parameter such as a batch
  normalization scale, a symbolic noise level) becomes a non-sequence: a
  new inner input fed by the outer variable.
- A free shared variable with a ``default_update`` (the generator of a
  random draw, from :class:`~blocks.utils.RandomStream`) becomes a state
  that is not traced over time (an "untraced sit-sot"): each step draws
  from the state the previous step left, and its ``default_update`` is
  moved to the loop's final state, so compiled functions advance it once
  per call, as they do outside loops.
- An *exposed* inner variable becomes an extra per-step output (a
  "nit-sot"): its outer version stacks the step values along a new time
  axis 0.

The outputs the loop had keep their meaning, so the callers of the old node
can be given the new node's outputs one for one.
"""
import warnings

from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Constant
from pytensor.graph.replace import clone_replace
from pytensor.graph.traversal import graph_inputs
from pytensor.scan.op import Scan, ScanInfo
from pytensor.tensor.random.type import RandomGeneratorType

from blocks.ops.scan_shapes import shape_inferring

__all__ = ['is_scan_node', 'rebuild_scan']


def is_scan_node(node):
    """Whether an Apply node runs a loop."""
    return node is not None and isinstance(node.op, Scan)


def _free_variables(outputs, bound):
    """The non-constant roots of `outputs` that are not in `bound`, in a
    stable order."""
    bound = set(bound)
    return [var for var in graph_inputs(outputs)
            if var not in bound and not isinstance(var, Constant)]


def _set_default_update(variable, value):
    with warnings.catch_warnings():
        # PyTensor 3 deprecates default updates but still applies them;
        # blocks' random streams rely on them (see blocks.utils).
        warnings.simplefilter('ignore', DeprecationWarning)
        variable.default_update = value


def _step_update(var, inner_updates):
    """The next value of `var` within a step, if it evolves from step to
    step: a given inner update, or the default update of a random
    generator (other shared variables keep theirs for the whole call)."""
    if var in inner_updates:
        return inner_updates[var]
    if (isinstance(var, SharedVariable)
            and isinstance(var.type, RandomGeneratorType)):
        return getattr(var, 'default_update', None)
    return None


def rebuild_scan(node, outer_inputs, inner_outputs, inner_updates=None,
                 exposed=()):
    """A new Scan node: `node`'s loop with new inner outputs.

    Parameters
    ----------
    node : Apply
        The Scan node to rebuild.
    outer_inputs : list of variables
        The node's outer inputs, possibly rebuilt themselves.
    inner_outputs : list of variables
        The new inner outputs, one for each of the old ones, as expressions
        of the old inner inputs and of free variables.
    inner_updates : dict, optional
        Step-level updates of free shared variables (shared variable to
        its next value in the step), for those whose ``default_update``
        does not say it.
    exposed : list of variables, optional
        Variables of the new step to make per-step outputs of.

    Returns
    -------
    outputs : list of variables
        The new node's outputs standing for the old node's, in order.
    exposed : list of variables
        The outer (time-stacked) version of each exposed variable.

    """
    op = node.op
    info = op.info
    inner_updates = inner_updates or {}
    exposed = list(exposed)
    old_inputs = list(op.inner_inputs)
    # An update may need more from outside than the outputs do (the
    # generator's next state depends on the draw's shape).
    updates = [_step_update(var, inner_updates) for var in _free_variables(
        list(inner_outputs) + exposed, old_inputs)]
    free = _free_variables(
        list(inner_outputs) + exposed
        + [update for update in updates if update is not None], old_inputs)
    states = [(var, _step_update(var, inner_updates)) for var in free
              if _step_update(var, inner_updates) is not None]
    non_sequences = [var for var in free
                     if _step_update(var, inner_updates) is None]
    stand_ins = {var: var.type() for var in free}
    for var, stand_in in stand_ins.items():
        if var.name is not None:
            stand_in.name = '{}_copy'.format(var.name)

    n_inner = len(inner_outputs)
    cloned = clone_replace(
        list(inner_outputs) + exposed + [update for _, update in states],
        replace=stand_ins)
    new_inner, new_exposed = cloned[:n_inner], cloned[n_inner:
                                                      n_inner + len(exposed)]
    state_updates = cloned[n_inner + len(exposed):]

    condition = new_inner[-1:] if info.as_while else []
    new_inner_outputs = (
        op.inner_mitmot_outs(new_inner) + op.inner_mitsot_outs(new_inner)
        + op.inner_sitsot_outs(new_inner) + op.inner_nitsot_outs(new_inner)
        + new_exposed + op.inner_untraced_sit_sot_outs(new_inner)
        + state_updates + condition)
    new_inner_inputs = (
        op.inner_seqs(old_inputs) + op.inner_mitmot(old_inputs)
        + op.inner_mitsot(old_inputs) + op.inner_sitsot(old_inputs)
        + op.inner_untraced_sit_sot(old_inputs)
        + [stand_ins[var] for var, _ in states]
        + op.inner_non_seqs(old_inputs)
        + [stand_ins[var] for var in non_sequences])
    n_steps = outer_inputs[0]
    new_outer_inputs = (
        [n_steps] + op.outer_seqs(outer_inputs)
        + op.outer_mitmot(outer_inputs) + op.outer_mitsot(outer_inputs)
        + op.outer_sitsot(outer_inputs)
        + op.outer_untraced_sit_sot(outer_inputs)
        + [var for var, _ in states]
        + op.outer_nitsot(outer_inputs) + [n_steps] * len(exposed)
        + op.outer_non_seqs(outer_inputs) + non_sequences)
    new_info = ScanInfo(
        n_seqs=info.n_seqs,
        mit_mot_in_slices=info.mit_mot_in_slices,
        mit_mot_out_slices=info.mit_mot_out_slices,
        mit_sot_in_slices=info.mit_sot_in_slices,
        sit_sot_in_slices=info.sit_sot_in_slices,
        n_nit_sot=info.n_nit_sot + len(exposed),
        n_untraced_sit_sot=info.n_untraced_sit_sot + len(states),
        n_non_seqs=info.n_non_seqs + len(non_sequences),
        as_while=info.as_while)
    new_op = shape_inferring(op, new_inner_inputs, new_inner_outputs,
                             new_info)
    new_node = new_op.make_node(*new_outer_inputs)
    outputs = list(new_node.outputs)
    traced = info.n_mit_mot + info.n_mit_sot + info.n_sit_sot + info.n_nit_sot
    untraced = info.n_untraced_sit_sot
    standing_for_old = outputs[:traced] + outputs[
        traced + len(exposed):traced + len(exposed) + untraced]
    final_states = outputs[traced + len(exposed) + untraced:]
    for (var, _), final in zip(states, final_states):
        _set_default_update(var, final)
    return standing_for_old, outputs[traced:traced + len(exposed)]

