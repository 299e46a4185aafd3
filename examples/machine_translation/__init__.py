"""Blocks-examples' attention-based translation model (RNNsearch) at a
reduced size, on a synthetic language pair generated on the fly.

The model (:mod:`.model`) is blocks-examples': embeddings and a
bidirectional GRU encoder whose two directions have their own forks; a
GRU decoder whose initial state is a tanh layer of the backward encoder
state at the first source word, with content-based attention
(:class:`~blocks.bricks.attention.SequenceContentAttention`) over the
encoding; a readout over the decoder states, the feedback of the previous
word (a lookup, zero before the first word) and the attention's weighted
averages, then maxout, two linear maps and a softmax emitter. Translations
are decoded with :class:`~blocks.search.BeamSearch` and their costs
normalized by length, as upstream.

The corpus (:mod:`.corpus`) is offline and rule-based: English-like
sentences from a small grammar, translated word by word with a fixed
dictionary into a made-up language where adjectives follow their noun and
the verb comes last. The held-out sentences are drawn the same way and
never occur in the training set.

Every `bleu_every` batches (and at the end) the example translates the
held-out sentences and logs their corpus BLEU (``valid_bleu``, computed by
sacrebleu, an optional dependency: ``pip install sacrebleu`` or the
``examples`` extra; without it the example says so and logs no BLEU). The
curve of BLEU over training goes to a PNG (``--plot-to``). The checkpoint
(every `checkpoint_every` batches and at the end) holds the whole main
loop, so ``blocks-continue CHECKPOINT`` resumes exactly where it stopped.

Run it with::

    python -m examples.machine_translation --num-batches 2000

The upstream sizes (1000 hidden units, 620-dimensional embeddings, 30000
words) become 64 / 32 / about 30 words by default; the optimizer is
StepClipping(1) then Adam instead of AdaDelta, which converges in fewer
batches.
"""
import argparse

import numpy
import pytensor.tensor as pt

from blocks.algorithms import Adam, CompositeRule, GradientDescent
from blocks.algorithms import StepClipping
from blocks.data import DataStream, IndexableDataset, Padding, ShuffledScheme
from blocks.extensions import (FinishAfter, Printing, ProgressBar,
                               SimpleExtension, Timing)
from blocks.extensions.monitoring import TrainingDataMonitoring
from blocks.extensions.saveload import Checkpoint
from blocks.filter import VariableFilter
from blocks.graph import ComputationGraph
from blocks.initialization import Constant, IsotropicGaussian, Orthogonal
from blocks.main_loop import MainLoop
from blocks.model import Model
from blocks.scripts.continue_training import interrupted_exit_status
from blocks.search import BeamSearch

from examples import float32
from examples.machine_translation.corpus import (parallel_corpus,
                                                 source_vocabulary,
                                                 target_vocabulary)
from examples.machine_translation.model import BidirectionalEncoder, Decoder

try:
    import sacrebleu
except ImportError:  # an optional dependency: no BLEU without it
    sacrebleu = None

__all__ = ['main', 'build_model', 'Translator', 'BleuValidator', 'corpus_bleu']

NO_SACREBLEU = ('sacrebleu is not installed (pip install sacrebleu): '
                'no BLEU is reported')


def corpus_bleu(hypotheses, references):
    """sacrebleu's corpus BLEU of word lists, or None without sacrebleu."""
    if sacrebleu is None:
        return None
    return sacrebleu.corpus_bleu(
        [' '.join(words) for words in hypotheses],
        [[' '.join(words) for words in references]]).score


def encoded_stream(pairs, batch_size, seed):
    """Shuffled, padded batches of ``source_sentence`` and
    ``target_sentence`` codes with their masks, (batch, time)."""
    source, target = source_vocabulary(), target_vocabulary()
    dataset = IndexableDataset({
        'source_sentence': _object_array([source.encode(words)
                                          for words, _ in pairs]),
        'target_sentence': _object_array([target.encode(words)
                                          for _, words in pairs])})
    scheme = ShuffledScheme(dataset.num_examples, batch_size,
                            rng=numpy.random.RandomState(seed))
    return Padding(DataStream(dataset, iteration_scheme=scheme))


def _object_array(sequences):
    array = numpy.empty(len(sequences), dtype=object)
    array[:] = [numpy.array(sequence, dtype='int64')
                for sequence in sequences]
    return array


