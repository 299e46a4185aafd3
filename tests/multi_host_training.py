"""One process of a two-process data-parallel run on this machine
(``jax.distributed`` over JAX's CPU collectives, gloo): trains the BN-MLP
of tests/data_parallel_training.py a few steps on this process's device
alone and on both processes' devices, and prints the largest difference.

Run by tests/test_compilation.py as ``python -m tests.multi_host_training
PORT PROCESS_ID`` in two processes; each reads the same batches, of which
each device uses its half.
"""
import json
import sys

import jax
from pytensor import tensor

from tests.data_parallel_training import bn_mlp, trained_values

if __name__ == '__main__':
    port, process_id = sys.argv[1:]
    jax.config.update('jax_cpu_collectives_implementation', 'gloo')
    jax.distributed.initialize('localhost:{}'.format(port), num_processes=2,
                               process_id=int(process_id))
    features = tensor.matrix('features')
    alone = trained_values(bn_mlp, features, (6,), jax.local_devices())
    together = trained_values(bn_mlp, features, (6,), jax.devices())
    print(json.dumps({
        'devices': len(jax.devices()),
        'bn_mlp': max(float(abs(a - b).max())
                      for a, b in zip(alone, together))}))
