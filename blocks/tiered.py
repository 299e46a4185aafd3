"""A function that runs a quickly built tier while a faster one is built.

On a machine whose PyTensor ``compiledir`` is empty, blocks' C mode
compiles a few dozen C modules before a training step can run, about a
second of gcc each. A :class:`TieredFunction` instead builds a first tier
that needs no C compiler (PyTensor's Python virtual machine), runs it at
once, and builds the final tier (the C one) in a background thread: gcc
runs in subprocesses, so the thread waits on them without holding the
interpreter. At the first call after the final tier is ready, the
function switches to it. Both tiers are compiled from the same graph, so
they read and update the same shared variables, and compute the same
values up to float rounding.

:func:`blocks.compilation.compile_tiered_function` builds the tiers of a
training function; this module knows nothing of modes or bricks. The
first tier's linker, :class:`PythonVMLinker`, is here too.
"""
import atexit
import logging
import threading
import warnings
from itertools import zip_longest

import pytensor
from pytensor.link.vm import Loop, VMLinker

__all__ = ['TieredFunction', 'FinalTierFailed', 'PythonVMLinker']

logger = logging.getLogger(__name__)

#: The values of :attr:`TieredFunction.tier`
FIRST, FINAL = 'first', 'final'


class FinalTierFailed(RuntimeWarning):
    """The final tier of a :class:`TieredFunction` could not be built; the
    function keeps running its first tier."""


class TieredFunction:
    """Run `build_first`'s function until `build_final`'s is ready.

    Parameters
    ----------
    build_first : callable
        Builds the function run at once; called in the caller's thread.
    build_final : callable
        Builds the function to switch to; called in a background thread,
        started at the end of the first call (or by :meth:`start` or
        :meth:`wait`).
    name : str, optional
        Names the function in log lines, warnings and the thread.

    Attributes
    ----------
    tier : {'first', 'final'}
        The tier the next call runs (the switch happens at the start of
        the first call after the final tier is ready). A switch is also
        logged at DEBUG level by the ``blocks.tiered`` logger.
    final_error : Exception or None
        Why the final tier could not be built; a :class:`FinalTierFailed`
        warning said so at the first call after the failure, and the
        first tier runs on.

    Notes
    -----
    Every other attribute (``maker``, ``vm``, ``copy`` ...) is that of the
    function of the current tier. Setting ``trust_input`` sets it on both
    tiers. A program that ends before the final tier is built waits for
    it at exit (an INFO log line says so): C modules whose compilation was
    cut short would not be in PyTensor's cache, and the next run would
    compile them again.

    Examples
    --------
    >>> tiered = TieredFunction(lambda: (lambda x: x + 1),
    ...                         lambda: (lambda x: x + 1.0))
    >>> tiered.wait()
    'final'
    >>> tiered(1)
    2.0

    """
    def __init__(self, build_first, build_final, name='function'):
        self.name = name
        self.final_error = None
        self._current = build_first()
        self._final = None
        self._trust_input = None
        self.tier = FIRST
        self._pending = True  # a final tier may still come
        self._built = threading.Event()
        self._started = False
        self._thread = threading.Thread(
            target=self._build_final, args=(build_final,), daemon=True,
            name='final tier of {}'.format(name))

    def _build_final(self, build_final):
        try:
            self._final = build_final()
        except Exception as error:  # reported by the caller's thread
            self.final_error = error
        finally:
            self._built.set()

    def __call__(self, *args, **kwargs):
        if self._pending:
            return self._call_first(*args, **kwargs)
        return self._current(*args, **kwargs)

    def _call_first(self, *args, **kwargs):
        if self._built.is_set():
            self._switch()
            return self._current(*args, **kwargs)
        try:
            return self._current(*args, **kwargs)
        finally:
            self.start()

    def start(self):
        """Start building the final tier, unless it was started: the
        first call does it once it has run, so that the first step has
        the interpreter to itself."""
        if not self._started:
            self._started = True
            self._thread.start()
            atexit.register(_finish_at_exit, self._thread, self.name)

    def _switch(self):
        self._pending = False
        if self.final_error is not None:
            warnings.warn(
                'the final tier of {} could not be built ({}: {}); it keeps '
                'running its first tier'.format(
                    self.name, type(self.final_error).__name__,
                    self.final_error), FinalTierFailed, stacklevel=3)
            return
        if self._trust_input is not None:
            self._final.trust_input = self._trust_input
        self._current, self._final = self._final, None
        self.tier = FINAL
        logger.debug('%s switched to its final tier', self.name)

    def wait(self, timeout=None):
        """Wait until the final tier is built (or failed), switch to it,
        and return the tier the next call runs."""
        self.start()
        if self._built.wait(timeout) and self._pending:
            self._switch()
        return self.tier

    @property
    def trust_input(self):
        """PyTensor's ``trust_input`` of the current tier."""
        return self._current.trust_input

    @trust_input.setter
    def trust_input(self, value):
        self._trust_input = value
        self._current.trust_input = value

    def __getattr__(self, name):
        if name == '_current':  # not set yet
            raise AttributeError(name)
        return getattr(self._current, name)

    def __getstate__(self):
        raise TypeError(
            'a tiered function ({}) cannot be pickled: its final tier may be '
            'building in a thread; pickle what compiles it (a training '
            'algorithm drops its compiled function when pickled)'.format(
                self.name))


