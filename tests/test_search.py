import itertools
import logging

import numpy
import pytensor
import pytensor.tensor as pt
import pytest

from blocks.compilation import compile_function
from blocks.bricks import Tanh
from blocks.bricks.attention import SequenceContentAttention
from blocks.bricks.recurrent import SimpleRecurrent
from blocks.bricks.sequence_generators import (LookupFeedback, Readout,
                                               SequenceGenerator,
                                               SoftmaxEmitter)
from blocks.filter import VariableFilter
from blocks.graph import ComputationGraph
from blocks.initialization import IsotropicGaussian
from blocks.search import BeamSearch

floatX = pytensor.config.floatX
VOCABULARY, EOL, T_A, ATTENDED = 3, 0, 3, 2


@pytest.fixture(scope='module')
def model():
    """A tiny attention generator, its generate graph and a function
    computing the cost matrix of given outputs."""
    transition = SimpleRecurrent(dim=3, activation=Tanh(),
                                 name='transition')
    attention = SequenceContentAttention(
        state_names=transition.apply.states, attended_dim=ATTENDED,
        match_dim=3, name='attention')
    readout = Readout(readout_dim=VOCABULARY,
                      source_names=['states', 'feedback',
                                    'weighted_averages'],
                      emitter=SoftmaxEmitter(theano_seed=1),
                      feedback_brick=LookupFeedback(VOCABULARY, 2),
                      name='readout')
    generator = SequenceGenerator(readout, transition, attention=attention,
                                  weights_init=IsotropicGaussian(1.),
                                  biases_init=IsotropicGaussian(1.),
                                  seed=4, name='generator')
    generator.initialize()
    attended, attended_mask = pt.tensor3('attended'), pt.matrix('amask')
    generated = generator.generate(
        n_steps=2 * attended.shape[0], batch_size=attended.shape[1],
        attended=attended, attended_mask=attended_mask)
    # Blocks' idiom: filter the graph itself.
    samples, = VariableFilter(applications=[generator.generate],
                              name='outputs')(ComputationGraph(generated))
    outputs, mask = pt.lmatrix('outputs'), pt.matrix('mask')
    with RewriteFailures() as failures:
        cost_matrix = compile_function(
            [outputs, mask, attended, attended_mask],
            generator.cost_matrix(outputs, mask, attended=attended,
                                  attended_mask=attended_mask))
    rng = numpy.random.RandomState(3)
    source = rng.randn(T_A, 1, ATTENDED).astype(floatX)
    return dict(generator=generator, samples=samples, attended=attended,
                attended_mask=attended_mask, cost_matrix=cost_matrix,
                source=source, beam_search=BeamSearch(samples),
                generated=generated, rewrite_failures=failures)


class RewriteFailures(logging.Handler):
    """Collects the rewrites PyTensor reports as failed while the block
    runs."""
    def __init__(self):
        super().__init__(logging.ERROR)
        self.messages = []
        self.logger = logging.getLogger('pytensor.graph.rewriting.basic')

    def emit(self, record):
        self.messages.append(record.getMessage())

    def __enter__(self):
        self.logger.addHandler(self)
        return self.messages

    def __exit__(self, *exc_info):
        self.logger.removeHandler(self)


def inputs_for(model, beam_size):
    return {model['attended']: numpy.repeat(model['source'], beam_size,
                                            axis=1),
            model['attended_mask']: numpy.ones((T_A, beam_size), floatX)}


def eol_mask(outputs, ignore_first_eol=False):
    """1 up to and including the first end-of-line symbol of each column
    (one at position 0 does not count with `ignore_first_eol`)."""
    ended = outputs == EOL
    if ignore_first_eol:
        ended[0] = False
    before = numpy.cumsum(ended, axis=0) - ended
    return (before == 0).astype(floatX)


def teacher_costs(model, outputs, mask):
    beam = outputs.shape[1]
    values = inputs_for(model, beam)
    return model['cost_matrix'](outputs, mask, values[model['attended']],
                                values[model['attended_mask']])


def exhaustive(model, max_length, ignore_first_eol=False):
    """Every distinct hypothesis of at most `max_length` outputs (trimmed
    after its end-of-line symbol) with its cost, cheapest first."""
    everything = numpy.array(list(itertools.product(
        range(VOCABULARY), repeat=max_length))).T
    mask = eol_mask(everything, ignore_first_eol)
    costs = teacher_costs(model, everything, mask).sum(axis=0)
    hypotheses = {}
    for column, length, cost in zip(everything.T, mask.sum(axis=0), costs):
        hypotheses[tuple(column[:int(length)])] = cost
    return sorted(hypotheses.items(), key=lambda item: item[1])


def finite(outputs, costs):
    return [(tuple(output), cost) for output, cost in zip(outputs, costs)
            if numpy.isfinite(cost)]


