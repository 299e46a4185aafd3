import logging
import os
import subprocess
import sys
import types

import pytest

from blocks.config import (Configuration, ConfigurationError,
                           apply_pytensor_defaults, config)


def write(path, text):
    path.write_text(text)
    return str(path)


def test_defaults(tmp_path):
    conf = Configuration(environ={}, user_file=str(tmp_path / 'missing'))
    assert conf.default_seed == 1
    assert conf.recursion_limit == 10000
    assert conf.log_backend == 'python'
    assert conf.max_blob_size == 4096
    assert conf.profile is False
    assert conf.source_of('default_seed') == 'the default'


def test_module_config_is_a_configuration():
    assert isinstance(config, Configuration)
    assert isinstance(config.default_seed, int)


def test_sources_override_in_order(tmp_path):
    user = write(tmp_path / 'blocksrc',
                 'default_seed: 2\nrecursion_limit: 50\nmax_blob_size: 7\n')
    other = write(tmp_path / 'other.yaml',
                  'recursion_limit: 60\nmax_blob_size: 8\n')
    conf = Configuration(
        environ={'BLOCKS_CONFIG': other, 'BLOCKS_MAX_BLOB_SIZE': '9',
                 'BLOCKS_PROFILE': 'yes', 'BLOCKS_LOG_BACKEND': 'sqlite'},
        user_file=user)
    assert conf.default_seed == 2
    assert conf.recursion_limit == 60
    assert conf.max_blob_size == 9
    assert conf.profile is True
    assert conf.log_backend == 'sqlite'
    assert conf.source_of('default_seed') == 'file {}'.format(user)
    assert conf.source_of('recursion_limit') == 'file {}'.format(other)
    assert 'BLOCKS_MAX_BLOB_SIZE' in conf.source_of('max_blob_size')


def test_paths_are_expanded(tmp_path):
    conf = Configuration(environ={'BLOCKS_TEMP_DIR': '~/scratch'},
                         user_file=str(tmp_path / 'missing'))
    assert not conf.temp_dir.startswith('~')
    assert conf.temp_dir.endswith('scratch')


def test_bad_environment_value_names_setting_and_source(tmp_path):
    with pytest.raises(ConfigurationError,
                       match="'default_seed'.*BLOCKS_DEFAULT_SEED"):
        Configuration(environ={'BLOCKS_DEFAULT_SEED': 'abc'},
                      user_file=str(tmp_path / 'missing'))


def test_bad_file_value_names_setting_and_file(tmp_path):
    user = write(tmp_path / 'blocksrc', 'log_backend: mongodb\n')
    with pytest.raises(ConfigurationError,
                       match="'log_backend'.*blocksrc.*mongodb"):
        Configuration(environ={}, user_file=user)


def test_unknown_setting_in_file_is_kept_with_a_warning(tmp_path):
    # a .blocksrc may hold settings that extensions add later
    user = write(tmp_path / 'blocksrc', 'defualt_seed: 3\n')
    with pytest.warns(UserWarning, match="unknown setting 'defualt_seed'.*"
                      "did you mean 'default_seed'"):
        conf = Configuration(environ={}, user_file=user)
    assert conf.default_seed == 1
    conf.add_config('defualt_seed', type_=int)
    assert conf.defualt_seed == 3


def test_add_config_and_load_yaml_as_in_blocks(tmp_path):
    user = tmp_path / 'blocksrc'
    conf = Configuration(environ={'PLOT_PORT': '8080'},
                         user_file=str(user))
    conf.add_config('plot_port', type_=int, env_var='PLOT_PORT')
    conf.add_config('plot_url', type_=str, default='localhost')
    conf.add_config('plot_key', type_=str)
    assert conf.plot_port == 8080
    assert conf.source_of('plot_port') == 'environment variable PLOT_PORT'
    assert conf.plot_url == 'localhost'
    with pytest.raises(ConfigurationError, match='not set and no default '
                                                 'provided: plot_key'):
        conf.plot_key
    conf.default_seed = 7
    write(user, 'plot_url: example.org\nplot_port: 1\nplot_key: k\n'
          'default_seed: 2\n')
    conf.load_yaml()
    assert conf.plot_url == 'example.org'
    assert conf.plot_key == 'k'
    assert conf.plot_port == 8080  # the environment still wins
    assert conf.default_seed == 7  # and so does the program


