"""Fault injection: damaged checkpoints and parameter files, kills during
a write, and an exact resume after an interrupt mid-epoch.

Every entry point (``load``, ``load_parameters``, the ``Load`` extension
and ``blocks-continue``) either raises a clear error (a SerializationError
naming the file) and leaves its target untouched, or, for a change that
hits no data (tar padding), gives exactly what was saved.
``pytest --run-slow`` runs the long loops.
"""
import os
import pickle
import signal
import subprocess
import sys
import tarfile
import textwrap
import time

import numpy
import pytest

from blocks.algorithms import GradientDescent, Scale
from blocks.extensions import FinishAfter, SimpleExtension
from blocks.extensions.saveload import Checkpoint, Load
from blocks.main_loop import MainLoop
from blocks.model import Model
from blocks.scripts.continue_training import main as continue_main
from blocks.serialization import SerializationError, load, load_parameters

from tests.training_helpers import regression_model, regression_stream

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FUZZED_FILES = 30


def regression_loop(epochs, extensions=()):
    cost, parameters, _, _ = regression_model()
    algorithm = GradientDescent(cost=cost, parameters=parameters,
                                step_rule=Scale(0.01))
    return MainLoop(algorithm, regression_stream(16, 8), model=Model(cost),
                    extensions=list(extensions)
                    + [FinishAfter(after_n_epochs=epochs)])


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """The bytes of the checkpoint of a finished run, its parameters and
    the offsets of its members' data."""
    path = str(tmp_path_factory.mktemp('original') / 'checkpoint.tar')
    loop = regression_loop(1, [Checkpoint(path)])
    loop.run()
    with tarfile.open(path) as tar_file:
        spans = {member.name: (member.offset_data, member.size)
                 for member in tar_file.getmembers()}
    with open(path, 'rb') as file_:
        data = file_.read()
    return {'data': data, 'parameters': load_parameters(path),
            'spans': spans}


def damaged_versions(data, count, seed=0):
    """(description, bytes): truncations, single bit flips and runs of
    random bytes at seeded positions."""
    rng = numpy.random.RandomState(seed)
    for _ in range(count):
        kind = rng.choice(['truncate', 'flip', 'random'])
        position = int(rng.randint(0, len(data)))
        if kind == 'truncate':
            yield 'truncated at {}'.format(position), data[:position]
        elif kind == 'flip':
            damaged = bytearray(data)
            damaged[position] ^= 1 << int(rng.randint(0, 8))
            yield 'bit flipped at {}'.format(position), bytes(damaged)
        else:
            length = int(rng.randint(1, 64))
            noise = rng.bytes(length)
            yield ('{} random bytes at {}'.format(length, position),
                   data[:position] + noise + data[position + length:])


def same_parameters(first, second):
    return first.keys() == second.keys() and all(
        numpy.array_equal(first[name], second[name]) for name in first)


def fuzz_entry_points(checkpoint, tmp_path, capsys, count):
    """Damage the checkpoint `count` times and try every entry point on
    each file; return the outcomes: per entry point, how many files gave
    a clear error and how many gave exactly what was saved (a damage that
    hits no data), and how many files were refused by at least one."""
    path = str(tmp_path / 'damaged.tar')
    target = regression_loop(1, [Load(path, load_log=True)])
    load_extension = target.extensions[0]
    saved = checkpoint['parameters']
    outcomes = {name: {'clear error': 0, 'identical content': 0}
                for name in ('load_parameters', 'load', 'Load',
                             'blocks-continue')}
    refused = 0
    for description, damaged in damaged_versions(checkpoint['data'], count):
        with open(path, 'wb') as file_:
            file_.write(damaged)
        before = [p.get_value() for p in target.algorithm.parameters]
        log = target.log
        errors = 0
        entry_points = [('load_parameters', lambda: load_parameters(path)),
                        ('load', lambda: load(path)),
                        ('Load', lambda: load_extension.load_to(target))]
        for name, entry_point in entry_points:
            try:
                result = entry_point()
            except SerializationError as error:
                assert 'damaged.tar' in str(error), (description, error)
                outcomes[name]['clear error'] += 1
                errors += 1
                # the target is untouched
                assert target.log is log, description
                for parameter, value in zip(target.algorithm.parameters,
                                            before):
                    assert numpy.array_equal(parameter.get_value(), value)
                continue
            outcomes[name]['identical content'] += 1
            if name == 'load_parameters':
                assert same_parameters(result, saved), description
            elif name == 'load':
                assert same_parameters(
                    {p.name: p.get_value()
                     for p in result.algorithm.parameters}, saved)
            else:
                assert same_parameters(
                    {p.name: p.get_value()
                     for p in target.algorithm.parameters}, saved)
                target.log = log
                for parameter, value in zip(target.algorithm.parameters,
                                            before):
                    parameter.set_value(value)
        status = continue_main([path])
        message = capsys.readouterr().err
        assert status in (0, 1), description
        assert message.startswith('blocks-continue: '), description
        assert 'Traceback' not in message, description
        if status == 0:
            assert 'is complete' in message, description
        outcomes['blocks-continue'][
            'clear error' if status else 'identical content'] += 1
        refused += errors > 0
    return outcomes, refused


def test_damaged_checkpoints_raise_clearly_and_change_nothing(
        checkpoint, tmp_path, capsys):
    outcomes, refused = fuzz_entry_points(checkpoint, tmp_path, capsys,
                                          FUZZED_FILES)
    assert refused > 0


