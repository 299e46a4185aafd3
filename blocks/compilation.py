"""How blocks compiles its PyTensor functions.

Every function blocks compiles (training steps, monitoring, snapshots)
goes through :func:`compile_function`, which uses :func:`default_mode`
unless given a `mode`. The setting ``compile_mode`` (environment variable
``BLOCKS_COMPILE_MODE``) chooses it: ``'auto'`` (the default, described
below), ``'auto-python'`` (the same without a C compiler, after it),
``'jax'`` (blocks' JAX mode, described after that) or the name of
any PyTensor mode (``'NUMBA'``, ``'FAST_RUN'``, ``'FAST_COMPILE'``,
``'CVM'``, ``'C'``, ``'JAX'`` ...), used as PyTensor would use it.

The ``'auto'`` mode
-------------------
The C virtual machine linker (``cvm``) with PyTensor's ``fast_run``
rewrites, minus rewrites that cost compile time and bring nothing to the
step (and, without a linked BLAS, two that make the step slower), plus
three that make the step faster. The measurements behind each choice are
in ``benchmarks/results.md``, section "Compilation: the 'auto' mode".

``inplace_elemwise``
    PyTensor's in-place elementwise rewrite validates every candidate
    against the whole graph, so its cost grows quadratically with the graph.
    The ``'auto'`` mode makes only the updates of large parameters in place
    (:class:`InplaceUpdates`: the new value overwrites the old one, as in
    PyTorch's optimizers), with a single validation; other temporaries are
    allocated anew.
``local_remove_useless_assert``
    Shared variables have no static shape, so every elementwise operation
    between two parameters gets an assertion that their shapes broadcast.
    In a deep network those assertions form a chain through all layers, and
    removing them takes one pass of the whole ``specialize`` phase per link
    (constant folding only runs at the end of a pass): quadratic in depth.
    Kept, they cost a few scalar comparisons per step.
The assumption rewrites
    ``dot_diag_to_elemwise``, ``selection_dot_to_indexing``,
    ``orthogonal_dot_transpose_to_eye`` and ``useless_symmetric_transpose``:
    each matrix product asks PyTensor's assumption system whether an
    operand is known to be diagonal, orthogonal, symmetric or a selection
    matrix; in a network none ever is (the weights are shared variables),
    so the questions only cost compile time.
``scan_push_out_seq``
    PyTensor moves the elementwise work of a loop's step that reads
    sequences only out of the loop, as operations on whole sequences. In a
    gradient's loop that reads the forward step's values (below), that
    work is the cheap arithmetic on the gates: in the loop it fuses with
    the rest of the step's gradient into one pass, moved out it makes
    several passes over whole (reversed) sequences and gives the loop
    more sequences to read.
``gemm_optimizer`` and ``local_dot22_to_dot22scalar``, without a BLAS
    When PyTensor links no BLAS (``blas__ldflags`` empty, as with a pip
    install), its ``Gemm`` falls back to a NumPy C-API implementation that
    is slower than plain ``Dot22`` (NumPy's own BLAS) followed by a fused
    elementwise update.
Softmax and log-softmax kept as sub-functions
    PyTensor 3 implements them as ``OpFromGraph`` whose inner function is
    compiled with PyTensor's default mode, Numba, on the first call (a JIT
    compilation per process) even under the C linker. The ``'auto'`` mode
    inlines them after the stabilization rewrites (which still turn
    ``log(softmax(x))`` into ``log_softmax(x)``), so the C linker compiles
    them like any other elementwise code.

``tanh`` computed by NumPy
    PyTensor's C code computes ``tanh`` element by element with the C
    library's double-precision routine, which made it the costliest node of
    a tanh network. Just before elementwise fusion, the ``'auto'`` mode
    replaces each floating-point ``tanh`` by
    :class:`~blocks.ops.vectorized.VectorizedUnary`, NumPy's SIMD ``tanh``
    (accurate to a few units in the last place). The gradient is
    unaffected: it uses the output, ``1 - y ** 2``.

Fast cycle detection
    PyTensor validates every rewrite against the function's protected
    outputs; with ``cycle_detection='regular'`` each validation walks all
    outputs (a training step has several per layer), so validation grows
    quadratically. The 'auto' mode compiles with ``'fast'``
    (:attr:`AutoMode.pytensor_flags`), which only restricts in-place
    rewrites (:class:`InplaceUpdates` checks its few replacements fully).

Scan's inner functions in the same mode
    A scan built without a ``mode`` (as the recurrent bricks build theirs)
    compiles its step function with PyTensor's ``Mode('cvm', 'fast_run')``,
    not with the mode of the function that contains it: the step would
    lose everything above (its ``tanh`` computed element by element, its
    products through the slow ``Gemm`` fallback). The ``'auto'`` mode gives
    each such scan node, as it compiles it, a copy of the op that compiles
    its inner function with the ``'auto'`` mode too (so does the scan of
    the gradient, built from the same op). The symbolic graph keeps
    ``mode=None``, so it still pickles. The copy's inner function is
    simplified first (:func:`~blocks.ops.scan_inner_graph.simplified_scan`:
    duplicated subgraphs merged, annotation copies removed), before any
    other scan rewrite walks it: the unsimplified step of a gradient made
    most of a recurrent network's compile time.

Scan steps' unused inputs registered
    PyTensor 3.0.7 leaves an input a scan's step never reads (the
    previous glimpses of an attention recurrence) out of the step graph's
    clients, and fast cycle detection then fails on it at every rewrite
    of the step, which is dropped. :class:`ScanInnerClients` registers
    those inputs, after the rewrites that rebuild scans.

Forward values handed to gradient loops
    The scan of a gradient recomputes, at every step, the values of the
    forward step it needs (an LSTM's gates); the forward scan emits them
    instead and the gradient's scan reads them
    (:class:`~blocks.ops.scan_forward_values.ReuseForwardValues`).

Scans' shapes inferred from their steps alone
    PyTensor infers the shapes of a scan's outputs by walking its step
    function after importing the graphs of the shapes of its inputs, which
    in a stack of recurrent layers hold the layers below, whose scans are
    walked again: the compile time of a stack grew quadratically with its
    depth. The 'auto' mode tracks shapes with
    :class:`~blocks.ops.scan_shapes.ScanShapeFeature` instead of
    PyTensor's ``ShapeOpt``: the same shapes, from one walk of the step.
    The scans it simplifies, and those PyTensor's scan rewrites rebuild
    (:func:`~blocks.ops.scan_shapes.to_shape_inferring_scan`, after each
    group of them), are
    :class:`~blocks.ops.scan_shapes.ShapeInferringScan` ops, which infer
    their shapes that way in the trackers PyTensor builds on its own (for
    the static shape of each ``zeros`` the gradient starts from).

Products of sequences by loop-invariant matrices out of loops
    A step's ``dot(x_t, W)``, with ``W`` the same at every step, becomes
    one product of the whole sequence before the loop
    (:func:`~blocks.ops.scan_products.push_out_sequence_products`); the
    scan of an LSTM's gradient makes such a product at every step (it
    recomputes the forward ``h_{t-1} W``).

What is computed does not change: rewrites are left out; of those added,
one inlines a sub-function as PyTensor does for other ``OpFromGraph``, one
computes ``tanh`` with another implementation of the same precision, and
one writes updates where PyTensor's own in-place rewrite would, one
chooses the mode of scan's inner functions (and merges what they compute
twice), one tracks the same shapes more cheaply, one makes one product of
what a loop computed in many (the same values up to the order of the sums
inside the BLAS), one evaluates what a gradient's loop recomputed in the
forward loop instead (the same expressions of the same values); no
rewrite tagged unsafe is used.

Why not Numba, PyTensor 3's default? It JIT-compiles every function on its
first call, which takes minutes of CPU for a deep batch-normalized training
step and seconds for each small function (the test suite compiles
hundreds). The C linker compiles each kind of node once per machine and
keeps the result in PyTensor's ``compiledir``.

The ``'auto-python'`` mode
--------------------------
The ``'auto'`` mode's rewrites but elementwise fusion, run by PyTensor's
Python virtual machine with every node's Python implementation: nothing
is compiled by gcc. On a machine whose ``compiledir`` is empty (a
newcomer's, a CI run's), the ``'auto'`` mode compiles a C module for each
distinct kind of node of the function first, about a second of gcc each
(35 for a batch-normalized MLP's training step); this mode starts at
once (its linker, :class:`~blocks.tiered.PythonVMLinker`, does not even
build PyTensor's C virtual machine). Large layers then run as fast (their
matrix products are NumPy's either way, the elementwise work NumPy's
ufuncs, one per operation), small ones pay the Python virtual machine's
overhead per node. Fusion is left
out because a fused loop's Python implementation runs element by element.

Tiered training functions
-------------------------
In the ``'auto'`` mode, a training algorithm's function is compiled in
two tiers (:func:`compile_tiered_function`, :mod:`blocks.tiered`): first
with :func:`first_tier_mode` (the ``'auto'`` mode's canonicalization and
stabilization rewrites, run by PyTensor's Python virtual machine with
every node's Python implementation (:class:`~blocks.tiered.PythonVMLinker`:
no gcc, not
even for PyTensor's C virtual machine, and a fraction of the rewriting),
which the first batches run; from the end of the first
batch, the ``'auto'`` mode compiles it in a background thread, and the
batch after that is done runs the C tier.
A newcomer's first step waits for no gcc; on a warm ``compiledir`` too
the first tier is ready sooner than the C tier, whose fusion, in-place
rewrites and C linking cost more than the rest. The setting
``tiered_compilation`` (``BLOCKS_TIERED_COMPILATION=false``) compiles the C
tier alone, before the first step, as other functions are.

PyTensor's flags are process-wide: while two threads compile with a mode
that sets flags (:attr:`AutoMode.pytensor_flags`), the flags hold until
the last of them is done (:func:`pytensor_flags`).

The ``'jax'`` mode
------------------
PyTensor's ``JAX`` mode (its ``fast_run`` and ``jax`` rewrites, the whole
function compiled by XLA with :func:`jax.jit`), the route to GPUs, TPUs and
many devices; it needs JAX installed (the ``jax`` extra). It differs from
PyTensor's in what the user gets back (:class:`NumpyValuesJAXLinker`):

- outputs, and the new values of shared variables, are NumPy arrays, not
  JAX arrays, so that after training ``get_value()``, functions compiled in
  another mode, checkpoints and parameter files all see NumPy values (the
  price is a copy from the device per call, nothing on a CPU next to a
  step, but a transfer on a GPU);
- the new value of each shared variable is written into the NumPy array
  the variable holds, whose memory JAX's device array of it shares on a
  CPU: the next call is given that device array, instead of converting
  every parameter anew (:class:`DeviceResidentUpdates`);
- a warning PyTensor gives while compiling is silenced, one for each
  random stream (a function compiled with JAX draws from its own copy of
  the generator and leaves the shared generator as it was, which blocks'
  noise and dropout streams are made for);
- assertions hold, which PyTensor's JAX backend skips: those on shapes
  are checked when JAX traces the function, those on values (a cost's
  class labels) when it runs, failing the call with a
  :class:`jax.errors.JaxRuntimeError` that carries the message (see
  :mod:`blocks.ops.jax`).

The ops of :mod:`blocks.ops` run natively under it (:mod:`blocks.ops.jax`).
Prefer ``'auto'`` on a CPU for small networks and for the many small
functions of tests (XLA compiles each function anew in every process);
prefer ``'jax'`` for a GPU, for several devices, and for large
convolutional networks on a CPU (see ``docs/gpu.rst``).

"""
import threading
import warnings
from contextlib import contextmanager
from functools import partial

