"""Extensions: what a :class:`~blocks.main_loop.MainLoop` does besides
feeding batches to the algorithm (monitoring, checkpoints, stopping,
printing...).

The callbacks the loop calls and the triggers that tell a
:class:`~blocks.extensions.base.SimpleExtension` when to run are described
in :mod:`blocks.extensions.base`; this package re-exports the names Blocks
had here.
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
