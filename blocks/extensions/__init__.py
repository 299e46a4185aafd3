"""Extensions: what a :class:`~blocks.main_loop.MainLoop` does besides
feeding batches to the algorithm.

The main loop calls its extensions at fixed points of training (the
*callbacks*): ``before_training``, ``before_epoch``, ``before_batch``,
``after_batch``, ``after_epoch``, ``after_training``, ``on_resumption``,
``on_interrupt`` and ``on_error``. A :class:`TrainingExtension` overrides
the callbacks it needs; a :class:`SimpleExtension` implements one method,
:meth:`~SimpleExtension.do`, and is told when to run by *triggers* given
as keyword arguments::

    Printing(every_n_batches=100, after_epoch=True)

Boolean triggers: ``before_training``, ``before_first_epoch``,
``before_epoch``, ``before_batch``, ``after_batch``, ``after_epoch``,
``after_training``, ``on_resumption``, ``on_interrupt``, ``on_error``.
Integer triggers: ``after_n_epochs``, ``after_n_batches``,
``every_n_epochs``, ``every_n_batches``.

Extensions talk to the loop and to each other through the log: for
instance :class:`FinishAfter` writes ``training_finish_requested`` into the
current row, and the loop stops.
"""
import datetime
import logging
import math

import progressbar

__all__ = ['CALLBACKS', 'TrainingExtension', 'SimpleExtension', 'Predicate',
           'has_done_epochs', 'FinishAfter', 'Printing', 'ProgressBar',
           'Timing', 'Timestamp', 'CompositeExtension']

logger = logging.getLogger(__name__)

#: The callbacks of extensions, in no particular order
CALLBACKS = ('before_training', 'before_epoch', 'before_batch',
             'after_batch', 'after_epoch', 'after_training', 'on_resumption',
             'on_interrupt', 'on_error')


class TrainingExtension:
    """The base of extensions: every callback does nothing.

    Parameters
    ----------
    name : str, optional
        How :meth:`~blocks.main_loop.MainLoop.find_extension` finds it; the
        class name by default.

    Examples
    --------
    >>> class CountBatches(TrainingExtension):
    ...     def before_training(self):
    ...         self.batches = 0
    ...     def after_batch(self, batch):
    ...         self.batches += 1
    >>> CountBatches().name
    'CountBatches'

    """
    def __init__(self, name=None):
        self.name = name or type(self).__name__

    @property
    def main_loop(self):
        loop = self.__dict__.get('_main_loop')
        if loop is None:
            raise ValueError('the extension {} is not attached to a main loop '
                             'yet'.format(self.name))
        return loop

    @main_loop.setter
    def main_loop(self, value):
        self._main_loop = value

    def _callbacks_changed(self):
        """Tell the main loop to recompute which extensions each callback
        calls."""
        loop = self.__dict__.get('_main_loop')
        if loop is not None:
            loop._dispatch_table = None

    def wanted_callbacks(self):
        """The callbacks this extension reacts to; the main loop skips it
        for the others."""
        cls = type(self)
        if cls.dispatch is not TrainingExtension.dispatch:
            return set(CALLBACKS)
        return {name for name in CALLBACKS
                if getattr(cls, name) is not getattr(TrainingExtension, name)}

    def dispatch(self, callback_name, *args):
        """Run callback `callback_name`; return whether anything ran."""
        getattr(self, callback_name)(*args)
        return True

    def on_resumption(self):
        """Training resumes from a checkpoint."""

    def on_error(self, exception):
        """An error is ending training; it is re-raised afterwards."""

    def before_training(self):
        """Training starts (not called again when resuming)."""

    def before_epoch(self):
        """An epoch starts."""

    def before_batch(self, batch):
        """The algorithm is about to process `batch`."""

    def after_batch(self, batch):
        """The algorithm processed `batch`."""

    def after_epoch(self):
        """An epoch ended."""

    def after_training(self):
        """Training finished (as requested by an extension)."""

    def on_interrupt(self):
        """Training was interrupted (Ctrl-C or SIGTERM) after a batch; it
        can be resumed from a checkpoint saved now."""


