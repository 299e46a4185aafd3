"""Training logs: a row of values per iteration and the main loop's status.

:class:`TrainingLog` keeps the log in memory; :class:`SQLiteLog` keeps it in
an SQLite database that other processes can read while training runs.
:data:`BACKENDS` names them, and :func:`create_log` makes the one a name or
the setting ``blocks.config.config.log_backend`` asks for.
"""
from blocks.config import config
from blocks.log.log import TrainingLogBase, TrainingLog, default_status
from blocks.log.sqlite import SQLiteLog, list_runs

__all__ = ['BACKENDS', 'create_log', 'TrainingLogBase', 'TrainingLog',
           'SQLiteLog', 'default_status', 'list_runs']

#: The log classes by backend name (the values of ``config.log_backend``)
BACKENDS = {'python': TrainingLog, 'sqlite': SQLiteLog}


def create_log(backend=None, **kwargs):
    """A new log of the named backend.

    Parameters
    ----------
    backend : {None, 'python', 'sqlite'}, optional
        A key of :data:`BACKENDS`; ``config.log_backend`` when None.
    \\*\\*kwargs
        Given to the backend's class (``database`` for SQLite ...).

    Examples
    --------
    >>> log = create_log('python')
    >>> isinstance(log, TrainingLog)
    True

    """
    name = config.log_backend if backend is None else backend
    if name not in BACKENDS:
        raise ValueError('unknown log backend {!r}; expected one of {}'.format(
            name, ', '.join(map(repr, sorted(BACKENDS)))))
    return BACKENDS[name](**kwargs)
