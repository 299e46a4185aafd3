"""ProgressBar, Printing, Timing, Timestamp, SharedVariableModifier and
the stopping extensions, on loops that need no compiled function."""
import io
import re

import numpy
import pytensor
import pytest

from blocks.extensions import (FinishAfter, Printing, ProgressBar,
                               SimpleExtension, Timestamp, Timing)
from blocks.extensions.predicates import OnLogRecord
from blocks.extensions.stopping import (EarlyStopping,
                                        FinishIfNoImprovementAfter)
from blocks.extensions.training import SharedVariableModifier, TrackTheBest
from blocks.main_loop import MainLoop

from tests.training_helpers import CountingAlgorithm, counting_stream


def run(extensions, num_batches=4, stream=None, **finish):
    finish = finish or dict(after_n_epochs=2)
    loop = MainLoop(CountingAlgorithm(),
                    stream or counting_stream(num_batches),
                    extensions=list(extensions) + [FinishAfter(**finish)])
    loop.run()
    return loop


class WriteRecords(SimpleExtension):
    """Writes the given values, one per epoch, under `name`."""
    def __init__(self, name, values, **kwargs):
        kwargs.setdefault('after_epoch', True)
        super().__init__(**kwargs)
        self.record = name
        self.values = list(values)

    def do(self, which_callback, *args):
        epoch = self.main_loop.status['epochs_done']
        self.main_loop.log.current_row[self.record] = self.values[epoch - 1]


def test_progress_bar_shows_counts_and_rate():
    output = io.StringIO()

    class Scheme:
        indices = range(10)
        batch_size = 3

    stream = counting_stream(4)
    stream.iteration_scheme = Scheme()
    run([ProgressBar(fd=output)], stream=stream)
    text = output.getvalue()
    assert 'Epoch 1, batch' in text and 'Epoch 2, batch' in text
    assert re.search(r'\b4 of 4\b', text)
    assert 'batches/s' in text


def test_progress_bar_counts_batches_through_transformers():
    from collections import OrderedDict
    from blocks.data import (DataStream, Flatten, IndexableDataset,
                             SequentialScheme)
    features = numpy.zeros((10, 2, 2))
    stream = Flatten(DataStream(
        IndexableDataset(OrderedDict(x=features)),
        iteration_scheme=SequentialScheme(10, 3)))
    bar = ProgressBar(fd=io.StringIO())
    MainLoop(CountingAlgorithm(), stream,
             extensions=[bar, FinishAfter(after_n_epochs=1)]).run()
    assert bar.get_iter_per_epoch() == 4
    assert '4 of 4' in bar.fd.getvalue()  # known from the first epoch


def test_progress_bar_without_known_length_uses_the_last_epoch():
    output = io.StringIO()
    bar = ProgressBar(fd=output)
    run([bar])
    assert bar.last_epoch_length == 4
    assert '4 of 4' in output.getvalue()  # the second epoch knew its length


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


class LogCost(SimpleExtension):
    """Logs ``train_cost`` = 1 / iterations after every batch and prints
    a line after the third."""
    def __init__(self, **kwargs):
        kwargs.setdefault('after_batch', True)
        super().__init__(**kwargs)

    def do(self, which_callback, *args):
        iterations = self.main_loop.status['iterations_done']
        self.main_loop.log.current_row['train_cost'] = 1.0 / iterations
        if iterations == 3:
            print('a line printed during the epoch')


def stream_of_known_length(num_batches, batch_size=2):
    class Scheme:
        indices = range(num_batches * batch_size)
    Scheme.batch_size = batch_size
    stream = counting_stream(num_batches)
    stream.iteration_scheme = Scheme()
    return stream


def test_progress_bar_off_a_terminal_prints_a_few_lines_per_epoch():
    output = io.StringIO()
    bar = ProgressBar(fd=output, channels=['train_cost'], lines_per_epoch=5)
    run([LogCost(), bar], stream=stream_of_known_length(25))
    lines = output.getvalue().splitlines()
    for epoch in (1, 2):
        of_epoch = [line for line in lines
                    if line.startswith('Epoch {},'.format(epoch))]
        # At most one line per fifth of the epoch, the first and the last.
        assert 5 <= len(of_epoch) <= 5 + 2
        assert '25 of 25' in of_epoch[-1]
        assert 'batches/s' in of_epoch[-1]
    # The last line shows the value logged after the last batch.
    assert 'train_cost {:.4g}'.format(1 / 50) in lines[-1]