def build_model(embedding_dim, state_dim, seed=1):
    """The encoder and the decoder, initialized, and the training cost
    (the total cost of the target sentences over the batch size)."""
    encoder = BidirectionalEncoder(len(source_vocabulary()), embedding_dim,
                                   state_dim)
    decoder = Decoder(len(target_vocabulary()), embedding_dim, state_dim,
                      2 * state_dim, theano_seed=seed)
    for brick in (encoder, decoder):
        brick.weights_init = IsotropicGaussian(0.1)
        brick.biases_init = Constant(0)
        brick.seed = seed
        brick.push_initialization_config()
    # After the push, so that only the recurrent weights are orthogonal.
    for recurrent in (encoder.bidir.forward, encoder.bidir.backward,
                      decoder.transition):
        recurrent.weights_init = Orthogonal()
    encoder.initialize()
    decoder.initialize()
    source = pt.lmatrix('source_sentence')
    source_mask = pt.matrix('source_sentence_mask')
    target = pt.lmatrix('target_sentence')
    target_mask = pt.matrix('target_sentence_mask')
    cost = decoder.cost(encoder.apply(source, source_mask), source_mask,
                        target, target_mask)
    cost.name = 'cost'
    return encoder, decoder, cost


class Translator:
    """Beam-search translation of single sentences.

    Parameters
    ----------
    encoder : :class:`.model.BidirectionalEncoder`
    decoder : :class:`.model.Decoder`
    beam_size : int

    Notes
    -----
    The compiled search functions are not pickled; they are compiled
    again on the first translation after loading.

    """
    def __init__(self, encoder, decoder, beam_size):
        self.beam_size = beam_size
        self.source = pt.lmatrix('source_sentence')
        representation = encoder.apply(self.source, pt.ones(self.source.shape))
        generated = decoder.generate(self.source, representation)
        self.samples, = VariableFilter(
            applications=[decoder.sequence_generator.generate],
            name='outputs')(ComputationGraph(generated).variables)
        self._search = None

    def __getstate__(self):
        state = dict(self.__dict__)
        state['_search'] = None
        return state

    def translate(self, codes, eos):
        """The most likely translation (codes, without ``</S>``) of the
        source `codes`, by cost per word."""
        if self._search is None:
            self._search = BeamSearch(self.samples)
        inputs = numpy.tile(numpy.asarray(codes, dtype='int64'),
                            (self.beam_size, 1))
        outputs, costs = self._search.search(
            {self.source: inputs}, eos, max_length=3 * len(codes),
            ignore_first_eol=True)
        lengths = numpy.array([len(output) for output in outputs])
        best = outputs[int(numpy.argmin(numpy.array(costs) / lengths))]
        return [code for code in best if code != eos]


class BleuValidator(SimpleExtension):
    """Translate held-out sentences and log their corpus BLEU as
    ``valid_bleu``.

    Parameters
    ----------
    translator : :class:`Translator`
    pairs : list of (list of str, list of str)
        The held-out sentences and their reference translations.

    """
    def __init__(self, translator, pairs, **kwargs):
        super().__init__(**kwargs)
        self.translator = translator
        self.pairs = pairs

    def translations(self):
        source, target = source_vocabulary(), target_vocabulary()
        return [target.decode(self.translator.translate(
            source.encode(words), target.eos)) for words, _ in self.pairs]

    def do(self, which_callback, *args):
        row = self.main_loop.log.current_row
        if sacrebleu is None or 'valid_bleu' in row:
            return
        bleu = corpus_bleu(self.translations(),
                           [reference for _, reference in self.pairs])
        row['valid_bleu'] = bleu
        print('BLEU on {} held-out sentences after {} batches: {:.2f}'
              .format(len(self.pairs),
                      self.main_loop.status['iterations_done'], bleu),
              flush=True)


def bleu_curve(log):
    """The (batches, BLEU) pairs logged so far."""
    return [(record['iteration'], record['valid_bleu'])
            for record in log.to_records() if 'valid_bleu' in record]


def plot_bleu_curve(log, path):
    """Save the BLEU curve recorded in `log` as a PNG."""
    import matplotlib
    matplotlib.use('Agg')  # no display needed
    from matplotlib import pyplot

    points = bleu_curve(log)
    figure, axes = pyplot.subplots(figsize=(6, 4))
    axes.plot([batches for batches, _ in points],
              [bleu for _, bleu in points], 'o-')
    axes.set_xlabel('batches')
    axes.set_ylabel('BLEU (held-out sentences)')
    axes.set_title('Attention encoder-decoder, synthetic language pair')
    axes.grid(True, alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)


