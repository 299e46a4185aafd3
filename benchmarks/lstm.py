"""An LSTM layer's training step, blocks against PyTorch CPU eager.

Model: 50 steps of (batch 32, 256 features) -> Linear(256 -> 4 * 256)
outside the loop (the input projection of every step as one product, as
Blocks' examples do with ``Fork``) -> :class:`~blocks.bricks.recurrent.LSTM`
(256) -> the squared error of all its states against a fixed target.
One step is forward, backward and an SGD update (``Scale(0.01)``) of
every parameter: ``algorithm.process_batch`` of a
:class:`~blocks.algorithms.GradientDescent`, compiled with blocks'
default mode. float32.

PyTorch contenders, same initial weights, data and learning rate:

``nn.LSTM``
    ``torch.nn.LSTM(256, 256)`` (its fused C++ loop), ``optim.SGD``;
``LSTMCell loop``
    ``torch.nn.LSTMCell(256, 256)`` called in a Python loop over the 50
    steps, ``optim.SGD``.

Blocks' LSTM has peepholes (diagonal cell-to-gate weights) and trainable
initial states, which PyTorch's cells lack: they start at zero, so that
the first losses agree (checked and recorded), and are trained like every
other parameter, so blocks does slightly more work per step. PyTorch's
second bias (``bias_hh``) starts at zero.

The contenders run in interleaved rounds (each one's steps in turn, every
round), at one thread and at the default thread count (the usable CPUs),
in the same process; ratios are ``median(blocks) / median(torch)``
(targets: <= 1.5 against ``nn.LSTM``, below 1 against the cell loop).

Also measured:

- the compile time of the training step (``algorithm.initialize()``,
  target < 5 s) and of the training step of a 4-layer
  :class:`~blocks.bricks.recurrent.RecurrentStack` of the same LSTMs
  (target < 10 s), each the median over fresh builds in this process
  (PyTensor's on-disk cache of compiled C code warm, as in normal use),
  with the first (cold) build beside it;
- the scan overhead: the training step of a one-unit SimpleRecurrent
  (a 32 x 1 state), per time step, next to the LSTM's step time
  per time step.

Run ``python -m benchmarks.lstm [--quick]``.
"""
import argparse
import json
import os
import time

DIM, BATCH, STEPS = 256, 32, 50
LEARNING_RATE = 0.01
STACK_DEPTH = 4


def make_data(seed=1):
    import numpy
    rng = numpy.random.RandomState(seed)
    inputs = rng.uniform(-1, 1, (STEPS, BATCH, DIM)).astype('float32')
    targets = rng.uniform(-0.5, 0.5, (STEPS, BATCH, DIM)).astype('float32')
    return inputs, targets


def squared_error(states, targets):
    """Mean over steps, batch and features of the squared difference."""
    cost = ((states - targets) ** 2).mean()
    cost.name = 'cost'
    return cost


def build_blocks(seed=0):
    """The input projection and LSTM bricks, the training algorithm (not
    compiled) and the cost."""
    import numpy
    import pytensor.tensor as pt
    from blocks.algorithms import GradientDescent, Scale
    from blocks.bricks import Linear
    from blocks.bricks.recurrent import LSTM
    from blocks.graph import ComputationGraph
    from blocks.initialization import Uniform
    # PyTorch's default range, so that the states are neither saturated
    # nor negligible.
    weights = Uniform(width=2 / DIM ** 0.5)
    x_to_h = Linear(DIM, 4 * DIM, name='x_to_h', weights_init=weights,
                    biases_init=weights, seed=seed)
    lstm = LSTM(DIM, name='lstm', weights_init=weights, seed=seed + 1)
    x_to_h.initialize()
    lstm.initialize()
    for peephole in (lstm.W_cell_to_in, lstm.W_cell_to_forget,
                     lstm.W_cell_to_out):  # PyTorch has none
        peephole.set_value(numpy.zeros_like(peephole.get_value()))
    inputs = pt.tensor3('inputs')
    targets = pt.tensor3('targets')
    states, _ = lstm.apply(x_to_h.apply(inputs))
    cost = squared_error(states, targets)
    graph = ComputationGraph(cost)
    algorithm = GradientDescent(cost=cost, parameters=graph.parameters,
                                step_rule=Scale(LEARNING_RATE))
    return x_to_h, lstm, algorithm, cost


