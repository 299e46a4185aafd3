"""Training logs: a row of values per iteration and the main loop's status.

:class:`TrainingLog` keeps the log in memory; :class:`SQLiteLog` keeps it in
an SQLite database that other processes can read while training runs.
``TrainingLog()`` picks the backend named by
``blocks.config.config.log_backend``.
"""
from blocks.log.log import TrainingLogBase, TrainingLog, default_status
from blocks.log.sqlite import SQLiteLog, list_runs

__all__ = ['TrainingLogBase', 'TrainingLog', 'SQLiteLog', 'default_status',
           'list_runs']
