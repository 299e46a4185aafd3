"""A training log stored in an SQLite database.

The database is an ordinary file: it outlives the training process, other
processes can read it while training runs (it uses SQLite's write-ahead
log), and a run can be reopened by its UUID to read or continue it.

Tables (plain SQL works on them)::

    runs(uuid, resumed_from, resumed_at, created)
    entries(uuid, iteration, key, value)
    status(uuid, key, value)

Numbers, strings and None are stored as SQL values; any other value
(arrays, lists, booleans ...) is pickled into a BLOB, so every BLOB in
``entries.value`` is a pickle, and reading a log unpickles them: open only
log databases you trust. Blobs larger than
``blocks.config.config.max_blob_size`` bytes are not stored (a warning
says so). Status values are always pickled, whatever their size.

Writes are buffered and committed when a write goes to a new row, when
``commit_interval`` seconds have passed since the last commit, on
:meth:`SQLiteLog.flush`, :meth:`SQLiteLog.close`, pickling, and at
interpreter exit: another process sees every row but the one being written.
The status values that changed are committed with them; a list or another
container changed in place (rather than replaced) is noticed only every
``commit_interval`` seconds and on every explicit flush, because pickling
it costs time that grows with the run (``_epoch_ends``), and a batch's
cost must not.

A file that is not an SQLite database, or one whose tables are not those
above, is refused when the log is opened (:class:`SQLiteLogError`, naming
the file); so is a database another process keeps locked for longer than
``blocks.config.config.sqlite_timeout`` seconds.
"""
import os
import pickle
import sqlite3
import time
import warnings
import weakref
from collections.abc import MutableMapping

import numpy

from blocks.config import config
from blocks.log.log import (TrainingLogBase, check_iteration,
                            default_status)

