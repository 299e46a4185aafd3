"""The main loop: feed batches to a training algorithm and call extensions.
"""
import logging
import signal
import threading
import time
import traceback

from blocks.config import config
from blocks.extensions.base import CALLBACKS
from blocks.extensions.stopping import FinishAfter
from blocks.log import create_log
from blocks.utils import change_recursion_limit

__all__ = ['MainLoop', 'TrainingFinish']

logger = logging.getLogger(__name__)


class TrainingFinish(Exception):
    """Raised inside the loop when training must stop (an extension asked
    for it)."""


class _Interrupted(Exception):
    """Raised inside the loop after the on_interrupt callbacks ran."""


class MainLoop:
    """Train: read batches from a data stream, give them to an algorithm,
    and call the extensions at every stage.

    The loop records everything in its log: ``log.status`` holds the
    counters (``iterations_done``, ``epochs_done`` ...) and
    ``log.current_row`` the records of the iteration in progress.
    Training stops when an extension writes ``training_finish_requested``
    into the current row (see
    :class:`~blocks.extensions.stopping.FinishAfter`) or when the data
    stream has no more epochs.

    Ctrl-C (SIGINT) or SIGTERM stops training after the current batch: the
    ``on_interrupt`` callbacks run (a
    :class:`~blocks.extensions.saveload.Checkpoint` saves by default) and
    :meth:`run` returns normally, with the signal's number in
    ``interrupted_by`` (so that a command line can exit with 128 plus
    it, as shells expect). A second Ctrl-C stops at once. An error
    in the algorithm or an extension runs the ``on_error`` callbacks and is
    then re-raised.

    Parameters
    ----------
    algorithm : :class:`~blocks.algorithms.TrainingAlgorithm`
    data_stream : data stream
        Anything with ``get_epoch_iterator(as_dict=True)`` that yields
        dicts from source names to arrays.
    model : :class:`~blocks.model.Model`, optional
        For the extensions (checkpoints save its parameters).
    log : :class:`~blocks.log.log.TrainingLogBase`, optional
        A new log by default (:func:`blocks.log.create_log`).
    log_backend : {'python', 'sqlite'}, optional
        The backend of the new log, a key of :data:`blocks.log.BACKENDS`;
        ``blocks.config.config.log_backend``
        by default.
    extensions : list of :class:`~blocks.extensions.base.TrainingExtension`
        Called in this order at each callback.

    Attributes
    ----------
    timings : dict
        Seconds spent in ``initialization``, ``read_data`` and ``train``
        (the algorithm), summed over the whole training.
    interrupted_by : int or None
        The signal that stopped the last :meth:`run`, if one did.

    Examples
    --------
    >>> import numpy, pytensor, pytensor.tensor as pt
    >>> from blocks.algorithms import GradientDescent, Scale
    >>> from blocks.extensions import FinishAfter
    >>> w = pytensor.shared(0.0, name='w')
    >>> x = pt.vector('x')
    >>> class Stream:
    ...     sources = ('x',)
    ...     def get_epoch_iterator(self, as_dict=False):
    ...         return iter([{'x': numpy.ones(4)}] * 3)
    >>> loop = MainLoop(GradientDescent(cost=((x - w) ** 2).mean(),
    ...                                 parameters=[w],
    ...                                 step_rule=Scale(0.25)),
    ...                 Stream(), extensions=[FinishAfter(after_n_epochs=2)])
    >>> loop.run()
    >>> loop.status['iterations_done'], loop.status['epochs_done']
    (6, 2)
    >>> round(float(w.get_value()), 4)
    0.9844

    """
    def __init__(self, algorithm, data_stream, model=None, log=None,
                 log_backend=None, extensions=None):
        if log is None:
            log = create_log(log_backend)
        self.algorithm = algorithm
        self.data_stream = data_stream
        self.log = log
        self.extensions = list(extensions or [])
        self._model = model
        self.epoch_iterator = None
        self.timings = {'initialization': 0.0, 'read_data': 0.0,
                        'train': 0.0}
        for key in ('training_started', 'epoch_started',
                    'batch_interrupt_received', 'epoch_interrupt_received',
                    'received_first_batch'):
            self.status.setdefault(key, False)
        self._interrupted = False
        self.interrupted_by = None
        self._dispatch_table = None
        self._original_handlers = None

    @property
    def finished(self):
        """Whether the last :meth:`run` ran to its end (an extension asked
        it to finish): ``blocks-continue`` then refuses to train it again
        unless asked for more epochs (:meth:`extend_training`)."""
        return bool(self.status.get('training_finished')
                    or self.log.current_row.get('training_finished'))

    def extend_training(self, epochs):
        """Let a run train `epochs` more epochs, finished or not.

        The ``after_n_epochs`` / ``after_n_batches`` conditions of the
        :class:`~blocks.extensions.stopping.FinishAfter` extensions are
        replaced by one that stops after `epochs` more epochs; their other
        conditions stay.
        """
        if isinstance(epochs, bool) or int(epochs) != epochs or epochs < 1:
            raise ValueError('epochs must be a positive integer, got {!r}'
                             .format(epochs))
        for extension in self.extensions:
            if isinstance(extension, FinishAfter):
                extension.drop_count_conditions()
        self.extensions.append(FinishAfter(
            after_n_epochs=self.status['epochs_done'] + int(epochs)))
        self.status['training_finished'] = False
        self.status['training_finish_requested'] = False
        row = self.log.current_row
        for key in ('training_finished', 'training_finish_requested'):
            if row.get(key):
                row[key] = False
        self._dispatch_table = None

    @property
    def model(self):
        if self._model is None:
            raise AttributeError('this main loop has no model; an extension '
                                 'that needs one (Checkpoint with default '
                                 'parameters, ...) requires MainLoop(..., '
                                 'model=Model(cost))')
        return self._model

    @model.setter
    def model(self, value):
        self._model = value

    @property
    def status(self):
        """The log's status: ``iterations_done``, ``epochs_done`` ..."""
        return self.log.status

    @property
    def iteration_state(self):
        """The (data stream, epoch iterator) pair."""
        return self.data_stream, self.epoch_iterator

    @iteration_state.setter
    def iteration_state(self, value):
        self.data_stream, self.epoch_iterator = value

    def find_extension(self, name):
        """The extension called `name`; ValueError unless there is exactly
        one."""
        found = [extension for extension in self.extensions
                 if extension.name == name]
        if len(found) != 1:
            names = [ext.name for ext in self.extensions]
            raise ValueError('{} extensions are named {!r}; the extensions '
                             'are {}'.format(len(found), name, names))
        return found[0]

    # Running

    def run(self):
        """Train until an extension asks to finish, the data stream ends,
        or an interrupt arrives."""
        self.algorithm.check_sanity(self._model)
        # Running again (with changed stopping conditions) starts a new end.
        self.status['training_finished'] = False
        self._interrupted = False
        self.interrupted_by = None
        self._dispatch_table = None
        finished = False
        with change_recursion_limit(config.recursion_limit):
            self._install_signal_handlers()
            try:
                for extension in self.extensions:
                    extension.main_loop = self
                if not self.status['training_started']:
                    self._run_callbacks('before_training')
                    start = time.perf_counter()
                    self.algorithm.initialize()
                    self.timings['initialization'] += (time.perf_counter()
                                                       - start)
                    self.status['training_started'] = True
                if self.status['iterations_done'] > 0:
                    self.log.resume()
                    self.status['batch_interrupt_received'] = False
                    self.status['epoch_interrupt_received'] = False
                    self._run_callbacks('on_resumption')
                while self._run_epoch():
                    pass
            except TrainingFinish:
                self.log.current_row['training_finished'] = True
                self.status['training_finished'] = True
                finished = True
            except _Interrupted:
                logger.warning('Training interrupted after %d batches',
                               self.status['iterations_done'])
            except Exception as error:
                self._restore_signal_handlers()
                self.log.current_row['got_exception'] = traceback.format_exc()
                logger.error('Error during training; running the on_error '
                             'callbacks before re-raising it')
                try:
                    self._run_callbacks('on_error', error)
                except Exception:
                    logger.error('Error in an on_error callback; the '
                                 'remaining ones were not run:\n%s',
                                 traceback.format_exc())
                raise
            finally:
                self._restore_signal_handlers()
            if finished:
                self._run_callbacks('after_training')

    def _run_epoch(self):
        status = self.status
        if not status['epoch_started']:
            self._check_interrupt()
            try:
                self.epoch_iterator = self.data_stream.get_epoch_iterator(
                    as_dict=True)
            except StopIteration:
                return False
            status['received_first_batch'] = False
            status['epoch_started'] = True
            self._run_callbacks('before_epoch')
        self._run_batches()
        if not status['received_first_batch']:
            raise ValueError('the epoch iterator of {!r} gave no batches'
                             .format(self.data_stream))
        status['epoch_started'] = False
        status['epochs_done'] += 1
        # a new list rather than append: a log backend may track changes
        status['_epoch_ends'] = status['_epoch_ends'] + [
            status['iterations_done']]
        ran = self._run_callbacks('after_epoch')
        self._check_interrupt()
        if ran and self._finish_requested():
            raise TrainingFinish
        return True

    def _run_batches(self):
        """The per-batch loop, kept free of avoidable work: callbacks that
        no extension wants are skipped, and the log row is read only when
        an extension ran after the batch."""
        status = self.status
        iterator = self.epoch_iterator
        process_batch = self.algorithm.process_batch
        timings = self.timings
        clock = time.perf_counter
        table = self._get_dispatch_table()
        before_batch, after_batch = table['before_batch'], table['after_batch']
        while True:
            start = clock()
            try:
                batch = next(iterator)
            except StopIteration:
                return
            read = clock()
            status['received_first_batch'] = True
            for dispatch in before_batch:
                dispatch('before_batch', batch)
            process_batch(batch)
            timings['read_data'] += read - start
            timings['train'] += clock() - read
            status['iterations_done'] += 1
            ran = False
            for dispatch in after_batch:
                if dispatch('after_batch', batch) is not False:
                    ran = True
            if self._interrupted:
                self._interrupt()
            if ran and self._finish_requested():
                raise TrainingFinish
            if self._dispatch_table is not table:
                table = self._get_dispatch_table()
                before_batch = table['before_batch']
                after_batch = table['after_batch']

    def _finish_requested(self):
        return bool(self.log.current_row.get('training_finish_requested',
                                             False)
                    or self.status.get('training_finish_requested', False))

    # Extensions

    def _get_dispatch_table(self):
        table = self._dispatch_table
        if table is None:
            table = {name: [] for name in CALLBACKS}
            for extension in self.extensions:
                for name in extension.wanted_callbacks():
                    table[name].append(extension.dispatch)
            table = {name: tuple(dispatches)
                     for name, dispatches in table.items()}
            self._dispatch_table = table
        return table

    def _run_callbacks(self, name, *args):
        """Run callback `name` of the extensions that want it; return
        whether any of them did something."""
        ran = False
        for dispatch in self._get_dispatch_table()[name]:
            if dispatch(name, *args) is not False:
                ran = True
        return ran

    #: Blocks' name of :meth:`_run_callbacks`, which user extensions and
    #: Blocks' test helpers call
    _run_extensions = _run_callbacks

    # Interrupts

    def _install_signal_handlers(self):
        self._original_handlers = None
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be set in the main thread
        self._original_handlers = {
            signum: signal.signal(signum, self._handle_interrupt)
            for signum in (signal.SIGINT, signal.SIGTERM)}

    def _restore_signal_handlers(self):
        handlers, self._original_handlers = self._original_handlers, None
        if handlers:
            for signum, handler in handlers.items():
                signal.signal(signum, handler)

    def _handle_interrupt(self, signum, frame):
        # Finish the batch in progress; a second signal gets the original
        # handler (KeyboardInterrupt for Ctrl-C).
        self._restore_signal_handlers()
        self._interrupted = True
        self.interrupted_by = signum
        self.status['batch_interrupt_received'] = True
        logger.warning('Received signal %d: training stops after this batch '
                       'and the on_interrupt callbacks; send it again to '
                       'stop at once', signum)

    def _check_interrupt(self):
        if self._interrupted:
            self._interrupt()

    def _interrupt(self):
        self.log.current_row['batch_interrupt_received'] = True
        self._run_callbacks('on_interrupt')
        raise _Interrupted

    def __getstate__(self):
        state = self.__dict__.copy()
        state['_dispatch_table'] = None
        state['_original_handlers'] = None
        state['_interrupted'] = False
        return state
