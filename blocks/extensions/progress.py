"""A progress bar of the batches of each epoch.

progressbar2 is imported when the first bar is drawn, not with this
module: the main loop and the programs that never show a bar do not load
it.
"""
import math
import numbers
import sys

from blocks.extensions.base import TrainingExtension

__all__ = ['ProgressBar']


def _batch_rate(progress, data):
    """A progressbar2 widget: batches per second since the bar started."""
    elapsed = data['total_seconds_elapsed']
    if not elapsed or not data['value']:
        return '--- batches/s'
    return '{:.1f} batches/s'.format(data['value'] / elapsed)


def _format_value(value):
    try:
        return '{:.4g}'.format(float(value))
    except (TypeError, ValueError):
        return str(value)


class ProgressBar(TrainingExtension):
    """Show a progress bar of the batches of each epoch: the batch count
    out of the epoch's length when it is known, a percentage, the latest
    values of chosen log records (the training cost by default), the rate
    in batches per second and the time left.

    The epoch's length comes from the data stream's iteration scheme or,
    when it does not say, from the length of the previous epoch.

    In a terminal the bar is redrawn in place on one line; what the
    program prints meanwhile appears above it rather than glued onto it.
    Written to anything else (a CI log, ``nohup``'s file), the bar prints
    at most `lines_per_epoch` lines per epoch, plus its first and its
    last (when the epoch's length is unknown, at the powers of two).

    Parameters
    ----------
    name : str, optional
    fd : file, optional
        Where to draw; standard error by default.
    channels : list of str, optional
        Log records whose latest value the bar shows (a value stays shown
        until a newer one is logged). By default the record of the
        algorithm's cost: the record named like the cost variable, or
        that name with the prefix ``train_`` (as
        :class:`~blocks.extensions.monitoring.TrainingDataMonitoring`
        with ``prefix='train'`` writes it), once it has been logged.
    lines_per_epoch : int, optional
        Lines per epoch when `fd` is no terminal (10 by default).

    Examples
    --------
    >>> bar = ProgressBar(channels=['train_cost'], lines_per_epoch=4)

    """
    def __init__(self, name=None, fd=None, channels=None, lines_per_epoch=10):
        super().__init__(name=name)
        self.fd = fd
        self.channels = None if channels is None else list(channels)
        self.lines_per_epoch = lines_per_epoch
        self.bar = None
        self.iteration_count = 0
        self.last_epoch_length = None
        self.latest_values = {}
        self._next_line_at = 1

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

    @property
    def stream(self):
        """Where the bar is drawn."""
        return sys.stderr if self.fd is None else self.fd

    def is_terminal(self):
        """Whether the bar is drawn on a terminal (redrawn in place)."""
        isatty = getattr(self.stream, 'isatty', None)
        return bool(isatty and isatty())

    def channel_names(self):
        """The log records the bar looks for (see `channels`)."""
        if self.channels is not None:
            return self.channels
        cost = getattr(self.main_loop.algorithm, 'cost', None)
        name = getattr(cost, 'name', None)
        return [name, 'train_' + name] if name else []

    def _record_latest_values(self):
        row = self.main_loop.log.current_row
        for name in self.channel_names():
            if name in row:
                self.latest_values[name] = row[name]

    def values_text(self):
        """The latest values of the channels, as the bar shows them."""
        if self.channels is None:
            shown = sorted(self.latest_values)
        else:
            shown = self.channels
        return ', '.join(
            '{} {}'.format(name, _format_value(self.latest_values[name])
                           if name in self.latest_values else '---')
            for name in shown)

    def create_bar(self):
        # Imported here, once a bar is needed: see the module docstring.
        import progressbar
        length = self.get_iter_per_epoch()
        epoch = 'Epoch {}, batch '.format(
            self.main_loop.log.status['epochs_done'] + 1)
        # progressbar2 deep-copies its widgets, bound methods included
        # (with this extension); a function is kept as it is.
        def values(progress, data):
            return self.values_text()
        values = [' ', values] if self.channel_names() else []
        if length is None:
            widgets = ([epoch, progressbar.Counter()] + values
                       + [' ', progressbar.BouncingBar(), ' ', _batch_rate,
                          ' ', progressbar.Timer()])
            length = progressbar.UnknownLength
        else:
            widgets = ([epoch, progressbar.SimpleProgress(), ' (',
                        progressbar.Percentage(), ')'] + values
                       + [' ', progressbar.Bar(), ' ', _batch_rate, ' ',
                          progressbar.ETA()])
        terminal = self.is_terminal()
        # In a terminal, prints go above the bar (progressbar2 clears the
        # line, writes them to standard output and redraws the bar).
        # progressbar2 would write them to the sys.stdout of its import
        # time: make it today's (a notebook or a test may have replaced
        # it since).
        streams = progressbar.utils.streams
        if terminal and not streams.wrapped_stdout:
            streams.original_stdout = sys.stdout
        return progressbar.ProgressBar(
            widgets=widgets, max_value=length, fd=self.stream,
            redirect_stdout=terminal, line_breaks=not terminal)

    def before_epoch(self):
        self.iteration_count = 0
        self._next_line_at = 1

    def _line_due(self):
        """Off a terminal, whether this batch gets a line: evenly spaced
        through an epoch of known length, at powers of two otherwise."""
        if self.iteration_count < self._next_line_at:
            return False
        length = self.get_iter_per_epoch()
        if length:
            step = max(1, int(math.ceil(length / self.lines_per_epoch)))
            self._next_line_at = self.iteration_count + step
        else:
            self._next_line_at = 2 * self.iteration_count
        return True

    def after_batch(self, batch):
        if self.bar is None:
            self.bar = self.create_bar()
            self.bar.start()
        self.iteration_count += 1
        self._record_latest_values()
        max_value = self.bar.max_value
        # An unknown length is progressbar2's UnknownLength, not a number.
        if (isinstance(max_value, numbers.Number)
                and self.iteration_count > max_value):
            self.bar.max_value = self.iteration_count
        if self.is_terminal():
            self.bar.update(self.iteration_count)
        elif self._line_due():
            self.bar.update(self.iteration_count, force=True)
        else:
            # Counted without drawing: the next line shows the right
            # count, and the finished bar its total.
            self.bar.value = self.iteration_count

    def _finish(self, complete=True):
        # progressbar2 fills a bar it finishes unless told it is dirty: an
        # interrupted epoch draws its real count instead.
        if self.bar is not None:
            if not complete:
                self.bar.update(self.iteration_count, force=True)
            self.bar.finish(dirty=not complete)
            self.bar = None

    def after_epoch(self):
        self.last_epoch_length = self.iteration_count
        self._finish()

    def after_training(self):
        self._finish()

    def on_interrupt(self):
        self._finish(complete=False)

    def on_error(self, exception):
        self._finish(complete=False)
