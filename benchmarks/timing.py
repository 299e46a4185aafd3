"""Shared helpers of the benchmark suite: thread limits, float32, PyTorch
import, and interleaved timing (every contender measured in every round,
so that a change in the machine's load affects all of them alike)."""
import os
import statistics
import time
import warnings
from contextlib import contextmanager

THREAD_VARIABLES = ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS',
                    'MKL_NUM_THREADS')


def set_thread_environment(threads):
    """Ask BLAS and OpenMP for `threads` threads; effective for libraries
    loaded after this call (call it before importing NumPy)."""
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)


def limit_threads(threads):
    """Limit NumPy's BLAS (through threadpoolctl when installed) and
    PyTorch to `threads` threads in this process; returns the threadpoolctl
    limiter (keep a reference) or None."""
    torch = import_torch()
    if torch is not None:
        torch.set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(limits=threads, user_api='blas')


def import_torch():
    """The torch module, or None when PyTorch is not installed."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def use_float32():
    """Build every blocks graph of this process in float32."""
    import pytensor
    warnings.filterwarnings('ignore', message='PyTensor could not link')
    pytensor.config.floatX = 'float32'


@contextmanager
def quiet():
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        yield


def interleave(contenders, rounds):
    """Run each callable of `contenders` (name -> callable returning a
    time in seconds, or None to time the call itself) once per round, in
    turn; return name -> list of times."""
    times = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, run in contenders.items():
            start = time.perf_counter()
            result = run()
            elapsed = time.perf_counter() - start
            times[name].append(elapsed if result is None else result)
    return times


def median(values):
    return float(statistics.median(values))


def time_calls(function, count):
    """Seconds per call of `function()`, over `count` calls."""
    start = time.perf_counter()
    for _ in range(count):
        function()
    return (time.perf_counter() - start) / count


def gemm_peak(threads=None, size=2000, repeats=5):
    """Measured single-precision GEMM rate of NumPy's BLAS (FLOP/s):
    median over `repeats` products of two `size` x `size` float32
    matrices."""
    import numpy
    rng = numpy.random.default_rng(0)
    a = rng.random((size, size), dtype=numpy.float32)
    b = rng.random((size, size), dtype=numpy.float32)
    a @ b  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2.0 * size ** 3 / median(times)
