"""The attention-based encoder-decoder of blocks-examples' machine
translation (RNNsearch, Bahdanau et al., 2015), written with the bricks
of :mod:`blocks.bricks.attention` and
:mod:`blocks.bricks.sequence_generators`.

Sentences come in as (batch, time) matrices of codes with masks of the
same shape (what :class:`~blocks.data.Padding` gives); the bricks
transpose them to the time-major layout of the recurrent bricks.
"""
import pytensor.tensor as pt

from blocks.bricks import (Bias, FeedforwardSequence, Initializable, Linear,
                           MLP, Maxout, Tanh)
from blocks.bricks.attention import SequenceContentAttention
from blocks.bricks.base import application
from blocks.bricks.lookup import LookupTable
from blocks.bricks.parallel import Fork
from blocks.bricks.recurrent import Bidirectional, GatedRecurrent
from blocks.bricks.sequence_generators import (LookupFeedback, Readout,
                                               SequenceGenerator,
                                               SoftmaxEmitter)
from blocks.roles import WEIGHT

__all__ = ['BidirectionalEncoder', 'Decoder']


class InitializableFeedforwardSequence(FeedforwardSequence, Initializable):
    """A feedforward sequence that passes initialization on to its
    bricks."""


class ZeroStartFeedback(LookupFeedback):
    """A lookup feedback that feeds back zeros for negative codes: the
    emitter's initial output is -1, so the first step sees no word."""
    @application
    def feedback(self, outputs):
        embeddings = self.lookup.apply(pt.maximum(outputs, 0))
        return pt.switch(pt.lt(outputs, 0)[..., None],
                         pt.zeros_like(embeddings), embeddings)


class ForkedBidirectional(Bidirectional):
    """A bidirectional network whose two directions read different inputs
    (each direction has its own fork)."""
    @application(outputs=['states'])
    def apply(self, forward_inputs, backward_inputs):
        """Concatenate the forward states and the backward ones, flipped
        back in time, on the feature axis."""
        forward = self.forward.apply(as_list=True, **forward_inputs)
        backward = self.backward.apply(reverse=True, as_list=True,
                                       **backward_inputs)
        return pt.concatenate([forward[0], backward[0][::-1]], axis=2)


def _sequence_names(recurrent):
    return [name for name in recurrent.apply.sequences if name != 'mask']