def test_progress_bar_of_unknown_length_off_a_terminal_is_bounded():
    output = io.StringIO()
    run([ProgressBar(fd=output)], num_batches=64, after_n_epochs=1)
    lines = output.getvalue().splitlines()
    # Powers of two of 64 batches, the start and the finish.
    assert len(lines) <= 7 + 2
    assert lines[-1].startswith('Epoch 1, batch 64')


def test_progress_bar_in_a_terminal_keeps_to_one_line(capsys):
    terminal = FakeTerminal()
    bar = ProgressBar(fd=terminal, channels=['train_cost'])
    run([LogCost(), bar], stream=stream_of_known_length(6))
    drawn = terminal.getvalue()
    # One line per epoch, redrawn in place; what was printed meanwhile
    # went to standard output, on a line of its own.
    assert drawn.count('\n') == 2
    assert 'printed' not in drawn
    assert capsys.readouterr().out == 'a line printed during the epoch\n'
    assert 'train_cost' in drawn


def test_progress_bar_shows_the_algorithms_cost_by_default():
    output = io.StringIO()
    algorithm = CountingAlgorithm()
    algorithm.cost = pytensor.tensor.scalar('cost')
    loop = MainLoop(algorithm, stream_of_known_length(4),
                    extensions=[LogCost(), ProgressBar(fd=output),
                                FinishAfter(after_n_epochs=1)])
    loop.run()
    assert output.getvalue().splitlines()[-1].count('train_cost 0.25') == 1
    # Without a cost or channels, no value is shown.
    plain = io.StringIO()
    run([ProgressBar(fd=plain)], after_n_epochs=1)
    assert '---' not in plain.getvalue().splitlines()[-1]


def test_printing(capsys):
    run([Printing()], after_n_epochs=1)
    out = capsys.readouterr().out
    assert 'BEFORE FIRST EPOCH' in out
    assert 'AFTER ANOTHER EPOCH' in out
    assert 'TRAINING HAS BEEN FINISHED' in out
    assert 'iterations_done: 4' in out
    assert '_epoch_ends' not in out


@pytest.mark.parametrize('every, printed', [(1, [1, 2, 3, 4]), (2, [2, 4])])
def test_printing_every_n_epochs_prints_each_epoch_once(
        capsys, every, printed):
    run([Printing(every_n_epochs=every)], num_batches=2, after_n_epochs=4)
    out = capsys.readouterr().out
    epochs = [int(number) for number in
              re.findall(r'AFTER ANOTHER EPOCH.*?epochs_done: (\d+)', out,
                         flags=re.DOTALL)]
    assert epochs == printed
    assert out.count('BEFORE FIRST EPOCH') == 1


def test_timing_records():
    loop = run([Timing(after_batch=True)])
    assert loop.log[0]['time_initialization'] >= 0
    for iteration in (1, 4, 8):
        row = loop.log[iteration]
        assert row['time_train_this_batch'] >= 0
        assert row['time_read_data_this_batch'] >= 0
    epoch_row = loop.log[8]
    assert epoch_row['time_train_total'] >= epoch_row['time_train_this_epoch']
    assert epoch_row['time_train_total'] == loop.timings['train']


def test_timestamp():
    loop = run([Timestamp()], after_n_epochs=1)
    assert re.match(r'\d{4}-\d\d-\d\d \d\d:\d\d', loop.log[4]['timestamp'])
    assert 'timestamp' in loop.log[0]


def test_shared_variable_modifier():
    rate = pytensor.shared(numpy.float32(1.0), name='rate')
    halve = SharedVariableModifier(rate, lambda _, old: old / 2,
                                   after_batch=False, every_n_batches=2)
    counter = pytensor.shared(0, name='counter')
    count = SharedVariableModifier(counter, lambda iterations: iterations)
    run([halve, count])
    assert rate.get_value() == numpy.float32(1 / 16)
    assert rate.get_value().dtype == numpy.float32
    assert counter.get_value() == 8
    with pytest.raises(ValueError, match='1 or 2 arguments'):
        SharedVariableModifier(rate, lambda a, b, c: a)


