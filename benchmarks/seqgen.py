"""The reverse_words model (issue 16): its training step and beam search,
blocks against PyTorch CPU eager.

Model: :class:`examples.reverse_words.WordReverser` at the example's size
(100 units, 44 characters): a lookup table, a bidirectional tanh encoder
(attended dimension 200), a tanh transition attending to it with
content-based attention, a softmax readout over the state and the glimpse
and a lookup feedback. float32.

``training``
    One batch of 10 sentences of the example's generated corpus (time
    major, padded, masked): blocks' ``algorithm.process_batch`` of the
    example's ``GradientDescent`` (step clipping at 10, then Adam 0.002)
    against the same model written with PyTorch tensors (the same
    equations, two Python loops over time for the encoder and one for the
    decoder, as one writes such a model with ``torch.nn`` cells), with
    ``clip_grad_norm_(10)`` and ``torch.optim.Adam(0.002)``. Both start from
    the same weights; their first losses are recorded.
``beam search``
    Decoding of held-out words (wrapped in ``<S> ... </S>``, at most three
    times their length) with a beam of 10: blocks' :class:`BeamSearch`
    against the same algorithm written with PyTorch (the attended sequence
    and its projection computed once, each step's glimpse computed once
    for the probabilities and the next state), in sentences per second.
    The share of words whose best hypothesis is the same for both is
    recorded. With ``--parameters`` (a file of the example's
    ``train`` mode) the decoding is that of a trained model; without it,
    of the initial weights (most hypotheses then run to the maximum
    length).

The contenders run in interleaved rounds at one thread and at the usable
CPUs' count, in one process; ratios are ``median(blocks) /
median(torch)`` times (target for training: <= 1.5).

Run ``python -m benchmarks.seqgen [--quick] [--parameters FILE]``.
"""
import argparse
import json
import os
import time

DIMENSION = 100
BATCH = 10
BEAM = 10
LEARNING_RATE = 0.002
CLIPPING = 10.0
CORPUS_LINES = 200
TORCH_PATHS = {
    'lookup': '/reverser/lookuptable.W',
    'fork_W': '/reverser/fork/fork_inputs.W',
    'fork_b': '/reverser/fork/fork_inputs.b',
    'forward_W': '/reverser/bidirectional/forward.W',
    'forward_h0': '/reverser/bidirectional/forward.initial_state',
    'backward_W': '/reverser/bidirectional/backward.W',
    'backward_h0': '/reverser/bidirectional/backward.initial_state',
    'preprocess_W': '/reverser/generator/att_trans/attention/preprocess.W',
    'preprocess_b': '/reverser/generator/att_trans/attention/preprocess.b',
    'state_W': ('/reverser/generator/att_trans/attention/state_trans/'
                'transform_states.W'),
    'energy_W': ('/reverser/generator/att_trans/attention/energy_comp/'
                 'linear.W'),
    'distribute_W': ('/reverser/generator/att_trans/distribute/'
                     'fork_inputs.W'),
    'transition_W': '/reverser/generator/att_trans/transition.W',
    'transition_h0': '/reverser/generator/att_trans/transition.initial_state',
    'feedback': '/reverser/generator/readout/lookupfeedback/lookuptable.W',
    'generator_fork_W': '/reverser/generator/fork/fork_inputs.W',
    'generator_fork_b': '/reverser/generator/fork/fork_inputs.b',
    'readout_states_W': '/reverser/generator/readout/merge/merge_states.W',
    'readout_glimpses_W': ('/reverser/generator/readout/merge/'
                           'merge_weighted_averages.W'),
    'readout_b': '/reverser/generator/readout/bias.b',
}


# blocks ----------------------------------------------------------------------

