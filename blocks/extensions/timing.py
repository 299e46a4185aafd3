"""Recording time: durations of the stages of training, timestamps."""
import datetime

from blocks.extensions.base import SimpleExtension

__all__ = ['Timing', 'Timestamp']


class Timing(SimpleExtension):
    """Record how long initialization, reading data and training took.

    Records (with the prefix): ``time_initialization`` before the first
    epoch; ``time_train_this_epoch``, ``time_read_data_this_epoch``,
    ``time_train_total`` and ``time_read_data_total`` after each epoch (and
    ``..._this_batch`` when triggered after batches). Times are in seconds.

    Parameters
    ----------
    prefix : str, optional
        Prepended to the record names, with an underscore.
    \\*\\*kwargs
        Triggers; before_first_epoch and after_epoch by default.

    """
    def __init__(self, prefix='', **kwargs):
        kwargs.setdefault('before_first_epoch', True)
        kwargs.setdefault('after_epoch', True)
        super().__init__(**kwargs)
        self.prefix = prefix + '_' if prefix else ''
        # level -> (counter value, timings) at the last report
        self._last = {}

    def do(self, which_callback, *args):
        loop = self.main_loop
        row = loop.log.current_row
        timings = loop.timings
        if which_callback == 'before_epoch':
            row[self.prefix + 'time_initialization'] = \
                timings['initialization']
            return
        level = 'batch' if which_callback == 'after_batch' else 'epoch'
        counter = loop.status['iterations_done' if level == 'batch'
                              else 'epochs_done']
        last_counter, last = self._last.get(level, (None, None))
        if last_counter == counter:
            return  # called twice for the same batch or epoch
        for action in ('train', 'read_data'):
            previous = last[action] if last else 0.0
            row['{}time_{}_this_{}'.format(self.prefix, action, level)] = (
                timings[action] - previous)
            row['{}time_{}_total'.format(self.prefix, action)] = \
                timings[action]
        self._last[level] = (counter, dict(timings))


class Timestamp(SimpleExtension):
    """Record the date and time (ISO 8601).

    By default before training, after every epoch, after training, on
    errors, interrupts and resumption.

    Parameters
    ----------
    log_record : str, optional
        The record name, ``'timestamp'`` by default.
    separator : str, optional
        Between date and time; a space by default (ISO 8601 says 'T').

    """
    DEFAULT_LOG_RECORD = 'timestamp'

    def __init__(self, log_record=DEFAULT_LOG_RECORD, separator=' ',
                 **kwargs):
        self.log_record = log_record
        self.separator = separator
        for trigger in ('before_training', 'after_epoch', 'on_error',
                        'on_interrupt', 'on_resumption', 'after_training'):
            kwargs.setdefault(trigger, True)
        super().__init__(**kwargs)

    def get_timestamp(self):
        return datetime.datetime.now().isoformat(self.separator)

    def do(self, which_callback, *args):
        self.main_loop.log.current_row[self.log_record] = self.get_timestamp()
