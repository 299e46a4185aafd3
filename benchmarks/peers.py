"""The peers blocks is measured against, beside PyTorch eager: the same
PyTorch step under ``torch.compile`` (Inductor, CPU) and JAX + Flax linen
with the whole step under :func:`jax.jit` (:mod:`benchmarks.flax_peers`).

Both are optional: a peer whose package is missing (or that is not asked
for with ``--peers``) is left out of the tables. Every peer starts from
the same initial weights and steps on the same batch as blocks; the first
losses of all contenders are recorded side by side (they agree to float
rounding when all compute the same step).
"""
import importlib
import time

from benchmarks.timing import interleave, median, time_calls

#: Contender names, in the tables' order.
EAGER, COMPILED, FLAX = 'torch eager', 'torch.compile', 'jax+flax'
PEERS = (EAGER, COMPILED, FLAX)


def available(names=PEERS):
    """The peers of `names` whose packages import."""
    modules = {EAGER: 'torch', COMPILED: 'torch', FLAX: 'flax'}
    found = []
    for name in names:
        try:
            importlib.import_module(modules[name])
        except ImportError:
            continue
        found.append(name)
    return tuple(found)


def flax_peers():
    """:mod:`benchmarks.flax_peers` (it imports JAX and Flax)."""
    return importlib.import_module('benchmarks.flax_peers')


def torch_compiled(step):
    """`step` (a PyTorch training or inference step) under
    ``torch.compile``; the first call compiles it."""
    import torch
    return torch.compile(step)


def first_calls(contenders):
    """Call each contender once (its first call compiles it, for
    ``torch.compile`` and JAX); returns name -> (value returned as a float
    or None, seconds of that call)."""
    first = {}
    for name, step in contenders.items():
        start = time.perf_counter()
        value = step()
        seconds = time.perf_counter() - start
        if hasattr(value, 'detach'):  # a PyTorch loss
            value = value.detach()
        first[name] = (None if value is None else float(value), seconds)
    return first


def time_contenders(contenders, rounds, steps):
    """Median seconds per call of each contender, over `rounds`
    interleaved rounds of `steps` calls (after one warm-up call each)."""
    for step in contenders.values():
        step()
    times = interleave({name: (lambda step=step: time_calls(step, steps))
                        for name, step in contenders.items()}, rounds)
    return {name: median(values) for name, values in times.items()}


def comparison(seconds, blocks='blocks'):
    """The entries of a peer table row: blocks' and each peer's seconds,
    the fastest peer and blocks' time over the fastest peer's."""
    peers = {name: value for name, value in seconds.items()
             if name != blocks}
    fastest = min(peers, key=peers.get) if peers else None
    return {'seconds': dict(seconds), 'fastest_peer': fastest,
            'ratio_to_fastest': (seconds[blocks] / peers[fastest]
                                 if fastest else None)}


def record_peers(result, first, times, peers):
    """Add to a benchmark's `result` the contenders' first losses, the
    peers' first-call seconds (compilation included) and the peer table
    row (:func:`comparison`), from the blocks and PyTorch eager step
    times already in `result` and the median times of `peers`."""
    result['first_losses'] = {key: value[0] for key, value in first.items()}
    result['peers_first_call_seconds'] = {
        key: value[1] for key, value in first.items() if key in PEERS}
    seconds = {'blocks': result['blocks_step_seconds'],
               EAGER: result['torch_step_seconds']}
    seconds.update({peer: median(times[peer]) for peer in peers})
    result['peers'] = comparison(seconds)


def peers_line(result, decimals=1):
    """The line a verbose benchmark prints of what :func:`record_peers`
    added: each contender's step time and first loss."""
    return ('  steps: ' + ', '.join(
        '{} {:.{}f} ms'.format(key, 1e3 * value, decimals)
        for key, value in result['peers']['seconds'].items())
        + '; first losses ' + ', '.join(
            '{} {:.6f}'.format(key, value)
            for key, value in result['first_losses'].items()))
