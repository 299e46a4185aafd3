"""LeNet training step: blocks (blocks.ops + PyTensor) against PyTorch eager.

The model (as in the Theano LeNet tutorial): conv 5x5 (20 filters), max-pool
2, + bias, tanh; conv 5x5 (50 filters), max-pool 2, + bias, tanh; dense 500
+ relu; dense 10 + softmax cross-entropy; MNIST-sized 1x28x28 float32
inputs. One step is forward + backward + plain SGD update, compiled as a
single ``pytensor.function`` for blocks; PyTorch runs eagerly with the same
thread count as numpy's BLAS. Both run in the
same process, interleaved in rounds, and the ratio of median step times is
reported (absolute times on a shared machine are noisy).

Run ``python -m benchmarks.lenet [--quick] [--batch N] [--threads N]
[--modes NUMBA FAST_RUN]``.
"""
import argparse
import os
import time

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.tensor.special import log_softmax

from blocks.ops import conv2d, pool_2d

FLOAT = "float32"
LEARNING_RATE = 0.01


def default_threads():
    """Threads numpy's BLAS uses: the usual environment variables, else the
    CPUs this process may run on."""
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return len(os.sched_getaffinity(0))


def initial_parameters(seed=0):
    """LeNet weights and biases as float32 arrays (W1, b1, ..., W4, b4)."""
    rng = np.random.default_rng(seed)

    def uniform(shape, fan_in):
        bound = np.sqrt(1.0 / fan_in)
        return rng.uniform(-bound, bound, shape).astype(FLOAT)

    return [
        uniform((20, 1, 5, 5), 25), np.zeros(20, FLOAT),
        uniform((50, 20, 5, 5), 500), np.zeros(50, FLOAT),
        uniform((800, 500), 800), np.zeros(500, FLOAT),
        uniform((500, 10), 500), np.zeros(10, FLOAT),
    ]


def make_data(batch, seed=1):
    rng = np.random.default_rng(seed)
    images = rng.random((batch, 1, 28, 28), dtype=np.float32)
    labels = rng.integers(0, 10, batch).astype("int64")
    return images, labels


def build_blocks_step(parameters, mode=None):
    """Compile one SGD step of LeNet; returns ``step(images, labels) ->
    cost``. A later version builds the model from bricks."""
    shared = [pytensor.shared(p, name=f"p{i}")
              for i, p in enumerate(parameters)]
    w1, b1, w2, b2, w3, b3, w4, b4 = shared
    images = pt.tensor4("images", dtype=FLOAT, shape=(None, 1, 28, 28))
    labels = pt.lvector("labels")

    def conv_pool_tanh(x, w, b):
        pooled = pool_2d(conv2d(x, w), (2, 2))
        return pt.tanh(pooled + b.dimshuffle("x", 0, "x", "x"))

    h = conv_pool_tanh(images, w1, b1)
    h = conv_pool_tanh(h, w2, b2)
    h = pt.maximum(pt.dot(h.flatten(2), w3) + b3, 0)
    log_probs = log_softmax(pt.dot(h, w4) + b4, axis=-1)
    cost = -log_probs[pt.arange(labels.shape[0]), labels].mean()
    grads = pytensor.grad(cost, shared)
    lr = np.asarray(LEARNING_RATE, dtype=FLOAT)
    updates = [(p, p - lr * g) for p, g in zip(shared, grads)]
    return pytensor.function([images, labels], cost, updates=updates,
                             mode=mode)


def build_torch_step(parameters, threads):
    """The same step in PyTorch eager mode, or None if torch is missing."""
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return None
    torch.set_num_threads(threads)
    params = [torch.tensor(p, requires_grad=True) for p in parameters]
    w1, b1, w2, b2, w3, b3, w4, b4 = params

    def step(images, labels):
        h = torch.tanh(F.max_pool2d(F.conv2d(images, w1), 2)
                       + b1[:, None, None])
        h = torch.tanh(F.max_pool2d(F.conv2d(h, w2), 2) + b2[:, None, None])
        h = torch.relu(h.flatten(1) @ w3 + b3)
        cost = F.cross_entropy(h @ w4 + b4, labels)
        for p in params:
            p.grad = None
        cost.backward()
        with torch.no_grad():
            for p in params:
                p -= LEARNING_RATE * p.grad
        return float(cost.detach())

    def run(images, labels):
        return step(torch.from_numpy(images), torch.from_numpy(labels))

    return run


def _time_steps(step, data, count):
    times = []
    for _ in range(count):
        start = time.perf_counter()
        step(*data)
        times.append(time.perf_counter() - start)
    return times


def run(quick=False, batch=500, threads=None, modes=(None,), verbose=True):
    """Time LeNet steps for each compile mode and for PyTorch.

    Returns a dict with per-library median step times in seconds (keys
    ``blocks[<mode>]`` and ``torch``), compile times, the costs of the
    first step (they agree when both start from the same weights) and the
    ratios ``blocks[<mode>] / torch``.
    """
    threads = threads or default_threads()
    rounds, per_round = (3, 2) if quick else (5, 4)
    parameters = initial_parameters()
    data = make_data(batch)
    steps, results = {}, {"batch": batch, "threads": threads,
                          "openblas_coretype":
                              os.environ.get("OPENBLAS_CORETYPE")}
    for mode in modes:
        name = f"blocks[{mode or pytensor.config.mode}]"
        start = time.perf_counter()
        steps[name] = build_blocks_step(parameters, mode)
        results[f"compile {name}"] = time.perf_counter() - start
    torch_step = build_torch_step(parameters, threads)
    if torch_step is not None:
        steps["torch"] = torch_step
    for name, step in steps.items():
        results[f"first cost {name}"] = float(step(*data))
        step(*data)  # warm-up
    times = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            times[name] += _time_steps(step, data, per_round)
    for name in steps:
        results[name] = float(np.median(times[name]))
    if "torch" in results:
        for name in steps:
            if name != "torch":
                results[f"ratio {name}/torch"] = (results[name]
                                                  / results["torch"])
    if verbose:
        print(f"LeNet step, batch {batch}, {threads} threads, float32 "
              f"(OPENBLAS_CORETYPE={results['openblas_coretype']})")
        for name in steps:
            line = f"  {name:24s} {results[name] * 1e3:8.1f} ms"
            if name != "torch" and "torch" in results:
                ratio = results[f'ratio {name}/torch']
                line += f"   ratio to torch {ratio:.2f}"
            print(line)
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer timed steps")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: numpy's BLAS threads)")
    parser.add_argument("--modes", nargs="+", default=[None],
                        help="PyTensor compile modes (default: the "
                             "configured one)")
    args = parser.parse_args(argv)
    return run(args.quick, args.batch, args.threads, tuple(args.modes))


if __name__ == "__main__":
    main()