def build_torch(x_to_h, lstm, cell_loop=False):
    """A training step of PyTorch's LSTM (or of its cell in a Python loop)
    with the bricks' current weights; returns (module, step, loss)."""
    import torch
    module = (torch.nn.LSTMCell(DIM, DIM) if cell_loop
              else torch.nn.LSTM(DIM, DIM))
    suffix = '' if cell_loop else '_l0'
    with torch.no_grad():
        getattr(module, 'weight_ih' + suffix).copy_(
            torch.from_numpy(x_to_h.W.get_value().T.copy()))
        getattr(module, 'bias_ih' + suffix).copy_(
            torch.from_numpy(x_to_h.b.get_value()))
        getattr(module, 'weight_hh' + suffix).copy_(
            torch.from_numpy(lstm.W_state.get_value().T.copy()))
        getattr(module, 'bias_hh' + suffix).zero_()
    optimizer = torch.optim.SGD(module.parameters(), lr=LEARNING_RATE)

    def forward(x):
        if not cell_loop:
            return module(x)[0]
        state = None
        outputs = []
        for x_t in x:
            state = module(x_t, state)
            outputs.append(state[0])
        return torch.stack(outputs)

    def loss(x, y):
        return ((forward(x) - y) ** 2).mean()

    def step(x, y):
        optimizer.zero_grad()
        value = loss(x, y)
        value.backward()
        optimizer.step()
    return module, step, loss


def compile_cost(inputs, cost):
    from blocks.compilation import compile_function
    return compile_function(inputs, cost)


def first_losses(blocks_cost, torch_losses, data):
    """The loss of each contender on the data, before any step."""
    import torch
    inputs, targets = data
    losses = {'blocks': float(blocks_cost(inputs, targets))}
    tensors = torch.from_numpy(inputs), torch.from_numpy(targets)
    with torch.no_grad():
        for name, loss in torch_losses.items():
            losses[name] = float(loss(*tensors))
    return losses


# Compile times ---------------------------------------------------------------

def stack_algorithm(depth=STACK_DEPTH, seed=0):
    """The training algorithm (not compiled) of a RecurrentStack of
    `depth` LSTMs on the projected inputs."""
    import pytensor.tensor as pt
    from blocks.algorithms import GradientDescent, Scale
    from blocks.bricks import Linear
    from blocks.bricks.recurrent import LSTM, RecurrentStack
    from blocks.graph import ComputationGraph
    from blocks.initialization import Constant, IsotropicGaussian
    init = dict(weights_init=IsotropicGaussian(0.05),
                biases_init=Constant(0), seed=seed)
    x_to_h = Linear(DIM, 4 * DIM, name='x_to_h', **init)
    stack = RecurrentStack([LSTM(DIM) for _ in range(depth)], name='stack',
                           **init)
    x_to_h.initialize()
    stack.initialize()
    inputs = pt.tensor3('inputs')
    targets = pt.tensor3('targets')
    outputs = stack.apply(x_to_h.apply(inputs))
    cost = squared_error(outputs[-2], targets)  # the top layer's states
    return GradientDescent(cost=cost,
                           parameters=ComputationGraph(cost).parameters,
                           step_rule=Scale(LEARNING_RATE))


def time_compiles(build, repeats):
    """Seconds of ``algorithm.initialize()`` for `repeats` fresh builds:
    (first, median of the others, build seconds of the first)."""
    from benchmarks.timing import median, quiet
    times = []
    build_seconds = None
    for _ in range(repeats):
        start = time.perf_counter()
        algorithm = build()
        built = time.perf_counter()
        with quiet():
            algorithm.initialize()
        times.append(time.perf_counter() - built)
        if build_seconds is None:
            build_seconds = built - start
    return {'first_seconds': times[0],
            'seconds': median(times[1:] or times),
            'repeats': len(times), 'build_seconds': build_seconds}


# Scan overhead ---------------------------------------------------------------

def empty_loop_algorithm():
    """Training step of a SimpleRecurrent of one unit (Identity
    activation): each step is a (32 x 1) by (1 x 1) product and an add, so
    what it costs is the loop itself, forward and backward."""
    import pytensor.tensor as pt
    from blocks.algorithms import GradientDescent, Scale
    from blocks.bricks import Identity
    from blocks.bricks.recurrent import SimpleRecurrent
    from blocks.initialization import Constant
    recurrent = SimpleRecurrent(dim=1, activation=Identity(),
                                weights_init=Constant(0.5))
    recurrent.initialize()
    inputs = pt.tensor3('inputs')
    cost = recurrent.apply(inputs).mean()
    # A zero learning rate: the same work, and the loop cannot diverge
    # over the repeated steps.
    return GradientDescent(cost=cost, parameters=[recurrent.W],
                           step_rule=Scale(0.0)), inputs


# The whole benchmark ---------------------------------------------------------

