"""Blocks' word reversal example: an encoder-decoder with attention
learns to reverse the characters of every word of a sentence.

``Hello world!`` becomes ``olleh dlrow!``: characters from the space
upward in the alphabet (space, ``<S>``, ``</S>``) separate words and stay
in place. The model is that of blocks-examples: a lookup table, a
bidirectional tanh recurrent encoder (its two directions make the
attended sequence, of dimension ``2 * dimension``), and a sequence
generator whose tanh transition attends to it with content-based
attention and whose readout (a softmax over the 44 characters) sees the
transition's state and the glimpse, and feeds back the embedding of the
previous character.

The training text
-----------------
Upstream reads the One Billion Word corpus (or ``--data-path`` files).
Here, without ``--data-path``, the example *generates* its corpus
(:func:`make_corpus`, seeded): lines of one to five random words of one
to ten lowercase letters, some followed by a punctuation mark, written to
``<save_path>.corpus.txt`` and read with
:class:`~blocks.data.datasets.TextFile` at the character level, lowercased
and filtered to lines of at most 100 characters, as upstream.
:func:`held_out_words` draws test words from another seed and keeps
those absent from the corpus.

Modes
-----
``train`` trains (checkpoint every ``--checkpoint-every`` batches and at
the end, resumable with ``blocks-continue``); ``sample`` and
``beam_search`` read a sentence and a count (samples / beam size) from
stdin, wrap the sentence in ``<S> ... </S>``, generate up to three times
its length and print the hypotheses, most likely last, flagging the exact
reversal with ``CORRECT!``; ``evaluate`` reports the fraction of held-out
words that beam search (``--beam-size``, 10) reverses exactly::

    python -m examples.reverse_words train reverse_words.tar \\
        --num-batches 10000
    python -m examples.reverse_words evaluate reverse_words.tar
    echo 'hello world\\n10' | \\
        python -m examples.reverse_words beam_search reverse_words.tar

Without ``--step-rule scale`` (upstream's SGD with learning rate 0.01),
training uses Adam (0.002); both clip the step norm at 10 and stop on a
NaN gradient norm, as upstream.
"""
import argparse
import glob
import logging
import math
import os
import sys

import numpy
from pytensor import tensor

from blocks.algorithms import (Adam, CompositeRule, GradientDescent, Scale,
                               StepClipping)
from blocks.bricks import Initializable, Tanh
from blocks.bricks.attention import SequenceContentAttention
from blocks.bricks.base import application
from blocks.bricks.lookup import LookupTable
from blocks.bricks.parallel import Fork
from blocks.bricks.recurrent import Bidirectional, SimpleRecurrent
from blocks.bricks.sequence_generators import (LookupFeedback, Readout,
                                               SequenceGenerator,
                                               SoftmaxEmitter)
from blocks.compilation import compile_function
from blocks.data import (Batch, ConstantScheme, Filter, Mapping, Padding,
                         TextFile)
from blocks.extensions import FinishAfter, Printing, Timing
from blocks.extensions.monitoring import TrainingDataMonitoring
from blocks.extensions.saveload import Checkpoint
from blocks.filter import VariableFilter
from blocks.graph import ComputationGraph
from blocks.initialization import Constant, IsotropicGaussian, Orthogonal
from blocks.main_loop import MainLoop
from blocks.model import Model
from blocks.monitoring import aggregation
from blocks.scripts.continue_training import interrupted_exit_status
from blocks.search import BeamSearch
from blocks.serialization import load_parameters
from blocks.utils import dict_union

from examples import float32

logger = logging.getLogger(__name__)

#: The characters, as upstream: codes from the space upward end words
ALL_CHARS = ([chr(ord('a') + i) for i in range(26)] +
             [chr(ord('0') + i) for i in range(10)] +
             [',', '.', '!', '?', '<UNK>'] +
             [' ', '<S>', '</S>'])
CODE2CHAR = dict(enumerate(ALL_CHARS))
CHAR2CODE = {char: code for code, char in CODE2CHAR.items()}
LETTERS = ALL_CHARS[:26]


