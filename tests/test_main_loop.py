import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time

import numpy
import pytensor.tensor as pt
import pytest

from blocks.algorithms import Adam, GradientDescent
from blocks.bricks import Linear
from blocks.extensions import (CompositeExtension, FinishAfter,
                               SimpleExtension, TrainingExtension)
from blocks.extensions.monitoring import (DataStreamMonitoring,
                                          TrainingDataMonitoring)
from blocks.extensions.saveload import Checkpoint
from blocks.main_loop import MainLoop
from blocks.model import Model
from blocks.monitoring.aggregation import mean
from blocks.serialization import load, load_parameters

from tests.training_helpers import (CountingAlgorithm, ListStream,
                                    counting_stream, regression_model,
                                    regression_stream)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Recorder(SimpleExtension):
    """Records (callback, iterations_done, epochs_done, user args)."""
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.calls = []

    def do(self, which_callback, *args):
        _, from_user = self.parse_args(which_callback, args)
        status = self.main_loop.status
        self.calls.append((which_callback, status['iterations_done'],
                           status['epochs_done']) + tuple(from_user))


def run_counting(extensions, num_batches=3, epochs=2, **kwargs):
    loop = MainLoop(CountingAlgorithm(**kwargs), counting_stream(num_batches),
                    extensions=list(extensions)
                    + [FinishAfter(after_n_epochs=epochs)])
    loop.run()
    return loop


def test_counters_and_epoch_ends():
    loop = run_counting([], num_batches=3, epochs=2)
    assert loop.status['iterations_done'] == 6
    assert loop.status['epochs_done'] == 2
    assert loop.status['_epoch_ends'] == [3, 6]
    assert loop.algorithm.initialized == 1
    assert loop.log.current_row['training_finished']


@pytest.mark.parametrize('triggers, expected', [
    (dict(every_n_batches=2), [('after_batch', 2, 0), ('after_batch', 4, 1),
                               ('after_batch', 6, 1)]),
    (dict(after_n_batches=4), [('after_batch', 4, 1)]),
    (dict(every_n_epochs=2), [('after_epoch', 6, 2)]),
    (dict(after_n_epochs=1), [('after_epoch', 3, 1)]),
    (dict(before_first_epoch=True), [('before_epoch', 0, 0)]),
    (dict(before_epoch=True), [('before_epoch', 0, 0),
                               ('before_epoch', 3, 1)]),
    (dict(before_training=True, after_training=True),
     [('before_training', 0, 0), ('after_training', 6, 2)]),
    (dict(after_epoch=True, after_batch=False),
     [('after_epoch', 3, 1), ('after_epoch', 6, 2)]),
])
def test_triggers(triggers, expected):
    recorder = Recorder(**triggers)
    run_counting([recorder])
    assert recorder.calls == expected


def test_before_batch_and_after_batch_receive_the_batch():
    seen = []

    class Watch(SimpleExtension):
        def do(self, which_callback, *args):
            batch, = self.parse_args(which_callback, args)[0]
            seen.append((which_callback, int(batch['x'][0])))

    run_counting([Watch(before_batch=True, after_batch=True)], epochs=1)
    assert seen == [('before_batch', 0), ('after_batch', 0),
                    ('before_batch', 1), ('after_batch', 1),
                    ('before_batch', 2), ('after_batch', 2)]


def test_add_condition_with_predicate_and_arguments():
    recorder = Recorder()
    recorder.add_condition(
        ['after_batch'],
        predicate=lambda log: log.status['iterations_done'] == 2,
        arguments=('extra',))
    run_counting([recorder])
    assert recorder.calls == [('after_batch', 2, 0, 'extra')]


def test_set_conditions_replaces_and_takes_effect_during_training():
    class Switcher(SimpleExtension):
        def do(self, which_callback, *args):
            self.main_loop.find_extension('Recorder').set_conditions(
                after_batch=True)

    recorder = Recorder(after_epoch=True)
    run_counting([Switcher(after_n_batches=4), recorder])
    # after_epoch was replaced at batch 4; batches 5 and 6 are recorded
    assert recorder.calls == [('after_epoch', 3, 1), ('after_batch', 5, 1),
                              ('after_batch', 6, 1)]


