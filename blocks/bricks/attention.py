"""Attention: recurrent networks that look at a sequence while they run.

The *attended* sequence ``A`` is (time_a, batch, attended_dim) with a
mask (time_a, batch) over its positions. At every step an attention brick
extracts *glimpses* from it given the current states of a recurrent
network: :class:`SequenceContentAttention` computes one weight per
position from how well the position matches the states and returns the
weighted average of the attended vectors together with the weights.
:class:`AttentionRecurrent` wraps a recurrent brick and an attention brick
into one recurrent brick whose step takes the glimpses from the previous
states and feeds them into the new ones.

The work that does not depend on the states (transforming the attended
sequence) is done once, by ``preprocess``, outside the loop.
"""
import pytensor
import pytensor.tensor as pt

from blocks.bricks.base import Brick, application, lazy, not_implemented
from blocks.bricks.interfaces import Feedforward, Initializable
from blocks.bricks.parallel import Distribute, Parallel
from blocks.bricks.recurrent import BaseRecurrent, recurrent
from blocks.bricks.sequences import Sequence
from blocks.bricks.simple import Linear, Tanh
from blocks.utils import dict_subset, dict_union, pack

__all__ = ['AbstractAttention', 'GenericSequenceAttention',
           'SequenceContentAttention', 'ShallowEnergyComputer',
           'AbstractAttentionRecurrent', 'AttentionRecurrent']


class AbstractAttention(Brick):
    """The base class of attention bricks.

    Parameters
    ----------
    state_names : list of str
        The names of the recurrent states the attention looks from.
    state_dims : list of int
        Their dimensions.
    attended_dim : int
        The dimension of the attended vectors.

    Notes
    -----
    Subclasses implement the applications ``take_glimpses(attended,
    preprocessed_attended=None, attended_mask=None, **states)`` (glimpses
    that are also among its inputs are fed back by the recurrent wrapper)
    and ``initial_glimpses(batch_size, attended)``; ``preprocess`` is the
    identity unless overridden.

    """
    @lazy(allocation=['state_names', 'state_dims', 'attended_dim'])
    def __init__(self, state_names, state_dims, attended_dim, **kwargs):
        super().__init__(**kwargs)
        self.state_names = state_names
        self.state_dims = state_dims
        self.attended_dim = attended_dim

    @application(inputs=['attended'], outputs=['preprocessed_attended'])
    def preprocess(self, attended):
        """The state-independent part of the work on the attended
        sequence."""
        return attended

    def take_glimpses(self, attended, preprocessed_attended=None,
                      attended_mask=None, **kwargs):
        raise not_implemented(self, 'take_glimpses')

    def initial_glimpses(self, batch_size, attended):
        raise not_implemented(self, 'initial_glimpses')

    def get_dim(self, name):
        if name in ('attended', 'preprocessed_attended'):
            return self.attended_dim
        if name == 'attended_mask':
            return 0
        return super().get_dim(name)


class GenericSequenceAttention(AbstractAttention):
    """Attention over the positions of a sequence, from one energy per
    position."""
    @staticmethod
    def compute_weights(energies, attended_mask):
        """Weights from energies, normalized over the positions (axis 0).

        Parameters
        ----------
        energies : tensor variable
            (time_a, batch).
        attended_mask : tensor variable or None
            (time_a, batch); masked positions get weight 0. A column whose
            positions are all masked gets weights 0 (not NaN).

        """
        # Subtracting the column maximum keeps exp from overflowing.
        energies = energies - energies.max(axis=0)
        unnormalized = pt.exp(energies)
        if attended_mask is None:
            return unnormalized / unnormalized.sum(axis=0)
        unnormalized = unnormalized * attended_mask
        empty_column = pt.all(pt.eq(attended_mask, 0), axis=0)
        return unnormalized / (unnormalized.sum(axis=0) + empty_column)

    @staticmethod
    def compute_weighted_averages(weights, attended):
        """``sum_t weights[t, b] * attended[t, b, :]``: (batch, dim)."""
        return (weights[:, :, None] * attended).sum(axis=0)