__all__ = ['SQLiteLog', 'SQLiteRow', 'SQLiteLogError', 'list_runs']

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS runs (
           uuid TEXT PRIMARY KEY,
           resumed_from TEXT,
           resumed_at INTEGER,
           created REAL)""",
    """CREATE TABLE IF NOT EXISTS entries (
           uuid TEXT NOT NULL,
           iteration INTEGER NOT NULL,
           key TEXT NOT NULL,
           value,
           PRIMARY KEY (uuid, iteration, key)) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS status (
           uuid TEXT NOT NULL,
           key TEXT NOT NULL,
           value BLOB,
           PRIMARY KEY (uuid, key)) WITHOUT ROWID""",
)

# table -> its columns, as _SCHEMA creates them
_COLUMNS = {
    'runs': ['uuid', 'resumed_from', 'resumed_at', 'created'],
    'entries': ['uuid', 'iteration', 'key', 'value'],
    'status': ['uuid', 'key', 'value'],
}

_NATIVE_TYPES = (int, float, str)
# Status values compared by value rather than by pickle
_SCALAR_TYPES = (bool, int, float, str, bytes, type(None))
# Flush when this many values are waiting, whatever the row
_MAX_PENDING = 1000
# A value too large to store; distinct from every storable value
_SKIPPED = object()


def _to_sql(value, key):
    """The SQL value storing `value`, or _SKIPPED if it is too large."""
    if value is None:
        return None
    if type(value) in _NATIVE_TYPES:
        return value
    if isinstance(value, (numpy.generic, numpy.ndarray)) and value.ndim == 0:
        scalar = value.item()
        if type(scalar) in _NATIVE_TYPES:
            return scalar
    blob = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    if len(blob) > config.max_blob_size:
        warnings.warn(
            'SQLiteLog: not storing {!r}, a {} that pickles to {} bytes, '
            'more than config.max_blob_size ({} bytes)'.format(
                key, type(value).__name__, len(blob), config.max_blob_size),
            stacklevel=4)
        return _SKIPPED
    return blob


def _pickle(value):
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def _from_sql(value):
    # Every BLOB is a pickle written by _to_sql.
    if isinstance(value, bytes):
        return pickle.loads(value)
    return value


class SQLiteLogError(ValueError):
    """A log database cannot be used: not a database, corrupt, of another
    schema, or locked by another process."""


def _database_error(database, error):
    """The SQLiteLogError saying why `database` failed with `error`."""
    if 'locked' in str(error) or 'busy' in str(error):
        return SQLiteLogError(
            'the log database {} is locked by another process (waited {} s, '
            'blocks.config.config.sqlite_timeout): {}'.format(
                database, config.sqlite_timeout, error))
    return SQLiteLogError(
        '{} cannot be used as a blocks log database (not an SQLite '
        'database, or corrupt): {}'.format(database, error))


def _check_schema(connection, database):
    for table, columns in _COLUMNS.items():
        found = [row[1] for row in connection.execute(
            'PRAGMA table_info({})'.format(table))]
        if found != columns:
            raise SQLiteLogError(
                '{} is an SQLite database but not a blocks log: its table '
                '{!r} has columns {}, expected {}'.format(
                    database, table, found, columns))


def _connect(database):
    """Open `database`, creating the log's tables, or raise an
    SQLiteLogError naming it."""
    try:
        connection = sqlite3.connect(database, timeout=config.sqlite_timeout,
                                     check_same_thread=False)
    except sqlite3.Error as error:
        raise _database_error(database, error) from None
    try:
        connection.execute('PRAGMA journal_mode=WAL')
        # In WAL mode a commit does not wait for the disk; a power cut may
        # lose the last commits, never the database.
        connection.execute('PRAGMA synchronous=NORMAL')
        with connection:
            for statement in _SCHEMA:
                connection.execute(statement)
        _check_schema(connection, database)
    except sqlite3.Error as error:
        connection.close()
        raise _database_error(database, error) from None
    except SQLiteLogError:
        connection.close()
        raise
    return connection


def list_runs(database):
    """The runs stored in a database, oldest first.

    Returns
    -------
    list of dict
        With keys ``uuid`` (hex), ``resumed_from``, ``resumed_at`` and
        ``created`` (seconds since the epoch).

    """
    if not os.path.exists(database):
        raise FileNotFoundError('no log database at {}'.format(database))
    connection = sqlite3.connect('file:{}?mode=ro'.format(database), uri=True)
    try:
        rows = connection.execute(
            'SELECT uuid, resumed_from, resumed_at, created FROM runs '
            'ORDER BY created').fetchall()
    finally:
        connection.close()
    return [dict(zip(('uuid', 'resumed_from', 'resumed_at', 'created'), row))
            for row in rows]


class _Writer:
    """The connection and the values waiting to be committed.

    Kept apart from the log so that a finalizer can commit them at exit
    without keeping the log alive.
    """
    def __init__(self, connection, database):
        self.connection = connection
        self.database = database
        # (uuid, iteration, key) -> SQL value
        self.entries = {}
        # (uuid, key) -> pickled value
        self.status = {}
        self.last_commit = time.monotonic()

    def commit(self):
        if self.connection is None:
            return
        if self.entries or self.status:
            try:
                self._write_pending()
            except sqlite3.Error as error:
                raise _database_error(self.database, error) from None
            self.entries.clear()
            self.status.clear()
        self.last_commit = time.monotonic()

    def _write_pending(self):
        with self.connection:
            if self.entries:
                self.connection.executemany(
                    'INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?)',
                    [key + (value,) for key, value in self.entries.items()])
            if self.status:
                self.connection.executemany(
                    'INSERT OR REPLACE INTO status VALUES (?, ?, ?)',
                    [key + (value,) for key, value in self.status.items()])

    def close(self):
        if self.connection is not None:
            try:
                self.commit()
            finally:
                self.connection.close()
                self.connection = None


def _finalize(log_reference, writer):
    # At interpreter exit the log may still be alive: commit its status too.
    # A database that failed during training fails here again; the error
    # was raised then, so only warn (a second traceback helps no one).
    log = log_reference()
    try:
        if log is not None and writer.connection is not None:
            log.flush()
    except SQLiteLogError as error:
        warnings.warn('SQLiteLog: the last values were not saved: {}'.format(
            error))
    finally:
        try:
            writer.close()
        except SQLiteLogError:
            pass


class SQLiteRow(MutableMapping):
    """The row of one iteration in an :class:`SQLiteLog`; reading and
    writing go to the database (through the log's write buffer)."""
    __slots__ = ('log', 'iteration')

    def __init__(self, log, iteration):
        self.log = log
        self.iteration = iteration

    def _values(self):
        return self.log._read_row(self.iteration)

    def __getitem__(self, key):
        return self._values()[key]

    def __setitem__(self, key, value):
        self.log._write(self.iteration, key, value)

    def __delitem__(self, key):
        self.log._delete(self.iteration, key)

    def __iter__(self):
        return iter(self._values())

    def __len__(self):
        return len(self._values())

    def __repr__(self):
        return repr(self._values())


class SQLiteLog(TrainingLogBase):
    """A training log in an SQLite database.

    Parameters
    ----------
    database : str, optional
        The database file; ``blocks.config.config.sqlite_database`` by
        default. Created if missing; several runs can share one file.
    uuid : UUID or str, optional
        Reopen this run, which must be in the database, to read or continue
        it (its status is read back). A new run by default.
    commit_interval : float, optional
        Also commit buffered values when this many seconds have passed since
        the last commit (1 by default).

    Raises
    ------
    SQLiteLogError
        If `database` is not a blocks log database or stays locked.

    Notes
    -----
    Reading a log unpickles its BLOBs (arrays, lists, the status), which
    can run arbitrary code: open only log databases you trust.

    Only one process should write to a run. Rows are read from the
    database each time, so a reader sees the writer's committed rows; its
    ``status`` is read when it opens the run (:meth:`reload_status` reads it
    again).

    A pickled SQLiteLog holds the database path, the run's UUID and the
    status; unpickling reconnects to the database and keeps the pickled
    status (that of the checkpoint). Values read back may differ in type
    from those written: NumPy scalars come back as Python numbers.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), 'log.sqlite')
    >>> log = SQLiteLog(path)
    >>> log.current_row['cost'] = 0.25
    >>> log.status['iterations_done'] += 1
    >>> log.close()
    >>> SQLiteLog(path, uuid=log.h_uuid).previous_row
    {'cost': 0.25}

    """
    def __init__(self, database=None, uuid=None, commit_interval=1.0):
        if database is None:
            database = config.sqlite_database
        self._open(database, commit_interval)
        if uuid is None:
            self._init_identity(None)
            self.status = default_status()
            self._register_run(None, None)
        else:
            self._init_identity(uuid)
            if not self._run_exists():
                self._finalizer.detach()
                self._writer.close()
                raise ValueError('the log database {} has no run {}'.format(
                    self.database, self.h_uuid))
            self.status = self._read_status()
        self._load_ancestors()
        self._written_status = self._pickle_status()

    def _open(self, database, commit_interval):
        if database == ':memory:':
            self.database = database
        else:
            self.database = os.path.abspath(os.path.expanduser(database))
        self.commit_interval = commit_interval
        self._writer = _Writer(_connect(self.database), self.database)
        self._finalizer = weakref.finalize(self, _finalize, weakref.ref(self),
                                           self._writer)
        self._pending_iteration = None
        self._last_status_write = time.monotonic()

    @property
    def connection(self):
        """The :class:`sqlite3.Connection` to the database."""
        if self._writer.connection is None:
            raise ValueError('the log {} of {} is closed'.format(
                self.h_uuid, self.database))
        return self._writer.connection

    # Runs and ancestry

    def _run_exists(self):
        return self.connection.execute(
            'SELECT 1 FROM runs WHERE uuid = ?', (self.h_uuid,)
        ).fetchone() is not None

    def _register_run(self, resumed_from, resumed_at):
        try:
            with self.connection:
                self.connection.execute(
                    'INSERT OR IGNORE INTO runs VALUES (?, ?, ?, ?)',
                    (self.h_uuid, resumed_from, resumed_at, time.time()))
        except sqlite3.Error as error:
            raise _database_error(self.database, error) from None

    def _load_ancestors(self):
        """Find the runs this one continues: [(uuid, last iteration read
        from it)], nearest first."""
        self._ancestors = []
        limit = None
        uuid = self.h_uuid
        seen = {uuid}
        while True:
            found = self.connection.execute(
                'SELECT resumed_from, resumed_at FROM runs WHERE uuid = ?',
                (uuid,)).fetchone()
            if found is None or found[0] is None or found[0] in seen:
                break
            uuid, resumed_at = found
            limit = resumed_at if limit is None else min(limit, resumed_at)
            seen.add(uuid)
            self._ancestors.append((uuid, limit))

    def resume(self):
        """Start a new run continuing this one: rows up to the current
        iteration are read from the old run, later ones from the new."""
        self.flush()
        old, resumed_at = self.h_uuid, self.status['iterations_done']
        super().resume()
        self._register_run(old, resumed_at)
        self._load_ancestors()
        self._written_status = {}
        self.flush()

    # Status

    def _read_status(self):
        rows = self.connection.execute(
            'SELECT key, value FROM status WHERE uuid = ?', (self.h_uuid,))
        status = default_status()
        status.update((key, pickle.loads(value)) for key, value in rows)
        return status

    def reload_status(self):
        """Read the run's status from the database again (for a process
        watching another one train)."""
        self.status = self._read_status()
        self._written_status = self._pickle_status()

    def _pickle_status(self):
        """Key -> (the value, its pickle): what was last written."""
        return {key: (value, _pickle(value))
                for key, value in self.status.items()}

    def _queue_status(self, everything=True):
        """Queue the status values that changed since they were written.

        A scalar is compared by value. Another value (a list such as
        ``_epoch_ends``, which the main loop replaces rather than appends
        to) is re-pickled when it is a new object, and otherwise, since it
        may have been changed in place, only when `everything` is asked:
        its pickle grows with the run, and the cost of a batch must not.
        """
        written = self._written_status
        for key, value in self.status.items():
            old_value, old_blob = written.get(key, (_SKIPPED, None))
            if type(value) in _SCALAR_TYPES:
                if type(old_value) is type(value) and old_value == value:
                    continue
            elif value is old_value and not everything:
                continue
            blob = _pickle(value)
            if blob != old_blob:
                self._writer.status[(self.h_uuid, key)] = blob
            written[key] = (value, blob)

    # Writing

    def _write(self, iteration, key, value):
        check_iteration(iteration)
        if not isinstance(key, str):
            raise TypeError('log row keys must be strings, got {!r}'.format(
                key))
        sql_value = _to_sql(value, key)
        if sql_value is _SKIPPED:
            return
        writer = self._writer
        if writer.connection is None:
            raise ValueError('the log {} of {} is closed'.format(
                self.h_uuid, self.database))
        if (iteration != self._pending_iteration
                or len(writer.entries) >= _MAX_PENDING
                or time.monotonic() - writer.last_commit
                > self.commit_interval):
            self._commit_row()
            self._pending_iteration = iteration
        writer.entries[(self.h_uuid, iteration, key)] = sql_value

    def _delete(self, iteration, key):
        self.flush()
        with self.connection:
            deleted = self.connection.execute(
                'DELETE FROM entries WHERE uuid = ? AND iteration = ? '
                'AND key = ?', (self.h_uuid, iteration, key)).rowcount
        if not deleted:
            raise KeyError(key)

    def _commit_row(self):
        """Commit the buffered values and the changed status values;
        those changed in place only every `commit_interval` seconds (see
        :meth:`_queue_status`)."""
        everything = (time.monotonic() - self._last_status_write
                      > self.commit_interval)
        self._queue_status(everything)
        self._writer.commit()
        if everything:
            self._last_status_write = time.monotonic()

    def flush(self):
        """Commit the buffered values and status changes."""
        if self._writer.connection is None:
            return
        self._queue_status()
        self._writer.commit()
        self._last_status_write = time.monotonic()

    def close(self):
        """Commit and close the connection; the log is unusable after."""
        if self._writer.connection is not None:
            self.flush()
        self._finalizer()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # Reading

    def _visible_runs(self, iteration):
        """The runs whose values show in row `iteration`, oldest first."""
        runs = [uuid for uuid, limit in reversed(self._ancestors)
                if iteration <= limit]
        runs.append(self.h_uuid)
        return runs

    def _read_row(self, iteration):
        check_iteration(iteration)
        row = {}
        for uuid in self._visible_runs(iteration):
            row.update(
                (key, _from_sql(value))
                for key, value in self.connection.execute(
                    'SELECT key, value FROM entries WHERE uuid = ? AND '
                    'iteration = ?', (uuid, iteration)))
        for (uuid, row_iteration, key), value in self._writer.entries.items():
            if row_iteration == iteration:
                row[key] = _from_sql(value)
        return row

    def __getitem__(self, iteration):
        check_iteration(iteration)
        return SQLiteRow(self, iteration)

    def _iterations(self):
        iterations = {iteration for _, iteration, _ in self._writer.entries}
        iterations.update(row[0] for row in self.connection.execute(
            'SELECT DISTINCT iteration FROM entries WHERE uuid = ?',
            (self.h_uuid,)))
        for uuid, limit in self._ancestors:
            iterations.update(row[0] for row in self.connection.execute(
                'SELECT DISTINCT iteration FROM entries WHERE uuid = ? AND '
                'iteration <= ?', (uuid, limit)))
        return iterations

    def __iter__(self):
        return iter(sorted(self._iterations()))

    def __len__(self):
        return len(self._iterations())

    def __contains__(self, iteration):
        try:
            check_iteration(iteration)
        except ValueError:
            return False
        return bool(self._read_row(iteration))

    def keys(self):
        return sorted(self._iterations())

    def items(self):
        return [(iteration, self[iteration]) for iteration in self]

    def _sorted_rows(self):
        # One pass over the entries instead of one query per row.
        self.flush()
        rows = {}
        runs = [(uuid, limit) for uuid, limit in reversed(self._ancestors)]
        runs.append((self.h_uuid, None))
        for uuid, limit in runs:
            query = ('SELECT iteration, key, value FROM entries '
                     'WHERE uuid = ?')
            arguments = (uuid,)
            if limit is not None:
                query += ' AND iteration <= ?'
                arguments += (limit,)
            for iteration, key, value in self.connection.execute(
                    query, arguments):
                rows.setdefault(iteration, {})[key] = _from_sql(value)
        for iteration in sorted(rows):
            yield iteration, rows[iteration]

    # Pickling: a reference to the run, plus the status at pickling time

    def __getstate__(self):
        if self.database == ':memory:':
            raise pickle.PicklingError(
                'an SQLiteLog in an in-memory database cannot be pickled; '
                'give it a database file')
        self.flush()
        return {'database': self.database, 'uuid': self.h_uuid,
                'status': self.status,
                'commit_interval': self.commit_interval}

    def __setstate__(self, state):
        self._open(state['database'], state['commit_interval'])
        self._init_identity(state['uuid'])
        self.status = state['status']
        if not self._run_exists():
            warnings.warn(
                'the log database {} has no run {}; starting it afresh, its '
                'earlier rows are lost'.format(self.database, self.h_uuid))
            self._register_run(None, None)
        self._load_ancestors()
        # Write the pickled status back: it is the checkpoint's.
        self._written_status = {}

    def __repr__(self):
        return '<SQLiteLog {} in {}, {} iterations done>'.format(
            self.h_uuid, self.database, self.status['iterations_done'])
