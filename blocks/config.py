"""Configuration of blocks.

Settings are resolved in this order, later sources overriding earlier ones:

1. the defaults below;
2. the YAML file ``~/.blocksrc``;
3. the YAML file named by the ``BLOCKS_CONFIG`` environment variable;
4. environment variables ``BLOCKS_<NAME>`` (``BLOCKS_DEFAULT_SEED=3``).

A value that cannot be converted to the setting's type raises
:class:`ConfigurationError`, naming the setting and where the value came from.

Examples
--------
>>> from blocks.config import config
>>> config.default_seed
1

"""
import os
import tempfile

import yaml

__all__ = ['config', 'ConfigurationError', 'Configuration']


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


def _path(value):
    return os.path.expanduser(str(value))


# name -> (converter, default value)
SETTINGS = {
    'default_seed': (_non_negative_int, 1),
    'recursion_limit': (_positive_int, 10000),
    'log_backend': (_choice('python', 'sqlite'), 'python'),
    'sqlite_database': (_path, os.path.join('~', 'blocks_log.sqlite')),
    'max_blob_size': (_non_negative_int, 4096),
    'temp_dir': (_path, tempfile.gettempdir()),
    # Kept for compatibility with Blocks (whose main loop could profile
    # itself); blocks reads it nowhere.
    'profile': (_to_bool, False),
    # 'auto' (see blocks.compilation) or a PyTensor mode name
    'compile_mode': (str, 'auto'),
}


class Configuration:
    """The resolved settings, readable and writable as attributes.

    Parameters
    ----------
    environ : mapping, optional
        Where to read ``BLOCKS_*`` variables from; ``os.environ`` by
        default.
    user_file : str, optional
        The per-user YAML file; ``~/.blocksrc`` by default.

    """
    def __init__(self, environ=None, user_file=None):
        self._values = {}
        self._sources = {}
        environ = os.environ if environ is None else environ
        for name, (_, default) in SETTINGS.items():
            self._set(name, default, 'the default')
        user_file = user_file or os.path.expanduser('~/.blocksrc')
        self._load_file(user_file)
        if environ.get('BLOCKS_CONFIG'):
            self._load_file(environ['BLOCKS_CONFIG'], required=True)
        for name in SETTINGS:
            key = 'BLOCKS_' + name.upper()
            if key in environ:
                self._set(name, environ[key],
                          'environment variable {}'.format(key))

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
        for name, value in content.items():
            self._set(name, value, 'file {}'.format(filename))

    def _set(self, name, value, source):
        if name not in SETTINGS:
            raise ConfigurationError(
                'unknown setting {!r} in {}; known settings are {}'.format(
                    name, source, ', '.join(sorted(SETTINGS))))
        converter = SETTINGS[name][0]
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
        try:
            return self.__dict__['_values'][name]
        except KeyError:
            raise AttributeError(
                'blocks has no setting {!r}'.format(name)) from None

    def __setattr__(self, name, value):
        if name.startswith('_'):
            super().__setattr__(name, value)
        else:
            self._set(name, value, 'the program')


config = Configuration()