def test_unknown_trigger_raises():
    with pytest.raises(TypeError, match='every_n_batch'):
        Recorder(every_n_batch=3)
    with pytest.raises(ValueError, match='positive'):
        Recorder(every_n_batches=0.5)


def test_finish_after_batches_stops_mid_epoch():
    loop = MainLoop(CountingAlgorithm(), counting_stream(5),
                    extensions=[FinishAfter(after_n_batches=7)])
    loop.run()
    assert loop.status['iterations_done'] == 7
    assert loop.status['epochs_done'] == 1


def test_training_extension_callbacks_and_composite():
    class Everything(TrainingExtension):
        def __init__(self):
            super().__init__()
            self.calls = []

        def before_training(self):
            self.calls.append('before_training')

        def before_epoch(self):
            self.calls.append('before_epoch')

        def after_epoch(self):
            self.calls.append('after_epoch')

        def after_training(self):
            self.calls.append('after_training')

    inner = Everything()
    other = Recorder(after_n_batches=1)
    composite = CompositeExtension([inner, other], after_training=True)
    assert composite.wanted_callbacks() == {
        'before_training', 'before_epoch', 'after_epoch', 'after_training',
        'after_batch'}
    loop = run_counting([composite], epochs=1)
    assert inner.calls == ['before_training', 'before_epoch', 'after_epoch',
                           'after_training']
    assert other.calls == [('after_batch', 1, 0)]
    assert inner.main_loop is loop


def test_find_extension():
    loop = run_counting([Recorder(name='a'), Recorder(name='a')], epochs=1)
    assert loop.find_extension('FinishAfter').name == 'FinishAfter'
    with pytest.raises(ValueError, match="2 extensions are named 'a'"):
        loop.find_extension('a')
    with pytest.raises(ValueError, match='0 extensions'):
        loop.find_extension('missing')


def test_error_in_extension_runs_on_error_then_reraises():
    class Boom(SimpleExtension):
        def do(self, which_callback, *args):
            raise KeyError('boom')

    errors = Recorder(on_error=True)
    loop = MainLoop(CountingAlgorithm(), counting_stream(),
                    extensions=[Boom(after_n_batches=2), errors])
    with pytest.raises(KeyError, match='boom'):
        loop.run()
    assert errors.calls == [('on_error', 2, 0)]
    assert 'KeyError' in loop.log.current_row['got_exception']


def test_error_in_algorithm_reaches_on_error():
    errors = Recorder(on_error=True)
    with pytest.raises(RuntimeError, match='failing on purpose'):
        run_counting([errors], fail_at=1)
    assert errors.calls == [('on_error', 1, 0)]


def test_empty_epoch_raises():
    loop = MainLoop(CountingAlgorithm(), ListStream([]),
                    extensions=[FinishAfter(after_n_epochs=1)])
    with pytest.raises(ValueError, match='gave no batches'):
        loop.run()


def test_model_property_without_model():
    loop = MainLoop(CountingAlgorithm(), counting_stream())
    with pytest.raises(AttributeError, match='no model'):
        loop.model


def test_resumption_in_process_runs_on_resumption():
    recorder = Recorder(on_resumption=True, before_training=True)
    loop = run_counting([recorder], epochs=1)
    loop.find_extension('FinishAfter').set_conditions(after_n_epochs=2)
    uuid = loop.log.h_uuid
    loop.run()
    assert loop.status['epochs_done'] == 2
    assert loop.log.status['resumed_from'] == uuid
    assert recorder.calls == [('before_training', 0, 0),
                              ('on_resumption', 3, 1)]
    assert loop.algorithm.initialized == 1


# Training a real model: exact resumption across processes

IGNORED_RECORDS = {'training_finish_requested', 'training_finished',
                   'saved_to'}


def build_regression_loop(epochs, checkpoint_path):
    cost, parameters, _, _ = regression_model()
    algorithm = GradientDescent(cost=cost, parameters=parameters,
                                step_rule=Adam(0.05))
    mean_cost = mean(cost)
    mean_cost.name = 'mean_cost'
    extensions = [
        TrainingDataMonitoring([cost, algorithm.total_gradient_norm],
                               prefix='train', after_batch=True),
        TrainingDataMonitoring([mean_cost], prefix='epoch',
                               after_epoch=True),
        DataStreamMonitoring([cost], regression_stream(16, 8, seed=5),
                             prefix='valid'),
        FinishAfter(after_n_epochs=epochs),
        Checkpoint(checkpoint_path),
    ]
    return MainLoop(algorithm, regression_stream(), model=Model(cost),
                    extensions=extensions)