def has_done_epochs(log):
    """The predicate of ``before_first_epoch``: no epoch is done yet."""
    return log.status['epochs_done'] == 0


class Predicate:
    """The condition of an integer trigger (picklable, unlike a lambda).

    Parameters
    ----------
    condition : {'after_n_epochs', 'after_n_batches', 'every_n_epochs', \
'every_n_batches'}
    num : int

    """
    def __init__(self, condition, num):
        if condition not in SimpleExtension.INTEGER_TRIGGERS:
            raise ValueError('unknown condition {!r}'.format(condition))
        if isinstance(num, bool) or int(num) != num or num <= 0:
            raise ValueError('{} must be a positive integer, got {!r}'.format(
                condition, num))
        self.condition = condition
        self.num = int(num)
        self._counter = ('epochs_done' if condition.endswith('epochs')
                         else 'iterations_done')
        self._every = condition.startswith('every')

    def __call__(self, log):
        done = log.status[self._counter]
        if self._every:
            return done % self.num == 0
        return done == self.num

    def __repr__(self):
        return 'Predicate({!r}, {})'.format(self.condition, self.num)


class SimpleExtension(TrainingExtension):
    """An extension that runs :meth:`do` when its triggers fire.

    Parameters
    ----------
    name : str, optional
    \\*\\*kwargs
        Triggers (see the module documentation), e.g. ``after_epoch=True``
        or ``every_n_batches=10``.

    Examples
    --------
    >>> class Hello(SimpleExtension):
    ...     def do(self, which_callback, *args):
    ...         print('hello from', which_callback)
    >>> hello = Hello(after_epoch=True, every_n_batches=5)
    >>> sorted(hello.wanted_callbacks())
    ['after_batch', 'after_epoch']

    """
    BOOLEAN_TRIGGERS = frozenset([
        'before_training', 'before_first_epoch', 'before_epoch',
        'before_batch', 'after_batch', 'after_epoch', 'after_training',
        'on_resumption', 'on_interrupt', 'on_error'])
    INTEGER_TRIGGERS = frozenset([
        'after_n_epochs', 'after_n_batches', 'every_n_epochs',
        'every_n_batches'])
    # trigger -> the callback that checks it
    _TRIGGER_CALLBACKS = {
        'before_first_epoch': 'before_epoch',
        'after_n_epochs': 'after_epoch',
        'every_n_epochs': 'after_epoch',
        'after_n_batches': 'after_batch',
        'every_n_batches': 'after_batch',
    }

    def __init__(self, name=None, **kwargs):
        self._conditions = []
        unknown = sorted(set(kwargs) - self.BOOLEAN_TRIGGERS
                         - self.INTEGER_TRIGGERS)
        if unknown:
            raise TypeError('{}: unknown arguments or triggers {}'.format(
                type(self).__name__, ', '.join(unknown)))
        super().__init__(name=name)
        self.set_conditions(**kwargs)

    def set_conditions(self, **kwargs):
        """Replace every condition (those of :meth:`add_condition` too) by
        the given triggers; returns the extension."""
        self._conditions = []
        for trigger, value in kwargs.items():
            if trigger in self.BOOLEAN_TRIGGERS:
                if value:
                    predicate = (has_done_epochs
                                 if trigger == 'before_first_epoch' else None)
                    self.add_condition(
                        [self._TRIGGER_CALLBACKS.get(trigger, trigger)],
                        predicate=predicate)
            elif trigger in self.INTEGER_TRIGGERS:
                if value:
                    self.add_condition([self._TRIGGER_CALLBACKS[trigger]],
                                       predicate=Predicate(trigger, value))
            else:
                raise KeyError('invalid trigger {!r}'.format(trigger))
        self._callbacks_changed()
        return self

    def add_condition(self, callbacks_names, predicate=None, arguments=None):
        """Also run :meth:`do` on the given callbacks.

        Parameters
        ----------
        callbacks_names : list of str
            Callback names, such as ``['after_epoch']``.
        predicate : callable, optional
            Called with the log; :meth:`do` runs only when it returns True.
        arguments : iterable, optional
            Extra arguments passed to :meth:`do` after those of the main
            loop.

        """
        if isinstance(callbacks_names, str):
            raise TypeError('callbacks_names must be a list of callback '
                            'names, got the string {!r}'.format(
                                callbacks_names))
        for name in callbacks_names:
            if name not in CALLBACKS:
                raise ValueError('unknown callback {!r}; callbacks are {}'
                                 .format(name, ', '.join(CALLBACKS)))
            self._conditions.append((name, predicate, tuple(arguments or ())))
        self._callbacks_changed()
        return self

    def wanted_callbacks(self):
        if type(self).dispatch is not SimpleExtension.dispatch:
            return set(CALLBACKS)
        return {name for name, _, _ in self._conditions}

    def dispatch(self, callback_name, *args):
        ran = False
        for name, predicate, arguments in self._conditions:
            if name == callback_name and (
                    predicate is None or predicate(self.main_loop.log)):
                self.do(callback_name, *(args + arguments))
                ran = True
        return ran

    def do(self, which_callback, *args):
        """Do the extension's work.

        Parameters
        ----------
        which_callback : str
            The callback that triggered it.
        \\*args
            The callback's arguments (the batch for ``before_batch`` and
            ``after_batch``, the exception for ``on_error``) followed by
            those given to :meth:`add_condition`.

        """
        raise NotImplementedError

    @staticmethod
    def parse_args(which_callback, args):
        """Split :meth:`do`'s arguments into those of the main loop and
        those of the user (see :meth:`add_condition`)."""
        args = tuple(args)
        if which_callback in ('before_batch', 'after_batch', 'on_error'):
            return args[:1], args[1:]
        return (), args