class SequenceContentAttention(GenericSequenceAttention, Initializable):
    r"""Content-based attention (Bahdanau et al., 2015).

    Energies ``e_t = energy_computer(P a_t + sum_s U_s s)`` from the
    attended vector ``a_t`` transformed once (``preprocess``, a linear map
    with biases) and each state ``s`` transformed at every step (linear
    maps without biases); the default energy computer is
    ``v . tanh(.)``. The glimpses are the weighted average of the
    attended vectors and the weights.

    Parameters
    ----------
    match_dim : int
        The dimension of the transformed attended vectors and states.
    state_transformer : :class:`~blocks.bricks.Feedforward`, optional
        The prototype of the state transformations
        (``Linear(use_bias=False)``).
    attended_transformer : :class:`~blocks.bricks.Feedforward`, optional
        ``Linear(name='preprocess')`` by default.
    energy_computer : :class:`~blocks.bricks.Feedforward`, optional
        ``ShallowEnergyComputer(name='energy_comp')`` by default.
    \*\*kwargs
        ``state_names`` (required, by keyword), ``state_dims``,
        ``attended_dim`` and the arguments of
        :class:`~blocks.bricks.Initializable`.

    Notes
    -----
    ``take_glimpses`` returns ``weighted_averages`` (batch, attended_dim)
    and ``weights`` (batch, time_a); neither is fed back.

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> from blocks.initialization import IsotropicGaussian, Constant
    >>> attention = SequenceContentAttention(
    ...     state_names=['states'], state_dims=[2], attended_dim=3,
    ...     match_dim=4, weights_init=IsotropicGaussian(0.5),
    ...     biases_init=Constant(0))
    >>> attention.initialize()
    >>> states, attended = pt.matrix('states'), pt.tensor3('attended')
    >>> mask = pt.matrix('mask')
    >>> glimpses, weights = attention.take_glimpses(
    ...     attended, attended_mask=mask, states=states)
    >>> weights.eval({states: numpy.ones((1, 2)),
    ...               attended: numpy.ones((3, 1, 3)),
    ...               mask: [[1.], [1.], [0.]]})
    array([[0.5, 0.5, 0. ]])

    """
    @lazy(allocation=['match_dim'])
    def __init__(self, match_dim, state_transformer=None,
                 attended_transformer=None, energy_computer=None, **kwargs):
        state_names = kwargs.get('state_names')
        if state_names is None:
            raise ValueError('SequenceContentAttention needs state_names '
                             '(by keyword)')
        if state_transformer is None:
            state_transformer = Linear(use_bias=False)
        if attended_transformer is None:
            attended_transformer = Linear(name='preprocess')
        if energy_computer is None:
            energy_computer = ShallowEnergyComputer(name='energy_comp')
        self.match_dim = match_dim
        self.state_transformer = state_transformer
        self.state_transformers = Parallel(input_names=state_names,
                                           prototype=state_transformer,
                                           name='state_trans')
        self.attended_transformer = attended_transformer
        self.energy_computer = energy_computer
        kwargs['children'] = (list(kwargs.get('children') or []) +
                              [self.state_transformers, attended_transformer,
                               energy_computer])
        super().__init__(**kwargs)

    def _push_allocation_config(self):
        super()._push_allocation_config()
        self.state_transformers.input_dims = self.state_dims
        self.state_transformers.output_dims = [self.match_dim
                                               for _ in self.state_names]
        self.attended_transformer.input_dim = self.attended_dim
        self.attended_transformer.output_dim = self.match_dim
        self.energy_computer.input_dim = self.match_dim
        self.energy_computer.output_dim = 1

    @application
    def compute_energies(self, attended, preprocessed_attended, states):
        """One energy per position, (time_a, batch); `states` is a dict."""
        if preprocessed_attended is None:
            preprocessed_attended = self.preprocess(attended)
        transformed = self.state_transformers.apply(as_dict=True, **states)
        # Each transformed state (batch, match) broadcasts over time.
        match_vectors = preprocessed_attended
        for state in transformed.values():
            match_vectors = match_vectors + state
        energies = self.energy_computer.apply(match_vectors)
        return energies.reshape(match_vectors.shape[:-1],
                                ndim=match_vectors.ndim - 1)

    @application(outputs=['weighted_averages', 'weights'])
    def take_glimpses(self, attended, preprocessed_attended=None,
                      attended_mask=None, **states):
        """The weighted average of the attended vectors and the weights
        (batch, time_a) given the states (by name)."""
        unknown = sorted(set(states) - set(self.state_names))
        if unknown:
            raise ValueError('{}: take_glimpses expected the states {}, got '
                             'also {}'.format(self.path, self.state_names,
                                              unknown))
        energies = self.compute_energies(attended, preprocessed_attended,
                                         states)
        weights = self.compute_weights(energies, attended_mask)
        weighted_averages = self.compute_weighted_averages(weights, attended)
        return weighted_averages, weights.T

    @take_glimpses.property('inputs')
    def take_glimpses_inputs(self):
        return (['attended', 'preprocessed_attended', 'attended_mask'] +
                list(self.state_names))

    @application(outputs=['weighted_averages', 'weights'])
    def initial_glimpses(self, batch_size, attended):
        """Zero glimpses: (batch, attended_dim) and (batch, time_a)."""
        floatx = pytensor.config.floatX
        return [pt.zeros((batch_size, self.attended_dim), dtype=floatx),
                pt.zeros((batch_size, attended.shape[0]), dtype=floatx)]

    @application(inputs=['attended'], outputs=['preprocessed_attended'])
    def preprocess(self, attended):
        """The transformed attended sequence, (time_a, batch, match)."""
        return self.attended_transformer.apply(attended)

    def get_dim(self, name):
        if name == 'weighted_averages':
            return self.attended_dim
        if name == 'weights':
            return 0
        return super().get_dim(name)


