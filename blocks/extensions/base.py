"""The callback protocol of extensions: what a
:class:`~blocks.main_loop.MainLoop` calls besides feeding batches to the
algorithm.

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
instance :class:`~blocks.extensions.stopping.FinishAfter` writes
``training_finish_requested`` into the current row, and the loop stops.
"""

__all__ = ['CALLBACKS', 'TrainingExtension', 'SimpleExtension', 'Predicate',
           'has_done_epochs', 'CompositeExtension']

#: The callbacks of extensions, in no particular order
CALLBACKS = ('before_training', 'before_epoch', 'before_batch',
             'after_batch', 'after_epoch', 'after_training', 'on_resumption',
             'on_interrupt', 'on_error')


class TrainingExtension:
    """The base of extensions: every callback does nothing.

    The main loop calls an extension only for the callbacks it wants
    (:meth:`wanted_callbacks`), and that is decided by detecting
    overrides: a subclass wants exactly the callbacks whose method it
    overrides, or every callback if it overrides :meth:`dispatch`. A
    callback assigned to an instance (``extension.after_batch = f``) is
    wanted too, as in Blocks.

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

    def __setattr__(self, name, value):
        super().__setattr__(name, value)
        if name in CALLBACKS:
            self._callbacks_changed()  # a callback assigned to the instance

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
                if name in vars(self)
                or getattr(cls, name) is not getattr(TrainingExtension, name)}

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


class _AllOf:
    """True when every predicate is (picklable, unlike a lambda)."""
    def __init__(self, *predicates):
        self.predicates = [p for p in predicates if p is not None]

    def __call__(self, log):
        return all(predicate(log) for predicate in self.predicates)


class Predicate:
    """The condition of an integer trigger (picklable, unlike a lambda).

    Parameters
    ----------
    condition : {'after_n_epochs', 'after_n_batches', 'every_n_epochs', \
'every_n_batches'}
    num : int
    or_later : bool, optional
        For the ``after_n`` conditions: hold whenever the count is `num` or
        more, not only when it is exactly `num` (the stopping conditions
        use this, so that a run resumed past its end stops).

    """
    def __init__(self, condition, num, or_later=False):
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
        self.or_later = or_later

    def __call__(self, log):
        done = log.status[self._counter]
        if self._every:
            return done % self.num == 0
        if getattr(self, 'or_later', False):  # absent from old pickles
            return done >= self.num
        return done == self.num

    def __repr__(self):
        return 'Predicate({!r}, {})'.format(self.condition, self.num)


class SimpleExtension(TrainingExtension):
    """An extension that runs :meth:`do` when its triggers fire.

    The main loop calls it only for the callbacks its triggers name, unless
    a subclass overrides :meth:`dispatch` (detected by comparing it with
    this class's), which then receives every callback.

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
    #: Whether ``after_n_epochs`` and ``after_n_batches`` hold at the count
    #: and after it (True for stopping conditions) or only at it.
    count_conditions_hold_once_reached = False

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
                    self.add_condition(
                        [self._TRIGGER_CALLBACKS[trigger]],
                        predicate=Predicate(
                            trigger, value,
                            or_later=self.count_conditions_hold_once_reached))
            else:
                raise KeyError('invalid trigger {!r}'.format(trigger))
        self._callbacks_changed()
        return self

    def add_condition(self, callbacks_names, predicate=None, arguments=None):
        """Also run :meth:`do` on the given callbacks.

        Parameters
        ----------
        callbacks_names : list of str
            Callback names, such as ``['after_epoch']``; also, as in
            Blocks, ``'before_first_epoch'`` (``before_epoch`` while no
            epoch is done).
        predicate : callable, optional
            Called with the log; :meth:`do` runs only when it returns True.
        arguments : iterable, optional
            Extra arguments passed to :meth:`do` after those of the main
            loop.

        """
        if isinstance(callbacks_names, str):
            # ValueError, as Blocks raised
            raise ValueError('callbacks_names must be a list of callback '
                             'names, got the string {!r}'.format(
                                 callbacks_names))
        for name in callbacks_names:
            condition = predicate
            if name == 'before_first_epoch':
                name, condition = 'before_epoch', _AllOf(has_done_epochs,
                                                         predicate)
            if name not in CALLBACKS:
                raise ValueError('unknown callback {!r}; callbacks are {}'
                                 .format(name, ', '.join(
                                     CALLBACKS + ('before_first_epoch',))))
            self._conditions.append((name, condition,
                                     tuple(arguments or ())))
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