def reverse_words(sample):
    """The target of one example: each word's codes reversed, separators
    kept in place."""
    sentence = sample[0]
    result = []
    word_start = -1
    for position, code in enumerate(sentence):
        if code >= CHAR2CODE[' ']:
            if word_start >= 0:
                result.extend(sentence[word_start:position][::-1])
                word_start = -1
            result.append(code)
        elif word_start == -1:
            word_start = position
    if word_start >= 0:
        result.extend(sentence[word_start:][::-1])
    return (result,)


def _lower(sentence):
    return sentence.lower()


def _transpose(data):
    return tuple(array.T for array in data)


def _filter_long(data):
    return len(data[0]) <= 100


def _is_nan(log):
    return math.isnan(log.current_row['total_gradient_norm'])


def random_word(rng):
    return ''.join(rng.choice(LETTERS, size=rng.randint(1, 11)))


def make_corpus(path, num_lines=20000, seed=1):
    """Write `num_lines` lines of one to five random words (some ending in
    a punctuation mark) to `path`."""
    rng = numpy.random.RandomState(seed)
    with open(path, 'w') as file_:
        for _ in range(num_lines):
            words = [random_word(rng) for _ in range(rng.randint(1, 6))]
            line = ' '.join(words)
            if rng.rand() < 0.3:
                line += rng.choice(list(',.!?'))
            file_.write(line + '\n')


def held_out_words(corpus_path, count=200, seed=2):
    """`count` random words (one to ten letters) absent from the corpus."""
    with open(corpus_path) as file_:
        seen = set(file_.read().replace(',', ' ').replace('.', ' ')
                   .replace('!', ' ').replace('?', ' ').split())
    rng = numpy.random.RandomState(seed)
    words = []
    while len(words) < count:
        word = random_word(rng)
        if word not in seen and word not in words:
            words.append(word)
    return words


class WordReverser(Initializable):
    """The top brick: the encoder and the attention generator."""
    def __init__(self, dimension, alphabet_size, **kwargs):
        super().__init__(**kwargs)
        encoder = Bidirectional(
            SimpleRecurrent(dim=dimension, activation=Tanh()))
        fork = Fork([name for name in encoder.prototype.apply.sequences
                     if name != 'mask'])
        fork.input_dim = dimension
        fork.output_dims = [encoder.prototype.get_dim(name)
                            for name in fork.input_names]
        lookup = LookupTable(alphabet_size, dimension)
        transition = SimpleRecurrent(activation=Tanh(), dim=dimension,
                                     name='transition')
        attention = SequenceContentAttention(
            state_names=transition.apply.states,
            attended_dim=2 * dimension, match_dim=dimension,
            name='attention')
        readout = Readout(
            readout_dim=alphabet_size,
            source_names=[transition.apply.states[0],
                          attention.take_glimpses.outputs[0]],
            emitter=SoftmaxEmitter(name='emitter'),
            feedback_brick=LookupFeedback(alphabet_size, dimension),
            name='readout')
        generator = SequenceGenerator(
            readout=readout, transition=transition, attention=attention,
            name='generator')
        self.lookup = lookup
        self.fork = fork
        self.encoder = encoder
        self.generator = generator
        self.children = [lookup, fork, encoder, generator]

    @application
    def cost(self, chars, chars_mask, targets, targets_mask):
        return self.generator.cost_matrix(
            targets, targets_mask,
            attended=self.encoder.apply(
                **dict_union(
                    self.fork.apply(self.lookup.apply(chars), as_dict=True),
                    mask=chars_mask)),
            attended_mask=chars_mask)

    @application
    def generate(self, chars):
        return self.generator.generate(
            n_steps=3 * chars.shape[0], batch_size=chars.shape[1],
            attended=self.encoder.apply(
                **dict_union(
                    self.fork.apply(self.lookup.apply(chars),
                                    as_dict=True))),
            attended_mask=tensor.ones(chars.shape))


def corpus_stream(files, batch_size=10):
    """Upstream's pipeline: characters, filtered, with reversed targets,
    in padded time-major batches."""
    dataset = TextFile(files, dictionary=CHAR2CODE, level='character',
                       preprocess=_lower)
    stream = dataset.get_example_stream()
    stream = Filter(stream, _filter_long)
    stream = Mapping(stream, reverse_words, add_sources=('targets',))
    stream = Batch(stream, iteration_scheme=ConstantScheme(batch_size))
    stream = Padding(stream)
    return Mapping(stream, _transpose)