class ShallowEnergyComputer(Sequence, Initializable, Feedforward):
    """``v . tanh(x)``: a tanh followed by a linear map.

    Parameters
    ----------
    use_bias : bool, optional
        Whether the linear map has a bias (False).
    input_dim, output_dim : int, optional
        Those of the linear map (usually set by the attention brick).

    Examples
    --------
    >>> computer = ShallowEnergyComputer(input_dim=4, output_dim=1)
    >>> computer.children[1].input_dim
    4

    """
    @lazy()
    def __init__(self, use_bias=False, input_dim=None, output_dim=None,
                 **kwargs):
        linear = Linear(input_dim=input_dim, output_dim=output_dim,
                        use_bias=use_bias)
        super().__init__([Tanh().apply, linear.apply], **kwargs)

    @property
    def input_dim(self):
        return self.children[1].input_dim

    @input_dim.setter
    def input_dim(self, value):
        self.children[1].input_dim = value

    @property
    def output_dim(self):
        return self.children[1].output_dim

    @output_dim.setter
    def output_dim(self, value):
        self.children[1].output_dim = value


class AbstractAttentionRecurrent(BaseRecurrent):
    """A recurrent brick that takes glimpses.

    Subclasses implement ``apply`` (the whole recurrence),
    ``take_glimpses`` (glimpses from the states, one step) and
    ``compute_states`` (new states from the glimpses, one step).

    """
    def apply(self, **kwargs):
        raise not_implemented(self, 'apply')

    def take_glimpses(self, **kwargs):
        raise not_implemented(self, 'take_glimpses')

    def compute_states(self, **kwargs):
        raise not_implemented(self, 'compute_states')


