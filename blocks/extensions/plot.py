"""Learning curves drawn from a training log to a PNG file.

:func:`plot_channels` draws the chosen records of a log against the
iteration; the :class:`Plot` extension redraws the file after every epoch,
and ``blocks-plot`` (:mod:`blocks.scripts.plot`) draws it from a saved log.
matplotlib (the ``plot`` extra) is imported when the first figure is
drawn, with its Agg canvas: no display is needed.
"""
import numbers

import numpy

from blocks.extensions.base import SimpleExtension

__all__ = ['Plot', 'plot_channels', 'scalar_channels']

#: Records that are bookkeeping rather than curves, left out by default
_BOOKKEEPING_PREFIXES = ('_', 'time_', 'training_finish_requested')


def _number(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Number):
        return float(value)
    if isinstance(value, numpy.ndarray) and value.size == 1 and (
            value.dtype.kind in 'iuf'):
        return float(value.reshape(()))
    return None


def scalar_channels(log):
    """The names of the log's records that hold single numbers, except
    bookkeeping (timings, flags), in the order they first appear."""
    names = {}
    for _, row in sorted(log.items()):
        for name, value in row.items():
            if (name not in names and _number(value) is not None
                    and not name.startswith(_BOOKKEEPING_PREFIXES)):
                names[name] = True
    return list(names)


def _curves(log, channels):
    """{channel: (iterations, values)}; raises if a channel is missing."""
    curves = {name: ([], []) for name in channels}
    for iteration, row in sorted(log.items()):
        for name in channels:
            value = _number(row.get(name))
            if value is not None:
                curves[name][0].append(iteration)
                curves[name][1].append(value)
    missing = [name for name, (iterations, _) in curves.items()
               if not iterations]
    if missing:
        raise ValueError(
            'the log has no numbers recorded as {}; its channels are: '
            '{}'.format(', '.join(missing),
                        ', '.join(scalar_channels(log)) or 'none'))
    return curves


def plot_channels(log, filename, channels=None, size=(800, 500), title=None):
    """Draw learning curves of a log to a PNG file.

    Parameters
    ----------
    log : :class:`~blocks.log.TrainingLogBase`
    filename : str
        The PNG file to write (replaced if it exists).
    channels : list of str, optional
        The records to draw; by default every record holding numbers,
        except timings and flags (:func:`scalar_channels`).
    size : pair of int, optional
        Width and height of the image in pixels.
    title : str, optional

    Raises
    ------
    ValueError
        If a channel has no number in the log (the message lists those
        it has), or the log has none at all.

    Examples
    --------
    >>> import os, tempfile
    >>> from blocks.log import TrainingLog
    >>> log = TrainingLog()
    >>> for iteration, cost in [(1, 0.9), (2, 0.5), (3, 0.4)]:
    ...     log[iteration]['train_cost'] = cost
    >>> path = os.path.join(tempfile.mkdtemp(), 'curves.png')
    >>> plot_channels(log, path) == path
    True

    """
    channels = scalar_channels(log) if channels is None else list(channels)
    if not channels:
        raise ValueError('the log holds no numbers to plot')
    curves = _curves(log, channels)
    # Imported here: matplotlib is optional (see the module docstring).
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    dpi = 100
    figure = Figure(figsize=(size[0] / dpi, size[1] / dpi), dpi=dpi)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for name, (iterations, values) in curves.items():
        axes.plot(iterations, values, marker='.' if len(values) < 50
                  else None, label=name)
    axes.set_xlabel('iterations')
    axes.grid(True, alpha=0.3)
    axes.legend()
    if title:
        axes.set_title(title)
    figure.tight_layout()
    figure.savefig(filename, dpi=dpi, format='png')
    return filename


class Plot(SimpleExtension):
    """Redraw learning curves to a PNG file as training goes.

    Parameters
    ----------
    filename : str
        The PNG file, replaced at every redraw.
    channels : list of str, optional
        The log records to draw (every number but timings by default).
    size : pair of int, optional
        Width and height in pixels.
    \\*\\*kwargs
        Triggers; by default after every epoch and after training.

    Examples
    --------
    >>> plot = Plot('curves.png', channels=['train_cost', 'test_cost'])

    """
    def __init__(self, filename, channels=None, size=(800, 500), **kwargs):
        kwargs.setdefault('after_epoch', True)
        kwargs.setdefault('after_training', True)
        super().__init__(**kwargs)
        self.filename = filename
        self.channels = channels
        self.size = size

    def do(self, which_callback, *args):
        plot_channels(self.main_loop.log, self.filename, self.channels,
                      self.size)
