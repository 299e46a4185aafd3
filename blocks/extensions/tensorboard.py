"""Live learning curves in TensorBoard.

The event files are written with tensorboardX (an optional dependency:
``pip install 'blocks[tensorboard]'``), imported when the first file is
opened; ``tensorboard --logdir DIR`` shows them while training runs.
"""
import numbers
import os

import numpy

from blocks.extensions.base import SimpleExtension

__all__ = ['TensorBoard']


def _scalar(value):
    """The value as a float if it is one number, None otherwise."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, numbers.Number):
        return float(value)
    if isinstance(value, numpy.ndarray) and value.size == 1 and (
            value.dtype.kind in 'biuf'):
        return float(value.reshape(()))
    return None


class TensorBoard(SimpleExtension):
    """Write every scalar of the log to TensorBoard event files.

    Each number the log holds (monitored costs, error rates, timings...)
    becomes a scalar summary named after its record, at the step
    ``iterations_done``. Values that are not single numbers are skipped.

    Parameters
    ----------
    log_dir : str
        The directory of the event files (``tensorboard --logdir`` reads
        it).
    histograms : bool, optional
        Also write, after every epoch, a histogram of each parameter and
        persistent variable of the main loop's model (such as batch
        normalization's population statistics), named by its path
        (``parameters/mlp/linear_0.W``).
    \\*\\*kwargs
        Triggers; by default before the first epoch, after every batch,
        after every epoch and after training (each record is written
        once, whichever callback sees it first).

    Examples
    --------
    >>> import tempfile
    >>> board = TensorBoard(tempfile.mkdtemp(), histograms=True)

    """
    def __init__(self, log_dir, histograms=False, **kwargs):
        for trigger in ('before_first_epoch', 'after_batch', 'after_epoch',
                        'after_training'):
            kwargs.setdefault(trigger, True)
        kwargs.setdefault('on_interrupt', True)
        super().__init__(**kwargs)
        self.log_dir = log_dir
        self.histograms = histograms
        self.writer = None
        self._written = (None, set())  # (iteration, names written)

    def __getstate__(self):
        # The writer holds an open file: a resumed loop opens a new one.
        state = self.__dict__.copy()
        state['writer'] = None
        state['_written'] = (None, set())
        return state

    def open_writer(self):
        """The tensorboardX writer of `log_dir`, opened on first use."""
        if self.writer is None:
            try:
                # Imported here: the dependency is optional (see the
                # module docstring).
                from tensorboardX import SummaryWriter
            except ImportError as error:
                raise ImportError(
                    'the TensorBoard extension needs tensorboardX: pip '
                    "install 'blocks[tensorboard]'") from error
            os.makedirs(self.log_dir, exist_ok=True)
            self.writer = SummaryWriter(logdir=self.log_dir)
        return self.writer

    def do(self, which_callback, *args):
        writer = self.open_writer()
        log = self.main_loop.log
        step = log.status['iterations_done']
        self._write_scalars(writer, log.current_row, step)
        if self.histograms and which_callback == 'after_epoch':
            self._write_histograms(writer, step)
        if which_callback in ('after_training', 'on_interrupt'):
            writer.close()
            self.writer = None
        else:
            writer.flush()

    def _write_scalars(self, writer, row, step):
        iteration, names = self._written
        if iteration != step:
            names = set()
            self._written = (step, names)
        for name, value in sorted(row.items()):
            number = _scalar(value)
            if name.startswith('_') or name in names or number is None:
                continue
            writer.add_scalar(name, number, global_step=step)
            names.add(name)

    def _write_histograms(self, writer, step):
        # The main loop's error says how to give it a model.
        for path, variable in (
                self.main_loop.model.get_persistent_dict().items()):
            writer.add_histogram(
                'parameters/' + path.lstrip('/'),
                numpy.asarray(variable.get_value(borrow=True)),
                global_step=step)