class FinishAfter(SimpleExtension):
    """Stop training when triggered.

    Examples
    --------
    >>> stop = FinishAfter(after_n_epochs=10)

    """
    def do(self, which_callback, *args):
        self.main_loop.log.current_row['training_finish_requested'] = True


class CompositeExtension(SimpleExtension):
    """An extension made of others, dispatched together.

    Parameters
    ----------
    sub_extensions : list of :class:`TrainingExtension`
    run_before_children : bool, optional
        Run this extension's own :meth:`do` before (default) or after the
        children's.
    \\*\\*kwargs
        Triggers of the extension's own :meth:`do` (nothing by default).

    """
    def __init__(self, sub_extensions, run_before_children=True, **kwargs):
        self.sub_extensions = list(sub_extensions)
        self.run_before_children = run_before_children
        super().__init__(**kwargs)

    @property
    def main_loop(self):
        return TrainingExtension.main_loop.fget(self)

    @main_loop.setter
    def main_loop(self, value):
        self._main_loop = value
        for extension in self.sub_extensions:
            extension.main_loop = value

    def wanted_callbacks(self):
        wanted = {name for name, _, _ in self._conditions}
        for extension in self.sub_extensions:
            wanted |= extension.wanted_callbacks()
        return wanted

    def dispatch(self, callback_name, *args):
        ran = False
        if self.run_before_children:
            ran = SimpleExtension.dispatch(self, callback_name, *args)
        for extension in self.sub_extensions:
            ran = extension.dispatch(callback_name, *args) or ran
        if not self.run_before_children:
            ran = SimpleExtension.dispatch(self, callback_name, *args) or ran
        return ran

    def do(self, which_callback, *args):
        pass


