"""``blocks-plot LOG_OR_CHECKPOINT [CHANNEL ...]``: learning curves to PNG.

Reads the training log of an SQLite log database (the last run in it
unless ``--run UUID`` names another) or of a checkpoint saved by
:class:`~blocks.extensions.saveload.Checkpoint` (its separately saved
``log`` member when there is one, else the main loop's log), and draws
the channels named (by default every record holding numbers, except
timings) against the iteration, with
:func:`~blocks.extensions.plot.plot_channels`. The exit status is 0 when
the PNG is written, 1 when the file or a channel is missing.

A checkpoint is unpickled: only plot files you trust.
"""
import argparse
import os
import sys

from blocks.extensions.plot import plot_channels
from blocks.log import SQLiteLog, list_runs
from blocks.serialization import SerializationError, load

__all__ = ['main', 'read_log']

_SQLITE_MAGIC = b'SQLite format 3\x00'


def _parser():
    parser = argparse.ArgumentParser(
        prog='blocks-plot',
        description='Draw learning curves from a blocks log or checkpoint '
                    'to a PNG file.')
    parser.add_argument('path', metavar='LOG_OR_CHECKPOINT',
                        help='an SQLite log database or a checkpoint')
    parser.add_argument('channels', nargs='*', metavar='CHANNEL',
                        help='log records to draw (default: every record '
                             'holding numbers, except timings)')
    parser.add_argument('-o', '--output', default=None,
                        help='the PNG file (default: PATH with .png)')
    parser.add_argument('--run', default=None, metavar='UUID',
                        help='the run of an SQLite database to draw '
                             '(default: the last one)')
    parser.add_argument('--size', type=int, nargs=2, default=(800, 500),
                        metavar=('WIDTH', 'HEIGHT'),
                        help='image size in pixels (default 800 500)')
    return parser


def _is_sqlite(path):
    with open(path, 'rb') as file_:
        return file_.read(len(_SQLITE_MAGIC)) == _SQLITE_MAGIC


def read_log(path, run=None):
    """The training log stored at `path` (see the module docstring)."""
    if not os.path.isfile(path):
        raise FileNotFoundError('no log or checkpoint at {}'.format(path))
    if _is_sqlite(path):
        if run is None:
            runs = list_runs(path)
            if not runs:
                raise ValueError('the log database {} has no run'.format(
                    path))
            run = runs[-1]['uuid']
        return SQLiteLog(path, uuid=run)
    try:
        return load(path, name='log')
    except SerializationError:
        return load(path).log


def main(argv=None):
    """Run the command with `argv` (``sys.argv[1:]`` by default); returns
    the exit status."""
    arguments = _parser().parse_args(argv)
    output = arguments.output or os.path.splitext(arguments.path)[0] + '.png'
    try:
        log = read_log(arguments.path, arguments.run)
        plot_channels(log, output, arguments.channels or None,
                      tuple(arguments.size),
                      title=os.path.basename(arguments.path))
    except (FileNotFoundError, ValueError, SerializationError) as error:
        print('blocks-plot: {}'.format(error), file=sys.stderr)
        return 1
    print(os.path.abspath(output))
    return 0


if __name__ == '__main__':
    sys.exit(main())
