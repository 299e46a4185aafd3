"""The contract every Op of blocks.ops keeps, checked in the spirit of
PyTensor's ``InferShapeTester``.

An :class:`OpCase` builds a graph holding the Op from symbolic inputs;
:func:`check_op` then checks that

1. ``infer_shape`` gives the shapes of the outputs the Op computes, in a
   shape graph from which the rewrites removed the Op itself (so the
   shapes cost nothing at run time);
2. where the Op is differentiable, its gradient agrees with finite
   differences (``verify_grad``).
"""
from dataclasses import dataclass
from typing import Callable

import pytensor
import pytensor.tensor as pt
from pytensor.compile.mode import Mode, get_mode
from pytensor.gradient import verify_grad
from pytensor.graph.traversal import applys_between

from blocks.utils import pack

# The Ops run the same code under every linker: the Python linker
# compiles fastest. A Mode object, not the name: given the name
# 'FAST_COMPILE', verify_grad compiles its cost with FAST_RUN (Numba).
# The shape graph needs the fast_run rewrites, which replace shapes of
# outputs by what infer_shape says.
COMPUTE_MODE = get_mode('FAST_COMPILE')
SHAPE_MODE = Mode(linker='py', optimizer='fast_run')


@dataclass
class OpCase:
    """How to check one Op class.

    Parameters
    ----------
    op_class : type
        The Op class the case covers.
    build : callable
        Takes one symbolic variable per input and returns the output(s)
        of a graph holding at least one node of `op_class` (a public
        helper of blocks.ops, or a gradient of one).
    inputs : list of tuple
        The shapes of the (random, floatX) inputs. An axis of size 1 is
        broadcastable in the symbolic input.
    differentiable : bool, optional
        Whether to check the gradient of `build` with ``verify_grad``.
    name : str, optional
        Tells apart several cases of one class in test ids.
    """
    op_class: type
    build: Callable
    inputs: list
    differentiable: bool = True
    name: str = ''

    @property
    def id(self):
        return '-'.join(filter(None, [self.op_class.__name__, self.name]))


def _values(case, rng):
    return [rng.standard_normal(shape).astype(pytensor.config.floatX)
            for shape in case.inputs]


def _symbolic_like(value):
    return pt.tensor(dtype=value.dtype, shape=tuple(
        1 if size == 1 else None for size in value.shape))


def _nodes_of(op_class, inputs, outputs):
    return [node for node in applys_between(inputs, outputs)
            if isinstance(node.op, op_class)]


def check_infer_shape(case, variables, values):
    """Compare infer_shape with the computed shapes; return the values
    of `build`'s outputs."""
    outputs = pack(case.build(*variables))
    nodes = _nodes_of(case.op_class, variables, outputs)
    assert nodes, 'the graph of {} holds no {} node'.format(
        case.id, case.op_class.__name__)
    checked = [output for node in nodes for output in node.outputs]
    computed = pytensor.function(variables, checked + outputs,
                                 mode=COMPUTE_MODE)(*values)
    shapes = pytensor.function(variables,
                               [output.shape for output in checked],
                               mode=SHAPE_MODE)
    remaining = [node for node in shapes.maker.fgraph.apply_nodes
                 if isinstance(node.op, case.op_class)]
    assert not remaining, '{}: the shape graph computes the Op'.format(
        case.id)
    for inferred, value in zip(shapes(*values), computed):
        inferred = tuple(int(size) for size in inferred)
        assert inferred == value.shape, (
            '{}: infer_shape gives {}, the Op computes {}'.format(
                case.id, inferred, value.shape))
    return computed[len(checked):]


def check_gradient(case, values, output_values, rng):
    """verify_grad of a random projection of every output of `build`."""
    projections = [rng.standard_normal(value.shape).astype(value.dtype)
                   for value in output_values]

    def cost(*variables):
        outputs = pack(case.build(*variables))
        return sum((output * projection).sum()
                   for output, projection in zip(outputs, projections))
    verify_grad(cost, values, rng=rng, mode=COMPUTE_MODE)


def check_op(case, rng):
    """Run the checks of the module docstring on `case`."""
    values = _values(case, rng)
    variables = [_symbolic_like(value) for value in values]
    output_values = check_infer_shape(case, variables, values)
    if case.differentiable:
        check_gradient(case, values, output_values, rng)
