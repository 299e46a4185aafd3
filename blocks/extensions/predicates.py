"""Predicates for
:meth:`~blocks.extensions.base.SimpleExtension.add_condition`.
"""

__all__ = ['OnLogRecord']


class OnLogRecord:
    """True when the current log row has a true value under a name.

    Parameters
    ----------
    record_name : str

    Examples
    --------
    >>> from blocks.log import TrainingLog
    >>> log = TrainingLog()
    >>> predicate = OnLogRecord('valid_cost_best_so_far')
    >>> predicate(log)
    False
    >>> log.current_row['valid_cost_best_so_far'] = True
    >>> predicate(log)
    True

    """
    def __init__(self, record_name):
        self.record_name = record_name

    def __call__(self, log):
        return bool(log.current_row.get(self.record_name, False))

    def __repr__(self):
        return 'OnLogRecord({!r})'.format(self.record_name)
