"""A progress bar of the batches of each epoch.

progressbar2 is imported when the first bar is drawn, not with this
module: the main loop and the programs that never show a bar do not load
it.
"""
import math
import numbers

from blocks.extensions.base import TrainingExtension

__all__ = ['ProgressBar']


def _batch_rate(progress, data):
    """A progressbar2 widget: batches per second since the bar started."""
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
        # Imported here, once a bar is needed: see the module docstring.
        import progressbar
        length = self.get_iter_per_epoch()
        epoch = 'Epoch {}, batch '.format(
            self.main_loop.log.status['epochs_done'] + 1)
        if length is None:
            widgets = [epoch, progressbar.Counter(), ' ',
                       progressbar.BouncingBar(), ' ', _batch_rate, ' ',
                       progressbar.Timer()]
            length = progressbar.UnknownLength
        else:
            widgets = [epoch, progressbar.SimpleProgress(), ' (',
                       progressbar.Percentage(), ') ', progressbar.Bar(), ' ',
                       _batch_rate, ' ', progressbar.ETA()]
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
        # An unknown length is progressbar2's UnknownLength, not a number.
        if (isinstance(max_value, numbers.Number)
                and self.iteration_count > max_value):
            self.bar.max_value = self.iteration_count
        self.bar.update(self.iteration_count)

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
