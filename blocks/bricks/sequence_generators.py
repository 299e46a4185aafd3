"""Sequence generators: recurrent networks that emit one output per step
and feed it back.

A generator combines three parts:

- a *transition* (an attention recurrent brick, see
  :mod:`blocks.bricks.attention`) that carries the states and takes
  glimpses;
- a *readout* that computes readouts from the states, the glimpses and
  the feedback of the previous output, and turns them into outputs
  (its *emitter*) and feedback (its *feedback brick*);
- a *fork* that turns the feedback into the inputs of the transition.

One step ``i >= 1`` goes: glimpses ``g_i`` from the previous states
``s_{i-1}`` (and glimpses); readouts ``r_i`` from the feedback of
``y_{i-1}``, ``s_{i-1}`` and ``g_i``; output ``y_i = emit(r_i)`` and its
cost; new states ``s_i`` from ``s_{i-1}``, ``g_i`` and the fork of the
feedback of ``y_i``. :meth:`BaseSequenceGenerator.cost_matrix` runs this
on given outputs (teacher forcing), :meth:`BaseSequenceGenerator.generate`
samples them.

Axes are time-major: sequences are (time, batch, ...).
"""
import pytensor
import pytensor.tensor as pt

from blocks.bricks.attention import (AbstractAttentionRecurrent,
                                     AttentionRecurrent)
from blocks.bricks.base import Brick, application, lazy, not_implemented
from blocks.bricks.interfaces import Initializable, Random
from blocks.bricks.lookup import LookupTable
from blocks.bricks.parallel import Fork, Merge
from blocks.bricks.recurrent import recurrent
from blocks.bricks.simple import Bias, NDimensionalSoftmax
from blocks.roles import add_role, COST
from blocks.utils import dict_subset, dict_union

__all__ = ['BaseSequenceGenerator', 'SequenceGenerator', 'AbstractReadout',
           'Readout', 'AbstractEmitter', 'TrivialEmitter', 'SoftmaxEmitter',
           'AbstractFeedback', 'TrivialFeedback', 'LookupFeedback',
           'FakeAttentionRecurrent']


