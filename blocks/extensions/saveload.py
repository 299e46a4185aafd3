"""Saving and loading training: :class:`Checkpoint` and :class:`Load`."""
import logging
import os

from blocks.extensions.base import SimpleExtension
from blocks.serialization import (SerializationError, add_to_dump, dump,
                                  load, load_parameters, secure_dump)

__all__ = ['Checkpoint', 'Load', 'check_complete']

logger = logging.getLogger(__name__)

LOADED_FROM = 'loaded_from'
SAVED_TO = 'saved_to'


def _persistent_variables(model):
    """What a checkpoint saves of a model: its parameters and its other
    persistent state (batch normalization's population statistics)."""
    if hasattr(model, 'get_persistent_dict'):
        return list(model.get_persistent_dict().values())
    return list(model.parameters)


def check_complete(values, variables, path):
    """Raise a SerializationError naming the variables (a dict name ->
    variable) that the loaded `values` (name -> array) of `path` lack."""
    missing = sorted(set(variables) - set(values))
    if missing:
        raise SerializationError(
            '{} lacks {} of the model\'s {} parameters: {}; give '
            'allow_partial=True to load the others anyway'.format(
                path, len(missing), len(variables), ', '.join(missing)))


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

    Everything is read and checked before anything is assigned: a corrupt
    or incomplete checkpoint raises and leaves the main loop as it was.

    With `load_log` or `load_iteration_state` the checkpoint is unpickled,
    which can run arbitrary code: use those only on trusted files (the
    parameters alone are read without unpickling).

    Parameters
    ----------
    path : str
        A file written by :class:`Checkpoint`; a missing file is skipped
        with a warning.
    load_iteration_state : bool, optional
        Also take the saved data stream and epoch iterator.
    load_log : bool, optional
        Also take the saved log (so the counters continue).
    allow_partial : bool, optional
        Accept a file that lacks some of the model's parameters (those keep
        their values); by default that is an error listing them.
    \\*\\*kwargs
        Triggers.

    """
    def __init__(self, path, load_iteration_state=False, load_log=False,
                 allow_partial=False, **kwargs):
        kwargs.setdefault('before_training', True)
        super().__init__(**kwargs)
        self.path = path
        self.load_iteration_state = load_iteration_state
        self.load_log = load_log
        self.allow_partial = allow_partial

    def load_to(self, main_loop):
        """Load the checkpoint into `main_loop`.

        Raises
        ------
        SerializationError
            If the file is corrupt, or lacks some of the model's
            parameters and `allow_partial` is False; nothing is changed.

        """
        values = load_parameters(self.path)
        model = main_loop.model
        if not self.allow_partial:
            check_complete(values, model.get_persistent_dict(), self.path)
        state = {}
        if self.load_iteration_state or self.load_log:
            state = self._saved_state(load(self.path))
        # set_parameter_values checks every value before it changes any,
        # and nothing after it can fail.
        model.set_parameter_values(values)
        if 'log' in state:
            main_loop.log = state['log']
        if 'iteration_state' in state:
            main_loop.iteration_state = state['iteration_state']

    def _saved_state(self, loaded):
        wanted = [name for name, flag in [
            ('log', self.load_log),
            ('iteration_state', self.load_iteration_state)] if flag]
        try:
            return {name: getattr(loaded, name) for name in wanted}
        except AttributeError:
            raise SerializationError(
                '{} holds a {}, not a main loop: it has no {}'.format(
                    self.path, type(loaded).__name__, ' or '.join(wanted))
            ) from None

    def do(self, which_callback=None, *args):
        # ``load.do()``, without a callback, is how Blocks scripts load
        if not os.path.exists(self.path):
            logger.warning('Load: no checkpoint at %s; nothing loaded',
                           self.path)
            return
        logger.info('Loading the checkpoint %s', self.path)
        self.load_to(self.main_loop)
        self.main_loop.log.current_row[LOADED_FROM] = self.path