def configured_reverser(dimension):
    """A WordReverser of `dimension` units with the example's
    initialization schemes set (Gaussian weights, orthogonal recurrent
    ones, zero biases), not yet initialized."""
    reverser = WordReverser(dimension, len(CHAR2CODE), name='reverser')
    reverser.weights_init = IsotropicGaussian(0.1)
    reverser.biases_init = Constant(0.0)
    reverser.push_initialization_config()
    reverser.encoder.weights_init = Orthogonal()
    reverser.generator.transition.weights_init = Orthogonal()
    return reverser


def step_rule(name, learning_rate):
    if name == 'adam':
        return CompositeRule([StepClipping(10.0), Adam(learning_rate)])
    return CompositeRule([StepClipping(10.0), Scale(learning_rate)])


def default_corpus(save_path, num_lines):
    path = save_path + '.corpus.txt'
    if not os.path.exists(path):
        make_corpus(path, num_lines)
    return path


def train(save_path, num_batches, data_path=None, dimension=100,
          batch_size=10, rule='adam', learning_rate=0.002,
          checkpoint_every=500, print_every=100, corpus_lines=20000):
    """Train and return the finished main loop."""
    files = (sorted(_expand(data_path)) if data_path
             else [default_corpus(save_path, corpus_lines)])
    reverser = configured_reverser(dimension)

    chars = tensor.lmatrix('features')
    chars_mask = tensor.matrix('features_mask')
    targets = tensor.lmatrix('targets')
    targets_mask = tensor.matrix('targets_mask')
    batch_cost = reverser.cost(chars, chars_mask, targets,
                               targets_mask).sum()
    batch_size_variable = chars.shape[1].copy(name='batch_size')
    cost = aggregation.mean(batch_cost, batch_size_variable)
    cost.name = 'sequence_log_likelihood'
    model = Model(cost)
    for brick in model.get_top_bricks():
        brick.initialize()
    algorithm = GradientDescent(
        cost=cost, parameters=ComputationGraph(cost).parameters,
        step_rule=step_rule(rule, learning_rate))
    max_length = chars.shape[0].copy(name='max_length')
    cost_per_character = aggregation.mean(
        batch_cost, batch_size_variable * max_length).copy(
            name='character_log_likelihood')
    observables = [cost, cost_per_character, algorithm.total_gradient_norm]
    main_loop = MainLoop(
        model=model, data_stream=corpus_stream(files, batch_size),
        algorithm=algorithm,
        extensions=[
            Timing(),
            # Every batch: the NaN check below reads the gradient norm.
            TrainingDataMonitoring([algorithm.total_gradient_norm],
                                   after_batch=True),
            TrainingDataMonitoring(observables, prefix='average',
                                   every_n_batches=print_every),
            FinishAfter(after_n_batches=num_batches)
            .add_condition(['after_batch'], _is_nan),
            Checkpoint(save_path, every_n_batches=checkpoint_every),
            Printing(every_n_batches=print_every)])
    main_loop.run()
    return main_loop


def _expand(pattern):
    return glob.glob(pattern)


class Reverser:
    """A trained model's sampling and beam search."""
    def __init__(self, save_path, dimension=100):
        self.reverser = WordReverser(dimension, len(CHAR2CODE),
                                     name='reverser')
        self.chars = tensor.lmatrix('input')
        self.generated = self.reverser.generate(self.chars)
        self.model = Model(self.generated)
        self.model.set_parameter_values(load_parameters(save_path))
        self._sampler = None
        self._beam_search = None

    @staticmethod
    def encode(sentence):
        codes = [CHAR2CODE.get(char, CHAR2CODE['<UNK>'])
                 for char in sentence.lower().strip()]
        return [CHAR2CODE['<S>']] + codes + [CHAR2CODE['</S>']]

    def beam_search(self, encoded, beam_size):
        """The hypotheses (code lists ending with ``</S>``) and their
        costs, most likely first."""
        if self._beam_search is None:
            samples, = VariableFilter(
                applications=[self.reverser.generator.generate],
                name='outputs')(ComputationGraph(self.generated).variables)
            self._beam_search = BeamSearch(samples)
        inputs = numpy.repeat(numpy.array(encoded)[:, None], beam_size,
                              axis=1)
        return self._beam_search.search({self.chars: inputs},
                                        CHAR2CODE['</S>'],
                                        3 * len(encoded))

    def sample(self, encoded, count):
        """`count` samples (trimmed after ``</S>``) and their costs."""
        if self._sampler is None:
            self._sampler = compile_function(
                [self.chars], self.generated,
                updates=ComputationGraph(self.generated).updates)
        inputs = numpy.repeat(numpy.array(encoded)[:, None], count, axis=1)
        _, outputs, _, _, costs = self._sampler(inputs)
        samples, totals = [], []
        for output, cost in zip(outputs.T, costs.T):
            output = list(output)
            end = CHAR2CODE['</S>']
            length = output.index(end) + 1 if end in output else len(output)
            samples.append([int(code) for code in output[:length]])
            totals.append(float(cost[:length].sum()))
        return samples, totals