import numpy
import pytensor
from pytensor.compile.mode import Mode, get_mode
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Variable
from pytensor.graph.traversal import ancestors
from pytensor.graph.rewriting.db import RewriteDatabaseQuery
from pytensor.link.jax.linker import JAXLinker
from pytensor.graph.rewriting.basic import (GraphRewriter, dfs_rewriter,
                                            node_rewriter)
from pytensor.graph.utils import InconsistencyError
from pytensor.scalar import Tanh
from pytensor.scan.op import Scan
from pytensor.tensor.elemwise import Elemwise
from pytensor.tensor.rewriting.elemwise import InplaceElemwiseOptimizer
from pytensor.tensor.rewriting.ofg import inline_ofg_node
from pytensor.tensor.special import LogSoftmax, Softmax

from blocks.config import config
from blocks.ops.scan_forward_values import ReuseForwardValues
from blocks.ops.scan_inner_graph import simplified_scan
from blocks.ops.scan_products import push_out_sequence_products
from blocks.ops.scan_shapes import (ScanShapeOptimizer,
                                    to_shape_inferring_scan)
from blocks.ops.vectorized import VectorizedUnary
from blocks.tiered import PythonVMLinker, TieredFunction

__all__ = ['compile_function', 'compile_tiered_function', 'SourceFunction',
           'source_names', 'first_tier_mode', 'pytensor_flags',
           'FIRST_TIER_EXCLUDED_REWRITES',
           'check_initialized', 'check_batch_rows', 'name_failing_brick',
           'BrickNamingFunction',
           'default_mode', 'auto_mode', 'auto_python_mode', 'AutoMode',
           'InplaceUpdates', 'ScanInnerClients',
           'jax_mode', 'NumpyValuesJAXLinker', 'DeviceResidentUpdates',
           'data_parallel_mode',
           'DataParallelJAXLinker',
           'AUTO_EXCLUDED_REWRITES', 'NO_BLAS_EXCLUDED_REWRITES']

