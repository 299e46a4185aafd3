"""Beam search over the outputs of a sequence generator.

:class:`BeamSearch` takes the ``outputs`` of a
:meth:`~blocks.bricks.sequence_generators.BaseSequenceGenerator.generate`
call and finds in its graph, by brick, application, role and name, what
one step of generation needs: the initial states and the contexts
computed from the inputs, the probabilities of the next symbol, and the
next states once a symbol is chosen. It then keeps, step after step, the
`beam_size` most likely continuations.
"""
from collections import OrderedDict

import numpy
import pytensor
import pytensor.tensor as pt

from blocks.bricks.sequence_generators import BaseSequenceGenerator
from blocks.compilation import compile_function
from blocks.filter import (VariableFilter, get_application_call,
                           get_brick)
from blocks.graph import ComputationGraph
from blocks.roles import INPUT, OUTPUT
from blocks.utils import unpack

__all__ = ['BeamSearch']


class BeamSearch:
    """Approximate search of the most likely outputs of a generator.

    Parameters
    ----------
    samples : tensor variable
        The ``outputs`` of a ``generate`` call of a
        :class:`~blocks.bricks.sequence_generators.BaseSequenceGenerator`
        (``VariableFilter(applications=[generator.generate],
        name='outputs')(ComputationGraph(generated))``). The call must get
        its batch size as a symbolic scalar (``x.shape[1]``, say): that
        scalar becomes the beam size.

    Notes
    -----
    The emitter of the generator's readout must have a ``probs``
    application (as :class:`~blocks.bricks.sequence_generators.SoftmaxEmitter`
    has). Costs are negative log-likelihoods, summed over the outputs
    (the end-of-line symbol included), without length normalization.

    Examples
    --------
    With a generator ``generator`` attending to the encoding of ``chars``::

        generated = generator.generate(n_steps=3 * chars.shape[0],
                                       batch_size=chars.shape[1],
                                       attended=..., attended_mask=...)
        samples, = VariableFilter(applications=[generator.generate],
                                  name='outputs')(
                                      ComputationGraph(generated))
        beam_search = BeamSearch(samples)
        outputs, costs = beam_search.search(
            {chars: numpy.repeat(encoded[:, None], 10, axis=1)},
            eol_symbol, max_length=30)

    """
    def __init__(self, samples):
        self.cg = ComputationGraph(samples)
        self.inputs = self.cg.inputs
        self.generator = get_brick(samples)
        self.generate_call = get_application_call(samples)
        if not isinstance(self.generator, BaseSequenceGenerator) or \
                self.generate_call is None or \
                self.generate_call.application.application is not \
                BaseSequenceGenerator.generate:
            raise ValueError(
                'BeamSearch needs the outputs of the generate application of '
                'a sequence generator, got {!r} (made by {})'.format(
                    samples, self.generate_call.application
                    if self.generate_call is not None else 'no brick'))
        inner_outputs = getattr(self.generate_call, 'inner_outputs', None)
        if not inner_outputs:
            raise ValueError('BeamSearch: the generate call of {} kept no '
                             'step graph (inner_outputs); call generate '
                             'with iterate=True'.format(self.generator.path))
        self.inner_cg = ComputationGraph(inner_outputs)
        self.context_names = list(self.generator.generate.contexts)
        self.state_names = list(self.generator.generate.states)
        self.contexts = [self._inner_input(name, required=True)
                         for name in self.context_names]
        # Only the states the step actually reads.
        self.input_state_names = []
        self.input_states = []
        for name in self.state_names:
            state = self._inner_input(name, required=False)
            if state is not None:
                self.input_state_names.append(name)
                self.input_states.append(state)
        self.compiled = False

    def _inner_input(self, name, required):
        found = VariableFilter(bricks=[self.generator], name=name,
                               roles=[INPUT])(self.inner_cg)
        if not found and required:
            raise ValueError(
                'BeamSearch: the step of {} does not use its context {!r}; '
                'give generate only the contexts it uses'.format(
                    self.generator.path, name))
        return found[0] if found else None

    def _compile_initial_state_and_context_computer(self):
        initial_states = VariableFilter(
            applications=[self.generator.initial_states],
            roles=[OUTPUT])(self.cg)
        outputs = OrderedDict((var.tag.name, var) for var in initial_states)
        for name, context in zip(self.context_names, self.contexts):
            outputs[name] = context
        beam_size = VariableFilter(
            applications=[self.generator.initial_states],
            name='batch_size')(self.cg)
        if not beam_size:
            raise ValueError(
                'BeamSearch: generate of {} was given a constant batch_size; '
                'give it a symbolic one (e.g. x.shape[1]), which becomes '
                'the beam size'.format(self.generator.path))
        outputs['beam_size'] = unpack(beam_size)
        self._output_names = list(outputs)
        self.initial_state_and_context_computer = compile_function(
            self.inputs, list(outputs.values()), on_unused_input='ignore')

    def _compile_next_state_computer(self):
        next_states = [VariableFilter(bricks=[self.generator], name=name,
                                      roles=[OUTPUT])(self.inner_cg)[-1]
                       for name in self.state_names]
        next_outputs = VariableFilter(
            applications=[self.generator.readout.emit],
            roles=[OUTPUT])(self.inner_cg)
        self.next_state_computer = compile_function(
            self.contexts + self.input_states + next_outputs, next_states,
            on_unused_input='ignore')

    def _compile_logprobs_computer(self):
        emitter = self.generator.readout.emitter
        if not hasattr(emitter, 'probs'):
            raise ValueError('BeamSearch: the emitter {} has no probs '
                             'application'.format(emitter.path))
        # All OUTPUTs of probs compute the same thing; any will do.
        probs = VariableFilter(applications=[emitter.probs],
                               roles=[OUTPUT])(self.inner_cg)[0]
        self.logprobs_computer = compile_function(
            self.contexts + self.input_states, -pt.log(probs),
            on_unused_input='ignore')

    def compile(self):
        """Compile the three functions the search calls (the first
        :meth:`search` does it if needed)."""
        self._compile_initial_state_and_context_computer()
        self._compile_next_state_computer()
        self._compile_logprobs_computer()
        self.compiled = True

    def compute_initial_states_and_contexts(self, inputs):
        """The contexts, the initial states and the beam size.

        Parameters
        ----------
        inputs : dict
            Maps the input variables of the generate graph to values.

        Returns
        -------
        contexts, states : OrderedDict
            By name.
        beam_size : int

        """
        missing = [var for var in self.inputs if var not in inputs]
        if missing:
            raise ValueError('BeamSearch: values of the inputs {} are '
                             'missing'.format(missing))
        values = dict(zip(self._output_names,
                          self.initial_state_and_context_computer(
                              *[inputs[var] for var in self.inputs])))
        contexts = OrderedDict((name, values.pop(name))
                               for name in self.context_names)
        beam_size = int(values.pop('beam_size'))
        return contexts, OrderedDict(values), beam_size

    def compute_logprobs(self, contexts, states):
        """Minus the log-probabilities of the next symbol, (beam,
        vocabulary)."""
        return self.logprobs_computer(
            *(list(contexts.values()) +
              [states[name] for name in self.input_state_names]))

    def compute_next_states(self, contexts, states, outputs):
        """The states after emitting `outputs`, by name."""
        values = self.next_state_computer(
            *(list(contexts.values()) +
              [states[name] for name in self.input_state_names] +
              [outputs]))
        return OrderedDict(zip(self.state_names, values))

    @staticmethod
    def _smallest(matrix, k, only_first_row=False):
        """The `k` smallest entries of `matrix`, in ascending order.

        Returns
        -------
        (rows, columns), values
            Their positions and values; fewer than `k` when the matrix
            (or its first row) has fewer entries.

        """
        candidates = (matrix[:1] if only_first_row else matrix).flatten()
        k = min(k, len(candidates))
        if k < len(candidates):
            chosen = numpy.argpartition(candidates, k - 1)[:k]
        else:
            chosen = numpy.arange(len(candidates))
        chosen = chosen[numpy.argsort(candidates[chosen], kind='stable')]
        return numpy.unravel_index(chosen, matrix.shape), candidates[chosen]

    @staticmethod
    def _fill(beam_size, eol_symbol, indices, outputs, costs):
        """Complete a selection to `beam_size` with hypotheses that emit
        `eol_symbol` at an infinite cost."""
        missing = beam_size - len(outputs)
        return (numpy.concatenate([indices, numpy.zeros(missing, int)]),
                numpy.concatenate([outputs,
                                   numpy.full(missing, eol_symbol)]),
                numpy.concatenate([costs, numpy.full(missing, numpy.inf)]))

    def search(self, input_values, eol_symbol, max_length,
               ignore_first_eol=False, as_arrays=False):
        """Search the most likely outputs.

        Parameters
        ----------
        input_values : dict
            Maps the inputs of the generate graph to values, already
            repeated `beam size` times along the batch axis.
        eol_symbol : int
            The end-of-line symbol; a hypothesis that emits it is finished
            and goes on emitting it at no cost.
        max_length : int
            The largest number of steps.
        ignore_first_eol : bool, optional
            Do not finish hypotheses that emit `eol_symbol` at the first
            step.
        as_arrays : bool, optional
            Return arrays instead of lists.

        Returns
        -------
        outputs : list of lists of int, or array (length, beam)
            The hypotheses, most likely first; as lists, trimmed after
            their end-of-line symbol (hypotheses without one have
            `max_length` outputs).
        masks : array (length, beam)
            Only with `as_arrays`: 1 up to and including the end-of-line
            symbol.
        costs : list of float, or array (length, beam)
            The negative log-likelihood of each hypothesis; as an array,
            that of each output. With fewer possible hypotheses than the
            beam size (a tiny vocabulary, say), the rest cost infinity.

        """
        if not self.compiled:
            self.compile()
        contexts, states, beam_size = \
            self.compute_initial_states_and_contexts(input_values)
        floatx = pytensor.config.floatX
        all_outputs = states['outputs'][None, :]
        all_masks = numpy.ones(all_outputs.shape, dtype=floatx)
        all_costs = numpy.zeros(all_outputs.shape, dtype=floatx)
        for step in range(max_length):
            if all_masks[-1].sum() == 0:
                break
            logprobs = self.compute_logprobs(contexts, states)
            next_costs = (all_costs[-1, :, None] +
                          logprobs * all_masks[-1, :, None])
            # Finished hypotheses can only go on with eol, at no cost.
            finished = all_masks[-1] == 0
            next_costs[finished, :eol_symbol] = numpy.inf
            next_costs[finished, eol_symbol + 1:] = numpy.inf
            # At the first step all the rows are the same hypothesis.
            (indices, outputs), chosen_costs = self._smallest(
                next_costs, beam_size, only_first_row=step == 0)
            if len(outputs) < beam_size:
                # A vocabulary smaller than the beam: the contexts keep
                # beam_size rows, so impossible hypotheses fill the rest.
                indices, outputs, chosen_costs = self._fill(
                    beam_size, eol_symbol, indices, outputs, chosen_costs)
            states = OrderedDict((name, value[indices])
                                 for name, value in states.items())
            all_outputs = all_outputs[:, indices]
            all_masks = all_masks[:, indices]
            all_costs = all_costs[:, indices]
            outputs = outputs.astype(all_outputs.dtype)
            states.update(self.compute_next_states(contexts, states,
                                                   outputs))
            mask = outputs != eol_symbol
            if ignore_first_eol and step == 0:
                mask[:] = True
            all_outputs = numpy.vstack([all_outputs, outputs[None, :]])
            all_costs = numpy.vstack([all_costs, chosen_costs[None, :]])
            all_masks = numpy.vstack([all_masks,
                                      mask[None, :].astype(floatx)])
        with numpy.errstate(invalid='ignore'):
            increments = all_costs[1:] - all_costs[:-1]
        # An impossible hypothesis costs infinity once, not inf - inf.
        increments[numpy.isnan(increments)] = 0
        result = (all_outputs[1:], all_masks[:-1], increments)
        if as_arrays:
            return result
        return self.result_to_lists(result)

    @staticmethod
    def result_to_lists(result):
        """Turn the arrays of :meth:`search` into lists of outputs trimmed
        by their masks, and total costs."""
        outputs, masks, costs = result
        lists = [[int(symbol) for symbol in column[:int(mask.sum())]]
                 for column, mask in zip(outputs.T, masks.T)]
        return lists, [float(total) for total in costs.sum(axis=0)]