class BaseSequenceGenerator(Initializable):
    """A generator of sequences out of a readout, a transition and a fork.

    Parameters
    ----------
    readout : :class:`AbstractReadout`
        Computes readouts, emits outputs, their costs and feedback.
    transition : :class:`~blocks.bricks.attention.AbstractAttentionRecurrent`
        The recurrent part, with ``apply``, ``take_glimpses`` and
        ``compute_states``.
    fork : :class:`~blocks.bricks.Brick`
        Turns the feedback into the inputs of the transition (its ``apply``
        takes the feedback and returns the transition's sequences by name),
        typically a :class:`~blocks.bricks.parallel.Fork`.

    Notes
    -----
    The dimensions of the readout's sources, of the fork and of the
    transition are pushed at allocation (the transition first), so only
    the transition's and the readout's own dimensions need to be given.
    See :class:`SequenceGenerator` for an example.

    """
    @lazy()
    def __init__(self, readout, transition, fork, **kwargs):
        if not isinstance(transition, AbstractAttentionRecurrent):
            raise TypeError(
                'BaseSequenceGenerator: the transition must be an '
                'AbstractAttentionRecurrent (wrap a recurrent brick with '
                'FakeAttentionRecurrent or AttentionRecurrent), got '
                '{!r}'.format(transition))
        super().__init__(**kwargs)
        self.readout = readout
        self.transition = transition
        self.fork = fork
        self.children = [self.readout, self.fork, self.transition]

    @property
    def _state_names(self):
        return list(self.transition.compute_states.outputs)

    @property
    def _context_names(self):
        return list(self.transition.apply.contexts)

    @property
    def _glimpse_names(self):
        return list(self.transition.take_glimpses.outputs)

    def _push_allocation_config(self):
        super()._push_allocation_config()
        # The readout asks the transition for the dimensions of its
        # sources, so the transition is configured first; the fork needs
        # the readout's feedback dimension, so the readout comes second.
        self.transition.push_allocation_config()
        from_transition = (self._state_names + self._context_names +
                           self._glimpse_names)
        self.readout.source_dims = [
            self.transition.get_dim(name) if name in from_transition
            else self.readout.get_dim(name)
            for name in self.readout.source_names]
        self.readout.push_allocation_config()
        self.fork.input_dim = self.readout.get_dim('feedback')
        self.fork.output_dims = self.transition.get_dims(
            self.fork.apply.outputs)

    @application
    def cost(self, application_call, outputs, mask=None, **kwargs):
        """The mean over the batch of each sequence's total cost.

        Parameters
        ----------
        outputs : tensor variable
            The outputs, (time, batch, ...).
        mask : tensor variable, optional
            (time, batch): 1 where there is an output.
        \\*\\*kwargs
            Contexts (``attended``...) and optional initial states, by name.

        Notes
        -----
        The result has the role COST. The auxiliary variable
        ``per_sequence_element`` is the total cost divided by the number
        of outputs (unmasked positions).

        """
        costs = self.cost_matrix(outputs, mask=mask, **kwargs)
        cost = costs.sum(axis=0).mean()
        add_role(cost, COST)
        per_element = (costs.sum() / mask.sum() if mask is not None
                       else costs.mean())
        application_call.add_auxiliary_variable(
            per_element, name='per_sequence_element')
        return cost

    @application
    def cost_matrix(self, application_call, outputs, mask=None, **kwargs):
        """The cost of each output given the previous ones, (time, batch).

        Parameters are those of :meth:`cost`; masked positions cost 0.

        Notes
        -----
        The sequences of states and glimpses used for the predictions are
        auxiliary variables named after them, and the final value of each
        (after the last output) is an auxiliary variable
        ``<name>_final_value``, handy to start the next batch from.

        """
        batch_size = outputs.shape[1]
        states = dict_subset(kwargs, self._state_names, must_have=False)
        contexts = dict_subset(kwargs, self._context_names, must_have=False)
        feedback = self.readout.feedback(outputs)
        inputs = self.fork.apply(feedback, as_dict=True)
        results = self.transition.apply(
            mask=mask, return_initial_states=True, as_dict=True,
            **dict_union(inputs, states, contexts))
        # Output i is predicted from the states before it and from the
        # glimpses taken at its step: drop the last states and the
        # initial glimpses.
        states = {name: results[name][:-1] for name in self._state_names}
        glimpses = {name: results[name][1:] for name in self._glimpse_names}
        initial_feedback = self.readout.feedback(
            self.readout.initial_outputs(batch_size))
        previous_feedback = pt.concatenate(
            [initial_feedback[None], feedback[:-1]], axis=0)
        readouts = self.readout.readout(
            feedback=previous_feedback,
            **dict_union(states, glimpses, contexts))
        costs = self.readout.cost(readouts, outputs)
        if mask is not None:
            costs = costs * mask
        for name, variable in list(glimpses.items()) + list(states.items()):
            application_call.add_auxiliary_variable(variable.copy(),
                                                    name=name)
        for name in self._state_names + self._glimpse_names:
            application_call.add_auxiliary_variable(
                results[name][-1].copy(), name=name + '_final_value')
        return costs

    @recurrent
    def generate(self, outputs, **kwargs):
        """Sample sequences, one step at a time.

        Call as ``generate(n_steps=N, batch_size=B, **contexts)`` (states
        may also be given by name). Returns, each stacked over the steps,
        the transition's states, ``outputs``, the glimpses and ``costs``
        (the cost of each emitted output): e.g. ``[states, outputs,
        weighted_averages, weights, costs]`` with attention.

        Notes
        -----
        Sampling draws from the emitter's random stream inside the loop:
        compile with ``ComputationGraph(...).updates`` so that it
        advances between calls.

        """
        states = dict_subset(kwargs, self._state_names)
        contexts = dict_subset(kwargs, self._context_names, must_have=False)
        glimpses = dict_subset(kwargs, self._glimpse_names)
        next_glimpses = self.transition.take_glimpses(
            as_dict=True, **dict_union(states, glimpses, contexts))
        next_readouts = self.readout.readout(
            feedback=self.readout.feedback(outputs),
            **dict_union(states, next_glimpses, contexts))
        next_outputs = self.readout.emit(next_readouts)
        next_costs = self.readout.cost(next_readouts, next_outputs)
        next_feedback = self.readout.feedback(next_outputs)
        next_inputs = (self.fork.apply(next_feedback, as_dict=True)
                       if self.fork is not None
                       else {'feedback': next_feedback})
        next_states = self.transition.compute_states(
            as_list=True,
            **dict_union(next_inputs, states, next_glimpses, contexts))
        return (next_states + [next_outputs] + list(next_glimpses.values()) +
                [next_costs])

    @generate.delegate
    def generate_delegate(self):
        return self.transition.apply

    @generate.property('states')
    def generate_states(self):
        return self._state_names + ['outputs'] + self._glimpse_names

    @generate.property('outputs')
    def generate_outputs(self):
        return (self._state_names + ['outputs'] + self._glimpse_names +
                ['costs'])

    def get_dim(self, name):
        if name in (self._state_names + self._context_names +
                    self._glimpse_names):
            return self.transition.get_dim(name)
        if name == 'outputs':
            return self.readout.get_dim(name)
        return super().get_dim(name)

    @application
    def initial_states(self, batch_size, *args, **kwargs):
        """The transition's initial states and glimpses, and the readout's
        initial outputs, in the order of ``generate.states``."""
        values = dict(self.transition.initial_states(
            batch_size, *args, as_dict=True, **kwargs))
        values['outputs'] = self.readout.initial_outputs(batch_size)
        return [values[name] for name in self.generate.states]

    @initial_states.property('outputs')
    def initial_states_outputs(self):
        return self.generate.states