#: The ``fast_run`` rewrites the ``'auto'`` mode leaves out (see above).
AUTO_EXCLUDED_REWRITES = ('inplace_elemwise', 'local_remove_useless_assert',
                          'dot_diag_to_elemwise', 'selection_dot_to_indexing',
                          'orthogonal_dot_transpose_to_eye',
                          'useless_symmetric_transpose', 'scan_push_out_seq')

# After 'stabilize' (1.5, where log(softmax) becomes log_softmax) and the
# BLAS rewrites (1.7), before 'specialize' (2) and fusion (48-49).
_INLINE_SOFTMAX_POSITION = 1.95


@node_rewriter([Softmax, LogSoftmax])
def inline_softmax(fgraph, node):
    """Replace a (log-)softmax sub-function by its inner graph."""
    return inline_ofg_node(node)


# After 'specialize' and before elementwise fusion (48-49), so that fusion
# does not bury the function inside a composite loop.
_VECTORIZE_POSITION = 47.5

#: The scalar functions the 'auto' mode computes with NumPy's SIMD ufuncs.
_VECTORIZED_SCALAR_OPS = {Tanh: 'tanh'}


@node_rewriter([Elemwise])
def vectorize_transcendental(fgraph, node):
    """Replace an elementwise tanh by NumPy's vectorized one."""
    ufunc = _VECTORIZED_SCALAR_OPS.get(type(node.op.scalar_op))
    if ufunc is None:
        return None
    (x,), (output,) = node.inputs, node.outputs
    if x.type != output.type or x.dtype not in ('float32', 'float64'):
        return None
    return [VectorizedUnary(ufunc)(x)]


# Where PyTensor's own in-place rewrites run, after fusion.
_INPLACE_UPDATES_POSITION = 50.5


class InplaceUpdates(InplaceElemwiseOptimizer):
    """Make each elementwise node that computes the update of a large shared
    variable write into that variable, as PyTensor's ``inplace_elemwise``
    would, but trying only those nodes, all in one validation.

    The validation is a pass over the whole graph (half a second for a
    100-layer training step), worth it only when it saves the step large
    copies: variables of fewer than :attr:`min_size` elements are left
    alone.

    Examples
    --------
    >>> import numpy, pytensor
    >>> w = pytensor.shared(numpy.ones(2 ** 16), name='w')
    >>> step = compile_function([], [], updates=[(w, w - 0.5 * w ** 2)])
    >>> [node.op.destroy_map for node in step.maker.fgraph.apply_nodes]
    [{0: [0]}]

    """

    #: The smallest shared variable (in elements) updated in place.
    min_size = 2 ** 16

    def apply(self, fgraph):
        """Rewrite `fgraph`; returns how many updates were made in place."""
        candidates = list(self._update_candidates(fgraph))
        if not candidates:
            return 0
        handler = fgraph.destroy_handler
        algo = handler.algo
        # 'fast' cycle detection refuses to destroy a variable read by
        # several nodes, which every parameter is (the forward and backward
        # products read it); the full ordering check is one pass over the
        # graph, affordable for these few replacements.
        handler.algo = 'regular'
        try:
            return self._replace(fgraph, candidates)
        finally:
            handler.algo = algo

    def _update_candidates(self, fgraph):
        """(node, in-place node) for each update computed by an elementwise
        node that reads the variable it updates."""
        for output_index, input_index in (fgraph.update_mapping
                                          or {}).items():
            new_value = fgraph.outputs[output_index]
            target = fgraph.inputs[input_index]
            node = new_value.owner
            if (node is None or not isinstance(node.op, Elemwise)
                    or node.op.destroy_map or target not in node.inputs
                    or target.type != new_value.type
                    or not self._is_large(target)):
                continue
            pattern = {node.outputs.index(new_value):
                       [node.inputs.index(target)]}
            inplace = self.create_inplace_node(node, pattern)
            if inplace.op.destroy_map == pattern:
                yield node, inplace

    def _is_large(self, variable):
        if not hasattr(variable, 'get_value'):
            return False
        value = variable.get_value(borrow=True, return_internal_type=True)
        return numpy.size(value) >= self.min_size

    def _replace(self, fgraph, candidates):
        """Replace all candidates at once, or one by one if that fails;
        returns how many were replaced."""
        reason = 'inplace_updates'
        try:
            fgraph.replace_all_validate(
                [pair for node, inplace in candidates
                 for pair in zip(node.outputs, inplace.outputs)],
                reason=reason)
            return len(candidates)
        except InconsistencyError:
            pass
        replaced = 0
        for node, inplace in candidates:
            try:
                fgraph.replace_all_validate(
                    list(zip(node.outputs, inplace.outputs)), reason=reason)
                replaced += 1
            except InconsistencyError:
                pass
        return replaced

    @classmethod
    def print_profile(cls, stream, prof, level=0):
        print('{}{} {} nodes in place'.format('    ' * level, cls.__name__,
                                              prof), file=stream)


# Before every scan rewrite (the first at 0.05), which copy the mode of
# the scans they rebuild and walk their inner graphs.
_SCAN_INNER_MODE_POSITION = 0.01


@node_rewriter([Scan])
def scan_inner_mode(fgraph, node):
    """Compile the inner function of a scan that has no mode of its own
    with the 'auto' mode, and simplify that function first."""
    if node.op.mode is not None:
        return None
    return simplified_scan(node.op, _cached_auto_mode()).make_node(
        *node.inputs).outputs


# After every rewrite that builds or rebuilds a scan (the last ones, in
# place, run at 50.5; 'merge3', at 100, builds none).
_SCAN_INNER_CLIENTS_POSITION = 99


