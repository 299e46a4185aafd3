import pickle
from collections import OrderedDict

import numpy
import pytensor
import pytest

from blocks.data.datasets import IndexableDataset, IterableDataset
from blocks.data.schemes import (ConstantScheme, SequentialExampleScheme,
                                 SequentialScheme)
from blocks.data.streams import DataStream
from blocks.data.transformers import (Batch, Cache, Cast, Filter, Flatten,
                                      ForceFloatX, Mapping, Merge, Padding,
                                      Rename, ScaleAndShift, SortMapping,
                                      Unpack)


@pytest.fixture
def batches():
    dataset = IndexableDataset(
        OrderedDict([('features', numpy.arange(24, dtype='uint8')
                      .reshape(4, 1, 2, 3)),
                     ('targets', numpy.array([[1], [0], [1], [0]]))]),
        axis_labels={'features': ('batch', 'channel', 'height', 'width'),
                     'targets': ('batch', 'index')})
    return DataStream(dataset, iteration_scheme=SequentialScheme(4, 3))


@pytest.fixture
def examples():
    return DataStream(IterableDataset(OrderedDict([
        ('number', [1, 2, 3, 4, 5]), ('letter', list('abcde'))])))


def epoch(stream, **kwargs):
    return list(stream.get_epoch_iterator(**kwargs))


def test_flatten_batches_and_examples(batches):
    flat = Flatten(batches, which_sources=('features',))
    first, second = epoch(flat)
    numpy.testing.assert_array_equal(
        first[0], numpy.arange(18).reshape(3, 6))
    numpy.testing.assert_array_equal(first[1], [[1], [0], [1]])
    assert second[0].shape == (1, 6)
    assert flat.axis_labels['features'] == ('batch', 'feature')
    assert flat.axis_labels['targets'] == ('batch', 'index')
    examples = Flatten(DataStream(batches.dataset))
    features, targets = next(examples.get_epoch_iterator())
    numpy.testing.assert_array_equal(features, numpy.arange(6))
    numpy.testing.assert_array_equal(targets, [1])


def test_which_sources_as_string_and_unknown(batches):
    flat = Flatten(batches, which_sources='features')
    assert flat.which_sources == ('features',)
    with pytest.raises(ValueError, match="'labels'"):
        Flatten(batches, which_sources=('labels',))


def test_scale_and_shift_then_cast(batches):
    scaled = ScaleAndShift(batches, 0.5, -1, which_sources=('features',))
    features, targets = next(scaled.get_epoch_iterator())
    numpy.testing.assert_allclose(
        features, numpy.arange(18).reshape(3, 1, 2, 3) * 0.5 - 1)
    assert targets.dtype == batches.dataset.indexables['targets'].dtype
    cast = Cast(scaled, 'floatX', which_sources=('features',))
    features, _ = next(cast.get_epoch_iterator())
    assert features.dtype == pytensor.config.floatX
    cast = Cast(batches, 'int16')
    assert all(data.dtype == numpy.int16
               for data in next(cast.get_epoch_iterator()))


def test_force_floatx():
    dataset = IndexableDataset(OrderedDict([
        ('a', numpy.ones((2, 2), dtype='float16')),
        ('b', numpy.ones(2, dtype='int32'))]))
    stream = ForceFloatX(DataStream(dataset,
                                    iteration_scheme=SequentialScheme(2, 2)))
    a, b = next(stream.get_epoch_iterator())
    assert a.dtype == pytensor.config.floatX
    assert b.dtype == numpy.int32


def test_mapping(examples):
    def double(data):
        return (2 * data[0], data[1].upper())
    assert epoch(Mapping(examples, double))[:2] == [(2, 'A'), (4, 'B')]

    def square(data):
        return (data[0] ** 2,)
    added = Mapping(examples, square, add_sources=('square',))
    assert added.sources == ('number', 'letter', 'square')
    assert epoch(added, as_dict=True)[2] == OrderedDict(
        [('number', 3), ('letter', 'c'), ('square', 9)])


def test_filter(examples, batches):
    odd = Filter(examples, lambda data: data[0] % 2 == 1)
    assert epoch(odd) == [(1, 'a'), (3, 'c'), (5, 'e')]
    big = Filter(batches, lambda data: len(data[1]) > 1)
    assert len(epoch(big)) == 1


