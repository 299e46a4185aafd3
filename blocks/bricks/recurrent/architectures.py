"""The classic recurrent cells: a simple recurrent network, the LSTM and
the gated recurrent unit.

None of them has input weights or biases: the inputs given to ``apply``
are already projected (by a :class:`~blocks.bricks.Linear` or a
:class:`~blocks.bricks.parallel.Fork`, which carry the biases), so that
the projection of the whole sequence runs once, outside the loop. Each
cell has a trainable initial state (role INITIAL_STATE), zero at first.
"""
import numpy
import pytensor.tensor as pt

from blocks.bricks.base import application, lazy
from blocks.bricks.interfaces import Initializable
from blocks.bricks.recurrent.base import BaseRecurrent, apply_mask, recurrent
from blocks.bricks.simple import Logistic, Tanh
from blocks.roles import INITIAL_STATE, WEIGHT
from blocks.utils import floatx

__all__ = ['SimpleRecurrent', 'LSTMDimensions', 'LSTM', 'GatedRecurrent']


def _initial_state(brick, name):
    """A trainable initial state of `brick`, (dim,) and zero at first."""
    state = brick.add_parameter(name, (brick.dim,), INITIAL_STATE)
    state.set_value(floatx(numpy.zeros(brick.dim)))
    return state


def _repeat_for_batch(initial_state, batch_size, dim):
    """A (dim,) initial state as the (batch_size, dim) matrix of the first
    step; the gradient sums over the examples."""
    return pt.alloc(initial_state, batch_size, dim)


class SimpleRecurrent(BaseRecurrent, Initializable):
    r"""The simplest recurrent network, :math:`h_t = f(x_t + h_{t-1} W)`.

    Parameters
    ----------
    dim : int
        The dimension of the states (and of the inputs).
    activation : :class:`~blocks.bricks.Activation`
        The nonlinearity :math:`f`.

    Notes
    -----
    ``W`` is (dim, dim), role WEIGHT, filled by ``weights_init``;
    ``initial_state`` is (dim,), role INITIAL_STATE, zero at first.

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> from blocks.bricks import Identity
    >>> from blocks.compilation import compile_function
    >>> from blocks.initialization import Identity as IdentityInit
    >>> rnn = SimpleRecurrent(dim=3, activation=Identity(),
    ...                       weights_init=IdentityInit())
    >>> rnn.initialize()
    >>> x = pt.tensor3('x')
    >>> compile_function([x], rnn.apply(x))(numpy.ones((3, 1, 3)))[:, 0, 0]
    array([1., 2., 3.])

    """
    @lazy(allocation=['dim'])
    def __init__(self, dim, activation, **kwargs):
        children = [activation] + list(kwargs.pop('children', None) or [])
        super().__init__(children=children, **kwargs)
        self.dim = dim
        self.activation = activation

    @property
    def W(self):
        """The state-to-state weights, ``parameters[0]``."""
        return self.parameters[0]

    @property
    def initial_state(self):
        """The trainable initial state, ``parameters[1]``."""
        return self.parameters[1]

    def get_dim(self, name):
        if name == 'mask':
            return 0
        if name in ('inputs', 'states'):
            return self.dim
        return super().get_dim(name)

    def _allocate(self):
        self.add_parameter('W', (self.dim, self.dim), WEIGHT)
        _initial_state(self, 'initial_state')

    def _initialize(self):
        self.initialize_with(self.W, 'weights_init')

    @recurrent(sequences=['inputs', 'mask'], states=['states'],
               outputs=['states'], contexts=[])
    def apply(self, inputs, states, mask=None):
        """One step: the new states from the inputs (batch, dim), the
        previous states (batch, dim) and an optional mask (batch,)."""
        next_states = self.activation.apply(inputs + pt.dot(states, self.W))
        return apply_mask(next_states, states, mask)

    @application(outputs=apply.states)
    def initial_states(self, batch_size, *args, **kwargs):
        return _repeat_for_batch(self.initial_state, batch_size, self.dim)


class LSTMDimensions:
    """The dimensions of an LSTM-like brick of `dim` units: inputs of
    ``4 * dim`` features (one block per gate), states and cells of `dim`,
    and a mask without features."""
    def get_dim(self, name):
        if name == 'inputs':
            return 4 * self.dim
        if name in ('states', 'cells'):
            return self.dim
        if name == 'mask':
            return 0
        return super().get_dim(name)