@pytest.mark.parametrize('text, message', [
    ('a: [1\n', 'not valid YAML'),
    ('- 1\n- 2\n', 'must hold a mapping'),
])
def test_malformed_files(tmp_path, text, message):
    user = write(tmp_path / 'blocksrc', text)
    with pytest.raises(ConfigurationError, match=message):
        Configuration(environ={}, user_file=user)


def test_missing_blocks_config_file(tmp_path):
    with pytest.raises(ConfigurationError, match='does not exist'):
        Configuration(environ={'BLOCKS_CONFIG': str(tmp_path / 'nope')},
                      user_file=str(tmp_path / 'missing'))


@pytest.mark.parametrize('name, value', [
    ('recursion_limit', '0'), ('max_blob_size', '-1'),
    ('profile', 'maybe'), ('default_seed', 'true')])
def test_range_and_type_checks(tmp_path, name, value):
    with pytest.raises(ConfigurationError, match=repr(name)):
        Configuration(environ={'BLOCKS_' + name.upper(): value},
                      user_file=str(tmp_path / 'missing'))


def test_setting_an_attribute_is_checked(tmp_path):
    conf = Configuration(environ={}, user_file=str(tmp_path / 'missing'))
    conf.default_seed = 5
    assert conf.default_seed == 5
    assert conf.source_of('default_seed') == 'the program'
    with pytest.raises(ConfigurationError, match="'default_seed'.*program"):
        conf.default_seed = -3
    with pytest.raises(AttributeError, match='no setting'):
        conf.no_such_setting


class FakePyTensorConfig:
    """The two things apply_pytensor_defaults reads of pytensor.config."""
    def __init__(self, floatX='float64', from_flags=False):
        self.floatX = floatX
        self._config_var_dict = {'floatX': types.SimpleNamespace(
            is_default=not from_flags, default='float64')}


@pytest.mark.parametrize('pytensor_config, expected', [
    (FakePyTensorConfig(), 'float32'),
    (FakePyTensorConfig(from_flags=True), 'float64'),
    (FakePyTensorConfig(floatX='float16'), 'float16'),
])
def test_floatx_is_blocks_unless_pytensors_was_chosen(
        tmp_path, pytensor_config, expected):
    settings = Configuration(environ={}, user_file=str(tmp_path / 'none'))
    logger = logging.getLogger('tests.fake_pytensor.' + expected)
    apply_pytensor_defaults(settings, pytensor_config, logger)
    assert pytensor_config.floatX == expected


def test_pytensor_logging_is_quiet_unless_asked_or_set(tmp_path):
    settings = Configuration(environ={'BLOCKS_PYTENSOR_LOG_LEVEL': 'info'},
                             user_file=str(tmp_path / 'none'))
    assert settings.pytensor_log_level == 'INFO'
    shown = logging.getLogger('tests.fake_pytensor.shown')
    apply_pytensor_defaults(settings, FakePyTensorConfig(), shown)
    assert shown.level == logging.INFO
    chosen = logging.getLogger('tests.fake_pytensor.chosen')
    chosen.setLevel(logging.DEBUG)
    apply_pytensor_defaults(settings, FakePyTensorConfig(), chosen)
    assert chosen.level == logging.DEBUG
    with pytest.raises(ConfigurationError, match='pytensor_log_level'):
        Configuration(environ={'BLOCKS_PYTENSOR_LOG_LEVEL': 'loud'},
                      user_file=str(tmp_path / 'none'))


def test_importing_blocks_applies_the_defaults():
    # A fresh process, as a user's script starts (the suite chose floatX).
    environ = {name: value for name, value in os.environ.items()
               if not name.startswith(('BLOCKS_', 'PYTENSOR'))}
    program = ('import logging, pytensor, blocks.bricks; '
               'print(pytensor.config.floatX, logging.getLevelName('
               'logging.getLogger("pytensor").level))')
    output = subprocess.run([sys.executable, '-c', program], env=environ,
                            capture_output=True, text=True, check=True)
    assert output.stdout.split('\n')[-2] == 'float32 WARNING'
