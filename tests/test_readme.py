"""The README's quickstart runs as written."""
import os
import re

import numpy

README = os.path.join(os.path.dirname(os.path.dirname(__file__)),
                      'README.rst')


def quickstart_code():
    text = open(README).read()
    match = re.search(r'\.\. code-block:: python\n\n((?:    .*\n|\n)+)', text)
    assert match, 'the README has no Python code block'
    return '\n'.join(line[4:] for line in match.group(1).splitlines())


def test_quickstart_runs_and_trains():
    namespace = {}
    exec(compile(quickstart_code(), README, 'exec'), namespace)
    algorithm, batch = namespace['algorithm'], namespace['batch']
    parameters = [p.get_value().copy() for p in namespace['cg'].parameters]
    algorithm.process_batch(batch)
    changed = [not numpy.array_equal(before, p.get_value())
               for before, p in zip(parameters, namespace['cg'].parameters)]
    assert all(changed)
