"""Facts about the machine and the libraries a benchmark run used.

``facts()`` returns a JSON-able dict: CPU model and cores (from
``/proc/cpuinfo`` and the scheduler), load average, the versions of
Python, NumPy, PyTensor and PyTorch, NumPy's BLAS (threadpoolctl when
installed, else ``numpy.show_config``), PyTensor's ``blas__ldflags`` and
the thread-related environment variables (``OPENBLAS_CORETYPE`` included:
it selects OpenBLAS's kernels and so changes the GEMM peak).

Run ``python -m benchmarks.machine`` to print them.
"""
import json
import os
import platform

THREAD_VARIABLES = ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS',
                    'MKL_NUM_THREADS', 'OPENBLAS_CORETYPE',
                    'PYTENSOR_FLAGS')


def cpu_model():
    """The CPU's model name, or the platform's processor string."""
    try:
        with open('/proc/cpuinfo') as cpuinfo:
            for line in cpuinfo:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown'


def blas_info():
    """NumPy's BLAS libraries: threadpoolctl's description if it is
    installed, else the BLAS section of ``numpy.show_config``."""
    try:
        import threadpoolctl
    except ImportError:
        threadpoolctl = None
    if threadpoolctl is not None:
        return [{key: info.get(key) for key in
                 ('internal_api', 'version', 'num_threads', 'architecture',
                  'threading_layer')}
                for info in threadpoolctl.threadpool_info()]
    import numpy
    config = numpy.show_config(mode='dicts')
    blas = config.get('Build Dependencies', {}).get('blas', {})
    return [{'internal_api': blas.get('name'), 'version': blas.get('version'),
             'num_threads': None}]


def blas_threads():
    """Threads NumPy's BLAS uses (threadpoolctl, else the environment,
    else the CPUs this process may run on)."""
    try:
        import threadpoolctl
        counts = [info['num_threads'] for info in
                  threadpoolctl.threadpool_info()
                  if info.get('user_api') == 'blas']
        if counts:
            return counts[0]
    except ImportError:
        pass
    for name in ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS',
                 'MKL_NUM_THREADS'):
        if os.environ.get(name, '').isdigit():
            return int(os.environ[name])
    return len(os.sched_getaffinity(0))


def _version(module_name):
    try:
        module = __import__(module_name)
    except ImportError:
        return None
    return getattr(module, '__version__', 'unknown')


def facts():
    """Everything above, as a dict."""
    import pytensor
    torch_facts = None
    try:
        import torch
        torch_facts = {'version': torch.__version__,
                       'threads': torch.get_num_threads(),
                       'parallel_info': torch.__config__.parallel_info()
                       .splitlines()[:8]}
    except ImportError:
        pass
    return {
        'cpu': cpu_model(),
        'logical_cpus': os.cpu_count(),
        'usable_cpus': len(os.sched_getaffinity(0)),
        'load_average': [round(value, 2) for value in os.getloadavg()],
        'python': platform.python_version(),
        'numpy': _version('numpy'),
        'pytensor': _version('pytensor'),
        'torch': torch_facts,
        'numpy_blas': blas_info(),
        'blas_threads': blas_threads(),
        'pytensor_blas_ldflags': pytensor.config.blas__ldflags,
        'pytensor_floatX': pytensor.config.floatX,
        'environment': {name: os.environ.get(name)
                        for name in THREAD_VARIABLES},
    }


if __name__ == '__main__':
    print(json.dumps(facts(), indent=2))