def accuracy(reverser, words, beam_size=10):
    """The fraction of `words` whose best beam search hypothesis is their
    exact reversal."""
    correct = 0
    for word in words:
        encoded = reverser.encode(word)
        outputs, _ = reverser.beam_search(encoded, beam_size)
        correct += outputs[0] == reverse_words((encoded,))[0]
    return correct / len(words)


def interact(reverser, mode, lines):
    """Upstream's loop: a sentence, then a count, until the input ends."""
    lines = iter(lines)
    for line in lines:
        try:
            count = int(next(lines))
        except (StopIteration, ValueError):
            break
        encoded = reverser.encode(line)
        target = reverse_words((encoded,))[0]
        print('Encoder input:', encoded)
        print('Target:', target)
        if mode == 'beam_search':
            samples, costs = reverser.beam_search(encoded, count)
        else:
            samples, costs = reverser.sample(encoded, count)
        messages = []
        for sample, cost in zip(samples, costs):
            message = '({}) {}'.format(
                cost, ''.join(CODE2CHAR[code] for code in sample))
            if sample == target:
                message += ' CORRECT!'
            messages.append((cost, message))
        for _, message in sorted(messages, reverse=True):
            print(message)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Learn to reverse the letters of each word (the '
                    'blocks-examples attention demo).')
    parser.add_argument('mode', choices=['train', 'sample', 'beam_search',
                                         'evaluate'])
    parser.add_argument('save_path', nargs='?', default='reverse_words.tar')
    parser.add_argument('--num-batches', type=int, default=10000)
    parser.add_argument('--data-path', default=None,
                        help='glob of text files to train on (default: a '
                             'generated corpus, <save_path>.corpus.txt)')
    parser.add_argument('--dimension', type=int, default=100)
    parser.add_argument('--step-rule', choices=['adam', 'scale'],
                        default='adam',
                        help="adam (default) or upstream's scale (SGD, "
                             "learning rate 0.01)")
    parser.add_argument('--learning-rate', type=float, default=None)
    parser.add_argument('--checkpoint-every', type=int, default=500)
    parser.add_argument('--beam-size', type=int, default=10)
    parser.add_argument('--num-words', type=int, default=200,
                        help='held-out words for evaluate')
    return parser.parse_args(argv)


def cli(argv=None):
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format='%(asctime)s: %(name)s: %(message)s')
    with float32():
        if args.mode == 'train':
            learning_rate = args.learning_rate or (
                0.002 if args.step_rule == 'adam' else 0.01)
            main_loop = train(args.save_path, args.num_batches,
                              args.data_path, args.dimension,
                              rule=args.step_rule,
                              learning_rate=learning_rate,
                              checkpoint_every=args.checkpoint_every)
            return interrupted_exit_status(main_loop)
        reverser = Reverser(args.save_path, args.dimension)
        if args.mode == 'evaluate':
            words = held_out_words(default_corpus(args.save_path, 20000),
                                   args.num_words)
            print('beam {}: {:.1%} of {} held-out words reversed '
                  'exactly'.format(args.beam_size,
                                   accuracy(reverser, words,
                                            args.beam_size), len(words)))
            return 0
        interact(reverser, args.mode, sys.stdin.read().splitlines())
    return 0


if __name__ == '__main__':
    sys.exit(cli())
