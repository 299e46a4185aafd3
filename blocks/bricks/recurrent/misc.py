"""Bricks made of recurrent bricks: a bidirectional network and a stack
of recurrent layers."""
from copy import deepcopy

import pytensor.tensor as pt

from blocks.bricks.base import application, lazy
from blocks.bricks.interfaces import Initializable
from blocks.bricks.parallel import Fork
from blocks.bricks.recurrent.base import BaseRecurrent, recurrent
from blocks.bricks.simple import Linear

__all__ = ['Bidirectional', 'RecurrentStack', 'RECURRENTSTACK_SEPARATOR']

#: Separates a name from the level of the stack it belongs to: ``states#2``
RECURRENTSTACK_SEPARATOR = '#'


class Bidirectional(Initializable):
    """A recurrent network run forwards and backwards over its input.

    Parameters
    ----------
    prototype : :class:`~blocks.bricks.recurrent.BaseRecurrent`
        Copied twice, into the children ``forward`` and ``backward``;
        configuring the prototype afterwards changes neither copy.

    Notes
    -----
    ``apply`` takes the prototype's arguments and returns each of its
    outputs as the concatenation, on the feature axis, of the forward
    result and the backward one flipped back in time (so that both halves
    of step ``t`` describe input step ``t``). The backward copy sees the
    mask reversed too, so trailing padding leaves its state at the initial
    value. Its sequences, states and outputs are those of the prototype.

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> from blocks.bricks import Identity
    >>> from blocks.bricks.recurrent import SimpleRecurrent
    >>> from blocks.compilation import compile_function
    >>> from blocks.initialization import Identity as IdentityInit
    >>> rnn = Bidirectional(SimpleRecurrent(dim=1, activation=Identity()),
    ...                     weights_init=IdentityInit())
    >>> rnn.initialize()
    >>> x = pt.tensor3('x')
    >>> compile_function([x], rnn.apply(x))(numpy.ones((3, 1, 1)))[:, 0]
    array([[1., 3.],
           [2., 2.],
           [3., 1.]])

    """
    @lazy()
    def __init__(self, prototype, **kwargs):
        self.prototype = prototype
        copies = [deepcopy(prototype) for _ in range(2)]
        copies[0].name = 'forward'
        copies[1].name = 'backward'
        children = copies + list(kwargs.pop('children', None) or [])
        super().__init__(children=children, **kwargs)

    @property
    def forward(self):
        return self.children[0]

    @property
    def backward(self):
        return self.children[1]

    @application
    def apply(self, *args, **kwargs):
        """Run both copies and concatenate their outputs."""
        forward = self.forward.apply(*args, as_list=True, **kwargs)
        backward = self.backward.apply(*args, reverse=True, as_list=True,
                                       **kwargs)
        return [pt.concatenate([ahead, behind[::-1]], axis=2)
                for ahead, behind in zip(forward, backward)]

    @apply.delegate
    def apply_delegate(self):
        return self.forward.apply

    def get_dim(self, name):
        if name in self.apply.outputs:
            return 2 * self.prototype.get_dim(name)
        return self.prototype.get_dim(name)


