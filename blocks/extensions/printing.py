"""Printing the training status and the current log row."""
from blocks.extensions.base import SimpleExtension

__all__ = ['Printing']


class Printing(SimpleExtension):
    """Print the status and the current log row.

    By default before the first epoch, after every epoch, after training
    and on interrupt. Given ``every_n_epochs`` or ``after_n_epochs``, it
    prints after those epochs instead of after every epoch (once each).

    Parameters
    ----------
    \\*\\*kwargs
        Triggers.

    """
    def __init__(self, **kwargs):
        # An epoch count replaces the every-epoch default rather than
        # adding to it: both would print the same epoch twice.
        epoch_counts = ('every_n_epochs', 'after_n_epochs')
        if any(kwargs.get(trigger) for trigger in epoch_counts):
            kwargs.setdefault('after_epoch', False)
        for trigger in ('before_first_epoch', 'after_epoch', 'after_training',
                        'on_interrupt'):
            kwargs.setdefault(trigger, True)
        super().__init__(**kwargs)

    @staticmethod
    def _print_attributes(mapping):
        for name, value in sorted(mapping.items()):
            if not name.startswith('_'):
                print('\t', '{}:'.format(name), value)

    def do(self, which_callback, *args):
        log = self.main_loop.log
        print('-' * 79)
        if which_callback == 'before_epoch' and log.status['epochs_done'] == 0:
            print('BEFORE FIRST EPOCH')
        elif which_callback == 'on_resumption':
            print('TRAINING RESUMED')
        elif which_callback == 'after_training':
            print('TRAINING HAS BEEN FINISHED:')
        elif which_callback == 'after_epoch':
            print('AFTER ANOTHER EPOCH')
        elif which_callback == 'on_interrupt':
            print('TRAINING HAS BEEN INTERRUPTED')
        print('-' * 79)
        print('Training status:')
        self._print_attributes(log.status)
        print('Log records from the iteration {}:'.format(
            log.status['iterations_done']))
        self._print_attributes(dict(log.current_row))
        print()
