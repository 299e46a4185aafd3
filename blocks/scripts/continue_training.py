"""``blocks-continue PATH``: resume training from a checkpoint.

Loads the main loop a :class:`~blocks.extensions.saveload.Checkpoint` saved
at PATH and runs it until its stopping conditions are met.
"""
import argparse
import sys

from blocks.serialization import SerializationError, continue_training

__all__ = ['main']


def _parser():
    parser = argparse.ArgumentParser(
        prog='blocks-continue',
        description='Resume training from a checkpoint saved by blocks.')
    parser.add_argument('path', metavar='PATH',
                        help='the checkpoint file (a dump of a main loop)')
    return parser


def main(argv=None):
    """Run the command with `argv` (``sys.argv[1:]`` by default); returns
    the exit status."""
    arguments = _parser().parse_args(argv)
    try:
        continue_training(arguments.path)
    except (SerializationError, FileNotFoundError) as error:
        print('blocks-continue: {}'.format(error), file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