def test_track_the_best_and_patience():
    values = [5.0, 3.0, 4.0, 2.0, 6.0, 7.0, 8.0, 9.0]
    tracker = TrackTheBest('valid_cost')
    stopper = FinishIfNoImprovementAfter('valid_cost_best_so_far', epochs=2)
    loop = run([WriteRecords('valid_cost', values), tracker, stopper],
               num_batches=1, after_n_epochs=20)
    # best at epochs 1, 2 and 4; none at 5 and 6: stop after 6
    assert loop.status['epochs_done'] == 6
    assert loop.status['best_valid_cost'] == 2.0
    notified = [i for i in range(1, 7)
                if loop.log[i].get('valid_cost_best_so_far')]
    assert notified == [1, 2, 4]
    patience = [loop.log[i]['valid_cost_best_so_far_patience_epochs']
                for i in range(1, 7)]
    assert patience == [2, 2, 1, 2, 1, 0]


def test_finish_if_no_improvement_needs_one_measure():
    with pytest.raises(ValueError, match='exactly one'):
        FinishIfNoImprovementAfter('x', iterations=2, epochs=2)


def test_early_stopping_with_checkpoint_condition():
    saved = []

    class FakeCheckpoint(SimpleExtension):
        def do(self, which_callback, *args):
            saved.append((self.main_loop.status['epochs_done'],) + args)

    checkpoint = FakeCheckpoint()
    stopping = EarlyStopping('accuracy', checkpoint_extension=checkpoint,
                             checkpoint_filename='best.tar',
                             choose_best=max, epochs=1)
    loop = run([WriteRecords('accuracy', [0.5, 0.7, 0.6, 0.9]), stopping,
                checkpoint], num_batches=1, after_n_epochs=10)
    assert loop.status['epochs_done'] == 3
    assert saved == [(1, 'best.tar'), (2, 'best.tar')]
    with pytest.raises(ValueError, match='checkpoint_filename'):
        EarlyStopping('accuracy', checkpoint_extension=checkpoint, epochs=1)


def test_on_log_record():
    loop = run([], after_n_epochs=1)
    assert OnLogRecord('training_finish_requested')(loop.log)
    assert not OnLogRecord('something_else')(loop.log)


def test_progress_bar_of_an_interrupted_epoch_keeps_its_count():
    import os
    import signal

    class Interrupt(SimpleExtension):
        def do(self, which_callback, *args):
            if self.main_loop.status['iterations_done'] == 3:
                os.kill(os.getpid(), signal.SIGINT)

    output = io.StringIO()
    bar = ProgressBar(fd=output)
    bar.last_epoch_length = 10
    run([bar, Interrupt(after_batch=True)], num_batches=10)
    text = output.getvalue()
    assert re.search(r'\b3 of 10\b', text)
    assert not re.search(r'\b10 of 10\b', text)


def test_early_stopping_runs_a_checkpoint_the_main_loop_lacks():
    saved = []

    class FakeCheckpoint(SimpleExtension):
        def do(self, which_callback, *args):
            saved.append((self.main_loop.status['epochs_done'],) + args)

    checkpoint = FakeCheckpoint()
    stopping = EarlyStopping('accuracy', checkpoint_extension=checkpoint,
                             checkpoint_filename='best.tar',
                             choose_best=max, epochs=1)
    loop = run([WriteRecords('accuracy', [0.5, 0.7, 0.6, 0.9]), stopping],
               num_batches=1, after_n_epochs=10)
    assert checkpoint in stopping.sub_extensions
    assert saved == [(1, 'best.tar'), (2, 'best.tar')]
    assert loop.status['epochs_done'] == 3


def test_callbacks_assigned_to_an_instance_run():
    from unittest import mock
    from blocks.extensions import TrainingExtension
    batches = []
    listener = TrainingExtension()
    listener.after_batch = batches.append
    simple = SimpleExtension(after_epoch=True)
    simple.do = mock.Mock()  # as Blocks' tests replace do
    loop = run([listener, simple], num_batches=3, after_n_epochs=1)
    assert len(batches) == 3
    simple.do.assert_called_once_with('after_epoch')
    assert loop.status['epochs_done'] == 1


def test_add_condition_before_first_epoch_and_lists_only():
    calls = []

    class Record(SimpleExtension):
        def do(self, which_callback, *args):
            calls.append((which_callback, self.main_loop.status['epochs_done'])
                         + args)

    record = Record().add_condition(['before_first_epoch'], arguments=('x',))
    run([record], num_batches=2, after_n_epochs=2)
    assert calls == [('before_epoch', 0, 'x')]
    with pytest.raises(ValueError, match='list of callback names'):
        Record().add_condition('after_epoch')