class AttentionRecurrent(AbstractAttentionRecurrent, Initializable):
    r"""A recurrent brick and an attention brick run as one recurrence.

    Each step takes glimpses from the *previous* states (and fed-back
    glimpses), adds a transformation of the first glimpse to the
    transition's inputs (``distribute``), and runs one step of the
    transition. Glimpses are not masked: at masked steps the states are
    kept, so the glimpses repeat.

    Parameters
    ----------
    transition : :class:`~blocks.bricks.recurrent.BaseRecurrent`
        The recurrent brick.
    attention : :class:`AbstractAttention`
        The attention brick; its ``state_names`` name transition states.
    distribute : :class:`~blocks.bricks.Brick`, optional
        Adds the glimpse to the transition's inputs; by default a
        :class:`~blocks.bricks.parallel.Distribute` of the first glimpse
        into every transition sequence without ``mask`` in its name.
    add_contexts : bool, optional
        True (default): the attended sequence and its mask are new
        contexts named `attended_name` and `attended_mask_name`. False:
        they are the transition's first two contexts.
    attended_name, attended_mask_name : str, optional
        ``'attended'`` and ``'attended_mask'`` by default.

    Notes
    -----
    ``apply`` returns the transition's states followed by the glimpses,
    each (time, batch, ...), e.g. ``states``, ``weighted_averages`` and
    ``weights`` (time, batch, time_a) with a
    :class:`SequenceContentAttention`.

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> from blocks.bricks.recurrent import SimpleRecurrent
    >>> from blocks.initialization import IsotropicGaussian
    >>> transition = SimpleRecurrent(dim=3, activation=Tanh())
    >>> attention = SequenceContentAttention(
    ...     state_names=transition.apply.states, attended_dim=2,
    ...     match_dim=4)
    >>> recurrent = AttentionRecurrent(
    ...     transition, attention, weights_init=IsotropicGaussian(0.1),
    ...     biases_init=IsotropicGaussian(0.1))
    >>> recurrent.initialize()
    >>> inputs, attended = pt.tensor3('inputs'), pt.tensor3('attended')
    >>> mask = pt.matrix('mask')
    >>> states, averages, weights = recurrent.apply(
    ...     inputs=inputs, attended=attended, attended_mask=mask)
    >>> from blocks.compilation import compile_function
    >>> compile_function([inputs, attended, mask], weights)(
    ...     numpy.ones((5, 1, 3)), numpy.ones((4, 1, 2)),
    ...     numpy.ones((4, 1))).shape
    (5, 1, 4)

    """
    def __init__(self, transition, attention, distribute=None,
                 add_contexts=True, attended_name=None,
                 attended_mask_name=None, **kwargs):
        self._sequence_names = list(transition.apply.sequences)
        self._state_names = list(transition.apply.states)
        self._context_names = list(transition.apply.contexts)
        if add_contexts:
            attended_name = attended_name or 'attended'
            attended_mask_name = attended_mask_name or 'attended_mask'
            self._context_names += [attended_name, attended_mask_name]
        elif len(self._context_names) < 2:
            raise ValueError(
                'AttentionRecurrent with add_contexts=False takes the '
                'attended sequence and its mask from the first two contexts '
                'of the transition, which has only {}'.format(
                    self._context_names))
        else:
            attended_name, attended_mask_name = self._context_names[:2]
        if distribute is None:
            inputs = [name for name in self._sequence_names
                      if 'mask' not in name]
            distribute = Distribute(inputs,
                                    attention.take_glimpses.outputs[0])
        self.transition = transition
        self.attention = attention
        self.distribute = distribute
        self.add_contexts = add_contexts
        self.attended_name = attended_name
        self.attended_mask_name = attended_mask_name
        self.preprocessed_attended_name = 'preprocessed_' + attended_name
        self._glimpse_names = list(attention.take_glimpses.outputs)
        # Glimpses the attention takes as inputs are carried between steps.
        self.previous_glimpses_needed = [
            name for name in self._glimpse_names
            if name in attention.take_glimpses.inputs]
        kwargs['children'] = (list(kwargs.get('children') or []) +
                              [transition, attention, distribute])
        super().__init__(**kwargs)

    def _push_allocation_config(self):
        super()._push_allocation_config()
        self.attention.state_dims = self.transition.get_dims(
            self.attention.state_names)
        self.attention.attended_dim = self.get_dim(self.attended_name)
        self.distribute.source_dim = self.attention.get_dim(
            self.distribute.source_name)
        self.distribute.target_dims = self.transition.get_dims(
            self.distribute.target_names)

    @application
    def take_glimpses(self, **kwargs):
        """Glimpses from the states, the fed-back glimpses and the attended
        sequence (all by name); other arguments are ignored."""
        states = dict_subset(kwargs, self._state_names, pop=True)
        glimpses = dict_subset(kwargs, self._glimpse_names, pop=True)
        needed = dict_subset(glimpses, self.previous_glimpses_needed)
        return self.attention.take_glimpses(
            kwargs.pop(self.attended_name),
            kwargs.pop(self.preprocessed_attended_name, None),
            kwargs.pop(self.attended_mask_name, None),
            **dict_union(states, needed))

    @take_glimpses.property('outputs')
    def take_glimpses_outputs(self):
        return self._glimpse_names

    @application
    def compute_states(self, **kwargs):
        """One step of the transition with the glimpses distributed into
        its inputs (all by name)."""
        sequences = dict_subset(kwargs, self._sequence_names, pop=True,
                                must_have=False)
        states = dict_subset(kwargs, self._state_names, pop=True)
        glimpses = dict_subset(kwargs, self._glimpse_names, pop=True)
        targets = dict_subset(sequences, self.distribute.target_names,
                              pop=True)
        source = {self.distribute.source_name:
                  glimpses[self.distribute.source_name]}
        sequences.update(self.distribute.apply(
            as_dict=True, **dict_union(targets, source)))
        if self.add_contexts:
            kwargs.pop(self.attended_name)
            kwargs.pop(self.attended_mask_name, None)
        kwargs.pop(self.preprocessed_attended_name, None)
        return self.transition.apply(
            iterate=False, as_list=True,
            **dict_union(sequences, states, kwargs))

    @compute_states.property('outputs')
    def compute_states_outputs(self):
        return self._state_names

    @recurrent
    def do_apply(self, **kwargs):
        """One step: glimpses from the previous states, then new states;
        returns the states followed by the glimpses."""
        attended = kwargs[self.attended_name]
        preprocessed_attended = kwargs.pop(self.preprocessed_attended_name)
        attended_mask = kwargs.get(self.attended_mask_name)
        sequences = dict_subset(kwargs, self._sequence_names, pop=True,
                                must_have=False)
        states = dict_subset(kwargs, self._state_names, pop=True)
        glimpses = dict_subset(kwargs, self._glimpse_names, pop=True)
        current_glimpses = self.take_glimpses(
            as_dict=True,
            **dict_union(states, glimpses,
                         {self.attended_name: attended,
                          self.attended_mask_name: attended_mask,
                          self.preprocessed_attended_name:
                              preprocessed_attended}))
        current_states = self.compute_states(
            as_list=True,
            **dict_union(sequences, states, current_glimpses, kwargs))
        return current_states + list(current_glimpses.values())

    @do_apply.property('sequences')
    def do_apply_sequences(self):
        return self._sequence_names

    @do_apply.property('contexts')
    def do_apply_contexts(self):
        return self._context_names + [self.preprocessed_attended_name]

    @do_apply.property('states')
    def do_apply_states(self):
        return self._state_names + self._glimpse_names

    @do_apply.property('outputs')
    def do_apply_outputs(self):
        return self._state_names + self._glimpse_names

    @application
    def apply(self, **kwargs):
        """The whole recurrence; the attended sequence is preprocessed once,
        before the loop. Arguments by name, as for ``do_apply``."""
        if self.attended_name not in kwargs:
            raise ValueError('{}: apply needs the attended sequence {!r}'
                             .format(self.path, self.attended_name))
        preprocessed = self.attention.preprocess(kwargs[self.attended_name])
        return self.do_apply(**dict_union(
            kwargs, {self.preprocessed_attended_name: preprocessed}))

    @apply.delegate
    def apply_delegate(self):
        return self.do_apply

    @apply.property('contexts')
    def apply_contexts(self):
        return self._context_names

    @application
    def initial_states(self, batch_size, **kwargs):
        """The transition's initial states and the attention's initial
        glimpses."""
        return (pack(self.transition.initial_states(batch_size, **kwargs)) +
                pack(self.attention.initial_glimpses(
                    batch_size, kwargs[self.attended_name])))

    @initial_states.property('outputs')
    def initial_states_outputs(self):
        return self.do_apply.states

    def get_dim(self, name):
        if name in self._glimpse_names:
            return self.attention.get_dim(name)
        if name == self.preprocessed_attended_name:
            (original,) = self.attention.preprocess.outputs
            return self.attention.get_dim(original)
        if self.add_contexts:
            if name == self.attended_name:
                return self.attention.get_dim(
                    self.attention.take_glimpses.inputs[0])
            if name == self.attended_mask_name:
                return 0
        return self.transition.get_dim(name)
