"""Run the code of every documentation page (``docs/*.rst``) as doctests,
and check that the API reference covers every public module.

The tutorial reads MNIST from ``$BLOCKS_DATA_PATH/mnist`` (or
``~/.local/share/blocks/mnist``, where ``make data`` puts it). When it is
not there, a few fake MNIST images are written to a temporary directory
instead, so the
pages' code runs without downloading anything; the pages only print what
does not depend on the data.
"""
import doctest
import os
import pathlib
import pkgutil

import numpy
import pytest

import blocks
from blocks.data.idx import write_idx
from blocks.data.datasets.mnist import MNIST_FILES

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = ROOT / 'docs'
PAGES = sorted(DOCS.glob('*.rst'))


def _has_mnist(directory):
    return all(any((directory / 'mnist' / (name + suffix)).is_file()
                   for suffix in ('', '.gz'))
               for names in MNIST_FILES.values() for name in names)


def _write_fake_mnist(directory, examples=1000):
    directory.mkdir(parents=True)
    rng = numpy.random.RandomState(0)
    for images_name, labels_name in MNIST_FILES.values():
        write_idx(str(directory / images_name), rng.randint(
            0, 256, size=(examples, 28, 28)).astype('uint8'))
        write_idx(str(directory / labels_name),
                  (numpy.arange(examples) % 10).astype('uint8'))


@pytest.fixture
def data_path(tmp_path, monkeypatch):
    # Where `make data` puts MNIST (blocks' default), or an older ./data.
    for candidate in (os.environ.get('BLOCKS_DATA_PATH'),
                      os.path.expanduser('~/.local/share/blocks'),
                      ROOT / 'data'):
        if candidate and _has_mnist(pathlib.Path(candidate)):
            monkeypatch.setenv('BLOCKS_DATA_PATH', str(candidate))
            return
    _write_fake_mnist(tmp_path / 'data' / 'mnist')
    monkeypatch.setenv('BLOCKS_DATA_PATH', str(tmp_path / 'data'))


@pytest.mark.parametrize('page', PAGES, ids=lambda page: page.name)
def test_page_examples(page, data_path, tmp_path, monkeypatch):
    # Files the examples write (checkpoints ...) go to a fresh directory.
    monkeypatch.chdir(tmp_path)
    results = doctest.testfile(
        str(page), module_relative=False, encoding='utf-8',
        globs={'__name__': 'docs_' + page.stem},
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert results.failed == 0, '{} of {} examples failed in {}'.format(
        results.failed, results.attempted, page.name)


def _documented_modules():
    modules = set()
    for page in (DOCS / 'api').glob('*.rst'):
        for line in page.read_text().splitlines():
            if line.startswith('.. automodule:: '):
                modules.add(line.split()[-1])
    return modules


def test_api_reference_covers_every_public_module():
    public = {info.name for info in pkgutil.walk_packages(
        blocks.__path__, prefix='blocks.')
        if not any(part.startswith('_') for part in info.name.split('.'))
        and info.name != 'blocks.scripts'}
    missing = sorted(public - _documented_modules())
    assert not missing, 'add these modules to docs/api: {}'.format(missing)
