import pickle
from collections import OrderedDict

import numpy
import pytest

from blocks.data.datasets import IndexableDataset, IterableDataset
from blocks.data.schemes import (SequentialScheme, ShuffledScheme,
                                 ConstantScheme)
from blocks.data.streams import DataStream
from blocks.data.transformers import Batch, Flatten, Mapping, Padding


@pytest.fixture
def dataset():
    return IndexableDataset(OrderedDict([
        ('x', numpy.arange(10).reshape(5, 2)),
        ('y', numpy.array([1, 2, 3, 4, 5]))]))


def listed(iterator):
    return [tuple(numpy.asarray(item).tolist() for item in data)
            for data in iterator]


def test_sequential_batches(dataset):
    stream = DataStream(dataset, iteration_scheme=SequentialScheme(5, 2))
    assert stream.sources == ('x', 'y')
    assert not stream.produces_examples
    assert listed(stream.get_epoch_iterator()) == [
        ([[0, 1], [2, 3]], [1, 2]), ([[4, 5], [6, 7]], [3, 4]),
        ([[8, 9]], [5])]


def test_as_dict_and_several_epochs(dataset):
    stream = DataStream(dataset, iteration_scheme=SequentialScheme(5, 5))
    epochs = stream.iterate_epochs(as_dict=True)
    for _ in range(3):
        batch, = list(next(epochs))
        assert list(batch) == ['x', 'y']
        numpy.testing.assert_array_equal(batch['y'], [1, 2, 3, 4, 5])


def test_shuffled_batches(dataset):
    stream = DataStream(dataset, iteration_scheme=ShuffledScheme(
        5, 2, rng=numpy.random.RandomState(1)))
    order = numpy.random.RandomState(1).permutation(5)
    ys = numpy.concatenate([y for _, y in stream.get_epoch_iterator()])
    numpy.testing.assert_array_equal(ys, order + 1)


def test_default_scheme_gives_examples(dataset):
    stream = DataStream(dataset)
    assert stream.produces_examples
    assert listed(stream.get_epoch_iterator())[1] == ([2, 3], 2)
    iterable = DataStream(IterableDataset({'a': [7, 8]}))
    assert iterable.produces_examples
    assert list(iterable.get_epoch_iterator()) == [(7,), (8,)]
    assert list(iterable.get_epoch_iterator()) == [(7,), (8,)]
    iterable.reset()
    assert list(iterable.get_epoch_iterator()) == [(7,), (8,)]


def test_default_stream_applies_default_transformers(dataset):
    class Halved(IndexableDataset):
        default_transformers = (
            (Mapping, [lambda data: (data[0] // 2, data[1])], {}),)
    halved = Halved(dataset.indexables)
    stream = DataStream.default_stream(
        halved, iteration_scheme=SequentialScheme(5, 5))
    x, _ = next(stream.get_epoch_iterator())
    numpy.testing.assert_array_equal(x, dataset.indexables['x'] // 2)


def continue_after_pickle(stream, copy_of):
    """Pull two batches, pickle, then check that the copy and the original
    give the same rest of the epoch and the same next epoch."""
    iterator = stream.get_epoch_iterator()
    next(iterator)
    next(iterator)
    stream_copy, iterator_copy = copy_of(stream, iterator)
    rest, rest_copy = listed(iterator), listed(iterator_copy)
    assert rest == rest_copy and rest
    assert listed(stream.get_epoch_iterator()) == \
        listed(stream_copy.get_epoch_iterator())
    return rest


def pickle_both(stream, iterator):
    return pickle.loads(pickle.dumps((stream, iterator)))


def pickle_stream_only(stream, iterator):
    copy = pickle.loads(pickle.dumps(stream))
    return copy, copy.epoch_iterator


def pickle_iterator_only(stream, iterator):
    copy = pickle.loads(pickle.dumps(iterator))
    return copy.data_stream, copy


@pytest.mark.parametrize('copy_of', [pickle_both, pickle_stream_only,
                                     pickle_iterator_only])
def test_pickle_mid_epoch_continues_with_next_batch(copy_of):
    dataset = IndexableDataset({'x': numpy.arange(20)})
    stream = DataStream(dataset, iteration_scheme=ShuffledScheme(20, 3))
    iterator = stream.get_epoch_iterator()
    seen = numpy.concatenate([next(iterator)[0] for _ in range(2)])
    stream_copy, iterator_copy = copy_of(stream, iterator)
    rest = listed(iterator)
    assert rest == listed(iterator_copy)
    everything = numpy.concatenate([seen] + [r[0] for r in rest])
    assert sorted(everything) == list(range(20))  # the same epoch goes on
    # Later epochs shuffle identically too.
    for _ in range(2):
        assert listed(stream.get_epoch_iterator()) == \
            listed(stream_copy.get_epoch_iterator())


def test_pickle_mid_epoch_through_transformers():
    sequences = [list(range(n)) for n in range(1, 12)]
    stream = Padding(Batch(DataStream(IterableDataset({'s': sequences})),
                           ConstantScheme(3)), mask_dtype='int8')
    rest = continue_after_pickle(stream, pickle_both)
    assert len(rest) == 2  # 11 examples: batches 3, 3 | 3, 2
    continue_after_pickle(stream, pickle_stream_only)


def test_pickle_mid_epoch_flattened_indexable():
    dataset = IndexableDataset({'x': numpy.arange(40).reshape(10, 2, 2),
                                'y': numpy.arange(10)})
    stream = Flatten(DataStream(dataset,
                                iteration_scheme=ShuffledScheme(10, 3)))
    continue_after_pickle(stream, pickle_both)