def test_rename(examples, batches):
    renamed = Rename(examples, {'letter': 'char'})
    assert renamed.sources == ('number', 'char')
    assert epoch(renamed, as_dict=True)[0] == {'number': 1, 'char': 'a'}
    renamed = Rename(batches, {'features': 'x'})
    assert renamed.axis_labels['x'] == ('batch', 'channel', 'height',
                                        'width')
    with pytest.raises(KeyError, match='missing'):
        Rename(examples, {'missing': 'x'})
    assert Rename(examples, {'missing': 'x'},
                  on_non_existent='ignore').sources == ('number', 'letter')
    with pytest.raises(ValueError, match='distinct'):
        Rename(examples, {'letter': 'number'})


def test_batch_strictness(examples):
    loose = Batch(examples, ConstantScheme(2))
    assert not loose.produces_examples
    result = epoch(loose)
    assert [numbers.tolist() for numbers, _ in result] == [[1, 2], [3, 4],
                                                           [5]]
    assert result[0][1].tolist() == ['a', 'b']
    strict = Batch(examples, ConstantScheme(2), strictness=1)
    assert [numbers.tolist() for numbers, _ in epoch(strict)] == [[1, 2],
                                                                  [3, 4]]
    stricter = Batch(examples, ConstantScheme(2), strictness=2)
    with pytest.raises(ValueError, match='incomplete batch of 1'):
        epoch(stricter)
    counted = Batch(examples, ConstantScheme(2, num_examples=3))
    assert [len(numbers) for numbers, _ in epoch(counted)] == [2, 1]


def test_batch_stacks_arrays_and_keeps_ragged_as_objects():
    dataset = IterableDataset({'v': [numpy.ones(2), numpy.zeros(2)],
                               's': [[1], [2, 3]]})
    v, s = next(Batch(DataStream(dataset),
                      ConstantScheme(2)).get_epoch_iterator())
    assert v.shape == (2, 2)
    assert s.dtype == object and s[1] == [2, 3]


def test_batch_and_unpack_check_their_input(batches, examples):
    with pytest.raises(ValueError, match='stream of examples'):
        Batch(batches, ConstantScheme(2))
    with pytest.raises(ValueError, match='stream of batches'):
        Unpack(examples)
    with pytest.raises(ValueError, match='stream of batches'):
        Padding(examples)


def test_unpack(batches):
    unpacked = Unpack(batches)
    assert unpacked.produces_examples
    result = epoch(unpacked)
    assert len(result) == 4
    numpy.testing.assert_array_equal(result[3][0],
                                     numpy.arange(18, 24).reshape(1, 2, 3))
    assert [int(target[0]) for _, target in result] == [1, 0, 1, 0]
    assert len(epoch(unpacked)) == 4  # a second epoch starts afresh


def test_padding_with_masks():
    dataset = IterableDataset(OrderedDict([
        ('seq', [[1, 2], [3], [4, 5, 6]]),
        ('vec', [numpy.ones((1, 2)), numpy.ones((3, 2)),
                 numpy.ones((2, 2))]),
        ('label', [0, 1, 2])]))
    batched = Batch(DataStream(dataset), ConstantScheme(3))
    padded = Padding(batched, mask_sources=('seq', 'vec'))
    assert padded.sources == ('seq', 'seq_mask', 'vec', 'vec_mask', 'label')
    seq, seq_mask, vec, vec_mask, label = next(padded.get_epoch_iterator())
    numpy.testing.assert_array_equal(seq, [[1, 2, 0], [3, 0, 0],
                                           [4, 5, 6]])
    numpy.testing.assert_array_equal(seq_mask, [[1, 1, 0], [1, 0, 0],
                                                [1, 1, 1]])
    assert seq_mask.dtype == pytensor.config.floatX
    assert vec.shape == (3, 3, 2)
    numpy.testing.assert_array_equal(vec.sum(axis=2), 2 * vec_mask)
    numpy.testing.assert_array_equal(vec_mask.sum(axis=1), [1, 3, 2])
    numpy.testing.assert_array_equal(label, [0, 1, 2])
    all_sources = Padding(Batch(DataStream(IterableDataset(
        {'s': [[1], [1, 1]]})), ConstantScheme(2)), mask_dtype='uint8')
    assert all_sources.sources == ('s', 's_mask')
    assert next(all_sources.get_epoch_iterator())[1].dtype == numpy.uint8