def build_blocks(parameters=None):
    """The example's bricks, training algorithm (not compiled), cost and
    generate graph."""
    import pytensor.tensor as pt
    from blocks.algorithms import GradientDescent
    from blocks.graph import ComputationGraph
    from blocks.model import Model
    from blocks.serialization import load_parameters
    from examples.reverse_words import configured_reverser, step_rule
    reverser = configured_reverser(DIMENSION)
    reverser.initialize()
    chars = pt.lmatrix('features')
    chars_mask = pt.matrix('features_mask')
    targets = pt.lmatrix('targets')
    targets_mask = pt.matrix('targets_mask')
    cost = reverser.cost(chars, chars_mask, targets,
                         targets_mask).sum() / chars.shape[1]
    cost.name = 'sequence_log_likelihood'
    model = Model(cost)
    if parameters:
        with open(parameters, 'rb') as file_:
            model.set_parameter_values(load_parameters(file_))
    algorithm = GradientDescent(
        cost=cost, parameters=ComputationGraph(cost).parameters,
        step_rule=step_rule('adam', LEARNING_RATE))
    return reverser, model, algorithm, cost


def blocks_beam_search(reverser):
    """A BeamSearch of the example's generate graph and its input."""
    import pytensor.tensor as pt
    from blocks.filter import VariableFilter
    from blocks.graph import ComputationGraph
    from blocks.search import BeamSearch
    chars = pt.lmatrix('input')
    generated = reverser.generate(chars)
    samples, = VariableFilter(applications=[reverser.generator.generate],
                              name='outputs')(ComputationGraph(generated))
    return BeamSearch(samples), chars


# PyTorch ---------------------------------------------------------------------

class TorchReverser:
    """The same model in PyTorch tensors, from the bricks' weights."""

    def __init__(self, model):
        import torch
        values = model.get_parameter_values()
        self.weights = {
            name: torch.tensor(values[path], requires_grad=True)
            for name, path in TORCH_PATHS.items()}

    def __getattr__(self, name):
        weights = self.__dict__.get('weights', {})
        if name in weights:
            return weights[name]
        raise AttributeError(name)

    @staticmethod
    def _recurrence(inputs, mask, weight, initial):
        """A masked tanh recurrence over the first axis."""
        import torch
        state = initial.expand(inputs.shape[1], -1)
        states = []
        for x_t, m_t in zip(inputs, mask[:, :, None]):
            new = torch.tanh(x_t + state @ weight)
            state = m_t * new + (1 - m_t) * state
            states.append(state)
        return torch.stack(states)

    def encode(self, chars, mask):
        """The attended sequence (T, B, 200): both directions."""
        import torch
        inputs = self.lookup[chars] @ self.fork_W + self.fork_b
        forward = self._recurrence(inputs, mask, self.forward_W,
                                   self.forward_h0)
        backward = self._recurrence(inputs.flip(0), mask.flip(0),
                                    self.backward_W, self.backward_h0)
        return torch.cat([forward, backward.flip(0)], dim=2)

    def glimpse(self, state, attended, preprocessed, mask):
        """Content-based attention of `state` over the attended sequence,
        its weights masked and normalized as Blocks does."""
        import torch
        energies = (torch.tanh(preprocessed + (state @ self.state_W)[None])
                    @ self.energy_W)[:, :, 0]
        energies = energies - energies.max(dim=0, keepdim=True).values
        unnormalized = torch.exp(energies) * mask
        weights = unnormalized / (unnormalized.sum(dim=0)
                                  + (1 - mask).prod(dim=0))
        return (weights[:, :, None] * attended).sum(dim=0)

    def readout(self, state, glimpse):
        return (state @ self.readout_states_W
                + glimpse @ self.readout_glimpses_W + self.readout_b)

    def next_state(self, state, glimpse, symbols):
        import torch
        inputs = (self.feedback[symbols] @ self.generator_fork_W
                  + self.generator_fork_b)
        return torch.tanh(inputs + glimpse @ self.distribute_W
                          + state @ self.transition_W)

    def contexts(self, chars, mask):
        attended = self.encode(chars, mask)
        preprocessed = attended @ self.preprocess_W + self.preprocess_b
        return attended, preprocessed

    def initial_state(self, batch):
        return self.transition_h0.expand(batch, -1)

    def cost(self, chars, chars_mask, targets, targets_mask):
        """The batch mean of the sentences' negative log-likelihoods."""
        import torch
        attended, preprocessed = self.contexts(chars, chars_mask)
        state = self.initial_state(chars.shape[1])
        total = 0
        for target, mask in zip(targets, targets_mask):
            glimpse = self.glimpse(state, attended, preprocessed,
                                   chars_mask)
            total = total + (torch.nn.functional.cross_entropy(
                self.readout(state, glimpse), target,
                reduction='none') * mask).sum()
            new = self.next_state(state, glimpse, target)
            state = mask[:, None] * new + (1 - mask[:, None]) * state
        return total / chars.shape[1]

    def training_step(self):
        """A step function (chars, masks, targets, masks) -> loss."""
        import torch
        parameters = list(self.weights.values())
        optimizer = torch.optim.Adam(parameters, lr=LEARNING_RATE)

        def step(*batch):
            optimizer.zero_grad()
            loss = self.cost(*batch)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(parameters, CLIPPING)
            optimizer.step()
            return loss
        return step

    def beam_search(self, chars, eol, max_length, beam=BEAM):
        """The best hypothesis (a list of symbols, eol included) of a beam
        search over `chars` (one sentence, (T,) int64), as Blocks'."""
        import torch
        with torch.no_grad():
            codes = chars[:, None].expand(-1, beam)
            mask = torch.ones(codes.shape)
            attended, preprocessed = self.contexts(codes, mask)
            state = self.initial_state(beam)
            costs = torch.zeros(beam)
            alive = torch.ones(beam, dtype=torch.bool)
            history = torch.zeros((0, beam), dtype=torch.long)
            for step in range(max_length):
                if not alive.any():
                    break
                glimpse = self.glimpse(state, attended, preprocessed, mask)
                logprobs = -torch.log_softmax(self.readout(state, glimpse),
                                              dim=1)
                candidates = costs[:, None] + logprobs * alive[:, None]
                candidates[~alive] = float('inf')
                candidates[~alive, eol] = costs[~alive]
                if step == 0:
                    candidates = candidates[:1]
                chosen_costs, chosen = torch.topk(
                    candidates.flatten(), beam, largest=False, sorted=True)
                rows = chosen // candidates.shape[1]
                symbols = chosen % candidates.shape[1]
                state = self.next_state(state[rows], glimpse[rows], symbols)
                history = torch.cat([history[:, rows], symbols[None]])
                costs, alive = chosen_costs, symbols != eol
            best = history[:, 0].tolist()
            return best[:best.index(eol) + 1] if eol in best else best