def test_the_filtered_graph_gives_the_outer_outputs_only(model):
    cg = ComputationGraph(model['generated'])
    wanted = VariableFilter(applications=[model['generator'].generate],
                            name='outputs')
    assert wanted(cg) == [model['samples']] == wanted(cg.variables)
    assert model['samples'].ndim == 2  # (time, batch)
    # The step's own outputs, on request.
    step_outputs = wanted(cg.scan_variables)
    assert step_outputs and all(var.ndim == 1 for var in step_outputs)
    assert model['samples'] not in step_outputs


def test_attention_steps_compile_without_rewrite_failures(model):
    # The steps never read their previous glimpses; see ScanInnerClients.
    assert model['rewrite_failures'] == []


@pytest.mark.parametrize('ignore_first_eol', [False, True])
def test_wide_beam_finds_every_hypothesis_in_order(model, ignore_first_eol):
    expected = exhaustive(model, 3, ignore_first_eol)
    outputs, costs = model['beam_search'].search(
        inputs_for(model, len(expected)), EOL, 3,
        ignore_first_eol=ignore_first_eol)
    found = finite(outputs, costs)
    assert [output for output, _ in found] == \
        [output for output, _ in expected]
    numpy.testing.assert_allclose([cost for _, cost in found],
                                  [cost for _, cost in expected],
                                  rtol=1e-5)
    for output, _ in found:
        assert output[-1] == EOL or len(output) == 3
        assert EOL not in output[int(ignore_first_eol):-1]


def test_narrow_beam_costs_are_those_of_the_cost_matrix(model):
    beam_size, max_length = 2, 5
    outputs, masks, costs = model['beam_search'].search(
        inputs_for(model, beam_size), EOL, max_length, as_arrays=True)
    assert outputs.shape == masks.shape == costs.shape
    assert outputs.shape[0] <= max_length and outputs.shape[1] == beam_size
    numpy.testing.assert_array_equal(masks, eol_mask(outputs))
    numpy.testing.assert_allclose(costs,
                                  teacher_costs(model, outputs, masks),
                                  rtol=1e-5, atol=1e-7)
    best = exhaustive(model, max_length)[0]
    lists, totals = model['beam_search'].search(
        inputs_for(model, beam_size), EOL, max_length)
    assert lists == [list(column[:int(mask.sum())])
                     for column, mask in zip(outputs.T, masks.T)]
    numpy.testing.assert_allclose(totals, costs.sum(axis=0), rtol=1e-6)
    assert totals == sorted(totals)
    assert totals[0] >= best[1] - 1e-6  # no better than the optimum


def test_search_stops_once_every_hypothesis_ended(model):
    bias = model['generator'].readout.post_merge.b
    original = bias.get_value()
    favour_eol = original.copy()
    favour_eol[EOL] += 20
    bias.set_value(favour_eol)
    try:
        outputs, masks, _ = model['beam_search'].search(
            inputs_for(model, 2), EOL, 10, as_arrays=True)
        # The best ends at once, the second after one more output.
        assert outputs.shape == (2, 2)
        assert outputs[0, 0] == EOL and outputs[1, 1] == EOL
        numpy.testing.assert_array_equal(masks, [[1, 1], [0, 1]])
        lists, _ = model['beam_search'].search(inputs_for(model, 2), EOL,
                                               10)
        assert lists[0] == [EOL] and len(lists[1]) == 2
    finally:
        bias.set_value(original)


def test_hypotheses_without_eol_stop_at_max_length(model):
    bias = model['generator'].readout.post_merge.b
    original = bias.get_value()
    avoid_eol = original.copy()
    avoid_eol[EOL] -= 30
    bias.set_value(avoid_eol)
    try:
        outputs, costs = model['beam_search'].search(
            inputs_for(model, 3), EOL, 4)
        assert [len(output) for output in outputs] == [4, 4, 4]
        assert all(EOL not in output for output in outputs)
    finally:
        bias.set_value(original)


def test_smallest():
    matrix = numpy.array([[3, 6, 4], [1, 2, 7]])
    (rows, columns), values = BeamSearch._smallest(matrix, 2)
    assert rows.tolist() == [1, 1] and columns.tolist() == [0, 1]
    assert values.tolist() == [1, 2]
    (rows, columns), values = BeamSearch._smallest(matrix, 2,
                                                   only_first_row=True)
    assert rows.tolist() == [0, 0] and columns.tolist() == [0, 2]
    _, values = BeamSearch._smallest(matrix, 10)
    assert values.tolist() == [1, 2, 3, 4, 6, 7]


def test_what_beam_search_refuses(model):
    with pytest.raises(ValueError, match='outputs of the generate '
                       'application'):
        BeamSearch(model['attended'] * 2)
    generated = model['generator'].generate(
        n_steps=3, batch_size=2, attended=model['attended'],
        attended_mask=model['attended_mask'])
    beam_search = BeamSearch(generated[1])
    with pytest.raises(ValueError, match='give it a symbolic one'):
        beam_search.compile()
    with pytest.raises(ValueError, match='values of the inputs'):
        model['beam_search'].search({}, EOL, 3)
