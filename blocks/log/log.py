"""The training log: one row of values per iteration, and a status.

A main loop writes what happened at each iteration (costs, monitored
values, timings) into the row of that iteration and keeps its counters
(iterations done, epochs done ...) in the log's ``status``. Rows are
keyed by the number of iterations done when they were written, so that
``log.current_row`` is the row being filled now.

Two backends exist: :class:`TrainingLog` keeps everything in memory, and
:class:`~blocks.log.sqlite.SQLiteLog` writes to an SQLite database that
other processes can read while training runs; :func:`blocks.log.create_log`
makes the one a setting names.
"""
import numbers
from abc import ABC, abstractmethod
from collections import defaultdict
from uuid import UUID, uuid4

__all__ = ['TrainingLogBase', 'TrainingLog', 'default_status']


def default_status():
    """The status of a log nothing has been written to.

    The main loop reads and updates these entries; it may add others.
    """
    return {
        'iterations_done': 0,
        'epochs_done': 0,
        # The iterations_done value at the end of each epoch
        '_epoch_ends': [],
        'received_first_batch': False,
        'resumed_from': None,
        'training_started': False,
        'epoch_started': False,
        'epoch_interrupt_received': False,
        'batch_interrupt_received': False,
        'training_finish_requested': False,
    }


def _as_uuid(value):
    """Accept a UUID, its hex string, or its 16 bytes."""
    if value is None:
        return uuid4()
    if isinstance(value, UUID):
        return value
    if isinstance(value, bytes):
        return UUID(bytes=value)
    try:
        return UUID(hex=str(value))
    except ValueError:
        raise ValueError(
            'expected a UUID (UUID object, hex string or 16 bytes) for the '
            'log, got {!r}'.format(value)) from None


def check_iteration(iteration):
    """Raise unless `iteration` can key a row: a non-negative integer."""
    if type(iteration) is int and iteration >= 0:
        return
    if (not isinstance(iteration, numbers.Integral)
            or isinstance(iteration, bool) or iteration < 0):
        raise ValueError('log rows are keyed by non-negative integer '
                         'iteration numbers, got {!r}'.format(iteration))


class TrainingLogBase(ABC):
    """What every log backend offers.

    Subclasses provide ``__getitem__`` (the row of an iteration, created on
    demand), iteration over the iteration numbers that have rows, and a
    ``status`` dictionary.

    Attributes
    ----------
    status : dict
        Counters and flags of the main loop; see :func:`default_status`.
    uuid : :class:`uuid.UUID`
        Identifies this run; changed by :meth:`resume`.

    """
    def _init_identity(self, uuid):
        self.uuid = _as_uuid(uuid)

    @property
    def h_uuid(self):
        """The run's UUID as a 32-character hex string."""
        return self.uuid.hex

    def resume(self):
        """Start a new run that continues this one (called by the main loop
        when training resumes from a checkpoint).

        The log gets a new UUID; ``status['resumed_from']`` holds the hex
        UUID of the run it continues.
        """
        old = self.h_uuid
        self.uuid = uuid4()
        self.status['resumed_from'] = old

    @abstractmethod
    def __getitem__(self, iteration):
        """The row of `iteration`, a mutable mapping created on demand."""

    @property
    def current_row(self):
        """The row of the iteration in progress (``iterations_done``)."""
        return self[self.status['iterations_done']]

    @property
    def previous_row(self):
        """The row of the last finished iteration."""
        done = self.status['iterations_done']
        if done == 0:
            raise ValueError('the log has no previous row: no iteration has '
                             'been done yet')
        return self[done - 1]

    @property
    def last_epoch_row(self):
        """The row written when the last epoch ended."""
        ends = self.status['_epoch_ends']
        if not ends:
            raise ValueError('the log has no last epoch row: no epoch has '
                             'ended yet')
        return self[ends[-1]]

    def _sorted_rows(self):
        """(iteration, row dict) pairs of the non-empty rows, in order."""
        for iteration in sorted(self):
            row = dict(self[iteration])
            if row:
                yield iteration, row

    def to_records(self):
        """The non-empty rows as a list of dicts, in iteration order; each
        dict has the row's values and an ``'iteration'`` key.

        Examples
        --------
        >>> log = TrainingLog()
        >>> log[3]['cost'] = 0.5
        >>> log.to_records()
        [{'iteration': 3, 'cost': 0.5}]

        """
        records = []
        for iteration, row in self._sorted_rows():
            record = {'iteration': iteration}
            record.update(row)
            records.append(record)
        return records

    def to_dataframe(self):
        """The non-empty rows as a :class:`pandas.DataFrame` indexed by
        iteration; pandas must be installed (blocks does not depend on it).
        """
        try:
            import pandas
        except ImportError as error:
            raise ImportError(
                'TrainingLog.to_dataframe needs pandas, which blocks does '
                'not install; install it (pip install pandas) or use '
                'to_records()') from error
        records = self.to_records()
        frame = pandas.DataFrame.from_records(records, columns=None)
        if records:
            frame = frame.set_index('iteration')
        return frame


class TrainingLog(defaultdict, TrainingLogBase):
    """A training log kept in memory: a ``defaultdict`` of row dicts keyed
    by iteration number.

    This is the ``'python'`` backend; :func:`blocks.log.create_log` makes
    the backend a name or the setting ``log_backend`` asks for.

    Parameters
    ----------
    uuid : UUID or str, optional
        The run's identifier; a new one by default.

    Examples
    --------
    >>> log = TrainingLog()
    >>> log.current_row['cost'] = 2.0
    >>> log.status['iterations_done'] += 1
    >>> log.previous_row
    {'cost': 2.0}
    >>> log.current_row
    {}

    """
    def __init__(self, uuid=None):
        defaultdict.__init__(self, dict)
        self.status = default_status()
        self._init_identity(uuid)

    def __reduce__(self):
        # defaultdict's own reduce would pass its default factory (dict) to
        # TrainingLog() as the uuid; the state restores uuid and status.
        return (type(self), (), self.__dict__.copy(), None,
                iter(self.items()))

    def __getitem__(self, iteration):
        check_iteration(iteration)
        return super().__getitem__(iteration)

    def __setitem__(self, iteration, row):
        check_iteration(iteration)
        super().__setitem__(iteration, row)

    def __repr__(self):
        return '<TrainingLog {} with {} rows, {} iterations done>'.format(
            self.h_uuid, len(self), self.status['iterations_done'])
