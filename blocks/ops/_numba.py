"""Numba-linker support for the Ops of this package (private).

The kernels are Numba functions already, so the obvious registration calls
them natively from the compiled graph. Measured on the LeNet convolutions,
that native call was 1.5-10x slower and far more erratic than calling the
same kernels through a short object-mode hop into ``perform`` (identical to
the C linker's timings), so the Ops register the object-mode hop. Its fixed
cost (tens of microseconds) is negligible next to a convolution, and it
spares PyTensor's generic fallback and its warning.
"""
import numba
from pytensor.link.numba.dispatch.basic import (
    get_numba_type,
    numba_funcify,
    numba_njit,
)


def register_perform_in_object_mode(op_class):
    """Make the Numba linker run ``op_class.perform`` for its nodes."""

    @numba_funcify.register(op_class)
    def funcify(op, node=None, **kwargs):
        types = [get_numba_type(output.type) for output in node.outputs]
        single = len(types) == 1
        result_type = types[0] if single else numba.types.Tuple(types)

        def run_perform(inputs):
            storage = [[None] for _ in node.outputs]
            op.perform(node, inputs, storage)
            if single:
                return storage[0][0]
            return tuple(cell[0] for cell in storage)

        @numba_njit
        def call_perform(*inputs):
            with numba.objmode(result=result_type):
                result = run_perform(inputs)
            return result

        return call_perform

    return op_class
