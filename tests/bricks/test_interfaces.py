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


def test_linear_like_initializes_its_parameters_not_w_and_b():
    import pytensor.tensor as pt
    from blocks.bricks import Linear
    from blocks.initialization import Constant

    class Doubled(Linear):
        @property
        def W(self):
            return 2 * self.parameters[0]

    brick = Doubled(input_dim=2, output_dim=3, weights_init=Constant(1.5),
                    biases_init=Constant(0.5))
    brick.initialize()
    numpy.testing.assert_array_equal(brick.parameters[0].get_value(),
                                     numpy.full((2, 3), 1.5))
    numpy.testing.assert_array_equal(brick.parameters[1].get_value(),
                                     numpy.full(3, 0.5))
    x = pt.matrix('x')
    numpy.testing.assert_allclose(
        brick.apply(x).eval({x: numpy.ones((1, 2), dtype=x.dtype)}),
        numpy.full((1, 3), 2 * 1.5 * 2 + 0.5))