def test_padding_rejects_mismatched_trailing_shapes():
    dataset = IterableDataset({'v': [numpy.ones((1, 2)),
                                     numpy.ones((2, 3))]})
    padded = Padding(Batch(DataStream(dataset), ConstantScheme(2)))
    with pytest.raises(ValueError, match='differ only in length'):
        next(padded.get_epoch_iterator())


def test_merge(examples):
    other = DataStream(IterableDataset({'x': [10, 20, 30, 40, 50]}))
    merged = Merge([examples, other], ('n', 'l', 'x'))
    assert merged.produces_examples
    assert epoch(merged)[:2] == [(1, 'a', 10), (2, 'b', 20)]
    assert epoch(merged, as_dict=True)[4] == {'n': 5, 'l': 'e', 'x': 50}
    with pytest.raises(ValueError, match='2 source names given for 3'):
        Merge([examples, other], ('n', 'l'))
    with pytest.raises(ValueError, match='all produce'):
        Merge([examples, Batch(other, ConstantScheme(2))], ('n', 'l', 'x'))


def test_transformers_reject_requests_and_wrong_kinds(examples):
    mapped = Mapping(examples, tuple)
    mapped.get_epoch_iterator()
    with pytest.raises(ValueError, match='no requests'):
        mapped.get_data(request=3)
    flat = Flatten(examples, which_sources=('number',))
    flat.produces_examples = False
    with pytest.raises(NotImplementedError, match='turn examples into'):
        next(flat.get_epoch_iterator())


def ragged_batches(batch_size):
    sequences = [[1, 2, 3], [4], [5, 6], [7, 8, 9, 10], [11]]
    return Batch(DataStream(IterableDataset(OrderedDict([
        ('s', sequences), ('n', [3, 1, 2, 4, 1])]))),
        ConstantScheme(batch_size))


def first_length(example):
    return len(example[0])


def test_sort_mapping_sorts_ragged_batches_and_keeps_kinds():
    batch = next(Mapping(ragged_batches(4), SortMapping(first_length))
                 .get_epoch_iterator())
    assert [list(s) for s in batch[0]] == [[4], [5, 6], [1, 2, 3],
                                          [7, 8, 9, 10]]
    assert batch[1].tolist() == [1, 2, 3, 4]
    mapping = SortMapping(first_length, reverse=True)
    lists = mapping(([[1], [2, 3]], ['a', 'b']))
    assert lists == ([[2, 3], [1]], ['b', 'a'])


def test_sort_mapping_is_picklable_with_its_stream():
    stream = Mapping(ragged_batches(2), SortMapping(first_length))
    iterator = stream.get_epoch_iterator()
    next(iterator)
    copy = pickle.loads(pickle.dumps(stream))
    rest = [n.tolist() for _, n in iterator]
    assert rest == [n.tolist() for _, n in copy.epoch_iterator] == \
        [[2, 4], [1]]


def test_cache_serves_smaller_and_larger_batches(batches):
    cached = Cache(batches, ConstantScheme(2))
    sizes = [len(features) for features, _ in epoch(cached)]
    assert sizes == [2, 2]  # 4 examples read as 3 + 1
    numpy.testing.assert_array_equal(
        numpy.concatenate([t for _, t in epoch(cached)]), [[1], [0], [1],
                                                          [0]])
    larger = Cache(ragged_batches(2), ConstantScheme(3))
    served = [n.tolist() for _, n in epoch(larger)]
    assert served == [[3, 1, 2], [4, 1]]


def test_cache_pickles_mid_epoch_with_its_content():
    cached = Cache(ragged_batches(3), ConstantScheme(2))
    iterator = cached.get_epoch_iterator()
    next(iterator)
    assert len(cached.cache[0]) == 1  # one example waits in the cache
    copy = pickle.loads(pickle.dumps(cached))
    rest = [n.tolist() for _, n in iterator]
    assert rest == [n.tolist() for _, n in copy.epoch_iterator] == \
        [[2, 4], [1]]


def test_cache_checks_its_input(batches, examples):
    with pytest.raises(ValueError, match='Cache needs a stream of batches'):
        Cache(examples, ConstantScheme(2))
    with pytest.raises(ValueError, match='scheme of batch sizes'):
        Cache(batches, SequentialExampleScheme(4))