def thread_counts():
    usable = len(os.sched_getaffinity(0))
    return (1, usable) if usable > 1 else (1,)


def time_steps(contenders, rounds, steps):
    from benchmarks.timing import interleave, median, time_calls
    times = interleave({name: (lambda step=step: time_calls(step, steps))
                        for name, step in contenders.items()}, rounds)
    return {name: median(values) for name, values in times.items()}


def run(quick=False, verbose=True):
    """The LSTM benchmark; returns a dict of results."""
    import numpy
    import torch
    from threadpoolctl import threadpool_limits

    from benchmarks.timing import quiet
    data = make_data()
    batch = {'inputs': data[0], 'targets': data[1]}
    tensors = tuple(torch.from_numpy(array) for array in data)

    start = time.perf_counter()
    x_to_h, lstm, algorithm, cost = build_blocks()
    build_seconds = time.perf_counter() - start
    torch_lstm = build_torch(x_to_h, lstm)
    torch_cells = build_torch(x_to_h, lstm, cell_loop=True)
    with quiet():
        start = time.perf_counter()
        algorithm.initialize()
        compile_seconds = time.perf_counter() - start
        cost_function = compile_cost(algorithm.inputs, cost)
    losses = first_losses(
        lambda x, y: cost_function(inputs=x, targets=y),
        {'nn.LSTM': torch_lstm[2], 'LSTMCell loop': torch_cells[2]}, data)
    loop, loop_inputs = empty_loop_algorithm()
    with quiet():
        loop.initialize()
    empty_batch = {loop_inputs.name: numpy.ones((STEPS, BATCH, 1),
                                                dtype='float32')}

    contenders = {
        'blocks': lambda: algorithm.process_batch(batch),
        'nn.LSTM': lambda: torch_lstm[1](*tensors),
        'LSTMCell loop': lambda: torch_cells[1](*tensors),
        'blocks empty loop': lambda: loop.process_batch(empty_batch),
    }
    for step in contenders.values():  # warm-up, outside the timing
        step()
    rounds, steps = (5, 3) if quick else (9, 5)
    result = {'dim': DIM, 'batch': BATCH, 'steps': STEPS,
              'rounds': rounds, 'steps_per_round': steps,
              'build_seconds': build_seconds,
              'compile_seconds': compile_seconds,
              'first_losses': losses,
              'load_average_start': list(os.getloadavg()), 'threads': {}}
    for threads in thread_counts():
        torch.set_num_threads(threads)
        with threadpool_limits(limits=threads, user_api='blas'):
            step_times = time_steps(contenders, rounds, steps)
        entry = {name + ' step_seconds': value
                 for name, value in step_times.items()}
        entry['ratio vs nn.LSTM'] = (step_times['blocks']
                                     / step_times['nn.LSTM'])
        entry['ratio vs LSTMCell loop'] = (step_times['blocks']
                                           / step_times['LSTMCell loop'])
        entry['blocks seconds per time step'] = step_times['blocks'] / STEPS
        entry['empty loop seconds per time step'] = (
            step_times['blocks empty loop'] / STEPS)
        entry['load_average'] = list(os.getloadavg())
        result['threads'][str(threads)] = entry
        if verbose:
            print('{} thread(s): blocks {:.1f} ms, nn.LSTM {:.1f} ms, '
                  'LSTMCell loop {:.1f} ms (ratios {:.2f}, {:.2f}); scan '
                  'per time step: empty {:.0f} us, LSTM {:.0f} us'.format(
                      threads, 1e3 * step_times['blocks'],
                      1e3 * step_times['nn.LSTM'],
                      1e3 * step_times['LSTMCell loop'],
                      entry['ratio vs nn.LSTM'],
                      entry['ratio vs LSTMCell loop'],
                      1e6 * entry['empty loop seconds per time step'],
                      1e6 * entry['blocks seconds per time step']),
                  flush=True)
    torch.set_num_threads(1)
    repeats = 3 if quick else 5
    result['compile'] = {
        'lstm': time_compiles(lambda: build_blocks()[2], repeats)}
    try:
        result['compile']['stack_4'] = time_compiles(stack_algorithm,
                                                     repeats)
    except ImportError as error:  # no RecurrentStack yet
        result['compile']['stack_4'] = {'error': repr(error)}
    if verbose:
        print('first losses {}; compile: {}'.format(
            losses, json.dumps(result['compile'])), flush=True)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true')
    args = parser.parse_args(argv)
    from benchmarks.timing import use_float32
    use_float32()
    result = run(args.quick)
    print(json.dumps(result, indent=1))
    return result


if __name__ == '__main__':
    main()