def _finish_at_exit(thread, name):
    if thread.is_alive():
        logger.info('waiting for the final tier of %s, so that its compiled '
                    'code is cached for the next run', name)
        thread.join()


class PythonVMLinker(VMLinker):
    """PyTensor's virtual-machine linker with Python thunks and its Python
    loop, linked without importing its C loop.

    ``VMLinker.make_vm`` imports PyTensor's C loop before choosing a
    virtual machine, even a Python one: in a process's first function
    that import costs a few tenths of a second (it imports setuptools), and
    on an empty ``compiledir`` it compiles the loop with gcc. For a graph
    with no lazy node, no callback and no profiling, this linker builds
    the Python loop itself (:class:`PositionRecordingLoop`); otherwise it
    defers to ``make_vm``.

    Examples
    --------
    >>> import numpy, pytensor, pytensor.tensor as pt
    >>> from pytensor.compile.mode import Mode
    >>> x = pt.vector('x')
    >>> double = pytensor.function(
    ...     [x], 2 * x, mode=Mode(PythonVMLinker(), 'fast_compile'))
    >>> double(numpy.ones(2, dtype=x.dtype)).tolist()
    [2.0, 2.0]

    """

    def __init__(self, **kwargs):
        kwargs.update(use_cloop=False, c_thunks=False)
        super().__init__(**kwargs)

    def make_vm(self, nodes, thunks, input_storage, output_storage,
                storage_map, post_thunk_clear, computed, compute_map,
                updated_vars):
        lazy = self.lazy if self.lazy is not None else \
            pytensor.config.vm__lazy
        if (self.callback is not None or self.callback_input is not None
                or self.allow_partial_eval or pytensor.config.profile
                or lazy or any(thunk.lazy for thunk in thunks)):
            return super().make_vm(
                nodes, thunks, input_storage, output_storage, storage_map,
                post_thunk_clear, computed, compute_map, updated_vars)
        return PositionRecordingLoop(
            self.fgraph, nodes, thunks,
            [storage_map[variable] for variable in self.no_recycling],
            storage_map, input_storage, output_storage, updated_vars,
            post_thunk_clear if self.allow_gc else None)


class PositionRecordingLoop(Loop):
    """PyTensor's Python loop, recording which node failed
    (``position_of_error``) as its C loop does: PyTensor then names the
    node in the error, and blocks the bricks behind it
    (:func:`blocks.compilation.name_failing_brick`)."""

    def __call__(self):
        if self.time_thunks:
            return super().__call__()
        for container in self.pre_call_clear:
            container[0] = None
        position = 0
        for thunk, old_storage in zip_longest(
                self.thunks, self.post_thunk_clear, fillvalue=()):
            try:
                thunk()
            except Exception:
                self.position_of_error = position
                raise
            for storage in old_storage:
                storage[0] = None
            position += 1
        return self.perform_updates()