class ScanInnerClients(GraphRewriter):
    """Give each input a scan's step never reads its (empty) entry among
    the clients of the step's graph, as every other graph has.

    PyTensor 3.0.7 builds the step graph of every new scan op with
    ``construct_nominal_fgraph``, which drops those inputs from
    ``fgraph.clients`` (it replaces each input by a nominal one, but an
    unused input has no client to move, and the new one is never added).
    Fast cycle detection then looks every protected input of the step up
    there when it validates a rewrite of the step: the lookup fails with a
    ``KeyError``, so each rewrite of the step is dropped, and logged as a
    "Rewrite failure". ``AttentionRecurrent``'s step never reads its
    previous glimpses (they are states only to be returned), so every
    attention model lost the rewrites of its step that way.
    """

    def apply(self, fgraph):
        """Complete the clients of the steps of the scans of `fgraph`;
        returns how many inputs were missing."""
        missing = 0
        for node in fgraph.apply_nodes:
            if not isinstance(node.op, Scan):
                continue
            step = node.op.fgraph
            for variable in step.inputs:
                if variable not in step.clients:
                    step.clients[variable] = []
                    missing += 1
        return missing

    @classmethod
    def print_profile(cls, stream, prof, level=0):
        print('{}{} {} step inputs given clients'.format(
            '    ' * level, cls.__name__, prof), file=stream)


# After the scans have their own mode (0.01), before PyTensor's first
# scan rewrites (0.05), which would move the recomputed forward values
# out of the gradient's loop instead.
_REUSE_FORWARD_VALUES_POSITION = 0.03


# Where PyTensor's 'ShapeOpt' starts tracking shapes, which the 'auto'
# mode does with a tracker that infers scans' shapes more cheaply.
_SHAPE_TRACKING_POSITION = 0.1

# After each group of PyTensor's scan rewrites (the first ends at 0.05,
# the second at 1.62), before the phases that allocate from shapes
# ('canonicalize' at 1, 'specialize' at 2).
_SHAPE_INFERRING_SCAN_POSITIONS = (0.2, 1.65)


# After PyTensor's first scan rewrites (0.05), which move elementwise
# work on sequences out of loops, before shapes are tracked (0.1).
_SEQUENCE_PRODUCTS_POSITION = 0.07


#: Also left out when PyTensor has no BLAS to link (``blas__ldflags`` empty):
#: its fallback ``Gemm`` is slower than ``Dot22`` (NumPy's BLAS) followed
#: by a fused elementwise update (see the module notes).
NO_BLAS_EXCLUDED_REWRITES = ('gemm_optimizer', 'local_dot22_to_dot22scalar')