def main(save_to='machine_translation.tar',
         plot_to='machine_translation.png', num_batches=2000,
         batch_size=32, num_train=5000, num_valid=100, embedding_dim=32,
         state_dim=64, learning_rate=0.002, beam_size=5, bleu_every=250,
         checkpoint_every=250, seed=1, progress_bar=True):
    """Train the translation model; return the finished main loop.

    Parameters
    ----------
    save_to : str
        The checkpoint file.
    plot_to : str or None
        Where the BLEU curve goes (PNG); None for no plot.
    num_batches : int
        Training batches.
    batch_size : int
        Sentence pairs per batch.
    num_train, num_valid : int
        Training and held-out sentence pairs.
    embedding_dim, state_dim : int
        Word embeddings; states of each encoder direction and of the
        decoder (the maxout halves it).
    learning_rate : float
        Adam's.
    beam_size : int
        Beam of the search that translates the held-out sentences.
    bleu_every, checkpoint_every : int
        Batches between BLEU measurements / checkpoints (both also run at
        the end).
    seed : int
        Seed of the corpus, the shuffling and the weights.
    progress_bar : bool
        Show a progress bar of each epoch.

    """
    train_pairs = parallel_corpus(num_train, seed)
    valid_pairs = parallel_corpus(
        num_valid, seed + 1,
        exclude={tuple(words) for words, _ in train_pairs})
    if sacrebleu is None:
        print(NO_SACREBLEU, flush=True)
    with float32():
        encoder, decoder, cost = build_model(embedding_dim, state_dim, seed)
        algorithm = GradientDescent(
            cost=cost, parameters=ComputationGraph(cost).parameters,
            step_rule=CompositeRule([StepClipping(1.0),
                                     Adam(learning_rate)]))
        extensions = [
            Timing(),
            FinishAfter(after_n_batches=num_batches),
            TrainingDataMonitoring([cost], prefix='train',
                                   every_n_batches=bleu_every),
            BleuValidator(Translator(encoder, decoder, beam_size),
                          valid_pairs, every_n_batches=bleu_every,
                          after_training=True),
            Checkpoint(save_to, every_n_batches=checkpoint_every,
                       after_training=True),
            Printing(every_n_batches=bleu_every, after_epoch=False)]
        if progress_bar:
            extensions.append(ProgressBar())
        main_loop = MainLoop(
            algorithm, encoded_stream(train_pairs, batch_size, seed),
            model=Model(cost), extensions=extensions)
        main_loop.run()
    if plot_to and bleu_curve(main_loop.log):
        plot_bleu_curve(main_loop.log, plot_to)
    return main_loop


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train an attention-based encoder-decoder on a '
                    'synthetic language pair; report BLEU on held-out '
                    'sentences.')
    defaults = dict(num_batches=2000, batch_size=32, num_train=5000,
                    num_valid=100, embedding_dim=32, state_dim=64,
                    learning_rate=0.002, beam_size=5, bleu_every=250,
                    checkpoint_every=250, seed=1)
    helps = dict(num_batches='training batches',
                 batch_size='sentence pairs per batch',
                 num_train='training sentence pairs',
                 num_valid='held-out sentence pairs',
                 embedding_dim='word embedding dimension',
                 state_dim='recurrent state dimension',
                 learning_rate="Adam's learning rate",
                 beam_size='beam size of the translations',
                 bleu_every='batches between BLEU measurements',
                 checkpoint_every='batches between checkpoints',
                 seed='seed of the corpus and the weights')
    for name, default in defaults.items():
        parser.add_argument('--' + name.replace('_', '-'),
                            type=type(default), default=default,
                            help='{} (default {})'.format(helps[name],
                                                          default))
    parser.add_argument('--plot-to', default='machine_translation.png',
                        help='BLEU curve PNG (default '
                             'machine_translation.png)')
    parser.add_argument('--no-progress-bar', action='store_true',
                        help='do not draw a progress bar')
    parser.add_argument('save_to', nargs='?',
                        default='machine_translation.tar',
                        help='checkpoint file (default '
                             'machine_translation.tar)')
    return parser.parse_args(argv)


def cli(argv=None):
    """Run the example from the command line and report the BLEU curve."""
    args = vars(parse_args(argv))
    args['progress_bar'] = not args.pop('no_progress_bar')
    main_loop = main(**args)
    if getattr(main_loop, 'interrupted_by', None) is not None:
        print('Interrupted by signal {} after {} batches; blocks-continue '
              '{} resumes the run'.format(
                  main_loop.interrupted_by,
                  main_loop.status['iterations_done'], args['save_to']))
    for batches, bleu in bleu_curve(main_loop.log):
        print('BLEU after {:6d} batches: {:6.2f}'.format(batches, bleu))
    return interrupted_exit_status(main_loop)
