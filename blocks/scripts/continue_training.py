"""``blocks-continue PATH``: resume training from a checkpoint.

Loads the main loop a :class:`~blocks.extensions.saveload.Checkpoint` saved
at PATH and runs it until its stopping conditions are met. A run that had
finished is not trained again unless ``--more-epochs N`` asks for N epochs
more. The exit status is 0 when training ends (or had ended), 1 for an
unreadable checkpoint, and 128 plus the signal's number (130 for Ctrl-C,
143 for SIGTERM) when a signal stopped it.

The checkpoint is unpickled: only continue from files you trust.
"""
import argparse
import sys

from blocks.serialization import (SerializationError, TrainingComplete,
                                  continue_training)

__all__ = ['main', 'interrupted_exit_status']


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError('must be a positive integer, got '
                                         '{}'.format(text))
    return value


def _parser():
    parser = argparse.ArgumentParser(
        prog='blocks-continue',
        description='Resume training from a checkpoint saved by blocks.')
    parser.add_argument('path', metavar='PATH',
                        help='the checkpoint file (a dump of a main loop)')
    parser.add_argument('--more-epochs', type=_positive_int, default=None,
                        metavar='N',
                        help='train N epochs more, also when the run had '
                             'finished')
    return parser


def main(argv=None):
    """Run the command with `argv` (``sys.argv[1:]`` by default); returns
    the exit status."""
    arguments = _parser().parse_args(argv)
    try:
        main_loop = continue_training(arguments.path,
                                      more_epochs=arguments.more_epochs)
    except TrainingComplete as complete:
        print('blocks-continue: {}'.format(complete), file=sys.stderr)
        return 0
    except (SerializationError, FileNotFoundError) as error:
        print('blocks-continue: {}'.format(error), file=sys.stderr)
        return 1
    return interrupted_exit_status(main_loop)


def interrupted_exit_status(main_loop):
    """0, or 128 plus the signal that interrupted `main_loop` (130 for
    SIGINT, 143 for SIGTERM), as shells report a program a signal
    ended."""
    signum = getattr(main_loop, 'interrupted_by', None)
    return 0 if signum is None else 128 + int(signum)


if __name__ == '__main__':
    sys.exit(main())