def comparable_log(records):
    return [{key: value for key, value in record.items()
             if key not in IGNORED_RECORDS}
            for record in records]


RESUME_SCRIPT = textwrap.dedent("""
    import pickle, sys
    from blocks.serialization import load
    loop = load(sys.argv[1])
    loop.find_extension('FinishAfter').set_conditions(after_n_epochs=2)
    loop.find_extension('Checkpoint').path = sys.argv[2]
    loop.run()
    with open(sys.argv[3], 'wb') as file_:
        pickle.dump({'parameters': [p.get_value()
                                    for p in loop.algorithm.parameters],
                     'records': loop.log.to_records(),
                     'status': dict(loop.status)}, file_)
""")


def test_resume_in_a_fresh_process_is_exact(tmp_path):
    straight = build_regression_loop(2, str(tmp_path / 'straight.tar'))
    straight.run()

    first_half = build_regression_loop(1, str(tmp_path / 'half.tar'))
    first_half.run()
    assert first_half.status['epochs_done'] == 1
    assert set(load_parameters(str(tmp_path / 'half.tar'))) == {'W', 'b'}

    script = tmp_path / 'resume.py'
    script.write_text(RESUME_SCRIPT)
    result_path = tmp_path / 'result.pkl'
    subprocess.run(
        [sys.executable, str(script), str(tmp_path / 'half.tar'),
         str(tmp_path / 'resumed.tar'), str(result_path)],
        check=True, cwd=REPO, timeout=300)
    with open(result_path, 'rb') as file_:
        resumed = pickle.load(file_)

    for expected, got in zip(
            [p.get_value() for p in straight.algorithm.parameters],
            resumed['parameters']):
        assert numpy.array_equal(expected, got)  # bit for bit
    expected_records = comparable_log(straight.log.to_records())
    got_records = comparable_log(resumed['records'])
    assert [r['iteration'] for r in got_records] == \
        [r['iteration'] for r in expected_records]
    for expected, got in zip(expected_records, got_records):
        assert expected.keys() == got.keys()
        for key in expected:
            assert numpy.array_equal(expected[key], got[key]), key
    for key in ('iterations_done', 'epochs_done', '_epoch_ends'):
        assert resumed['status'][key] == straight.status[key]
    assert resumed['status']['resumed_from'] == first_half.log.h_uuid
    assert 'train_cost' in expected_records[1]
    assert 'valid_cost' in expected_records[0]
    assert 'epoch_mean_cost' in expected_records[-1]


# Interrupts

INTERRUPT_SCRIPT = textwrap.dedent("""
    import sys
    from blocks.algorithms import GradientDescent, Scale
    from blocks.extensions import Printing
    from blocks.extensions.saveload import Checkpoint
    from blocks.main_loop import MainLoop
    from blocks.model import Model
    from tests.training_helpers import regression_model, regression_stream
    cost, parameters, _, _ = regression_model()
    loop = MainLoop(GradientDescent(cost=cost, parameters=parameters,
                                    step_rule=Scale(0.001)),
                    regression_stream(400000, 2), model=Model(cost),
                    extensions=[Checkpoint(sys.argv[1]),
                                Printing(after_epoch=False,
                                         on_interrupt=False)])
    loop.run()
    print('RETURNED', loop.status['iterations_done'], flush=True)
""")


