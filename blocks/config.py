"""Configuration of blocks.

Settings are resolved in this order, later sources overriding earlier ones:

1. the defaults below;
2. the YAML file ``~/.blocksrc``;
3. the YAML file named by the ``BLOCKS_CONFIG`` environment variable;
4. environment variables ``BLOCKS_<NAME>`` (``BLOCKS_DEFAULT_SEED=3``).

A value that cannot be converted to the setting's type raises
:class:`ConfigurationError`, naming the setting and where the value came from.

Two settings are applied to PyTensor when blocks is imported:

- ``floatX`` (``'float32'`` by default): PyTensor's ``floatX``, the type
  of blocks' parameters and of ``pt.matrix()``, unless PyTensor's own
  ``floatX`` was chosen (``PYTENSOR_FLAGS=floatX=float64``, a
  ``.pytensorrc``, or ``pytensor.config.floatX = 'float32'`` before
  importing blocks), which wins. ``BLOCKS_FLOATX=float64`` asks blocks
  for float64; after the import, ``pytensor.config.floatX`` can be
  assigned as usual.
- ``pytensor_log_level`` (``'WARNING'`` by default): the level of the
  ``pytensor`` logger, so that a program logging at INFO does not show
  PyTensor's compiler commands; ``BLOCKS_PYTENSOR_LOG_LEVEL=INFO`` shows
  them. A level the program gave that logger itself is kept.

Examples
--------
>>> from blocks.config import config
>>> config.default_seed
1

"""
import difflib
import logging
import os
import tempfile
import warnings

import pytensor
import yaml

__all__ = ['config', 'ConfigurationError', 'Configuration', 'NOT_SET',
           'apply_pytensor_defaults']


class ConfigurationError(Exception):
    """A setting is unknown or has a value of the wrong kind."""


def _to_bool(value):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ('1', 'true', 'yes', 'on'):
        return True
    if text in ('0', 'false', 'no', 'off'):
        return False
    raise ValueError('expected a boolean, got {!r}'.format(value))


def _choice(*options):
    def convert(value):
        if value not in options:
            raise ValueError('expected one of {}, got {!r}'.format(
                ', '.join(map(repr, options)), value))
        return value
    return convert


def _positive_int(value):
    if isinstance(value, bool):
        raise ValueError('expected an integer, got {!r}'.format(value))
    number = int(value)
    if number <= 0:
        raise ValueError('expected a positive integer, got {!r}'.format(value))
    return number


def _non_negative_int(value):
    if isinstance(value, bool):
        raise ValueError('expected an integer, got {!r}'.format(value))
    number = int(value)
    if number < 0:
        raise ValueError(
            'expected a non-negative integer, got {!r}'.format(value))
    return number


def _positive_float(value):
    if isinstance(value, bool):
        raise ValueError('expected a number, got {!r}'.format(value))
    number = float(value)
    if not number > 0:
        raise ValueError('expected a positive number, got {!r}'.format(value))
    return number


def _log_level(value):
    name = str(value).strip().upper()
    if not isinstance(logging.getLevelName(name), int):
        raise ValueError('expected a logging level name such as WARNING or '
                         'INFO, got {!r}'.format(value))
    return name


def _path(value):
    return os.path.expanduser(str(value))


# name -> (converter, default value)
SETTINGS = {
    'default_seed': (_non_negative_int, 1),
    'recursion_limit': (_positive_int, 10000),
    'log_backend': (_choice('python', 'sqlite'), 'python'),
    'sqlite_database': (_path, os.path.join('~', 'blocks_log.sqlite')),
    'max_blob_size': (_non_negative_int, 4096),
    # seconds an SQLite log waits for another process's lock
    'sqlite_timeout': (_positive_float, 60.0),
    # refuse a batch whose sources differ in their number of rows (False
    # for time-major sequences with per-sequence targets, say)
    'check_batch_rows': (_to_bool, True),
    # let a brick take an input of a wider float type than its parameters
    # (the whole graph then computes in the wider type)
    'allow_input_upcast': (_to_bool, False),
    'temp_dir': (_path, tempfile.gettempdir()),
    # Kept for compatibility with Blocks (whose main loop could profile
    # itself); blocks reads it nowhere.
    'profile': (_to_bool, False),
    # 'auto' (see blocks.compilation) or a PyTensor mode name
    'compile_mode': (str, 'auto'),
    # compile training functions in two tiers in the 'auto' mode: a Python
    # one at once, the C one in a background thread (blocks.compilation)
    'tiered_compilation': (_to_bool, True),
    # applied to PyTensor at import (see the module docstring)
    'floatX': (_choice('float32', 'float64'), 'float32'),
    'pytensor_log_level': (_log_level, 'WARNING'),
}


#: The default of :meth:`Configuration.add_config` meaning "no default"
NOT_SET = object()
_PROGRAM = 'the program'


