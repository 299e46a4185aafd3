"""Saving and loading training: :class:`Checkpoint` and :class:`Load`."""
import logging
import os

from blocks.extensions.base import SimpleExtension
from blocks.serialization import (add_to_dump, dump, load, load_parameters,
                                  secure_dump)

__all__ = ['Checkpoint', 'Load']

logger = logging.getLogger(__name__)

LOADED_FROM = 'loaded_from'
SAVED_TO = 'saved_to'


def _persistent_variables(model):
    """What a checkpoint saves of a model: its parameters and its other
    persistent state (batch normalization's population statistics)."""
    if hasattr(model, 'get_persistent_dict'):
        return list(model.get_persistent_dict().values())
    return list(model.parameters)


class Checkpoint(SimpleExtension):
    """Save the main loop and the model's parameters.

    The file is written with :func:`~blocks.serialization.secure_dump`: to
    a temporary file first, renamed over `path` only when complete, so a
    crash, an interrupt or a full disk while saving leaves the previous
    checkpoint intact. A main loop saved this way resumes exactly where it
    stopped (``blocks-continue path`` or
    :func:`~blocks.serialization.continue_training`).

    Runs after training and on interrupt by default. The path of each
    successful save is appended to the ``saved_to`` record of the current
    row.

    Parameters
    ----------
    path : str
        Where to save. A path given to :meth:`add_condition` as an argument
        overrides it for that condition.
    parameters : list of shared variables, optional
        Saved separately so that :func:`~blocks.serialization.load_parameters`
        can read them without unpickling; by default the parameters and
        population statistics of the main loop's model.
    save_separately : list of str, optional
        Attributes of the main loop (``'log'`` ...) to add to the file as
        separate members as well, loadable with
        ``blocks.serialization.load(path, name)``.
    save_main_loop : bool, optional
        Pickle the whole main loop (True by default); with False only the
        parameters are saved.
    use_cpickle : bool, optional
        Kept for compatibility with Blocks and ignored: the C pickler is
        always used.
    \\*\\*kwargs
        Triggers.

    Examples
    --------
    >>> checkpoint = Checkpoint('model.tar', every_n_epochs=5)
    >>> sorted(checkpoint.wanted_callbacks())
    ['after_epoch', 'after_training', 'on_interrupt']

    """
    def __init__(self, path, parameters=None, save_separately=None,
                 save_main_loop=True, use_cpickle=False, **kwargs):
        kwargs.setdefault('after_training', True)
        kwargs.setdefault('on_interrupt', True)
        super().__init__(**kwargs)
        self.path = path
        self.parameters = parameters
        self.save_separately = list(save_separately or [])
        self.save_main_loop = save_main_loop
        self.use_cpickle = use_cpickle

    def _parameters_to_save(self):
        if self.parameters is not None:
            return list(self.parameters)
        model = getattr(self.main_loop, '_model', None)
        if model is None:
            return None
        return _persistent_variables(model)

    def do(self, which_callback, *args):
        _, from_user = self.parse_args(which_callback, args)
        path = from_user[0] if from_user else self.path
        parameters = self._parameters_to_save()
        if not self.save_main_loop and not parameters:
            raise ValueError('Checkpoint with save_main_loop=False needs '
                             'parameters or a main loop with a model')
        separately = [(name, getattr(self.main_loop, name))
                      for name in self.save_separately]
        use_cpickle = self.use_cpickle

        def write(object_, file_, **kwargs):
            dump(object_, file_, **kwargs)
            for name, value in separately:
                add_to_dump(value, file_, name, use_cpickle=use_cpickle)

        logger.info('Checkpointing to %s', path)
        secure_dump(self.main_loop if self.save_main_loop else None, path,
                    dump_function=write, parameters=parameters,
                    use_cpickle=use_cpickle)
        row = self.main_loop.log.current_row
        row[SAVED_TO] = tuple(row.get(SAVED_TO, ())) + (path,)
        logger.info('Checkpoint saved to %s', path)


class Load(SimpleExtension):
    """Load parameters (and optionally the log and the iteration state) of
    a checkpoint into the main loop's model, before training by default.

    Parameters
    ----------
    path : str
        A file written by :class:`Checkpoint`; a missing file is skipped
        with a warning.
    load_iteration_state : bool, optional
        Also take the saved data stream and epoch iterator.
    load_log : bool, optional
        Also take the saved log (so the counters continue).
    \\*\\*kwargs
        Triggers.

    """
    def __init__(self, path, load_iteration_state=False, load_log=False,
                 **kwargs):
        kwargs.setdefault('before_training', True)
        super().__init__(**kwargs)
        self.path = path
        self.load_iteration_state = load_iteration_state
        self.load_log = load_log

    def load_to(self, main_loop):
        """Load the checkpoint into `main_loop`."""
        main_loop.model.set_parameter_values(load_parameters(self.path))
        if self.load_iteration_state or self.load_log:
            loaded = load(self.path)
            if self.load_log:
                main_loop.log = loaded.log
            if self.load_iteration_state:
                main_loop.iteration_state = loaded.iteration_state

    def do(self, which_callback, *args):
        if not os.path.exists(self.path):
            logger.warning('Load: no checkpoint at %s; nothing loaded',
                           self.path)
            return
        logger.info('Loading the checkpoint %s', self.path)
        self.load_to(self.main_loop)
        self.main_loop.log.current_row[LOADED_FROM] = self.path
