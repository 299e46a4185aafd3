"""Stopping training: when asked, or when a record stops improving."""
import logging

from blocks.extensions.base import (CompositeExtension, Predicate,
                                    SimpleExtension)
from blocks.extensions.predicates import OnLogRecord
from blocks.extensions.training import TrackTheBest

__all__ = ['FinishAfter', 'FinishIfNoImprovementAfter', 'EarlyStopping']

logger = logging.getLogger(__name__)


class FinishAfter(SimpleExtension):
    """Stop training when triggered.

    ``after_n_epochs`` and ``after_n_batches`` hold once the count is
    reached *or passed*: a finished run that is resumed (or whose log was
    loaded) stops again instead of training forever.

    Examples
    --------
    >>> stop = FinishAfter(after_n_epochs=10)

    """
    count_conditions_hold_once_reached = True

    def drop_count_conditions(self):
        """Remove the ``after_n_epochs`` / ``after_n_batches`` conditions
        (to give a finished run a new end); returns the extension."""
        self._conditions = [
            (name, predicate, arguments)
            for name, predicate, arguments in self._conditions
            if not (isinstance(predicate, Predicate)
                    and predicate.condition.startswith('after_n'))]
        self._callbacks_changed()
        return self
    def do(self, which_callback, *args):
        self.main_loop.log.current_row['training_finish_requested'] = True


class FinishIfNoImprovementAfter(SimpleExtension):
    """Stop when no new best value was notified for a while.

    Parameters
    ----------
    notification_name : str
        The log record announcing a new best (written by
        :class:`~blocks.extensions.training.TrackTheBest`); only its
        presence counts.
    iterations, epochs : int
        How long to wait for a new best; give exactly one.
    patience_log_record : str, optional
        Where to record the remaining patience;
        ``<notification_name>_patience_epochs`` (or ``_iterations``) by
        default.
    \\*\\*kwargs
        Triggers; after every epoch by default.

    """
    def __init__(self, notification_name, iterations=None, epochs=None,
                 patience_log_record=None, **kwargs):
        if (iterations is None) == (epochs is None):
            raise ValueError('give exactly one of iterations and epochs')
        self.notification_name = notification_name
        self.iterations = iterations
        self.epochs = epochs
        self.last_best_iter = self.last_best_epoch = None
        self.patience_log_record = patience_log_record or (
            notification_name + '_patience_'
            + ('epochs' if epochs is not None else 'iterations'))
        kwargs.setdefault('after_epoch', True)
        super().__init__(**kwargs)

    def update_best(self):
        """Remember when the last best was notified."""
        if self.main_loop.log.current_row.get(self.notification_name):
            self.last_best_iter = self.main_loop.status['iterations_done']
            self.last_best_epoch = self.main_loop.status['epochs_done']

    def do(self, which_callback, *args):
        self.update_best()
        if self.last_best_iter is None:
            return  # no best yet
        status = self.main_loop.status
        if self.epochs is not None:
            patience = self.epochs - (status['epochs_done']
                                      - self.last_best_epoch)
        else:
            patience = self.iterations - (status['iterations_done']
                                          - self.last_best_iter)
        self.main_loop.log.current_row[self.patience_log_record] = patience
        if patience <= 0:
            self.main_loop.log.current_row['training_finish_requested'] = True


class EarlyStopping(CompositeExtension):
    """Track the best value of a record and stop when it stops improving;
    optionally save a checkpoint at every new best.

    Parameters
    ----------
    record_name : str
        The record to watch, e.g. ``'valid_cost'``.
    checkpoint_extension : :class:`~blocks.extensions.saveload.Checkpoint`, \
optional
        Gets a condition to save to `checkpoint_filename` at every new best;
        if the main loop does not have it among its extensions, this
        extension runs it.
    checkpoint_filename : str, optional
        Required with `checkpoint_extension`.
    notification_name : str, optional
        ``<record_name>_best_so_far`` by default.
    choose_best : callable, optional
        :func:`min` by default.
    iterations, epochs : int
        The patience; give exactly one.
    \\*\\*kwargs
        Triggers of the two parts; after every epoch by default.

    Examples
    --------
    >>> stopping = EarlyStopping('valid_cost', epochs=5)
    >>> [type(e).__name__ for e in stopping.sub_extensions]
    ['TrackTheBest', 'FinishIfNoImprovementAfter']

    """
    def __init__(self, record_name, checkpoint_extension=None,
                 checkpoint_filename=None, notification_name=None,
                 choose_best=min, iterations=None, epochs=None, **kwargs):
        notification_name = notification_name or record_name + '_best_so_far'
        kwargs.setdefault('after_epoch', True)
        tracking = TrackTheBest(record_name, notification_name,
                                choose_best=choose_best, **kwargs)
        stopping = FinishIfNoImprovementAfter(
            notification_name, iterations=iterations, epochs=epochs,
            **kwargs)
        if checkpoint_extension is not None:
            if not checkpoint_filename:
                raise ValueError('checkpoint_extension needs a '
                                 'checkpoint_filename')
            # Save where the best is tracked: Blocks saved on after_batch
            # only, which never sees the notification that the default
            # after_epoch tracking writes.
            checkpoint_extension.add_condition(
                sorted(tracking.wanted_callbacks()),
                OnLogRecord(notification_name), (checkpoint_filename,))
        self.checkpoint_extension = checkpoint_extension
        super().__init__([tracking, stopping])

    @property
    def main_loop(self):
        return CompositeExtension.main_loop.fget(self)

    @main_loop.setter
    def main_loop(self, value):
        # As in Blocks, a checkpoint the main loop does not run itself runs
        # as a part of this extension, after the best is tracked.
        checkpoint = self.checkpoint_extension
        if (checkpoint is not None
                and not any(extension is checkpoint
                            for extension in value.extensions)
                and not any(extension is checkpoint
                            for extension in self.sub_extensions)):
            self.sub_extensions.append(checkpoint)
        CompositeExtension.main_loop.fset(self, value)
