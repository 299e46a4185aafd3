"""Extensions: what a :class:`~blocks.main_loop.MainLoop` does besides
feeding batches to the algorithm.

The main loop calls its extensions at fixed points of training (the
*callbacks*): ``before_training``, ``before_epoch``, ``before_batch``,
``after_batch``, ``after_epoch``, ``after_training``, ``on_resumption``,
``on_interrupt`` and ``on_error``. A
:class:`~blocks.extensions.base.TrainingExtension` overrides the callbacks
it needs; a :class:`~blocks.extensions.base.SimpleExtension` implements one
method, :meth:`~blocks.extensions.base.SimpleExtension.do`, and is told
when to run by *triggers* given as keyword arguments::

    Printing(every_n_batches=100, after_epoch=True)

Boolean triggers: ``before_training``, ``before_first_epoch``,
``before_epoch``, ``before_batch``, ``after_batch``, ``after_epoch``,
``after_training``, ``on_resumption``, ``on_interrupt``, ``on_error``.
Integer triggers: ``after_n_epochs``, ``after_n_batches``,
``every_n_epochs``, ``every_n_batches``.

Extensions talk to the loop and to each other through the log: for
instance :class:`~blocks.extensions.stopping.FinishAfter` writes
``training_finish_requested`` into the current row, and the loop stops.

The protocol is in :mod:`blocks.extensions.base`; this package re-exports
the names Blocks had here.
"""
from blocks.extensions.base import (CALLBACKS, TrainingExtension,
                                    SimpleExtension, Predicate,
                                    has_done_epochs, CompositeExtension)
from blocks.extensions.printing import Printing
from blocks.extensions.progress import ProgressBar
from blocks.extensions.stopping import FinishAfter
from blocks.extensions.timing import Timing, Timestamp

__all__ = ['CALLBACKS', 'TrainingExtension', 'SimpleExtension', 'Predicate',
           'has_done_epochs', 'FinishAfter', 'Printing', 'ProgressBar',
           'Timing', 'Timestamp', 'CompositeExtension']
