"""Run the doctests of every module of the blocks package.

A module that fails to import is reported as a failure, not skipped.
"""
import doctest
import importlib
import pkgutil

import pytest

import blocks


def _module_names():
    return sorted(info.name for info in pkgutil.walk_packages(
        blocks.__path__, prefix='blocks.'))


@pytest.mark.parametrize('module_name', _module_names())
def test_doctests(module_name):
    module = importlib.import_module(module_name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, module_name):
        runner.run(test)
    results = runner.summarize(verbose=False)
    assert results.failed == 0, '{} of {} doctests failed in {}'.format(
        results.failed, results.attempted, module_name)
