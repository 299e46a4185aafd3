import os
import pickle
import subprocess
import sys
import textwrap
import warnings

import numpy
import pytest

from blocks.config import ConfigurationError, config
from blocks.log.sqlite import SQLiteLogError
from blocks.main_loop import MainLoop
from blocks.log import (BACKENDS, SQLiteLog, TrainingLog, TrainingLogBase,
                        create_log, list_runs)


@pytest.fixture(params=['python', 'sqlite'])
def log(request, tmp_path):
    if request.param == 'python':
        yield TrainingLog()
    else:
        log = SQLiteLog(str(tmp_path / 'log.sqlite'))
        yield log
        log.close()


@pytest.fixture
def set_config():
    """Change blocks settings for one test: set_config(name=value)."""
    saved = {}

    def set_(**settings):
        for name, value in settings.items():
            saved.setdefault(name, getattr(config, name))
            setattr(config, name, value)
    yield set_
    for name, value in saved.items():
        setattr(config, name, value)


def run_python(code):
    """Run `code` in a fresh interpreter; return its standard output."""
    result = subprocess.run([sys.executable, '-c', textwrap.dedent(code)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_rows_are_created_on_demand(log):
    log[2]['cost'] = 1.5
    log[2]['name'] = 'a'
    assert dict(log[2]) == {'cost': 1.5, 'name': 'a'}
    assert dict(log[5]) == {}
    assert 2 in log
    assert 7 not in log


def test_current_previous_and_last_epoch_rows(log):
    log.current_row['cost'] = 3.0
    log.status['iterations_done'] += 1
    log.current_row['cost'] = 2.0
    log.status['_epoch_ends'].append(log.status['iterations_done'])
    log.status['epochs_done'] += 1
    log.status['iterations_done'] += 1
    assert dict(log.previous_row) == {'cost': 2.0}
    assert dict(log.last_epoch_row) == {'cost': 2.0}
    assert dict(log.current_row) == {}
    assert log[0]['cost'] == 3.0


def test_previous_and_last_epoch_rows_raise_before_anything_happened(log):
    with pytest.raises(ValueError, match='no iteration'):
        log.previous_row
    with pytest.raises(ValueError, match='no epoch'):
        log.last_epoch_row


@pytest.mark.parametrize('iteration', [-1, 1.5, 'a', True])
def test_rows_are_keyed_by_non_negative_integers(log, iteration):
    with pytest.raises(ValueError, match='non-negative integer'):
        log[iteration]


def test_status_starts_with_main_loop_counters(log):
    status = log.status
    assert status['iterations_done'] == 0
    assert status['epochs_done'] == 0
    assert status['_epoch_ends'] == []
    assert status['resumed_from'] is None
    for flag in ('received_first_batch', 'training_started', 'epoch_started',
                 'batch_interrupt_received', 'training_finish_requested'):
        assert status[flag] is False


def test_uuid_and_resume(log):
    old = log.h_uuid
    assert len(old) == 32 and log.uuid.hex == old
    log.resume()
    assert log.h_uuid != old
    assert log.status['resumed_from'] == old


def test_to_records_skips_empty_rows(log):
    log[1]['cost'] = 1.0
    log[0]['cost'] = 2.0
    log[0]['error'] = 0.5
    log[4]  # an empty row, created by reading
    assert log.to_records() == [
        {'iteration': 0, 'cost': 2.0, 'error': 0.5},
        {'iteration': 1, 'cost': 1.0}]


def test_to_dataframe(log):
    log[0]['cost'] = 1.0
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match='needs pandas'):
            log.to_dataframe()
    else:
        frame = log.to_dataframe()
        assert frame.loc[0, 'cost'] == 1.0


def test_factory_follows_the_configured_backend(tmp_path, set_config):
    set_config(log_backend='python')
    assert type(create_log()) is TrainingLog
    set_config(log_backend='sqlite')
    set_config(sqlite_database=str(tmp_path / 'default.sqlite'))
    log = create_log()
    assert isinstance(log, SQLiteLog) and isinstance(log, TrainingLogBase)
    assert log.database == str(tmp_path / 'default.sqlite')
    log.close()
    with pytest.raises(ValueError, match="unknown log backend 'csv'"):
        create_log(backend='csv')


def test_every_backend_class_makes_instances_of_itself(tmp_path, set_config):
    # No constructor hands back another class, whatever the setting says.
    set_config(log_backend='sqlite',
               sqlite_database=str(tmp_path / 'default.sqlite'))
    assert type(TrainingLog()) is TrainingLog
    for name, cls in BACKENDS.items():
        log = create_log(name)
        assert type(log) is cls and isinstance(log, TrainingLogBase)
        if name == 'sqlite':
            log.close()


def test_main_loop_takes_its_log_from_the_registry(set_config, monkeypatch):
    made = []

    class Recording(TrainingLog):
        def __init__(self):
            super().__init__()
            made.append(self)
    monkeypatch.setitem(BACKENDS, 'recording', Recording)
    loop = MainLoop(algorithm=None, data_stream=None,
                    log_backend='recording')
    assert made == [loop.log]


def test_in_memory_log_pickles_whatever_the_configured_backend(set_config):
    log = TrainingLog()
    log[0]['values'] = numpy.arange(3)
    log.status['iterations_done'] = 1
    set_config(log_backend='sqlite')
    copy = pickle.loads(pickle.dumps(log))
    assert type(copy) is TrainingLog
    assert copy.h_uuid == log.h_uuid
    assert copy.status == log.status
    numpy.testing.assert_array_equal(copy[0]['values'], numpy.arange(3))
    copy[9]['x'] = 1  # still a defaultdict
    assert copy[9] == {'x': 1}


# SQLite specifics

def test_sqlite_values_native_and_pickled(tmp_path):
    with SQLiteLog(str(tmp_path / 'log.sqlite')) as log:
        row = log[0]
        row['int'] = 3
        row['float32'] = numpy.float32(0.5)
        row['scalar_array'] = numpy.array(2.5)
        row['text'] = 'hello'
        row['none'] = None
        row['flag'] = True
        row['vector'] = numpy.arange(4)
        log.flush()
        stored = dict(log.connection.execute(
            'SELECT key, typeof(value) FROM entries'))
        assert stored == {'int': 'integer', 'float32': 'real',
                          'scalar_array': 'real', 'text': 'text',
                          'none': 'null', 'flag': 'blob', 'vector': 'blob'}
        values = dict(log[0])
        assert values['flag'] is True
        numpy.testing.assert_array_equal(values['vector'], numpy.arange(4))
        assert values['float32'] == 0.5 and values['int'] == 3


def test_sqlite_skips_blobs_larger_than_max_blob_size(tmp_path, set_config):
    set_config(max_blob_size=1000)
    with SQLiteLog(str(tmp_path / 'log.sqlite')) as log:
        log[0]['small'] = numpy.zeros(10)
        with pytest.warns(UserWarning, match="not storing 'big'"):
            log[0]['big'] = numpy.zeros(1000)
        assert set(log[0]) == {'small'}


def test_sqlite_reopen_with_uuid_and_continue(tmp_path):
    path = str(tmp_path / 'log.sqlite')
    log = SQLiteLog(path)
    log.current_row['cost'] = 1.0
    log.status['iterations_done'] = 1
    log.status['_epoch_ends'].append(1)  # mutated in place
    uuid = log.h_uuid
    log.close()

    log = SQLiteLog(path, uuid=uuid)
    assert log.status['iterations_done'] == 1
    assert log.status['_epoch_ends'] == [1]
    assert dict(log.previous_row) == {'cost': 1.0}
    log.current_row['cost'] = 0.5
    log.close()
    assert SQLiteLog(path, uuid=uuid).to_records() == [
        {'iteration': 0, 'cost': 1.0}, {'iteration': 1, 'cost': 0.5}]
    assert [run['uuid'] for run in list_runs(path)] == [uuid]

    with pytest.raises(ValueError, match='has no run 0+1'):
        SQLiteLog(path, uuid='0' * 31 + '1')


def test_sqlite_pickles_as_a_reference_with_the_status(tmp_path):
    path = str(tmp_path / 'log.sqlite')
    log = SQLiteLog(path)
    log[0]['cost'] = 1.0
    log.status['iterations_done'] = 1
    blob = pickle.dumps(log)
    assert len(blob) < 1000
    # Training goes on after the checkpoint...
    log[1]['cost'] = 0.5
    log.status['iterations_done'] = 2
    log.flush()

    copy = pickle.loads(blob)
    assert copy.h_uuid == log.h_uuid and copy.database == path
    # ... but the copy has the checkpoint's status
    assert copy.status['iterations_done'] == 1
    copy.resume()
    assert copy.status['resumed_from'] == log.h_uuid
    # Rows after the resumption point come from the new run only.
    assert dict(copy[0]) == {'cost': 1.0}
    assert dict(copy[2]) == {}
    copy[2]['cost'] = 0.7
    copy[1]['extra'] = 'new'
    assert dict(copy[1]) == {'cost': 0.5, 'extra': 'new'}
    assert copy.to_records() == [
        {'iteration': 0, 'cost': 1.0},
        {'iteration': 1, 'cost': 0.5, 'extra': 'new'},
        {'iteration': 2, 'cost': 0.7}]
    copy.close()
    log.close()


def test_sqlite_unpickles_when_the_database_is_gone(tmp_path):
    path = str(tmp_path / 'log.sqlite')
    log = SQLiteLog(path)
    log.status['iterations_done'] = 4
    blob = pickle.dumps(log)
    log.close()
    os.remove(path)
    with pytest.warns(UserWarning, match='earlier rows are lost'):
        copy = pickle.loads(blob)
    assert copy.status['iterations_done'] == 4
    copy.close()


def test_sqlite_in_memory_database_does_not_pickle():
    with SQLiteLog(':memory:') as log:
        with pytest.raises(pickle.PicklingError, match='in-memory'):
            pickle.dumps(log)


def test_sqlite_readable_by_another_process_while_open(tmp_path):
    path = str(tmp_path / 'log.sqlite')
    log = SQLiteLog(path)
    for iteration in range(3):
        log.current_row['cost'] = float(iteration)
        log.status['iterations_done'] += 1
    log.current_row['cost'] = 9.0  # the row being written, not committed
    # A write to a new row commits the previous ones.
    output = run_python('''
        from blocks.log import SQLiteLog
        log = SQLiteLog({!r}, uuid={!r})
        print(log.status['iterations_done'], log.to_records())
    '''.format(path, log.h_uuid))
    assert output.strip() == (
        "3 [{'iteration': 0, 'cost': 0.0}, {'iteration': 1, 'cost': 1.0}, "
        "{'iteration': 2, 'cost': 2.0}]")
    log.close()


def test_sqlite_written_by_another_process_survives_it(tmp_path):
    path = str(tmp_path / 'log.sqlite')
    uuid = run_python('''
        import numpy
        from blocks.log import SQLiteLog
        log = SQLiteLog({!r})
        for iteration in range(2):
            log.current_row['cost'] = 1.0 / (iteration + 1)
            log.current_row['weights'] = numpy.full(2, iteration)
            log.status['iterations_done'] += 1
        print(log.h_uuid)  # no close(): committed at exit
    '''.format(path)).strip()
    log = SQLiteLog(path, uuid=uuid)
    assert log.status['iterations_done'] == 2
    assert log[1]['cost'] == 0.5
    numpy.testing.assert_array_equal(log[1]['weights'], [1, 1])
    log.current_row['cost'] = 0.25
    log.close()
    assert len(SQLiteLog(path, uuid=uuid).to_records()) == 3


def test_sqlite_log_closed(tmp_path):
    log = SQLiteLog(str(tmp_path / 'log.sqlite'))
    log.close()
    log.close()  # twice is fine
    with pytest.raises(ValueError, match='closed'):
        log[0]['cost'] = 1.0


def test_sqlite_row_deletion(tmp_path):
    with SQLiteLog(str(tmp_path / 'log.sqlite')) as log:
        log[0]['a'] = 1
        log[0]['b'] = 2
        del log[0]['a']
        assert dict(log[0]) == {'b': 2}
        with pytest.raises(KeyError):
            del log[0]['a']


def test_sqlite_no_warning_for_ordinary_use(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        with SQLiteLog(str(tmp_path / 'log.sqlite')) as log:
            log.current_row['cost'] = numpy.float64(1.0)


# Unusable databases

def test_sqlite_refuses_a_file_that_is_not_a_database(tmp_path):
    path = tmp_path / 'log.sqlite'
    path.write_bytes(os.urandom(4096))
    with pytest.raises(SQLiteLogError, match='log.sqlite cannot be used'):
        SQLiteLog(str(path))


def test_sqlite_refuses_a_corrupt_database(tmp_path):
    path = tmp_path / 'log.sqlite'
    with SQLiteLog(str(path)) as log:
        log[0]['cost'] = 1.0
    data = bytearray(path.read_bytes())
    data[:16] = b'not sqlite 3 at '  # the header
    path.write_bytes(bytes(data))
    with pytest.raises(SQLiteLogError, match=str(path)):
        SQLiteLog(str(path))


def test_sqlite_refuses_another_schema_at_open(tmp_path):
    import sqlite3
    path = str(tmp_path / 'other.sqlite')
    connection = sqlite3.connect(path)
    connection.execute('CREATE TABLE entries (a, b)')
    connection.commit()
    connection.close()
    with pytest.raises(SQLiteLogError,
                       match=r"other.sqlite is an SQLite database but not a "
                             r"blocks log: its table 'entries' has columns "
                             r"\['a', 'b'\]"):
        SQLiteLog(path)


def test_sqlite_lock_timeout_is_a_setting_and_names_the_file(
        tmp_path, set_config):
    import sqlite3
    path = str(tmp_path / 'log.sqlite')
    log = SQLiteLog(path)
    set_config(sqlite_timeout=0.05)
    other = sqlite3.connect(path)
    other.execute('BEGIN EXCLUSIVE')
    try:
        log[0]['cost'] = 1.0
        with pytest.raises(SQLiteLogError,
                           match=r'log.sqlite is locked by another process '
                                 r'\(waited 0.05 s'):
            log.flush()
    finally:
        other.rollback()
        other.close()
    log.close()
    with pytest.raises(ConfigurationError, match='positive number'):
        set_config(sqlite_timeout=0)


def test_an_unusable_database_gives_one_error_and_no_second_at_exit(
        tmp_path):
    path = tmp_path / 'log.sqlite'
    path.write_bytes(b'garbage' * 1000)
    result = subprocess.run(
        [sys.executable, '-c', textwrap.dedent('''
            import sys
            from blocks.log import SQLiteLog
            try:
                SQLiteLog(sys.argv[1])
            except ValueError as error:
                print('refused:', error)
        '''), str(path)], capture_output=True, text=True, timeout=120)
    assert 'refused:' in result.stdout
    assert 'Traceback' not in result.stderr, result.stderr


class CountsPickling(list):
    """A list that counts how often it is pickled."""
    pickled = 0

    def __reduce__(self):
        CountsPickling.pickled += 1
        return list, (list(self),)


def test_sqlite_does_not_repickle_an_unchanged_status_at_every_row(
        tmp_path):
    log = SQLiteLog(str(tmp_path / 'log.sqlite'), commit_interval=3600)
    log.status['_epoch_ends'] = CountsPickling(range(1000))
    log.flush()
    CountsPickling.pickled = 0
    for iteration in range(50):
        log[iteration]['cost'] = 1.0
        log.status['iterations_done'] += 1
    assert CountsPickling.pickled == 0
    log.close()  # an explicit flush writes changes made in place
    assert CountsPickling.pickled >= 1
    reader = SQLiteLog(str(tmp_path / 'log.sqlite'), uuid=log.h_uuid)
    assert reader.status['iterations_done'] == 50