class BidirectionalEncoder(Initializable):
    """Embeddings, then a bidirectional GRU: the representation of each
    source position is its forward and backward states, (time, batch,
    2 * state_dim).

    Parameters
    ----------
    vocab_size, embedding_dim, state_dim : int

    """
    def __init__(self, vocab_size, embedding_dim, state_dim, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.embedding_dim = embedding_dim
        self.state_dim = state_dim
        self.lookup = LookupTable(name='embeddings')
        self.bidir = ForkedBidirectional(
            GatedRecurrent(activation=Tanh(), dim=state_dim))
        names = _sequence_names(self.bidir.prototype)
        self.fwd_fork = Fork(names, prototype=Linear(), name='fwd_fork')
        self.back_fork = Fork(names, prototype=Linear(), name='back_fork')
        self.children = [self.lookup, self.bidir, self.fwd_fork,
                         self.back_fork]

    def _push_allocation_config(self):
        self.lookup.length = self.vocab_size
        self.lookup.dim = self.embedding_dim
        for fork, direction in ((self.fwd_fork, self.bidir.forward),
                                (self.back_fork, self.bidir.backward)):
            fork.input_dim = self.embedding_dim
            fork.output_dims = [direction.get_dim(name)
                                for name in fork.output_names]

    @application(inputs=['source_sentence', 'source_sentence_mask'],
                 outputs=['representation'])
    def apply(self, source_sentence, source_sentence_mask):
        source_sentence = source_sentence.T
        mask = source_sentence_mask.T
        embeddings = self.lookup.apply(source_sentence)
        return self.bidir.apply(
            dict(self.fwd_fork.apply(embeddings, as_dict=True), mask=mask),
            dict(self.back_fork.apply(embeddings, as_dict=True), mask=mask))


class GRUInitialState(GatedRecurrent):
    """A GRU whose initial state is computed from the encoding: a tanh
    layer of the backward encoder state at the first source position
    (which has read the whole sentence). It has no trainable initial
    state.

    Parameters
    ----------
    attended_dim : int
        The dimension of the backward encoder states (the last features
        of the attended sequence).

    """
    def __init__(self, attended_dim, **kwargs):
        super().__init__(**kwargs)
        self.attended_dim = attended_dim
        self.initial_transformer = MLP(activations=[Tanh()],
                                       dims=[attended_dim, self.dim],
                                       name='state_initializer')
        self.children.append(self.initial_transformer)

    @application(outputs=['states'])
    def initial_states(self, batch_size, *args, **kwargs):
        attended = kwargs['attended']
        return self.initial_transformer.apply(
            attended[0, :, -self.attended_dim:])

    def _allocate(self):
        self.add_parameter('state_to_state', (self.dim, self.dim), WEIGHT)
        self.add_parameter('state_to_gates', (self.dim, 2 * self.dim), WEIGHT)


class Decoder(Initializable):
    """A GRU with content-based attention over the encoding, and a deep
    readout: maxout of the merged states, feedback and glimpses, then two
    linear maps (the second to the vocabulary) and a softmax.

    Parameters
    ----------
    vocab_size, embedding_dim, state_dim : int
    representation_dim : int
        The dimension of the encoding (twice the encoder's state).
    theano_seed : int, optional
        Seed of the emitter's sampling stream.

    """
    def __init__(self, vocab_size, embedding_dim, state_dim,
                 representation_dim, theano_seed=None, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.embedding_dim = embedding_dim
        self.state_dim = state_dim
        self.representation_dim = representation_dim
        self.transition = GRUInitialState(
            attended_dim=state_dim, dim=state_dim, activation=Tanh(),
            name='decoder')
        self.attention = SequenceContentAttention(
            state_names=self.transition.apply.states,
            attended_dim=representation_dim, match_dim=state_dim,
            name='attention')
        readout = Readout(
            source_names=['states', 'feedback',
                          self.attention.take_glimpses.outputs[0]],
            readout_dim=vocab_size,
            emitter=SoftmaxEmitter(initial_output=-1,
                                   theano_seed=theano_seed),
            feedback_brick=ZeroStartFeedback(vocab_size, embedding_dim),
            post_merge=InitializableFeedforwardSequence(
                [Bias(dim=state_dim, name='maxout_bias').apply,
                 Maxout(num_pieces=2, name='maxout').apply,
                 Linear(input_dim=state_dim // 2, output_dim=embedding_dim,
                        use_bias=False, name='softmax0').apply,
                 Linear(input_dim=embedding_dim, name='softmax1').apply]),
            merged_dim=state_dim)
        self.sequence_generator = SequenceGenerator(
            readout=readout, transition=self.transition,
            attention=self.attention,
            fork=Fork(_sequence_names(self.transition), prototype=Linear()))
        self.children = [self.sequence_generator]

    @application(inputs=['representation', 'source_sentence_mask',
                         'target_sentence_mask', 'target_sentence'],
                 outputs=['cost'])
    def cost(self, representation, source_sentence_mask, target_sentence,
             target_sentence_mask):
        """The total cost of the target sentences divided by the batch
        size."""
        target_mask = target_sentence_mask.T
        costs = self.sequence_generator.cost_matrix(
            mask=target_mask, outputs=target_sentence.T,
            attended=representation,
            attended_mask=source_sentence_mask.T)
        return (costs * target_mask).sum() / target_mask.shape[1]

    @application
    def generate(self, source_sentence, representation, **kwargs):
        """Sample translations of up to three times the source length."""
        return self.sequence_generator.generate(
            n_steps=3 * source_sentence.shape[1],
            batch_size=source_sentence.shape[0],
            attended=representation,
            attended_mask=pt.ones(source_sentence.shape).T, **kwargs)
