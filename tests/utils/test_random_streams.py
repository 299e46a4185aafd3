import numpy
import pytensor
import pytensor.tensor as pt

from blocks.utils.random_streams import MRGRandomStream, RandomStream


def test_mrg_stream_takes_size_first():
    stream = MRGRandomStream(3)
    x = pt.matrix('x')
    draws = [stream.normal((), 10., 0.1),
             stream.normal(size=(2000,), avg=-3., std=2.),
             stream.uniform(x.shape, low=2., high=4.),
             stream.binomial((3000,), p=0.25),
             stream.binomial(size=(5,), p=0.5, n=4, dtype='int8')]
    assert [draw.ndim for draw in draws] == [0, 1, 2, 1, 1]
    assert draws[0].dtype == pytensor.config.floatX
    assert draws[3].dtype == 'int64' and draws[4].dtype == 'int8'
    scalar, normal, uniform, coin, counts = pytensor.function(
        [x], draws)(numpy.zeros((40, 50), dtype=x.dtype))
    assert abs(scalar - 10) < 1
    assert abs(normal.mean() + 3) < 0.2 and abs(normal.std() - 2) < 0.2
    assert uniform.shape == (40, 50)
    assert 2 <= uniform.min() and uniform.max() < 4
    assert abs(uniform.mean() - 3) < 0.05
    assert set(numpy.unique(coin)) == {0, 1}
    assert abs(coin.mean() - 0.25) < 0.03
    assert 0 <= counts.min() and counts.max() <= 4


def test_mrg_stream_is_reproducible_and_advances():
    def two_draws(seed):
        stream = MRGRandomStream(seed)
        function = pytensor.function([], stream.uniform((4,)))
        return function(), function()

    first, second = two_draws(7)
    again_first, again_second = two_draws(7)
    numpy.testing.assert_array_equal(first, again_first)
    numpy.testing.assert_array_equal(second, again_second)
    assert not numpy.allclose(first, second)
    stream = MRGRandomStream()
    assert stream.seed == 12345  # Theano's default seed
    stream.normal((2,))
    assert len(stream.updates()) == 1
    assert isinstance(stream._stream, RandomStream)