class Printing(SimpleExtension):
    """Print the status and the current log row.

    By default before the first epoch, after every epoch, after training
    and on interrupt.

    Parameters
    ----------
    \\*\\*kwargs
        Triggers.

    """
    def __init__(self, **kwargs):
        for trigger in ('before_first_epoch', 'after_epoch', 'after_training',
                        'on_interrupt'):
            kwargs.setdefault(trigger, True)
        super().__init__(**kwargs)

    @staticmethod
    def _print_attributes(mapping):
        for name, value in sorted(mapping.items()):
            if not name.startswith('_'):
                print('\t', '{}:'.format(name), value)

    def do(self, which_callback, *args):
        log = self.main_loop.log
        print('-' * 79)
        if which_callback == 'before_epoch' and log.status['epochs_done'] == 0:
            print('BEFORE FIRST EPOCH')
        elif which_callback == 'on_resumption':
            print('TRAINING RESUMED')
        elif which_callback == 'after_training':
            print('TRAINING HAS BEEN FINISHED:')
        elif which_callback == 'after_epoch':
            print('AFTER ANOTHER EPOCH')
        elif which_callback == 'on_interrupt':
            print('TRAINING HAS BEEN INTERRUPTED')
        print('-' * 79)
        print('Training status:')
        self._print_attributes(log.status)
        print('Log records from the iteration {}:'.format(
            log.status['iterations_done']))
        self._print_attributes(dict(log.current_row))
        print()


class _BatchRate(progressbar.widgets.WidgetBase):
    """Batches per second since the bar started."""
    def __call__(self, progress, data, format=None):
        elapsed = data['total_seconds_elapsed']
        if not elapsed or not data['value']:
            return '--- batches/s'
        return '{:.1f} batches/s'.format(data['value'] / elapsed)


class ProgressBar(TrainingExtension):
    """Show a progress bar of the batches of each epoch: the batch count
    out of the epoch's length when it is known, a percentage, the rate in
    batches per second and the time left.

    The epoch's length comes from the data stream's iteration scheme or,
    when it does not say, from the length of the previous epoch.

    Parameters
    ----------
    name : str, optional
    fd : file, optional
        Where to draw; standard error by default.

    """
    def __init__(self, name=None, fd=None):
        super().__init__(name=name)
        self.fd = fd
        self.bar = None
        self.iteration_count = 0
        self.last_epoch_length = None

    def __getstate__(self):
        state = self.__dict__.copy()
        state['bar'] = None
        state['fd'] = None
        return state

    def get_iter_per_epoch(self):
        """The number of batches per epoch, if the scheme tells."""
        stream = self.main_loop.data_stream
        while getattr(stream, 'keeps_item_count', False):
            stream = stream.data_stream
        scheme = getattr(stream, 'iteration_scheme', None)
        batch_size = getattr(scheme, 'batch_size', None)
        examples = None
        if hasattr(scheme, 'indices'):
            examples = len(scheme.indices)
        elif getattr(scheme, 'num_examples', None) is not None:
            examples = scheme.num_examples
        if examples is None:
            return self.last_epoch_length
        if batch_size is None:
            return examples
        if not isinstance(batch_size, int):
            return self.last_epoch_length
        return int(math.ceil(examples / batch_size))

    def create_bar(self):
        length = self.get_iter_per_epoch()
        epoch = 'Epoch {}, batch '.format(
            self.main_loop.log.status['epochs_done'] + 1)
        if length is None:
            widgets = [epoch, progressbar.Counter(), ' ',
                       progressbar.BouncingBar(), ' ', _BatchRate(), ' ',
                       progressbar.Timer()]
            length = progressbar.UnknownLength
        else:
            widgets = [epoch, progressbar.SimpleProgress(), ' (',
                       progressbar.Percentage(), ') ', progressbar.Bar(), ' ',
                       _BatchRate(), ' ', progressbar.ETA()]
        kwargs = {} if self.fd is None else {'fd': self.fd}
        return progressbar.ProgressBar(widgets=widgets, max_value=length,
                                       **kwargs)

    def before_epoch(self):
        self.iteration_count = 0

    def after_batch(self, batch):
        if self.bar is None:
            self.bar = self.create_bar()
            self.bar.start()
        self.iteration_count += 1
        max_value = self.bar.max_value
        if (max_value is not progressbar.UnknownLength
                and self.iteration_count > max_value):
            self.bar.max_value = self.iteration_count
        self.bar.update(self.iteration_count)

    def _finish(self):
        if self.bar is not None:
            self.bar.finish()
            self.bar = None

    def after_epoch(self):
        self.last_epoch_length = self.iteration_count
        self._finish()

    def after_training(self):
        self._finish()

    def on_interrupt(self):
        self._finish()

    def on_error(self, exception):
        self._finish()


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
