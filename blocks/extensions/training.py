"""Extensions that act on training itself: changing hyperparameters and
tracking the best value of a record."""
import inspect
import logging

import numpy

from blocks.extensions.base import SimpleExtension

__all__ = ['SharedVariableModifier', 'TrackTheBest']

logger = logging.getLogger(__name__)


class SharedVariableModifier(SimpleExtension):
    """Set a shared variable (a learning rate ...) from a function of the
    number of iterations done.

    Parameters
    ----------
    parameter : shared variable
    function : callable
        ``function(iterations_done)`` or, with two arguments,
        ``function(iterations_done, old_value)``; returns the new value,
        which is cast to the variable's dtype.
    num_args : int, optional
        1 or 2; found from `function`'s signature by default.
    \\*\\*kwargs
        Triggers; after every batch by default.

    Examples
    --------
    >>> from blocks.algorithms import Scale
    >>> rule = Scale(learning_rate=0.1)
    >>> halve = SharedVariableModifier(
    ...     rule.learning_rate, lambda iterations, old: old / 2,
    ...     every_n_batches=1000)

    """
    def __init__(self, parameter, function, num_args=None, **kwargs):
        kwargs.setdefault('after_batch', True)
        super().__init__(**kwargs)
        self.parameter = parameter
        self.function = function
        if num_args is None:
            num_args = len(inspect.signature(function).parameters)
        if num_args not in (1, 2):
            raise ValueError('the function of SharedVariableModifier takes '
                             '1 or 2 arguments, not {}'.format(num_args))
        self.num_args = num_args

    def do(self, which_callback, *args):
        iterations_done = self.main_loop.status['iterations_done']
        if self.num_args == 1:
            new_value = self.function(iterations_done)
        else:
            new_value = self.function(iterations_done,
                                      self.parameter.get_value())
        self.parameter.set_value(
            numpy.asarray(new_value, dtype=self.parameter.dtype))


class TrackTheBest(SimpleExtension):
    """Notice new best values of a log record.

    When the record improves on the best value so far, the best value is
    stored in the status (``best_<record_name>``) and the current row gets
    ``notification_name = True``.

    Parameters
    ----------
    record_name : str
    notification_name : str, optional
        ``<record_name>_best_so_far`` by default.
    choose_best : callable, optional
        Picks the best of two values; :func:`min` by default.
    \\*\\*kwargs
        Triggers; after every epoch by default.

    """
    def __init__(self, record_name, notification_name=None, choose_best=min,
                 **kwargs):
        self.record_name = record_name
        self.notification_name = (notification_name
                                  or record_name + '_best_so_far')
        self.best_name = 'best_' + record_name
        self.choose_best = choose_best
        kwargs.setdefault('after_epoch', True)
        super().__init__(**kwargs)

    def do(self, which_callback, *args):
        current = self.main_loop.log.current_row.get(self.record_name)
        if current is None:
            return
        best = self.main_loop.status.get(self.best_name)
        if best is None or (current != best
                            and self.choose_best(current, best) == current):
            self.main_loop.status[self.best_name] = current
            self.main_loop.log.current_row[self.notification_name] = True