def _blas_is_linked():
    """Whether PyTensor's C code links a BLAS. Asking makes PyTensor warn
    that operations "will be severely degraded" when there is none; the
    'auto' mode avoids that cost itself, so the warning is silenced."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            'ignore', message='PyTensor could not link to a BLAS')
        return bool(pytensor.config.blas__ldflags)


class AutoMode(Mode):
    """The class of the ``'auto'`` mode: a PyTensor mode that also says
    which PyTensor flags its functions compile under.

    :func:`compile_function` reads :attr:`pytensor_flags` from any mode
    that has it, so every ``auto_mode()`` (and the modes derived from one
    with ``including``, ``excluding`` or ``register``, which keep the
    class) compiles alike, not only the one :func:`default_mode` caches.
    """
    #: Fast cycle detection (see the module notes)
    pytensor_flags = {'cycle_detection': 'fast'}


def auto_mode():
    """The C-linker mode blocks uses by default (see the module notes)."""
    mode = AutoMode(linker='cvm', optimizer='fast_run')
    mode = mode.excluding(*AUTO_EXCLUDED_REWRITES, 'ShapeOpt')
    if not _blas_is_linked():
        mode = mode.excluding(*NO_BLAS_EXCLUDED_REWRITES)
    return mode.register(
        (dfs_rewriter(inline_softmax, name='inline_softmax'),
         _INLINE_SOFTMAX_POSITION),
        (dfs_rewriter(vectorize_transcendental,
                      name='vectorize_transcendental'), _VECTORIZE_POSITION),
        (InplaceUpdates(), _INPLACE_UPDATES_POSITION),
        (dfs_rewriter(scan_inner_mode, name='scan_inner_mode'),
         _SCAN_INNER_MODE_POSITION),
        (ScanInnerClients(), _SCAN_INNER_CLIENTS_POSITION),
        (ReuseForwardValues(), _REUSE_FORWARD_VALUES_POSITION),
        (ScanShapeOptimizer(), _SHAPE_TRACKING_POSITION),
        *[(dfs_rewriter(to_shape_inferring_scan,
                        name='to_shape_inferring_scan_{}'.format(index)),
           position) for index, position in enumerate(
               _SHAPE_INFERRING_SCAN_POSITIONS)],
        (dfs_rewriter(push_out_sequence_products, ignore_newtrees=False,
                      name='push_out_sequence_products'),
         _SEQUENCE_PRODUCTS_POSITION))


def auto_python_mode():
    """The ``'auto'`` mode's rewrites (but fusion) with Python thunks:
    no C compilation (see the module notes).

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> x = pt.vector('x')
    >>> double = compile_function([x], 2 * x, mode=auto_python_mode())
    >>> double(numpy.ones(2, dtype=x.dtype)).tolist()
    [2.0, 2.0]

    """
    rewrites = auto_mode().excluding('fusion')
    return AutoMode(linker=PythonVMLinker(),
                    optimizer=rewrites.provided_optimizer)


#: Where the first tier's rewrites stop: after 'stabilize' and softmax
#: inlining, before 'specialize', fusion and the in-place rewrites.
_FIRST_TIER_CUTOFF = _INLINE_SOFTMAX_POSITION + 0.01

#: The rewrites before that point that the first tier leaves out too: each
#: walks the whole graph (the shape feature follows every change), and
#: none changes what a Python step costs (``Dot22`` and ``Dot`` both call
#: ``numpy.dot``; a scan runs as built). Measured in benchmarks/results.md.
FIRST_TIER_EXCLUDED_REWRITES = (
    'ShapeOpt', 'useless', 'BlasOpt', 'local_second_to_alloc',
    'local_elemwise_alloc', 'scan_eqopt1', 'scan_eqopt2',
    'scan_remove_unused_top', 'scan_reduce_nsteps',
    'scan_reduce_trace_prealloc', 'scan_sit_sot_to_untraced')


def first_tier_mode():
    """The first tier of a tiered training function: the ``'auto'``
    mode's rewrites up to the stabilization phase (and softmax inlining)
    but those that cost more than they bring to a Python step
    (:data:`FIRST_TIER_EXCLUDED_REWRITES`), linked by
    :class:`~blocks.tiered.PythonVMLinker` (see the module notes).

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> x = pt.vector('x')
    >>> double = compile_function([x], 2 * x, mode=first_tier_mode())
    >>> double(numpy.ones(2, dtype=x.dtype)).tolist()
    [2.0, 2.0]

    """
    query = RewriteDatabaseQuery(
        include=['fast_run'],
        exclude=list(AUTO_EXCLUDED_REWRITES + FIRST_TIER_EXCLUDED_REWRITES)
        + ['ShapeOpt'])
    query.position_cutoff = _FIRST_TIER_CUTOFF
    mode = AutoMode(linker=PythonVMLinker(), optimizer=query)
    return mode.register((dfs_rewriter(inline_softmax, name='inline_softmax'),
                          _INLINE_SOFTMAX_POSITION),
                         (ScanShapeOptimizer(), _SHAPE_TRACKING_POSITION))


#: JAX's CPU client makes a device array of a NumPy array's own memory,
#: without a copy, when that memory starts on a multiple of this many bytes.
_ZERO_COPY_ALIGNMENT = 64


def _aligned_copy(value):
    """A writeable NumPy copy of the array `value` whose memory starts on a
    multiple of ``_ZERO_COPY_ALIGNMENT`` bytes."""
    value = numpy.asarray(value)
    raw = numpy.empty(value.nbytes + _ZERO_COPY_ALIGNMENT, numpy.uint8)
    start = -raw.ctypes.data % _ZERO_COPY_ALIGNMENT
    copy = raw[start:start + value.nbytes].view(value.dtype).reshape(
        value.shape)
    copy[...] = value
    return copy


class DeviceResidentUpdates:
    """The device arrays of the shared variables a JAX function updates,
    kept from one call to the next, so that a call does not convert the
    parameters it was given back into device arrays.

    Each variable holds a NumPy array of its own (writeable, 64-byte
    aligned); a call writes the variable's new value into it, and JAX's
    device array of it, made once, is that same memory (on a CPU; where
    JAX copies instead, on a GPU, nothing is kept and each call converts).
    A call given that array (the variable still holds it) runs on the
    device array; given another (a ``set_value``, another function's
    update), it converts that one and gives the variable a new array.
    Updates in place of the NumPy array by another mode (the ``'auto'``
    mode's :class:`InplaceUpdates`) are seen by the device array, which
    is the same memory.

    Parameters
    ----------
    updated : dict
        The input position of the variable each update output (by
        position) updates: the function graph's ``update_mapping``.
    device_put : callable
        :func:`jax.device_put`.

    Examples
    --------
    >>> import numpy, pytensor
    >>> w = pytensor.shared(numpy.ones(3), name='w')
    >>> step = compile_function([], [], updates=[(w, 2 * w)],
    ...                         mode=jax_mode())  # doctest: +SKIP
    >>> step(); held = w.get_value(borrow=True)  # doctest: +SKIP
    >>> step(); w.get_value(borrow=True) is held  # doctest: +SKIP
    True

    """

    def __init__(self, updated, device_put):
        self.updated = dict(updated)
        self.device_put = device_put
        #: input position -> (NumPy array, device array of its memory)
        self.arrays = {}
        #: the input positions whose device arrays the current call got
        self.given = set()
        #: the input positions JAX would copy (not alias) the arrays of
        self.copied = set()

    def inputs(self, values):
        """`values`, with the device array of each array it holds."""
        self.given = {index for index, (host, _) in self.arrays.items()
                      if values[index] is host}
        if not self.given:
            return values
        values = list(values)
        for index in self.given:
            values[index] = self.arrays[index][1]
        return values

    def new_value(self, position, value):
        """The NumPy value of update output `position` (a single-device
        array), or None if `position` is not an update."""
        index = self.updated.get(position)
        if index is None:
            return None
        if index in self.given:
            host = self.arrays[index][0]
            if host.shape == value.shape and host.dtype == value.dtype:
                numpy.copyto(host, value)
                return host
        host = _aligned_copy(value)
        if index in self.copied:
            return host
        device = self.device_put(host)
        if device.unsafe_buffer_pointer() == host.ctypes.data:
            self.arrays[index] = (host, device)
        else:
            self.arrays.pop(index, None)
            self.copied.add(index)
        return host


class NumpyValuesJAXLinker(JAXLinker):
    """PyTensor's JAX linker, returning NumPy arrays (see the module notes).

    Examples
    --------
    >>> import numpy, pytensor
    >>> w = pytensor.shared(numpy.ones(2), name='w')
    >>> step = compile_function([], [], updates=[(w, 2 * w)],
    ...                         mode=jax_mode())  # doctest: +SKIP
    >>> step(); type(w.get_value())  # doctest: +SKIP
    <class 'numpy.ndarray'>

    """

    #: Whether the updated shared variables' device arrays are kept
    #: between calls (:class:`DeviceResidentUpdates`).
    keeps_updates_on_device = True

    def fgraph_convert(self, *args, **kwargs):
        with warnings.catch_warnings():
            warnings.filterwarnings(
                'ignore', message='The RandomType SharedVariables')
            return super().fgraph_convert(*args, **kwargs)

    def jit_compile(self, fn):
        import jax
        jitted = super().jit_compile(fn)
        resident = (DeviceResidentUpdates(self.fgraph.update_mapping or {},
                                          jax.device_put)
                    if self.keeps_updates_on_device else None)

        def to_numpy(position, value):
            # A random generator's new state is a dictionary; JAX keeps it.
            if not isinstance(value, jax.Array):
                return value
            if resident is not None:  # an update: into the variable's array
                new_value = resident.new_value(position, value)
                if new_value is not None:
                    return new_value
            if not value.is_fully_addressable and value.is_fully_replicated:
                # over several processes (jax.distributed): the local copy
                return numpy.array(value.addressable_data(0))
            return numpy.array(value)

        def run_returning_numpy(*args):
            if resident is not None:
                args = resident.inputs(args)
            return [to_numpy(position, value)
                    for position, value in enumerate(jitted(*args))]
        return run_returning_numpy


def jax_mode():
    """Blocks' JAX mode (see the module notes)."""
    return Mode(NumpyValuesJAXLinker(),
                RewriteDatabaseQuery(include=['fast_run', 'jax']))


class DataParallelJAXLinker(NumpyValuesJAXLinker):
    """Blocks' JAX linker, running each call on several devices at once.

    Each array the caller gives (a batch) is split along its first axis
    over the devices, when that axis divides evenly (else every device
    gets all of it); shared variables (parameters, population statistics,
    random generators) are replicated. XLA then partitions the function
    over the devices (JAX's sharding, GSPMD) and inserts the collectives
    the graph needs: every sum or mean over the batch axis is taken over
    the **global** batch, so gradients are those of the whole batch (the
    devices' gradients averaged) and batch normalization in training mode
    uses global statistics (synchronized BN). The numbers are those of
    one device, up to the order of floating-point sums.

    With ``batch_statistics='per_device'`` the fused batch normalization
    (:func:`~blocks.ops.batch_normalization_train`, what the BN bricks use in
    training mode when ``conserve_memory`` is on, their default) instead
    normalizes each device's shard of the batch with the shard's own
    statistics ("ghost" batch normalization, as without synchronized BN),
    and gives the population updates the average of the shards'
    statistics. The numbers depend on the number of devices but not on
    where the shards run: one device with a linker of four gives those
    of four devices.

    Parameters
    ----------
    devices : list of :class:`jax.Device`, optional
        All of JAX's devices by default (``jax.devices()``).
    batch_statistics : {'global', 'per_device'}, optional
        The statistics of batch normalization in training mode.

    """

    #: Its arrays live on several devices: each call places them anew.
    keeps_updates_on_device = False

    def __init__(self, devices=None, batch_statistics='global', *args,
                 **kwargs):
        if batch_statistics not in BATCH_STATISTICS:
            raise ValueError('batch_statistics must be one of {}, got {!r}'
                             .format(', '.join(map(repr, BATCH_STATISTICS)),
                                     batch_statistics))
        self.devices = devices
        self.batch_statistics = batch_statistics
        super().__init__(*args, **kwargs)

    def _devices(self):
        import jax
        return list(self.devices or jax.devices())

    def fgraph_convert(self, *args, **kwargs):
        groups = (len(self._devices())
                  if self.batch_statistics == 'per_device' else 1)
        return super().fgraph_convert(*args, batch_norm_groups=groups,
                                      **kwargs)

    def jit_compile(self, fn):
        import jax
        from jax.sharding import Mesh, NamedSharding, PartitionSpec
        run = super().jit_compile(fn)
        devices = self._devices()
        mesh = Mesh(numpy.array(devices), ('batch',))
        replicated = NamedSharding(mesh, PartitionSpec())
        split = NamedSharding(mesh, PartitionSpec('batch'))
        shared = [isinstance(variable, pytensor.compile.SharedVariable)
                  for variable in self.fgraph.inputs]
        static = set(self.scalar_shape_inputs)

        def placed(index, value):
            if index in static:
                return value
            if (not shared[index] and numpy.ndim(value) >= 1
                    and numpy.shape(value)[0] % len(devices) == 0):
                return jax.device_put(value, split)
            return jax.device_put(value, replicated)

        def run_on_devices(*args):
            return run(*(placed(index, value)
                         for index, value in enumerate(args)))
        return run_on_devices


#: The ``batch_statistics`` of :class:`DataParallelJAXLinker`.
BATCH_STATISTICS = ('global', 'per_device')


def data_parallel_mode(devices=None, batch_statistics='global'):
    """Blocks' JAX mode over several devices
    (:class:`DataParallelJAXLinker`); the ``compile_mode`` settings
    ``'jax-data-parallel'`` and ``'jax-data-parallel-ghost'`` (per-device
    batch statistics) use it over all of JAX's devices."""
    return Mode(DataParallelJAXLinker(devices, batch_statistics),
                RewriteDatabaseQuery(include=['fast_run', 'jax']))


_AUTO_MODE = None
#: The ``compile_mode`` settings of blocks' JAX modes, and their makers.
_JAX_MODES = {'jax': jax_mode, 'jax-data-parallel': data_parallel_mode,
              'jax-data-parallel-ghost': partial(
                  data_parallel_mode, batch_statistics='per_device')}
_JAX_MODE = {}
_AUTO_PYTHON_MODE = {}


def _cached_auto_mode():
    global _AUTO_MODE
    if _AUTO_MODE is None:
        _AUTO_MODE = auto_mode()
    return _AUTO_MODE


def default_mode():
    """The mode chosen by the ``compile_mode`` setting.

    Returns
    -------
    :class:`pytensor.compile.mode.Mode`

    Examples
    --------
    >>> from blocks.compilation import default_mode
    >>> default_mode().linker.__class__.__name__
    'VMLinker'

    """
    name = config.compile_mode
    if name == 'auto':
        return _cached_auto_mode()
    if name == 'auto-python':
        if name not in _AUTO_PYTHON_MODE:
            _AUTO_PYTHON_MODE[name] = auto_python_mode()
        return _AUTO_PYTHON_MODE[name]
    if name in _JAX_MODES:
        if name not in _JAX_MODE:
            _JAX_MODE[name] = _JAX_MODES[name]()
        return _JAX_MODE[name]
    return get_mode(name)


def _brick_of(variable):
    """The brick annotating a parameter, found without importing bricks
    (they live above this module): the annotation that says whether it
    was initialized."""
    for annotation in getattr(variable.tag, 'annotations', ()):
        if hasattr(annotation, 'initialized') and hasattr(annotation, 'path'):
            return annotation
    return None


def _is_never_set(variable):
    value = variable.get_value(borrow=True)
    return (isinstance(value, numpy.ndarray) and value.dtype.kind == 'f'
            and value.size > 0 and bool(numpy.isnan(value).all()))


def check_initialized(variables):
    """Raise a ValueError naming every brick of the graph of `variables`
    whose parameters were allocated but never initialized nor set by hand
    (they are still all NaN): training or evaluating it would give NaN.

    Examples
    --------
    >>> import pytensor.tensor as pt
    >>> from blocks.bricks import Linear
    >>> linear = Linear(2, 3, name='linear')
    >>> linear.allocate()
    >>> check_initialized([linear.apply(pt.matrix('x'))])
    Traceback (most recent call last):
    ...
    ValueError: these bricks were allocated but never initialized, so \
their parameters are NaN: /linear (W, b); call initialize() on them (or on \
their parent) after setting weights_init and biases_init, or set the \
parameters' values

    """
    never_set = {}
    for variable in ancestors(list(variables)):
        if not isinstance(variable, SharedVariable):
            continue
        brick = _brick_of(variable)
        if (brick is not None and not brick.initialized
                and _is_never_set(variable)):
            never_set.setdefault(brick, set()).add(variable)
    if never_set:
        raise ValueError(
            'these bricks were allocated but never initialized, so their '
            'parameters are NaN: {}; call initialize() on them (or on their '
            'parent) after setting weights_init and biases_init, or set the '
            "parameters' values".format(', '.join(
                '{} ({})'.format(brick.path, ', '.join(
                    parameter.name for parameter in brick.parameters
                    if parameter in parameters))
                for brick, parameters in sorted(
                    never_set.items(), key=lambda item: item[0].path))))


def check_batch_rows(names, values):
    """Raise a ValueError if the arrays `values` of the sources `names`
    cannot share one batch size: a cost would silently use the rows they
    share. The batch axis of a source is its first axis, or its second
    for time-major sequences ``(time, batch, ...)`` and their masks, so
    a batch agrees when one size is on one of those axes of every
    source. Scalars are ignored; the ``check_batch_rows`` setting turns
    the check off."""
    rows = [(name, value.shape) for name, value in zip(names, values)
            if getattr(value, 'ndim', 0)]
    candidates = {shape[0] for _, shape in rows}
    agreed = any(all(size in shape[:2] for _, shape in rows)
                 for size in candidates)
    if not agreed and config.check_batch_rows:
        raise ValueError(
            'the sources of a batch have different numbers of rows: {}; '
            'each row is one example, so they must agree (set '
            'blocks.config.config.check_batch_rows = False if the first '
            'axes differ on purpose)'.format(', '.join(
                '{} has {}'.format(name, shape[0]) for name, shape in rows)))


def compile_function(inputs, outputs, updates=None, mode=None, **kwargs):
    """Compile a PyTensor function with blocks' default mode.

    Bricks that were never initialized are refused first
    (:func:`check_initialized`).

    Parameters
    ----------
    inputs, outputs, updates
        As for :func:`pytensor.function`.
    mode : str or Mode, optional
        Overrides the ``compile_mode`` setting for this function.
    \\*\\*kwargs
        Given to :func:`pytensor.function`.

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> from blocks.compilation import compile_function
    >>> x = pt.vector('x')
    >>> double = compile_function([x], 2 * x)
    >>> double(numpy.ones(2, dtype=x.dtype)).tolist()
    [2.0, 2.0]

    """
    check_initialized(_outputs_and_updates(outputs, updates))
    if mode is None:
        mode = default_mode()
    with pytensor_flags(getattr(mode, 'pytensor_flags', {})):
        return pytensor.function(inputs, outputs, updates=updates, mode=mode,
                                 **kwargs)


def compile_tiered_function(inputs, outputs, updates=None, mode=None,
                            **kwargs):
    """Compile a training function: tiered in the ``'auto'`` mode, as
    :func:`compile_function` otherwise.

    A :class:`~blocks.tiered.TieredFunction` whose first tier
    (:func:`first_tier_mode`) is compiled at once and whose final tier,
    the ``'auto'`` mode's, in a background thread (see the module notes),
    when neither `mode` nor the ``compile_mode`` setting asks for
    another mode and the ``tiered_compilation`` setting is on.

    Parameters
    ----------
    inputs, outputs, updates, mode, \\*\\*kwargs
        As for :func:`compile_function`.

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> x = pt.vector('x')
    >>> double = compile_tiered_function([x], 2 * x)
    >>> double(numpy.ones(2, dtype=x.dtype)).tolist()
    [2.0, 2.0]

    """
    if (mode is not None or config.compile_mode != 'auto'
            or not config.tiered_compilation):
        return compile_function(inputs, outputs, updates=updates, mode=mode,
                                **kwargs)
    return TieredFunction(
        partial(compile_function, inputs, outputs, updates=updates,
                mode=first_tier_mode(), **kwargs),
        partial(compile_function, inputs, outputs, updates=updates,
                **kwargs),
        name=kwargs.get('name') or 'a tiered function')


class _FlagUsers:
    """How many threads compile under flags, and the values the flags
    had before the first of them; restored when the last is done."""
    lock = threading.Lock()
    count = 0
    saved = {}


@contextmanager
def pytensor_flags(flags):
    """Set PyTensor `flags` (a name -> value mapping) while compiling.

    PyTensor's flags are process-wide, and the C tier of a tiered function
    compiles in a background thread while the program may compile other
    functions: the flags are set by the first thread that asks and
    restored (to the values before it) by the last one done, so that no
    thread restores them under another. A function compiled meanwhile
    with no flags of its own compiles under them too; blocks' modes all
    ask for the same ones (:attr:`AutoMode.pytensor_flags`).
    """
    if not flags:
        yield
        return
    with _FlagUsers.lock:
        if _FlagUsers.count == 0:
            _FlagUsers.saved = {}
        for name in flags:
            _FlagUsers.saved.setdefault(name, getattr(pytensor.config, name))
            setattr(pytensor.config, name, flags[name])
        _FlagUsers.count += 1
    try:
        yield
    finally:
        with _FlagUsers.lock:
            _FlagUsers.count -= 1
            if _FlagUsers.count == 0:
                for name, value in _FlagUsers.saved.items():
                    setattr(pytensor.config, name, value)


def _annotations_of(variable):
    """(brick, application call) annotating `variable`, each or both
    None; found by their attributes, since bricks live above this
    module."""
    brick = call = None
    for annotation in getattr(variable.tag, 'annotations', ()):
        if hasattr(annotation, 'path') and hasattr(annotation, 'parameters'):
            brick = annotation
        elif hasattr(annotation, 'application') and \
                hasattr(annotation, 'metadata'):
            call = annotation
    return brick, call


def _brick_name(variable):
    """``/mlp/linear_1.apply`` for a variable an application built, the
    brick's path and the parameter for a parameter, else None."""
    brick, call = _annotations_of(variable)
    if brick is None:
        return None
    if call is not None:
        return '{}.{}'.format(brick.path, call.application.name)
    if any(variable is parameter for parameter in brick.parameters):
        return '{} (its parameter {})'.format(brick.path, variable.name)
    return brick.path


def bricks_behind(node, clients=None, max_depth=20):
    """The paths (``/mlp/linear_1.apply``) of the bricks nearest to the
    apply node `node`: those annotating its outputs or inputs, else the
    variables one operation further away, up the graph (an input's
    inputs) or down it (the other inputs and the outputs of what consumes
    a variable, given the graph's `clients` mapping), and so on.

    Looking down matters because rewrites of a compiled graph keep the
    annotations of parameters only: a convolution's check of its image
    shape finds the brick by the filters the convolution consumes next.
    """
    clients = clients or {}
    level = list(node.outputs) + list(node.inputs)
    seen = set(level)
    for _ in range(max_depth):
        found = []
        for variable in level:
            name = _brick_name(variable)
            if name is not None and name not in found:
                found.append(name)
        if found or not level:
            return found
        level = list(dict.fromkeys(
            neighbour for variable in level
            for neighbour in _neighbours(variable, clients)
            if neighbour not in seen))
        seen.update(level)
    return []


def _neighbours(variable, clients):
    """The variables one operation away from `variable`."""
    nodes = [client for client, _ in clients.get(variable, ())
             if hasattr(client, 'outputs')]  # not an fgraph's 'output'
    if variable.owner is not None:
        nodes.append(variable.owner)
    return [neighbour for node in nodes
            for neighbour in list(node.inputs) + list(node.outputs)]


#: How the messages of the checks bricks build start: with a brick path
BRICK_PATH_START = '/'


def _failing_node(function, error):
    """The apply node of `function` that raised `error`: PyTensor records
    it on the exception only at a high exception verbosity, and always in
    its virtual machine."""
    node = getattr(error, '__op_instance__', None)
    vm = getattr(function, 'vm', None)
    position = getattr(vm, 'position_of_error', None)
    if node is None and position is not None and hasattr(vm, 'nodes'):
        node = vm.nodes[position]
    return node


def _input_shapes(function, node):
    storage_map = getattr(getattr(function, 'vm', None), 'storage_map', {})
    shapes = []
    for variable in node.inputs:
        value = storage_map.get(variable, [None])[0]
        shapes.append(getattr(value, 'shape', None))
    return shapes


def name_failing_brick(error, function):
    """Put the bricks behind the operation of the compiled `function` that
    raised `error`, and the shapes of that operation's inputs, at the head
    of the error's message; the exception keeps its type, its traceback
    and PyTensor's own message."""
    node = _failing_node(function, error)
    if (node is None or not error.args or not isinstance(error.args[0], str)
            or error.args[0].startswith(BRICK_PATH_START)):
        return  # no node known, or a message that names its brick already
    fgraph = getattr(getattr(function, 'maker', None), 'fgraph', None)
    bricks = bricks_behind(node, getattr(fgraph, 'clients', None))
    where = ('built by {}'.format(', '.join(bricks)) if bricks
             else 'of no brick')
    error.args = ('{}, in the operation {} {} (input shapes {})'.format(
        error.args[0], node.op, where,
        ', '.join(map(str, _input_shapes(function, node)))),
        ) + tuple(error.args[1:])


class BrickNamingFunction:
    """A compiled function whose run-time errors name the bricks behind
    the failing operation (:func:`name_failing_brick`); every attribute
    of the PyTensor function it wraps (``maker``, ``copy``, ...) is at
    hand.

    :meth:`~blocks.graph.computation_graph.ComputationGraph.get_function`
    returns one, so that a user's own function reports its bricks as the
    training step does.

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> x = pt.matrix('x')
    >>> product = BrickNamingFunction(compile_function([x], x.dot(x)))
    >>> product(numpy.ones((2, 2), dtype=x.dtype)).tolist()
    [[2.0, 2.0], [2.0, 2.0]]

    """
    def __init__(self, function):
        self.function = function

    def __call__(self, *args, **kwargs):
        try:
            return self.function(*args, **kwargs)
        except Exception as error:
            name_failing_brick(error, self.function)
            raise

    def __getattr__(self, name):
        if name == 'function':  # not set yet, e.g. while unpickling
            raise AttributeError(name)
        return getattr(self.function, name)


def _outputs_and_updates(outputs, updates):
    variables = [] if outputs is None else list(
        outputs if isinstance(outputs, (list, tuple)) else [outputs])
    if updates:
        pairs = updates.items() if hasattr(updates, 'items') else updates
        variables.extend(value for _, value in pairs)
    return [variable for variable in variables
            if isinstance(variable, Variable)]


def source_names(inputs):
    """The names of input variables, which name the data sources that feed
    them (Blocks' convention).

    Two inputs may share a name: one source then feeds both.

    Raises
    ------
    ValueError
        If an input has no name.

    """
    unnamed = [variable for variable in inputs if not variable.name]
    if unnamed:
        raise ValueError(
            'the input variables {} have no name; name each input after '
            'the data source that feeds it'.format(unnamed))
    return tuple(variable.name for variable in inputs)


class SourceFunction:
    """A function compiled with :func:`compile_function` and fed from
    batches: mappings from data source names to values.

    Each input is fed from the source of its name (:func:`source_names`).
    Training algorithms, evaluators and the population-statistics
    estimator all run their graphs this way.

    Parameters
    ----------
    inputs : list of variables
        Named after their sources.
    outputs, updates
        As for :func:`compile_function`.
    missing_message : str, optional
        The error raised when a batch lacks sources; ``{missing}``,
        ``{given}`` and ``{needed}`` are replaced by the sorted lists of
        the sources missing, present and needed.
    tiered : bool, optional
        Compile with :func:`compile_tiered_function` (as training
        algorithms do) rather than :func:`compile_function`.
    \\*\\*kwargs
        Given to the compiling function.

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> x = pt.vector('x')
    >>> double = SourceFunction([x], 2 * x)
    >>> double({'x': numpy.ones(2, dtype=x.dtype)}).tolist()
    [2.0, 2.0]
    >>> double({'y': numpy.ones(2)})
    Traceback (most recent call last):
    ...
    ValueError: the batch lacks the sources ['x'] (it has ['y'])

    """
    MISSING = 'the batch lacks the sources {missing} (it has {given})'

    def __init__(self, inputs, outputs, updates=None, missing_message=None,
                 tiered=False, **kwargs):
        self.inputs = list(inputs)
        self.input_names = source_names(self.inputs)
        self.missing_message = missing_message or self.MISSING
        compile_ = compile_tiered_function if tiered else compile_function
        self.function = compile_(self.inputs, outputs, updates=updates,
                                 **kwargs)

    def check_sources(self, batch):
        """Raise ValueError unless `batch` has every source needed."""
        missing = [name for name in self.input_names if name not in batch]
        if missing:
            raise ValueError(self.missing_message.format(
                missing=sorted(missing), given=sorted(batch),
                needed=sorted(self.input_names)))

    def values(self, batch):
        """The values of `batch` in the order of the inputs."""
        return [batch[name] for name in self.input_names]

    def __call__(self, batch):
        self.check_sources(batch)
        values = self.values(batch)
        check_batch_rows(self.input_names, values)
        try:
            return self.function(*values)
        except Exception as error:
            name_failing_brick(error, self.function)
            raise