class RecurrentStack(BaseRecurrent, Initializable):
    """Recurrent layers on top of each other.

    Each layer above the bottom one reads a transformation (a
    :class:`~blocks.bricks.parallel.Fork` of `fork_prototype`) of the
    states of the layer below, added to its own external inputs when it
    has some (`skip_connections`).

    Parameters
    ----------
    transitions : list of :class:`~blocks.bricks.recurrent.BaseRecurrent`
        The layers, bottom first. Their names get the suffix ``#<level>``
        (``lstm#0``, ``lstm#1``...).
    fork_prototype : :class:`~blocks.bricks.Feedforward`, optional
        The transformation between layers; a
        :class:`~blocks.bricks.Linear` by default, with biases unless
        `skip_connections` (the external inputs are assumed to bring their
        own).
    states_name : str, optional
        The output of each layer that feeds the next (``'states'``).
    skip_connections : bool, optional
        Whether the layers above the bottom also take external inputs.

    Notes
    -----
    The names of the arguments and outputs of level ``l > 0`` get the
    suffix ``#l`` (:meth:`suffix`); those of the bottom level, the mask
    (shared by all layers) and the contexts (merged, shared too) do not.
    ``apply.sequences`` are the bottom layer's inputs, then (with skip
    connections) those of the other layers, then ``mask`` if the bottom
    layer takes one; ``apply.states`` and ``apply.outputs`` list all
    levels in order (for LSTMs: ``states, cells, states#1, cells#1...``).

    ``apply`` runs one scan per layer in turn; with ``low_memory=True``
    a single scan advances all the layers together, which keeps only one
    step of the intermediate layers' results at a time.

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> from blocks.bricks import Tanh
    >>> from blocks.bricks.recurrent import SimpleRecurrent
    >>> from blocks.compilation import compile_function
    >>> from blocks.initialization import Constant
    >>> stack = RecurrentStack(
    ...     [SimpleRecurrent(dim=3, activation=Tanh()) for _ in range(2)],
    ...     weights_init=Constant(0.1), biases_init=Constant(0))
    >>> stack.apply.states
    ['states', 'states#1']
    >>> stack.initialize()
    >>> x = pt.tensor3('x')
    >>> bottom, top = stack.apply(x)
    >>> compile_function([x], top)(numpy.ones((4, 2, 3))).shape
    (4, 2, 3)

    """
    def __init__(self, transitions, fork_prototype=None,
                 states_name='states', skip_connections=False, **kwargs):
        super().__init__(**kwargs)
        self.states_name = states_name
        self.skip_connections = skip_connections
        self.transitions = list(transitions)
        for level, transition in enumerate(self.transitions):
            transition.name += RECURRENTSTACK_SEPARATOR + str(level)
        if fork_prototype is None:
            fork_prototype = Linear(use_bias=not skip_connections)
        self.forks = [Fork(self.normal_inputs(level),
                           name='fork_{}'.format(level),
                           prototype=fork_prototype)
                      for level in range(1, len(self.transitions))]
        self.children = self.transitions + self.forks
        self.names = self._declared_names()

    # Names

    @staticmethod
    def suffix(name, level):
        """The name of `name` of layer `level` in the stack: unchanged
        for the mask and the bottom layer, else ``name#level``."""
        if name == 'mask' or level == 0:
            return name
        return name + RECURRENTSTACK_SEPARATOR + str(level)

    @staticmethod
    def suffixes(names, level):
        """:meth:`suffix` for several names, the mask left out."""
        return [RecurrentStack.suffix(name, level)
                for name in names if name != 'mask']

    @staticmethod
    def split_suffix(name):
        """The name in its layer and the level: ``('x', 2)`` for
        ``'x#2'``; a name without a numeric suffix is of level 0."""
        head, separator, tail = name.rpartition(RECURRENTSTACK_SEPARATOR)
        if separator and tail.isdigit():
            return head, int(tail)
        return name, 0

    def normal_inputs(self, level):
        """The sequences of layer `level` other than the mask."""
        return [name for name in self.transitions[level].apply.sequences
                if name != 'mask']

    def _declared_names(self):
        bottom = self.transitions[0].apply
        levels = range(len(self.transitions))
        sequences = self.suffixes(bottom.sequences, 0)
        if self.skip_connections:
            for level in levels[1:]:
                sequences += self.suffixes(
                    self.transitions[level].apply.sequences, level)
        if 'mask' in bottom.sequences:
            # last, because it is optional
            sequences.append('mask')
        contexts = []
        for transition in self.transitions:
            contexts += [name for name in transition.apply.contexts
                         if name not in contexts]
        return {
            'sequences': sequences,
            'states': sum((self.suffixes(self.transitions[level].apply.states,
                                         level) for level in levels), []),
            'outputs': sum((self.suffixes(
                self.transitions[level].apply.outputs, level)
                for level in levels), []),
            'contexts': contexts}

    # Configuration

    def _push_allocation_config(self):
        super()._push_allocation_config()
        # The forks' sizes come from the transitions' get_dim, which may
        # depend on their own configuration: push it first.
        for transition in self.transitions:
            transition.push_allocation_config()
        for level, fork in enumerate(self.forks):
            fork.input_dim = self.transitions[level].get_dim(self.states_name)
            fork.output_dims = self.transitions[level + 1].get_dims(
                fork.output_names)

    def get_dim(self, name):
        for transition in self.transitions:
            if name in transition.apply.contexts:
                return transition.get_dim(name)
        name, level = self.split_suffix(name)
        return self.transitions[level].get_dim(name)

    # Applications

    def _by_name(self, args, kwargs):
        """Name positional arguments after the sequences and contexts."""
        names = self.names['sequences'] + self.names['contexts']
        if len(args) > len(names):
            raise TypeError('{}: expected at most {} positional arguments '
                            '({}), got {}'.format(self.path, len(names),
                                                  ', '.join(names),
                                                  len(args)))
        kwargs = dict(kwargs)
        for name, value in zip(names, args):
            if name in kwargs:
                raise TypeError('{}: {} given twice'.format(self.path, name))
            kwargs[name] = value
        return kwargs

    def do_apply(self, *args, **kwargs):
        """Apply the layers one after the other (each a full loop, or one
        step with ``iterate=False``); returns all their outputs, level
        by level."""
        kwargs = self._by_name(args, kwargs)
        if kwargs.get('reverse', False):
            raise NotImplementedError(
                '{}: a stack cannot run in reverse (use low_memory=True)'
                .format(self.path))
        declared = set(self.names['sequences'] + self.names['states'] +
                       self.names['contexts'])
        controls = {name: value for name, value in kwargs.items()
                    if name not in declared}
        results = []
        below = None
        for level, transition in enumerate(self.transitions):
            layer_kwargs = self._layer_arguments(level, kwargs, below)
            layer_kwargs.update(controls)
            outputs = transition.apply(as_list=True, **layer_kwargs)
            results.extend(outputs)
            below = outputs[transition.apply.outputs.index(self.states_name)]
            if controls.get('return_initial_states', False):
                below = below[1:]
        return results

    def _layer_arguments(self, level, kwargs, below):
        transition = self.transitions[level]
        arguments = {}
        if level == 0 or self.skip_connections:
            for name in self.normal_inputs(level):
                arguments[name] = kwargs.get(self.suffix(name, level))
        if 'mask' in transition.apply.sequences:
            arguments['mask'] = kwargs.get('mask')
        for name in transition.apply.states:
            arguments[name] = kwargs.get(self.suffix(name, level))
        for name in transition.apply.contexts:
            arguments[name] = kwargs.get(name)
        if level > 0:
            forked = self.forks[level - 1].apply(below, as_list=True)
            for name, value in zip(self.normal_inputs(level), forked):
                external = arguments.get(name)
                arguments[name] = (value if external is None
                                   else external + value)
        return arguments

    @recurrent
    def low_memory_apply(self, **kwargs):
        # The loop is this application's; the layers make one step each.
        return self.do_apply(iterate=False, **kwargs)

    @low_memory_apply.property('sequences')
    def low_memory_apply_sequences(self):
        return self.names['sequences']

    @low_memory_apply.property('states')
    def low_memory_apply_states(self):
        return self.names['states']

    @low_memory_apply.property('contexts')
    def low_memory_apply_contexts(self):
        return self.names['contexts']

    @low_memory_apply.property('outputs')
    def low_memory_apply_outputs(self):
        return self.names['outputs']

    @application
    def apply(self, *args, low_memory=False, **kwargs):
        """Apply the stack.

        Parameters
        ----------
        \\*args
            In the order of ``apply.sequences`` then ``apply.contexts``.
        low_memory : bool, optional
            One loop for all the layers instead of one per layer.
        \\*\\*kwargs
            Arguments by name, and those of the recurrent applications
            (``iterate``, ``return_initial_states``, ``n_steps``...).

        """
        kwargs = self._by_name(args, kwargs)
        if low_memory:
            return self.low_memory_apply(as_list=True, **kwargs)
        return self.do_apply(**kwargs)

    @apply.property('sequences')
    def apply_sequences(self):
        return self.names['sequences']

    @apply.property('states')
    def apply_states(self):
        return self.names['states']

    @apply.property('contexts')
    def apply_contexts(self):
        return self.names['contexts']

    @apply.property('outputs')
    def apply_outputs(self):
        return self.names['outputs']

    @application
    def initial_states(self, batch_size, *args, **kwargs):
        """The initial states of every layer, level by level."""
        results = []
        for transition in self.transitions:
            results += transition.initial_states(batch_size, *args,
                                                 as_list=True, **kwargs)
        return results

    @initial_states.property('outputs')
    def initial_states_outputs(self):
        return self.names['states']

