import pytensor.tensor as pt

from blocks.bricks import (MLP, BatchNormalizedMLP, Linear, Rectifier,
                           Softmax, Tanh)
from blocks.bricks.cost import CategoricalCrossEntropy
from blocks.bricks.recurrent import LSTM
from blocks.initialization import Constant
from blocks.model import Model

from examples.mnist_lenet import lenet


def _rows_of(summary, path):
    """The rows of one brick: its own, then its variables' (up to the next
    brick row)."""
    names = [row[0].strip() for row in summary.rows]
    start = names.index(path)
    rows = [summary.rows[start]]
    for row in summary.rows[start + 1:]:
        if row[0].strip().startswith('/'):
            break
        rows.append(row)
    return rows


def _init(**kwargs):
    return dict(weights_init=Constant(0.1), biases_init=Constant(0),
                **kwargs)


def test_mlp_summary_lists_bricks_variables_and_totals():
    dims = [4, 5, 3]
    mlp = MLP([Tanh(), Softmax()], dims, **_init())
    mlp.initialize()
    summary = mlp.summary()
    expected = sum(dims[i] * dims[i + 1] + dims[i + 1]
                   for i in range(len(dims) - 1))
    assert summary.parameter_count == expected
    assert summary.persistent_count == 0
    brick, weight, bias = _rows_of(summary, '/mlp/linear_1')
    assert brick[1:3] == ('Linear', '3')
    assert [cell.strip() for cell in weight] == ['W', '(5, 3)', 'WEIGHT',
                                                 '15']
    assert [cell.strip() for cell in bias] == ['b', '(3,)', 'BIAS', '3']
    assert summary.rows[0][:3] == ('/mlp', 'MLP', '3')
    text = str(summary)
    assert repr(summary) == text
    assert text.splitlines()[-1] == 'Total: {:,}'.format(expected)
    # Children are indented under their parent.
    assert text.splitlines()[3].startswith('  /mlp/linear_0')


def test_summary_of_an_unallocated_brick_says_so():
    summary = Linear(input_dim=3, output_dim=2).summary()
    assert summary.rows[1][0].strip() == '(not allocated)'
    assert summary.total_count == 0


def test_bn_mlp_summary_separates_population_statistics():
    dims = [4, 6, 2]
    mlp = BatchNormalizedMLP([Rectifier(), Softmax()], dims, **_init())
    mlp.initialize()
    summary = mlp.summary()
    # Linear layers without biases (BN shifts instead), scale and shift.
    parameters = sum(dims[i] * dims[i + 1] + 2 * dims[i + 1]
                     for i in range(len(dims) - 1))
    statistics = sum(2 * dim for dim in dims[1:])
    assert summary.parameter_count == parameters
    assert summary.persistent_count == statistics
    roles = [row[2] for row in summary.rows]
    assert roles.count('BATCH_NORM_POPULATION_MEAN') == 2
    assert roles.count('BATCH_NORM_POPULATION_STDEV') == 2


def test_lenet_summary_shows_feature_map_shapes():
    convolutions, dense = lenet(feature_maps=(2, 3), hidden=8)
    summary = convolutions.summary()
    conv, filters = _rows_of(summary, '/convolutions/conv_1')
    assert conv[1:3] == ('Convolutional', '(3, 8, 8)')
    assert filters[1:4] == ('(3, 2, 5, 5)', 'FILTER', '150')
    assert _rows_of(summary, '/convolutions/pool_1')[0][2] == '(3, 4, 4)'
    assert summary.rows[0][1:3] == ('ConvolutionalSequence', '(3, 4, 4)')
    assert summary.parameter_count == 2 * 25 + 2 * 2 + 3 * 2 * 25 + 2 * 3
    assert summary.persistent_count == 2 * (2 + 3)


def test_lstm_summary_names_every_output_dim():
    lstm = LSTM(dim=3, **_init())
    lstm.initialize()
    summary = lstm.summary()
    assert summary.rows[0] == ('/lstm', 'LSTM', 'states 3, cells 3', '')
    # Four gates' recurrent weights, three peepholes, two initial states.
    assert summary.parameter_count == 3 * 12 + 3 * 3 + 2 * 3


def test_model_summary_covers_every_top_brick_once():
    encoder = Linear(input_dim=4, output_dim=3, name='encoder', **_init())
    decoder = MLP([Softmax()], [3, 2], name='decoder', **_init())
    encoder.initialize()
    decoder.initialize()
    x, y = pt.matrix('x'), pt.lmatrix('y')
    probabilities = decoder.apply(encoder.apply(x))
    cost = CategoricalCrossEntropy().apply(y.flatten(), probabilities)
    summary = Model(cost).summary()
    tops = [row[0] for row in summary.rows if row[0].startswith('/')]
    assert sorted(tops) == ['/categoricalcrossentropy', '/decoder',
                            '/encoder']
    assert summary.parameter_count == (4 * 3 + 3) + (3 * 2 + 2)
