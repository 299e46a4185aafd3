"""Seeds of RNGMixin and Random bricks."""
import subprocess
import sys
import textwrap

import numpy


def test_default_seed_set_after_import_decides_the_seeds():
    # A fresh interpreter: in this one, earlier tests drew seeds already.
    code = textwrap.dedent('''
        from blocks.bricks import Linear, Random
        from blocks.config import config
        config.default_seed = 5
        print(Linear().seed, Random().theano_seed)
    ''')
    result = subprocess.run([sys.executable, '-c', code], check=True,
                            capture_output=True, text=True, timeout=120)
    expected = numpy.random.RandomState(5).randint(
        numpy.iinfo(numpy.int32).max)
    assert result.stdout.split() == [str(expected)] * 2
