"""Learning curves to PNG: plot_channels and the Plot extension."""
import struct

import numpy
import pytest

from blocks.extensions import FinishAfter, SimpleExtension
from blocks.extensions.plot import Plot, plot_channels, scalar_channels
from blocks.log import TrainingLog
from blocks.main_loop import MainLoop

from tests.training_helpers import CountingAlgorithm, counting_stream

pytest.importorskip('matplotlib')


def png_size(path):
    """(width, height) from the PNG's IHDR chunk."""
    with open(path, 'rb') as file_:
        header = file_.read(24)
    assert header[:8] == b'\x89PNG\r\n\x1a\n'
    return struct.unpack('>II', header[16:24])


def example_log():
    log = TrainingLog()
    for iteration in range(1, 7):
        log[iteration]['train_cost'] = numpy.float32(1.0 / iteration)
        log[iteration]['time_train_this_batch'] = 0.01
    for iteration in (3, 6):
        log[iteration]['test_cost'] = numpy.array(0.5 / iteration)
        log[iteration]['training_finish_requested'] = iteration == 6
    return log


def test_scalar_channels_leave_out_bookkeeping():
    assert scalar_channels(example_log()) == ['train_cost', 'test_cost']


def test_plot_channels_writes_a_png_of_the_size_asked(tmp_path):
    path = str(tmp_path / 'curves.png')
    plot_channels(example_log(), path, ['test_cost'], size=(640, 320))
    assert png_size(path) == (640, 320)


def test_missing_channels_are_named_with_those_the_log_has(tmp_path):
    with pytest.raises(ValueError, match=r'no numbers recorded as '
                       r'valid_cost; its channels are: train_cost, '
                       r'test_cost'):
        plot_channels(example_log(), str(tmp_path / 'x.png'),
                      ['train_cost', 'valid_cost'])
    with pytest.raises(ValueError, match='no numbers to plot'):
        plot_channels(TrainingLog(), str(tmp_path / 'x.png'))
    assert not (tmp_path / 'x.png').exists()


class LogCost(SimpleExtension):
    def __init__(self, **kwargs):
        kwargs.setdefault('after_batch', True)
        super().__init__(**kwargs)

    def do(self, which_callback, *args):
        iterations = self.main_loop.status['iterations_done']
        self.main_loop.log.current_row['train_cost'] = 1.0 / iterations


class Sizes(SimpleExtension):
    """Records the PNG's size after every epoch (runs after Plot)."""
    def __init__(self, path, **kwargs):
        kwargs.setdefault('after_epoch', True)
        super().__init__(**kwargs)
        self.path = path
        self.seen = []

    def do(self, which_callback, *args):
        self.seen.append(png_size(self.path))


def test_plot_extension_redraws_after_every_epoch(tmp_path):
    path = str(tmp_path / 'live.png')
    sizes = Sizes(path)
    MainLoop(CountingAlgorithm(), counting_stream(3),
             extensions=[LogCost(), Plot(path, size=(300, 200)), sizes,
                         FinishAfter(after_n_epochs=2)]).run()
    assert sizes.seen == [(300, 200), (300, 200)]