class AbstractReadout(Initializable):
    """The part of a sequence generator that produces the outputs.

    Parameters
    ----------
    source_names : list of str
        The states, glimpses and contexts (and possibly ``'feedback'``)
        the readouts are computed from.
    readout_dim : int
        The dimension of the readouts.

    Notes
    -----
    ``source_dims``, the dimensions of the sources, is set by the
    generator. Subclasses implement the applications ``readout``,
    ``emit``, ``cost``, ``initial_outputs`` and ``feedback``.

    """
    @lazy(allocation=['source_names', 'readout_dim'])
    def __init__(self, source_names, readout_dim, **kwargs):
        super().__init__(**kwargs)
        self.source_names = source_names
        self.readout_dim = readout_dim

    def emit(self, readouts):
        """Outputs from readouts (sampled, for probabilistic emitters)."""
        raise not_implemented(self, 'emit')

    def cost(self, readouts, outputs):
        """The cost of `outputs` given `readouts`, one value per output."""
        raise not_implemented(self, 'cost')

    def initial_outputs(self, batch_size):
        """The outputs before the first step."""
        raise not_implemented(self, 'initial_outputs')

    def readout(self, **kwargs):
        """Readouts from the sources, given by name."""
        raise not_implemented(self, 'readout')

    def feedback(self, outputs):
        """What is fed back into the transition for `outputs`."""
        raise not_implemented(self, 'feedback')

    def get_dim(self, name):
        if name == 'readouts':
            return self.readout_dim
        return super().get_dim(name)