@pytest.mark.slow
def test_many_damaged_checkpoints_raise_clearly_and_change_nothing(
        checkpoint, tmp_path, capsys):
    count = 600
    outcomes, refused = fuzz_entry_points(checkpoint, tmp_path, capsys,
                                          count)
    assert refused > 0
    with capsys.disabled():
        print('\nfuzzed {} files, {} refused by at least one entry point; '
              'per entry point: {}'.format(count, refused, outcomes))


def test_a_bit_flip_in_any_member_is_caught(checkpoint, tmp_path):
    path = str(tmp_path / 'flipped.tar')
    for name, (start, size) in checkpoint['spans'].items():
        for position in (start, start + size // 2, start + size - 1):
            damaged = bytearray(checkpoint['data'])
            damaged[position] ^= 0x01
            with open(path, 'wb') as file_:
                file_.write(bytes(damaged))
            reader = load_parameters if name == '_parameters' else load
            if name == '_checksums':
                # The flip changes one member's digest (or breaks the
                # JSON): that member is refused, any other one is intact.
                refused = 0
                for reader in (load, load_parameters):
                    try:
                        reader(path)
                    except SerializationError as error:
                        assert 'flipped.tar' in str(error)
                        refused += 1
                assert refused >= 1
                continue
            with pytest.raises(SerializationError,
                               match="'{}' of .*flipped.tar".format(name)):
                reader(path)


# Kills during a write

WRITER_SCRIPT = textwrap.dedent("""
    import sys
    import numpy
    import pytensor
    from blocks.serialization import secure_dump, dump
    weights = pytensor.shared(numpy.zeros(200000), name='W')
    version = 0
    print('READY', flush=True)
    while True:
        version += 1
        weights.set_value(numpy.full(200000, float(version)))
        secure_dump({'version': version, 'weights': weights}, sys.argv[1],
                    parameters=[weights])
""")


def kill_during_writes(tmp_path, kills):
    """Kill a process saving in a loop `kills` times; return how many
    kills left a readable, consistent checkpoint."""
    script = tmp_path / 'writer.py'
    script.write_text(WRITER_SCRIPT)
    path = str(tmp_path / 'checkpoint.tar')
    rng = numpy.random.RandomState(0)
    survived = 0
    for _ in range(kills):
        process = subprocess.Popen([sys.executable, str(script), path],
                                   cwd=REPO, stdout=subprocess.PIPE,
                                   text=True)
        try:
            assert process.stdout.readline().strip() == 'READY'
            while not os.path.exists(path):
                time.sleep(0.01)
            time.sleep(rng.uniform(0, 0.3))
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        saved = load(path)
        weights = load_parameters(path)['W']
        assert numpy.array_equal(weights,
                                 numpy.full(200000, saved['version']))
        survived += 1
    # The next save removes the temporaries the kills left.
    from blocks.serialization import secure_dump
    secure_dump([1], path, dump_function=pickle.dump)
    assert sorted(os.listdir(tmp_path)) == ['checkpoint.tar', 'writer.py']
    return survived


def test_kills_during_writes_leave_the_last_checkpoint(tmp_path):
    assert kill_during_writes(tmp_path, 3) == 3


@pytest.mark.slow
def test_many_kills_during_writes_leave_the_last_checkpoint(tmp_path,
                                                            capsys):
    kills = 60
    assert kill_during_writes(tmp_path, kills) == kills
    with capsys.disabled():
        print('\nkills survived: {} of {}'.format(kills, kills))


# Exact resume after an interrupt in the middle of an epoch

class InterruptAt(SimpleExtension):
    """Sends this process SIGINT after batch `batch` (a picklable stand-in
    for Ctrl-C at a known point)."""
    def __init__(self, batch, **kwargs):
        kwargs.setdefault('after_batch', True)
        super().__init__(**kwargs)
        self.batch = batch

    def do(self, which_callback, *args):
        if self.main_loop.status['iterations_done'] == self.batch:
            os.kill(os.getpid(), signal.SIGINT)


RESUME_SCRIPT = textwrap.dedent("""
    import pickle, sys
    from blocks.serialization import continue_training
    loop = continue_training(sys.argv[1])
    with open(sys.argv[2], 'wb') as file_:
        pickle.dump([p.get_value() for p in loop.algorithm.parameters],
                    file_)
    print(loop.status['iterations_done'], loop.status['epochs_done'])
""")


def test_resume_after_an_interrupt_mid_epoch_is_exact(tmp_path):
    straight = regression_loop(2)
    straight.run()

    path = str(tmp_path / 'interrupted.tar')
    interrupted = regression_loop(2, [InterruptAt(3), Checkpoint(path)])
    interrupted.run()
    assert interrupted.interrupted_by == signal.SIGINT
    assert interrupted.status['iterations_done'] == 3  # epochs of 2
    script = tmp_path / 'resume.py'
    script.write_text(RESUME_SCRIPT)
    result = tmp_path / 'parameters.pkl'
    output = subprocess.run(
        [sys.executable, str(script), path, str(result)], cwd=REPO,
        # The checkpoint pickles this suite's stream: `tests` must import
        # in the child, whose sys.path starts at the script's directory.
        env=dict(os.environ, PYTHONPATH=REPO),
        capture_output=True, text=True, timeout=300, check=True).stdout
    assert output.split() == ['4', '2']
    with open(result, 'rb') as file_:
        resumed = pickle.load(file_)
    for expected, got in zip(straight.algorithm.parameters, resumed):
        assert numpy.array_equal(expected.get_value(), got)  # bit for bit