class LSTM(LSTMDimensions, BaseRecurrent, Initializable):
    r"""Long short-term memory with peephole connections.

    With :math:`a = x_t + h_{t-1} W` split into four blocks of width
    `dim` (input gate, forget gate, cell candidate, output gate), gate
    activation :math:`g` and activation :math:`f`:

    .. math::

        i &= g(a_0 + c_{t-1} \odot w_{in}), \quad
        f_t = g(a_1 + c_{t-1} \odot w_{forget}) \\
        c_t &= f_t \odot c_{t-1} + i \odot f(a_2) \\
        o &= g(a_3 + c_t \odot w_{out}), \quad h_t = o \odot f(c_t)

    (the output gate's peephole reads the *new* cell).

    Parameters
    ----------
    dim : int
        The dimension of the states and cells; the inputs have ``4 * dim``
        features.
    activation : :class:`~blocks.bricks.Activation`, optional
        :class:`~blocks.bricks.Tanh` by default.
    gate_activation : :class:`~blocks.bricks.Activation`, optional
        :class:`~blocks.bricks.Logistic` by default.

    Notes
    -----
    Parameters, in order: ``W_state`` (dim, 4 dim) and the diagonal
    peepholes ``W_cell_to_in``, ``W_cell_to_forget``, ``W_cell_to_out``
    (dim,), all WEIGHT and all filled by ``weights_init`` (so a scheme for
    matrices only, such as Orthogonal, raises); ``initial_state`` and
    ``initial_cells`` (dim,), INITIAL_STATE, zero at first. ``apply``
    returns the states and the cells.

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> from blocks.compilation import compile_function
    >>> from blocks.initialization import Constant
    >>> lstm = LSTM(dim=2, weights_init=Constant(0.1))
    >>> lstm.initialize()
    >>> x = pt.tensor3('x')
    >>> states, cells = lstm.apply(x)
    >>> compile_function([x], states)(numpy.ones((5, 3, 8))).shape
    (5, 3, 2)

    """
    @lazy(allocation=['dim'])
    def __init__(self, dim, activation=None, gate_activation=None, **kwargs):
        self.dim = dim
        self.activation = Tanh() if activation is None else activation
        self.gate_activation = (Logistic() if gate_activation is None
                                else gate_activation)
        children = [self.activation, self.gate_activation] + list(
            kwargs.pop('children', None) or [])
        super().__init__(children=children, **kwargs)

    def _allocate(self):
        self.W_state = self.add_parameter('W_state', (self.dim, 4 * self.dim),
                                          WEIGHT)
        self.W_cell_to_in = self.add_parameter('W_cell_to_in', (self.dim,),
                                               WEIGHT)
        self.W_cell_to_forget = self.add_parameter('W_cell_to_forget',
                                                   (self.dim,), WEIGHT)
        self.W_cell_to_out = self.add_parameter('W_cell_to_out', (self.dim,),
                                                WEIGHT)
        # The trailing underscore keeps the name of the application
        # `initial_states` distinct, as in Blocks.
        self.initial_state_ = _initial_state(self, 'initial_state')
        self.initial_cells = _initial_state(self, 'initial_cells')

    def _initialize(self):
        for weights in self.parameters[:4]:
            self.initialize_with(weights, 'weights_init')

    @recurrent(sequences=['inputs', 'mask'], states=['states', 'cells'],
               outputs=['states', 'cells'], contexts=[])
    def apply(self, inputs, states, cells, mask=None):
        """One step from the inputs (batch, 4 dim), the previous states
        and cells (batch, dim) and an optional mask (batch,); returns the
        new states and cells."""
        def block(x, number):
            return x[:, number * self.dim:(number + 1) * self.dim]

        gate = self.gate_activation.apply
        activations = inputs + pt.dot(states, self.W_state)
        in_gate = gate(block(activations, 0) + cells * self.W_cell_to_in)
        forget_gate = gate(block(activations, 1) +
                           cells * self.W_cell_to_forget)
        next_cells = (forget_gate * cells +
                      in_gate * self.activation.apply(block(activations, 2)))
        out_gate = gate(block(activations, 3) +
                        next_cells * self.W_cell_to_out)
        next_states = out_gate * self.activation.apply(next_cells)
        return (apply_mask(next_states, states, mask),
                apply_mask(next_cells, cells, mask))

    @application(outputs=apply.states)
    def initial_states(self, batch_size, *args, **kwargs):
        return [_repeat_for_batch(self.initial_state_, batch_size,
                                  self.dim),
                _repeat_for_batch(self.initial_cells, batch_size,
                                  self.dim)]