def test_sigint_finishes_the_batch_saves_and_returns(tmp_path):
    path = tmp_path / 'interrupted.tar'
    # Run with -c from the repository root, so that the script imports
    # tests.training_helpers as a package module.
    process = subprocess.Popen(
        [sys.executable, '-c', INTERRUPT_SCRIPT, str(path)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in process.stdout:
            if 'BEFORE FIRST EPOCH' in line:
                break
        time.sleep(0.3)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    assert 'RETURNED' in stdout
    iterations = int(stdout.split('RETURNED')[1].split()[0])
    # The loop has no stopping extension: only the interrupt ends it, within
    # the first epoch of 200,000 batches.
    assert 0 < iterations < 200000
    loop = load(str(path))
    assert loop.status['iterations_done'] == iterations
    assert loop.status['batch_interrupt_received']
    assert loop.log.current_row['batch_interrupt_received']
    assert set(load_parameters(str(path))) == {'W', 'b'}


def test_sqlite_log_backend(tmp_path):
    from blocks.log import SQLiteLog
    log = SQLiteLog(str(tmp_path / 'log.sqlite'))
    recorder = Recorder(after_epoch=True)
    loop = MainLoop(CountingAlgorithm(), counting_stream(), log=log,
                    extensions=[recorder, FinishAfter(after_n_epochs=2)])
    loop.run()
    log.flush()
    reader = SQLiteLog(str(tmp_path / 'log.sqlite'), uuid=log.h_uuid)
    assert reader.status['iterations_done'] == 6
    assert reader.status['_epoch_ends'] == [3, 6]
    assert reader[6]['training_finish_requested']


def test_importing_the_main_loop_does_not_load_progressbar2():
    # progressbar2 is needed only when a ProgressBar draws its first bar.
    code = ('import sys, blocks.main_loop, blocks.extensions; '
            'print("progressbar" in sys.modules)')
    result = subprocess.run([sys.executable, '-c', code], cwd=REPO,
                            check=True, capture_output=True, text=True,
                            timeout=120)
    assert result.stdout.strip() == 'False'


def test_a_finished_run_stays_finished_and_can_be_extended():
    loop = run_counting([], num_batches=3, epochs=2)
    assert loop.finished
    # Resumed past its end (as after loading its log elsewhere), the
    # FinishAfter condition still holds: one more epoch at most, not
    # forever.
    loop.status['epochs_done'] = 5
    loop.run()
    assert loop.status['epochs_done'] == 6 and loop.finished
    loop.extend_training(2)
    assert not loop.finished
    loop.run()
    assert loop.status['epochs_done'] == 8 and loop.finished
    with pytest.raises(ValueError, match='positive integer'):
        loop.extend_training(0)


class Interrupter(SimpleExtension):
    """Sends this process `signum` after the given batch."""
    def __init__(self, signum, at_batch, **kwargs):
        kwargs.setdefault('after_batch', True)
        super().__init__(**kwargs)
        self.signum, self.at_batch = signum, at_batch

    def do(self, which_callback, *args):
        if self.main_loop.status['iterations_done'] == self.at_batch:
            os.kill(os.getpid(), self.signum)


@pytest.mark.parametrize('signum', [signal.SIGINT, signal.SIGTERM])
def test_the_loop_records_the_signal_that_stopped_it(signum):
    from blocks.scripts.continue_training import interrupted_exit_status
    loop = run_counting([Interrupter(signum, 2)], num_batches=5, epochs=3)
    assert loop.interrupted_by == signum
    assert loop.status['iterations_done'] == 2
    assert interrupted_exit_status(loop) == 128 + signum
    assert interrupted_exit_status(run_counting([])) == 0


def test_a_loop_with_a_brick_never_initialized_refuses_to_start():
    linear = Linear(3, 1, name='regressor')
    features, targets = pt.matrix('features'), pt.matrix('targets')
    cost = pt.sqr(linear.apply(features) - targets).mean()  # allocates
    recorder = Recorder(before_batch=True)
    loop = MainLoop(GradientDescent(cost=cost, parameters=linear.parameters),
                    regression_stream(), extensions=[recorder])
    with pytest.raises(ValueError, match=r'never initialized.*/regressor '
                                         r'\(W, b\)'):
        loop.run()
    assert recorder.calls == []  # not a batch was processed


def test_run_extensions_is_blocks_name_for_running_callbacks():
    from blocks.utils.testing import MockMainLoop
    calls = []

    class Starter(TrainingExtension):
        def before_training(self):
            calls.append('before_training')

    main_loop = MockMainLoop(extensions=[Starter()])
    for extension in main_loop.extensions:
        extension.main_loop = main_loop
    main_loop._run_extensions('before_training')
    assert calls == ['before_training']