class Configuration:
    """The resolved settings, readable and writable as attributes.

    Parameters
    ----------
    environ : mapping, optional
        Where to read ``BLOCKS_*`` variables from; ``os.environ`` by
        default.
    user_file : str, optional
        The per-user YAML file; ``~/.blocksrc`` by default.

    Notes
    -----
    A key of a YAML file that is no setting (yet) is kept, with a warning:
    an extension may add it later with :meth:`add_config`, as in Blocks,
    and the file's value then applies.

    Examples
    --------
    >>> conf = Configuration(environ={}, user_file='/nonexistent')
    >>> conf.add_config('plot_url', type_=str, default='localhost')
    >>> conf.plot_url
    'localhost'

    """
    def __init__(self, environ=None, user_file=None):
        self._environ = os.environ if environ is None else environ
        self._user_file = user_file or os.path.expanduser('~/.blocksrc')
        # name -> (converter, default, environment variable)
        self._settings = {
            name: (converter, default, 'BLOCKS_' + name.upper())
            for name, (converter, default) in SETTINGS.items()}
        self._values = {}
        self._sources = {}
        self._file_values = {}  # name -> (value, source), known or not
        for name in self._settings:
            self._apply_sources(name)
        self.load_yaml()

    def add_config(self, key, type_, default=NOT_SET, env_var=None):
        """Add a setting, as Blocks' extensions do.

        Parameters
        ----------
        key : str
            Its name (``config.<key>``).
        type_ : callable
            Converts a value from any source (``int``, ``str`` ...).
        default : optional
            Its value when no source sets it; without one, reading an
            unset setting raises :class:`ConfigurationError`.
        env_var : str, optional
            An environment variable that sets it.

        """
        self._settings[key] = (type_, default, env_var)
        self._apply_sources(key)

    def load_yaml(self):
        """Read the YAML files again (``~/.blocksrc``, then the one named
        by ``BLOCKS_CONFIG``); environment variables and values set by
        the program still win."""
        self._load_file(self._user_file)
        if self._environ.get('BLOCKS_CONFIG'):
            self._load_file(self._environ['BLOCKS_CONFIG'], required=True)
        for name in self._settings:
            self._apply_sources(name)

    def _apply_sources(self, name):
        """Resolve one setting: default, file, environment; a value the
        program set is kept."""
        if self._sources.get(name) == _PROGRAM:
            return
        _, default, env_var = self._settings[name]
        if default is not NOT_SET:
            self._set(name, default, 'the default')
        if name in self._file_values:
            self._set(name, *self._file_values[name])
        if env_var and env_var in self._environ:
            self._set(name, self._environ[env_var],
                      'environment variable {}'.format(env_var))

    def _load_file(self, filename, required=False):
        if not os.path.isfile(filename):
            if required:
                raise ConfigurationError(
                    'configuration file {} (from BLOCKS_CONFIG) does not '
                    'exist'.format(filename))
            return
        with open(filename) as file_:
            try:
                content = yaml.safe_load(file_) or {}
            except yaml.YAMLError as error:
                raise ConfigurationError(
                    'configuration file {} is not valid YAML: {}'.format(
                        filename, error)) from error
        if not isinstance(content, dict):
            raise ConfigurationError(
                'configuration file {} must hold a mapping of settings, '
                'not {}'.format(filename, type(content).__name__))
        source = 'file {}'.format(filename)
        for name, value in content.items():
            self._file_values[name] = (value, source)
            if name not in self._settings:
                warnings.warn(
                    'unknown setting {!r} in {}: kept, in case an extension '
                    'adds it with config.add_config{}'.format(
                        name, source, _did_you_mean(name, self._settings)))

    def _set(self, name, value, source):
        if name not in self._settings:
            raise ConfigurationError(
                'unknown setting {!r} in {}; known settings are {}'.format(
                    name, source, ', '.join(sorted(self._settings))))
        converter = self._settings[name][0]
        try:
            self._values[name] = converter(value)
        except (TypeError, ValueError) as error:
            raise ConfigurationError(
                'bad value for setting {!r} in {}: {}'.format(
                    name, source, error)) from error
        self._sources[name] = source

    def source_of(self, name):
        """Tell where the current value of a setting came from."""
        return self._sources[name]

    def __getattr__(self, name):
        values = self.__dict__.get('_values', {})
        if name in values:
            return values[name]
        if name in self.__dict__.get('_settings', {}):
            raise ConfigurationError(
                'Configuration not set and no default provided: {} (set it '
                'in ~/.blocksrc, its environment variable or '
                'config.{})'.format(name, name))
        raise AttributeError('blocks has no setting {!r}'.format(name))

    def __setattr__(self, name, value):
        if name.startswith('_'):
            super().__setattr__(name, value)
        else:
            self._set(name, value, _PROGRAM)


def _did_you_mean(name, known):
    close = difflib.get_close_matches(name, list(known), n=1)
    return " (did you mean {!r}?)".format(close[0]) if close else ''


config = Configuration()


def apply_pytensor_defaults(settings, pytensor_config=pytensor.config,
                            logger=None):
    """Give PyTensor blocks' ``floatX`` and logging level, where the user
    did not choose them for PyTensor itself.

    Parameters
    ----------
    settings : :class:`Configuration`
    pytensor_config : optional
        ``pytensor.config`` by default.
    logger : :class:`logging.Logger`, optional
        The ``pytensor`` logger by default.

    """
    logger = logging.getLogger('pytensor') if logger is None else logger
    if not _user_chose(pytensor_config, 'floatX'):
        pytensor_config.floatX = settings.floatX
    if logger.level == logging.NOTSET:
        logger.setLevel(settings.pytensor_log_level)


def _user_chose(pytensor_config, name):
    # PyTensor marks the flags that PYTENSOR_FLAGS or .pytensorrc set; an
    # assignment shows only when it changed the value.
    flag = pytensor_config._config_var_dict[name]
    return (not flag.is_default
            or getattr(pytensor_config, name) != flag.default)


apply_pytensor_defaults(config)