class Readout(AbstractReadout):
    r"""Readouts as a transformation of the sum of transformed sources.

    ``readouts = post_merge(merge(sources))``: by default a separate
    linear map of each source (no biases), summed, plus one bias.

    Parameters
    ----------
    emitter : :class:`AbstractEmitter`, optional
        :class:`TrivialEmitter` by default.
    feedback_brick : :class:`AbstractFeedback`, optional
        :class:`TrivialFeedback` by default.
    merge : :class:`~blocks.bricks.Brick`, optional
        Combines the sources; a :class:`~blocks.bricks.parallel.Merge` of
        `merge_prototype` by default.
    merge_prototype : :class:`~blocks.bricks.Feedforward`, optional
        The prototype of the default merge
        (``Linear(use_bias=False)``).
    post_merge : :class:`~blocks.bricks.Feedforward`, optional
        Applied to the merged sources; a
        :class:`~blocks.bricks.Bias` by default.
    merged_dim : int, optional
        The dimension of the merged sources; `readout_dim` by default.
    \*\*kwargs
        ``source_names`` and ``readout_dim`` (by keyword), and the
        arguments of :class:`~blocks.bricks.Initializable`.

    Examples
    --------
    >>> readout = Readout(readout_dim=5, source_names=['states'],
    ...                   emitter=SoftmaxEmitter(),
    ...                   feedback_brick=LookupFeedback(5, 3))
    >>> readout.get_dim('feedback'), readout.get_dim('outputs')
    (3, 0)

    """
    @lazy()
    def __init__(self, emitter=None, feedback_brick=None, merge=None,
                 merge_prototype=None, post_merge=None, merged_dim=None,
                 **kwargs):
        readout_dim = kwargs.get('readout_dim')
        source_names = kwargs.get('source_names')
        if source_names is None:
            raise ValueError('Readout needs source_names (by keyword)')
        if emitter is None:
            emitter = TrivialEmitter(readout_dim=readout_dim)
        if feedback_brick is None:
            feedback_brick = TrivialFeedback(output_dim=readout_dim)
        if merge is None:
            merge = Merge(input_names=source_names,
                          prototype=merge_prototype)
        if post_merge is None:
            post_merge = Bias(dim=readout_dim)
        if merged_dim is None:
            merged_dim = readout_dim
        self.emitter = emitter
        self.feedback_brick = feedback_brick
        self.merge = merge
        self.post_merge = post_merge
        self.merged_dim = merged_dim
        kwargs['children'] = (list(kwargs.get('children') or []) +
                              [emitter, feedback_brick, merge, post_merge])
        super().__init__(**kwargs)

    def _push_allocation_config(self):
        super()._push_allocation_config()
        self.emitter.readout_dim = self.get_dim('readouts')
        self.feedback_brick.output_dim = self.get_dim('outputs')
        self.merge.input_dims = self.source_dims
        self.merge.output_dim = self.merged_dim
        self.post_merge.input_dim = self.merged_dim
        self.post_merge.output_dim = self.readout_dim

    @application
    def readout(self, **kwargs):
        """``post_merge(merge(sources))``; the sources by name (others are
        ignored)."""
        missing = [name for name in self.merge.input_names
                   if name not in kwargs]
        if missing:
            raise ValueError('{}: readout needs the sources {}, missing {}'
                             .format(self.path, self.source_names, missing))
        merged = self.merge.apply(**{name: kwargs[name]
                                     for name in self.merge.input_names})
        return self.post_merge.apply(merged)

    @application
    def emit(self, readouts):
        return self.emitter.emit(readouts)

    @application
    def cost(self, readouts, outputs):
        return self.emitter.cost(readouts, outputs)

    @application
    def initial_outputs(self, batch_size):
        return self.emitter.initial_outputs(batch_size)

    @application(outputs=['feedback'])
    def feedback(self, outputs):
        return self.feedback_brick.feedback(outputs)

    def get_dim(self, name):
        if name == 'outputs':
            return self.emitter.get_dim(name)
        if name == 'feedback':
            return self.feedback_brick.get_dim(name)
        return super().get_dim(name)


class AbstractEmitter(Brick):
    """Turns readouts into outputs and scores outputs.

    Subclasses implement the applications ``emit(readouts)``,
    ``cost(readouts, outputs)`` and ``initial_outputs(batch_size)``, and
    answer ``get_dim('outputs')``; ``readout_dim`` is set by the readout.

    """
    def emit(self, readouts):
        raise not_implemented(self, 'emit')

    def cost(self, readouts, outputs):
        raise not_implemented(self, 'cost')

    def initial_outputs(self, batch_size):
        raise not_implemented(self, 'initial_outputs')


class TrivialEmitter(AbstractEmitter):
    """Outputs are the readouts themselves, at no cost.

    Parameters
    ----------
    readout_dim : int
        The dimension of the readouts (and outputs).

    Examples
    --------
    >>> TrivialEmitter(readout_dim=3).get_dim('outputs')
    3

    """
    @lazy(allocation=['readout_dim'])
    def __init__(self, readout_dim, **kwargs):
        super().__init__(**kwargs)
        self.readout_dim = readout_dim

    @application
    def emit(self, readouts):
        return readouts

    @application
    def cost(self, readouts, outputs):
        return pt.zeros_like(outputs)

    @application
    def initial_outputs(self, batch_size):
        return pt.zeros((batch_size, self.readout_dim),
                        dtype=pytensor.config.floatX)

    def get_dim(self, name):
        if name == 'outputs':
            return self.readout_dim
        return super().get_dim(name)