# Data ------------------------------------------------------------------------

def training_batch(directory):
    """One batch of the example's pipeline on a small generated corpus."""
    from examples.reverse_words import corpus_stream, make_corpus
    path = os.path.join(directory, 'corpus.txt')
    make_corpus(path, CORPUS_LINES)
    stream = corpus_stream([path], BATCH)
    return dict(zip(stream.sources, next(stream.get_epoch_iterator())))


def sentences(count):
    """`count` held-out words of the example, encoded with <S> and </S>."""
    import numpy
    from examples.reverse_words import LETTERS, CHAR2CODE
    rng = numpy.random.RandomState(2)
    words = [''.join(rng.choice(LETTERS, size=rng.randint(1, 11)))
             for _ in range(count)]
    return [[CHAR2CODE['<S>']] + [CHAR2CODE[char] for char in word]
            + [CHAR2CODE['</S>']] for word in words]


# The whole benchmark ---------------------------------------------------------

def thread_counts():
    usable = len(os.sched_getaffinity(0))
    return (1, usable) if usable > 1 else (1,)


def run(quick=False, parameters=None, verbose=True):
    """The benchmark; returns a dict of results."""
    import tempfile

    import numpy
    import torch
    from threadpoolctl import threadpool_limits

    from benchmarks.timing import interleave, median, quiet, time_calls
    from blocks.compilation import compile_function
    from examples.reverse_words import CHAR2CODE
    eol = CHAR2CODE['</S>']
    with tempfile.TemporaryDirectory() as directory:
        batch = training_batch(directory)
    order = ('features', 'features_mask', 'targets', 'targets_mask')
    tensors = [torch.from_numpy(numpy.ascontiguousarray(batch[name]))
               for name in order]
    reverser, model, algorithm, cost = build_blocks(parameters)
    ours = TorchReverser(model)
    with quiet():
        start = time.perf_counter()
        algorithm.initialize()
        compile_seconds = time.perf_counter() - start
        cost_function = compile_function(_inputs_in_order(cost, order),
                                         cost)
        beam_search, chars = blocks_beam_search(reverser)
        beam_search.compile()
    with torch.no_grad():
        first_losses = {
            'blocks': float(cost_function(
                *[batch[name] for name in order])),
            'torch': float(ours.cost(*tensors))}
    words = sentences(5 if quick else 20)

    def blocks_decode():
        best = []
        for encoded in words:
            inputs = numpy.repeat(numpy.array(encoded)[:, None], BEAM, 1)
            outputs, _ = beam_search.search({chars: inputs}, eol,
                                            3 * len(encoded))
            best.append(outputs[0])
        return best

    def torch_decode():
        return [ours.beam_search(torch.tensor(encoded), eol,
                                 3 * len(encoded)) for encoded in words]
    same = numpy.mean([a == b for a, b in zip(blocks_decode(),
                                              torch_decode())])
    torch_step = ours.training_step()
    training = {'blocks': lambda: algorithm.process_batch(batch),
                'torch': lambda: torch_step(*tensors)}
    for step in training.values():  # warm-up, outside the timing
        step()
    rounds, steps = (3, 2) if quick else (7, 3)
    result = {'dimension': DIMENSION, 'batch': BATCH,
              'batch_shape': list(batch['features'].shape),
              'target_length': int(batch['targets'].shape[0]),
              'beam': BEAM, 'words': len(words), 'rounds': rounds,
              'steps_per_round': steps, 'trained': bool(parameters),
              'compile_seconds': compile_seconds,
              'first_losses': first_losses,
              'same_best_hypothesis': float(same),
              'load_average_start': list(os.getloadavg()), 'threads': {}}
    for threads in thread_counts():
        torch.set_num_threads(threads)
        with threadpool_limits(limits=threads, user_api='blas'):
            times = interleave(
                dict({name: (lambda step=step: time_calls(step, steps))
                      for name, step in training.items()},
                     **{'blocks beam search': _untimed(blocks_decode),
                        'torch beam search': _untimed(torch_decode)}),
                rounds)
        step_times = {name: median(values) for name, values in times.items()}
        entry = {
            'blocks step_seconds': step_times['blocks'],
            'torch step_seconds': step_times['torch'],
            'training ratio': step_times['blocks'] / step_times['torch'],
            'blocks sentences_per_second':
                len(words) / step_times['blocks beam search'],
            'torch sentences_per_second':
                len(words) / step_times['torch beam search'],
            'load_average': list(os.getloadavg())}
        entry['beam search ratio'] = (step_times['blocks beam search']
                                      / step_times['torch beam search'])
        result['threads'][str(threads)] = entry
        if verbose:
            print('{} thread(s): training step blocks {:.1f} ms, torch '
                  '{:.1f} ms (ratio {:.2f}); beam search blocks {:.1f}, '
                  'torch {:.1f} sentences/s (time ratio {:.2f})'.format(
                      threads, 1e3 * entry['blocks step_seconds'],
                      1e3 * entry['torch step_seconds'],
                      entry['training ratio'],
                      entry['blocks sentences_per_second'],
                      entry['torch sentences_per_second'],
                      entry['beam search ratio']), flush=True)
    torch.set_num_threads(1)
    if verbose:
        print('first losses {}, same best hypothesis for {:.0%} of the '
              'words'.format(first_losses, same), flush=True)
    return result


def _untimed(function):
    """`function` returning None, so that interleave times the call."""
    def call():
        function()
    return call


def _inputs_in_order(cost, names):
    from blocks.graph import ComputationGraph
    inputs = {var.name: var for var in ComputationGraph(cost).inputs}
    return [inputs[name] for name in names]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true')
    parser.add_argument('--parameters', default=None,
                        help="a parameter file (or checkpoint) of the "
                             "example's train mode")
    args = parser.parse_args(argv)
    from benchmarks.timing import use_float32
    use_float32()
    result = run(args.quick, args.parameters)
    print(json.dumps(result, indent=1))
    return result


if __name__ == '__main__':
    main()