class GatedRecurrent(BaseRecurrent, Initializable):
    r"""The gated recurrent unit (Cho et al., 2014).

    With update and reset gates
    :math:`[z \mid r] = g(h_{t-1} U_g + x^g_t)`:

    .. math::

        \tilde h &= f((r \odot h_{t-1}) U + x_t) \\
        h_t &= z \odot \tilde h + (1 - z) \odot h_{t-1}

    Parameters
    ----------
    dim : int
        The dimension of the states and of ``inputs``; ``gate_inputs``
        have ``2 * dim`` features (update gate first, then reset gate).
    activation : :class:`~blocks.bricks.Activation`, optional
        :class:`~blocks.bricks.Tanh` by default.
    gate_activation : :class:`~blocks.bricks.Activation`, optional
        :class:`~blocks.bricks.Logistic` by default.

    Notes
    -----
    ``state_to_state`` (dim, dim) and ``state_to_gates`` (dim, 2 dim) are
    WEIGHT; ``state_to_gates`` is initialized as two independent (dim,
    dim) draws of ``weights_init`` side by side (update block first), so
    that an orthogonal scheme makes each block orthogonal.
    ``initial_state`` (dim,) is INITIAL_STATE, zero at first. The mask
    comes first among the sequences, so a given mask decides the number
    of steps and examples.

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> from blocks.compilation import compile_function
    >>> from blocks.initialization import Orthogonal
    >>> gru = GatedRecurrent(dim=2, weights_init=Orthogonal())
    >>> gru.initialize()
    >>> x, gates = pt.tensor3('x'), pt.tensor3('gates')
    >>> step = compile_function([x, gates], gru.apply(x, gates))
    >>> step(numpy.ones((4, 1, 2)), numpy.ones((4, 1, 4))).shape
    (4, 1, 2)

    """
    @lazy(allocation=['dim'])
    def __init__(self, dim, activation=None, gate_activation=None, **kwargs):
        self.dim = dim
        self.activation = Tanh() if activation is None else activation
        self.gate_activation = (Logistic() if gate_activation is None
                                else gate_activation)
        children = [self.activation, self.gate_activation] + list(
            kwargs.pop('children', None) or [])
        super().__init__(children=children, **kwargs)

    @property
    def state_to_state(self):
        """The (dim, dim) weights of the candidate state."""
        return self.parameters[0]

    @property
    def state_to_gates(self):
        """The (dim, 2 dim) weights of the update and reset gates."""
        return self.parameters[1]

    @property
    def initial_state(self):
        """The trainable initial state, ``parameters[2]``."""
        return self.parameters[2]

    def get_dim(self, name):
        if name == 'mask':
            return 0
        if name == 'gate_inputs':
            return 2 * self.dim
        if name in ('states', 'inputs'):
            return self.dim
        return super().get_dim(name)

    def _allocate(self):
        self.add_parameter('state_to_state', (self.dim, self.dim), WEIGHT)
        self.add_parameter('state_to_gates', (self.dim, 2 * self.dim), WEIGHT)
        _initial_state(self, 'initial_state')

    def _initialize(self):
        # (raises if weights_init is not set)
        self.initialize_with(self.state_to_state, 'weights_init')
        blocks = [self.weights_init.generate(self.rng, (self.dim, self.dim))
                  for _ in range(2)]
        self.state_to_gates.set_value(floatx(numpy.hstack(blocks)))

    @recurrent(sequences=['mask', 'inputs', 'gate_inputs'],
               states=['states'], outputs=['states'], contexts=[])
    def apply(self, inputs, gate_inputs, states, mask=None):
        """One step from the inputs (batch, dim), the gate inputs (batch,
        2 dim), the previous states (batch, dim) and an optional mask
        (batch,)."""
        gates = self.gate_activation.apply(
            pt.dot(states, self.state_to_gates) + gate_inputs)
        update = gates[:, :self.dim]
        reset = gates[:, self.dim:]
        candidate = self.activation.apply(
            pt.dot(states * reset, self.state_to_state) + inputs)
        next_states = update * candidate + (1 - update) * states
        return apply_mask(next_states, states, mask)

    @application(outputs=apply.states)
    def initial_states(self, batch_size, *args, **kwargs):
        return _repeat_for_batch(self.initial_state, batch_size, self.dim)