class SoftmaxEmitter(AbstractEmitter, Initializable, Random):
    """Outputs are integers sampled from the softmax of the readouts.

    Parameters
    ----------
    initial_output : int, optional
        The output before the first step (0).
    theano_seed : int, optional
        The seed of the sampling stream.

    Notes
    -----
    ``probs`` is the softmax over the last axis; ``emit`` samples one
    int64 symbol per row; ``cost`` is the categorical cross-entropy of
    integer outputs, for one step (batch, vocabulary) or whole sequences
    (time, batch, vocabulary).

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> emitter = SoftmaxEmitter(initial_output=3)
    >>> emitter.initial_outputs(2).eval()
    array([3, 3])
    >>> readouts, outputs = pt.matrix('readouts'), pt.lvector('outputs')
    >>> cost = emitter.cost(readouts, outputs)
    >>> cost.eval({readouts: [[0., numpy.log(3.)]], outputs: [1]}).round(4)
    array([0.2877])

    """
    def __init__(self, initial_output=0, **kwargs):
        self.initial_output = initial_output
        self.softmax = NDimensionalSoftmax()
        kwargs['children'] = (list(kwargs.get('children') or []) +
                              [self.softmax])
        super().__init__(**kwargs)

    @application
    def probs(self, readouts):
        """The softmax of the readouts over their last axis."""
        return self.softmax.apply(readouts, extra_ndim=readouts.ndim - 2)

    @application
    def emit(self, readouts):
        """One sampled symbol (int64) per row of the readouts."""
        probs = self.probs(readouts)
        flat = probs.reshape((-1, probs.shape[-1]))
        samples = self.theano_rng.categorical(flat)
        return samples.reshape(probs.shape[:-1], ndim=probs.ndim - 1)

    @application
    def cost(self, readouts, outputs):
        """Minus the log-probability of each output."""
        return self.softmax.categorical_cross_entropy(
            outputs, readouts, extra_ndim=readouts.ndim - 2)

    @application
    def initial_outputs(self, batch_size):
        return self.initial_output * pt.ones((batch_size,), dtype='int64')

    def get_dim(self, name):
        if name == 'outputs':
            return 0
        return super().get_dim(name)


class AbstractFeedback(Brick):
    """Turns outputs into what is fed back (application ``feedback``) and
    answers ``get_dim('feedback')``; ``output_dim``, the dimension of the
    outputs, is set by the readout."""
    def feedback(self, outputs):
        raise not_implemented(self, 'feedback')


class TrivialFeedback(AbstractFeedback):
    """The outputs are fed back as they are.

    Parameters
    ----------
    output_dim : int
        The dimension of the outputs.

    """
    @lazy(allocation=['output_dim'])
    def __init__(self, output_dim, **kwargs):
        super().__init__(**kwargs)
        self.output_dim = output_dim

    @application(outputs=['feedback'])
    def feedback(self, outputs):
        return outputs

    def get_dim(self, name):
        if name == 'feedback':
            return self.output_dim
        return super().get_dim(name)


class LookupFeedback(AbstractFeedback, Initializable):
    """Integer outputs are fed back as their embeddings.

    Parameters
    ----------
    num_outputs : int
        The number of symbols.
    feedback_dim : int
        The dimension of the embeddings.

    Examples
    --------
    >>> feedback = LookupFeedback(num_outputs=5, feedback_dim=3)
    >>> feedback.get_dim('feedback')
    3

    """
    def __init__(self, num_outputs=None, feedback_dim=None, **kwargs):
        self.num_outputs = num_outputs
        self.feedback_dim = feedback_dim
        self.lookup = LookupTable(num_outputs, feedback_dim)
        kwargs['children'] = (list(kwargs.get('children') or []) +
                              [self.lookup])
        super().__init__(**kwargs)

    def _push_allocation_config(self):
        super()._push_allocation_config()
        self.lookup.length = self.num_outputs
        self.lookup.dim = self.feedback_dim

    @application
    def feedback(self, outputs):
        """The embeddings of the integer `outputs`."""
        output_dim = getattr(self, 'output_dim', 0)
        if output_dim != 0:
            raise ValueError(
                '{}: LookupFeedback feeds back integer outputs (dimension '
                '0), but the emitter declares outputs of dimension {}'
                .format(self.path, output_dim))
        return self.lookup.apply(outputs)

    def get_dim(self, name):
        if name == 'feedback':
            return self.feedback_dim
        return super().get_dim(name)


