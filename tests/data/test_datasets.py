import itertools
import math
import pickle
from collections import OrderedDict

import numpy
import pytensor
import pytest

from blocks.data.datasets import (Dataset, IndexableDataset,
                                  IterableDataset, Spiral)
from blocks.data.schemes import SequentialExampleScheme


@pytest.fixture
def arrays():
    return OrderedDict([('x', numpy.arange(12).reshape(6, 2)),
                        ('y', numpy.array([0, 1, 0, 1, 1, 0]))])


def test_indexable_dataset_get_data(arrays):
    dataset = IndexableDataset(arrays)
    assert dataset.provides_sources == ('x', 'y')
    assert dataset.sources == ('x', 'y')
    assert dataset.num_examples == 6
    x, y = dataset.get_data(request=[5, 0])
    numpy.testing.assert_array_equal(x, [[10, 11], [0, 1]])
    numpy.testing.assert_array_equal(y, [0, 0])
    x, y = dataset.get_data(request=slice(2, 4))
    numpy.testing.assert_array_equal(x, [[4, 5], [6, 7]])
    assert numpy.shares_memory(x, arrays['x'])  # slices do not copy
    x, y = dataset.get_data(request=3)
    numpy.testing.assert_array_equal(x, [6, 7])
    assert y == 1


def test_indexable_dataset_sources_start_stop(arrays):
    dataset = IndexableDataset(arrays, start=1, stop=4, sources=('y', 'x'))
    assert dataset.num_examples == 3
    y, x = dataset.get_data(request=[0, 2])
    numpy.testing.assert_array_equal(x, [[2, 3], [6, 7]])
    numpy.testing.assert_array_equal(y, [1, 1])
    assert dataset.filter_sources((1, 2)) == (2, 1)
    with pytest.raises(ValueError, match="among \\('x', 'y'\\)"):
        IndexableDataset(arrays, sources=('z',))


def test_indexable_dataset_single_array_and_lists():
    dataset = IndexableDataset(numpy.arange(3))
    assert dataset.sources == ('data',)
    sequences = IndexableDataset({'s': [[1], [2, 3], [4, 5, 6]]})
    assert sequences.get_data(request=[2, 0]) == ([[4, 5, 6], [1]],)
    assert sequences.get_data(request=slice(0, 2)) == ([[1], [2, 3]],)


def test_indexable_dataset_errors(arrays):
    with pytest.raises(ValueError, match='same number of examples'):
        IndexableDataset({'a': numpy.zeros(3), 'b': numpy.zeros(4)})
    with pytest.raises(ValueError, match='needs a request'):
        IndexableDataset(arrays).get_data()
    with pytest.raises(ValueError, match='at least one source'):
        IndexableDataset({})


def test_indexable_dataset_example_scheme(arrays):
    scheme = IndexableDataset(arrays).example_iteration_scheme
    assert isinstance(scheme, SequentialExampleScheme)
    assert list(scheme.get_request_iterator()) == list(range(6))


def test_iterable_dataset():
    dataset = IterableDataset(OrderedDict([('a', [1, 2, 3]),
                                           ('b', 'xyz')]))
    assert dataset.num_examples == 3
    state = dataset.open()
    assert dataset.get_data(state) == (1, 'x')
    copy = pickle.loads(pickle.dumps(state))
    assert dataset.get_data(copy) == (2, 'y')
    assert [dataset.get_data(state) for _ in range(2)] == [(2, 'y'),
                                                           (3, 'z')]
    with pytest.raises(StopIteration):
        dataset.get_data(state)
    state = dataset.next_epoch(state)
    assert dataset.get_data(state) == (1, 'x')


def test_iterable_dataset_sources_and_generic_iterables():
    dataset = IterableDataset({'a': [1, 2], 'b': [3, 4]}, sources=('b',))
    assert dataset.get_data(dataset.open()) == (3,)
    class Unsized:
        def __iter__(self):
            yield 5

    unsized = IterableDataset({'s': Unsized()})
    assert math.isnan(unsized.num_examples)
    state = unsized.open()
    assert unsized.get_data(state) == (5,)
    with pytest.raises(StopIteration):
        unsized.get_data(state)


def test_iterable_dataset_continues_one_shot_iterators_across_epochs():
    dataset = IterableDataset(itertools.count())  # as in Fuel
    assert dataset.sources == ('data',)
    assert math.isnan(dataset.num_examples)
    first = dataset.open()
    assert [dataset.get_data(first) for _ in range(3)] == [(0,), (1,), (2,)]
    # a one-shot iterator cannot be rewound: the next epoch goes on
    assert dataset.get_data(dataset.open()) == (3,)
    generated = IterableDataset({'s': (letter for letter in 'ab')})
    state = generated.open()
    assert generated.get_data(state) == ('a',)


def test_dataset_without_sources():
    with pytest.raises(ValueError, match='provides_sources'):
        Dataset()


def test_spiral():
    spiral = Spiral(num_examples=300, classes=3, cycles=1.5, noise=0.)
    assert spiral.sources == ('features', 'position', 'label')
    features, position, label = spiral.get_data(request=slice(0, 300))
    assert features.shape == (300, 2)
    assert features.dtype == pytensor.config.floatX
    assert position.shape == label.shape == (300,)
    assert set(numpy.unique(label)) == {0, 1, 2}
    assert position.min() >= 0 and position.max() <= 1
    # Without noise every point lies on its arm.
    radius = numpy.hypot(features[:, 0], features[:, 1])
    numpy.testing.assert_allclose(radius, (1 + 2 * position) / 3,
                                  rtol=1e-5)
    angle = numpy.arctan2(features[:, 1], features[:, 0])
    expected = 2 * numpy.pi * (1.5 * position + label / 3)
    numpy.testing.assert_allclose(numpy.cos(angle - expected), 1, atol=1e-5)


def test_spiral_seed_noise_and_sources():
    first = Spiral(num_examples=20, classes=2, noise=0.1, seed=4)
    second = Spiral(num_examples=20, classes=2, noise=0.1, seed=4)
    other = Spiral(num_examples=20, classes=2, noise=0.1, seed=5)
    request = slice(0, 20)
    numpy.testing.assert_array_equal(first.get_data(request=request)[0],
                                     second.get_data(request=request)[0])
    assert not numpy.array_equal(first.get_data(request=request)[0],
                                 other.get_data(request=request)[0])
    subset = Spiral(num_examples=10, sources=['features', 'label'])
    assert subset.sources == ('features', 'label')
    assert len(subset.get_data(request=[0, 1])) == 2
    assert set(subset.get_data(request=slice(0, 10))[1]) == {0}
