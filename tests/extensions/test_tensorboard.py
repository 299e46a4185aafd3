"""The TensorBoard extension, checked by reading its event files back."""
import pathlib
import pickle
import struct

import numpy
import pytensor.tensor as pt
import pytest

from blocks.algorithms import GradientDescent, Scale
from blocks.bricks import BatchNormalization, Linear
from blocks.extensions import FinishAfter
from blocks.extensions.monitoring import TrainingDataMonitoring
from blocks.extensions.tensorboard import TensorBoard
from blocks.initialization import Constant
from blocks.main_loop import MainLoop
from blocks.model import Model

from tests.training_helpers import regression_stream

event_pb2 = pytest.importorskip('tensorboardX.proto.event_pb2')


def read_events(log_dir):
    """Every Event of the TFRecord files in `log_dir`: each record is its
    length (8 bytes), a checksum of it (4), the data, a checksum (4)."""
    events = []
    for path in sorted(pathlib.Path(log_dir).glob('events.out.tfevents.*')):
        data = path.read_bytes()
        position = 0
        while position < len(data):
            length, = struct.unpack('<Q', data[position:position + 8])
            start = position + 12
            events.append(event_pb2.Event.FromString(
                data[start:start + length]))
            position = start + length + 4
    return events


def scalars(events):
    """{tag: [(step, value), ...]}"""
    found = {}
    for event in events:
        for value in event.summary.value:
            if value.HasField('simple_value'):
                found.setdefault(value.tag, []).append(
                    (event.step, value.simple_value))
    return found


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp('tensorboard')
    x, y = pt.matrix('features'), pt.matrix('targets')
    linear = Linear(input_dim=3, output_dim=1, weights_init=Constant(0),
                    biases_init=Constant(0))
    normalization = BatchNormalization(input_dim=1)
    linear.initialize()
    normalization.initialize()
    cost = pt.sqr(normalization.apply(linear.apply(x)) - y).mean()
    cost.name = 'cost'
    algorithm = GradientDescent(cost=cost, parameters=linear.parameters,
                                step_rule=Scale(0.01))
    board = TensorBoard(str(tmp_path / 'runs'), histograms=True)
    loop = MainLoop(algorithm, regression_stream(num_examples=16,
                                                 batch_size=8),
                    model=Model(cost),
                    extensions=[TrainingDataMonitoring([cost], prefix='train',
                                                       after_batch=True),
                                FinishAfter(after_n_epochs=2), board])
    loop.run()
    return loop, board


def test_every_logged_scalar_is_written_once_per_step(trained):
    loop, board = trained
    found = scalars(read_events(board.log_dir))
    logged = [(iteration, float(row['train_cost']))
              for iteration, row in sorted(loop.log.items())
              if 'train_cost' in row]
    assert len(logged) == 4
    steps = [step for step, _ in found['train_cost']]
    assert steps == [iteration for iteration, _ in logged]
    numpy.testing.assert_allclose(
        [value for _, value in found['train_cost']],
        [value for _, value in logged], rtol=1e-6)
    # Status-like numbers of the rows too, each once per step.
    assert [step for step, _ in found['training_finish_requested']] == [4]


def test_histograms_of_parameters_and_population_statistics(trained):
    loop, board = trained
    tags = {(value.tag, event.step) for event in read_events(board.log_dir)
            for value in event.summary.value if value.HasField('histo')}
    for path in ('linear.W', 'linear.b',
                 'batchnormalization.population_mean',
                 'batchnormalization.population_stdev'):
        assert {('parameters/' + path, 2), ('parameters/' + path, 4)} <= tags
    histogram = [value.histo for event in read_events(board.log_dir)
                 for value in event.summary.value
                 if value.tag == 'parameters/linear.W' and event.step == 4][0]
    weights = loop.model.get_parameter_dict()['/linear.W'].get_value()
    assert histogram.num == weights.size
    assert histogram.sum == pytest.approx(float(weights.sum()), rel=1e-5)


def test_a_pickled_board_reopens_its_directory(trained):
    _, board = trained
    copy = pickle.loads(pickle.dumps(board))
    assert copy.writer is None and copy.log_dir == board.log_dir