class FakeAttentionRecurrent(AbstractAttentionRecurrent, Initializable):
    """A recurrent brick seen as an attention recurrent brick without
    glimpses, so that generators without attention work alike.

    Parameters
    ----------
    transition : :class:`~blocks.bricks.recurrent.BaseRecurrent`
        The brick whose ``apply`` is the recurrence.

    """
    def __init__(self, transition, **kwargs):
        self.transition = transition
        self.state_names = list(transition.apply.states)
        self.context_names = list(transition.apply.contexts)
        self.glimpse_names = []
        kwargs['children'] = (list(kwargs.get('children') or []) +
                              [transition])
        super().__init__(**kwargs)

    @application
    def apply(self, *args, **kwargs):
        return self.transition.apply(*args, **kwargs)

    @apply.delegate
    def apply_delegate(self):
        return self.transition.apply

    @application
    def compute_states(self, *args, **kwargs):
        return self.transition.apply(*args, iterate=False, **kwargs)

    @compute_states.delegate
    def compute_states_delegate(self):
        return self.transition.apply

    @application(outputs=[])
    def take_glimpses(self, *args, **kwargs):
        return []

    @application
    def initial_states(self, batch_size, *args, **kwargs):
        return self.transition.initial_states(batch_size, *args, **kwargs)

    @initial_states.property('outputs')
    def initial_states_outputs(self):
        return self.transition.apply.states

    def get_dim(self, name):
        return self.transition.get_dim(name)


class SequenceGenerator(BaseSequenceGenerator):
    r"""A sequence generator with a fork and, optionally, attention.

    Parameters
    ----------
    readout : :class:`AbstractReadout`
        The readout.
    transition : :class:`~blocks.bricks.recurrent.BaseRecurrent`
        The recurrent brick.
    attention : :class:`~blocks.bricks.attention.AbstractAttention`, optional
        If given, the transition is wrapped in an
        :class:`~blocks.bricks.attention.AttentionRecurrent` (named
        ``att_trans``); otherwise in a :class:`FakeAttentionRecurrent`
        (``with_fake_attention``).
    add_contexts : bool, optional
        Passed to :class:`~blocks.bricks.attention.AttentionRecurrent`:
        the attended sequence and its mask become contexts ``attended``
        and ``attended_mask``.
    \*\*kwargs
        ``fork`` (a :class:`~blocks.bricks.parallel.Fork` of the
        transition's sequences other than masks by default) and the
        arguments of :class:`~blocks.bricks.Initializable`.

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> from blocks.bricks import Tanh
    >>> from blocks.bricks.recurrent import SimpleRecurrent
    >>> from blocks.initialization import IsotropicGaussian, Constant
    >>> generator = SequenceGenerator(
    ...     Readout(readout_dim=4, source_names=['states'],
    ...             emitter=SoftmaxEmitter(theano_seed=1),
    ...             feedback_brick=LookupFeedback(4, 2)),
    ...     SimpleRecurrent(dim=3, activation=Tanh()),
    ...     weights_init=IsotropicGaussian(0.1), biases_init=Constant(0),
    ...     seed=1)
    >>> generator.initialize()
    >>> from blocks.compilation import compile_function
    >>> outputs, mask = pt.lmatrix('outputs'), pt.matrix('mask')
    >>> cost = generator.cost_matrix(outputs, mask)
    >>> compile_function([outputs, mask], cost)([[1], [2]],
    ...                                         [[1.], [0.]]).shape
    (2, 1)
    >>> states, samples, costs = generator.generate(n_steps=5, batch_size=2)
    >>> samples.ndim, costs.ndim
    (2, 2)

    """
    def __init__(self, readout, transition, attention=None,
                 add_contexts=True, **kwargs):
        inputs = [name for name in transition.apply.sequences
                  if 'mask' not in name]
        kwargs.setdefault('fork', Fork(inputs))
        if attention is not None:
            transition = AttentionRecurrent(
                transition, attention, add_contexts=add_contexts,
                name='att_trans')
        else:
            transition = FakeAttentionRecurrent(transition,
                                                name='with_fake_attention')
        super().__init__(readout, transition, **kwargs)
