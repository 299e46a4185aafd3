"""The Flax comparisons of :mod:`benchmarks.flax_peers` on a GPU.

When JAX sees a GPU (the CUDA build of JAX, ``pip install
'jax[cuda13]'``), this times blocks' JAX mode against the Flax peers on
it (the BN-MLPs and the LeNet with spatial BN), prints the device and the
ratios; blocks' C mode runs on the CPU only, so it is left out. Without a
GPU it says so and exits with status 1, timing nothing.

Run ``python -m benchmarks.gpu [--quick] [--models ...]``.
"""
import argparse
import json
import sys

import jax

from benchmarks import flax_peers
from benchmarks.timing import use_float32


def gpus():
    """JAX's GPU devices (an empty list without one)."""
    try:
        return jax.devices('gpu')
    except RuntimeError:  # no GPU backend
        return []


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true')
    parser.add_argument('--models', nargs='+', default=list(flax_peers.MODELS),
                        choices=flax_peers.MODELS)
    args = parser.parse_args(argv)
    devices = gpus()
    if not devices:
        print('No GPU: JAX sees only {} (install the CUDA build of JAX, '
              "e.g. pip install 'jax[cuda13]'); nothing timed.".format(
                  ', '.join(str(device) for device in jax.devices())))
        return 1
    print('Device: {} ({})'.format(devices[0], devices[0].device_kind),
          flush=True)
    use_float32()
    results = flax_peers.run(args.quick, tuple(args.models), ('jax',))
    results['device'] = str(devices[0].device_kind)
    print(json.dumps(results, indent=1))
    return 0


if __name__ == '__main__':
    sys.exit(main())
