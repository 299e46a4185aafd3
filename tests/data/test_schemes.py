import pickle

import numpy
import pytest

from blocks.config import config
from blocks.data.schemes import (ConstantScheme, SequentialExampleScheme,
                                 SequentialScheme, ShuffledExampleScheme,
                                 ShuffledScheme, cross_validation)


def as_lists(requests):
    return [list(range(r.start, r.stop)) if isinstance(r, slice) else r
            for r in requests]


def test_constant_scheme():
    assert list(ConstantScheme(3, num_examples=7).get_request_iterator()) \
        == [3, 3, 1]
    assert list(ConstantScheme(3, times=2).get_request_iterator()) == [3, 3]
    endless = ConstantScheme(4).get_request_iterator()
    assert [next(endless) for _ in range(5)] == [4] * 5
    assert not ConstantScheme(2).requests_examples
    with pytest.raises(ValueError, match='not both'):
        ConstantScheme(2, num_examples=4, times=2)
    with pytest.raises(ValueError, match='batch_size'):
        ConstantScheme(0)


def test_sequential_scheme_slices_for_contiguous_examples():
    requests = list(SequentialScheme(7, 3).get_request_iterator())
    assert requests == [slice(0, 3), slice(3, 6), slice(6, 7)]
    assert list(SequentialScheme(range(8000, 8005), 5)
                .get_request_iterator()) == [slice(8000, 8005)]
    assert list(SequentialScheme([2, 3, 4], 2).get_request_iterator()) == \
        [slice(2, 4), slice(4, 5)]
    assert list(SequentialScheme([5, 1, 3], 2).get_request_iterator()) == \
        [[5, 1], [3]]
    assert list(SequentialScheme(0, 2).get_request_iterator()) == []
    assert not SequentialScheme(3, 1).requests_examples


def test_shuffled_scheme_is_a_reproducible_permutation_per_epoch():
    scheme = ShuffledScheme(10, 4, rng=numpy.random.RandomState(3))
    first = list(scheme.get_request_iterator())
    second = list(scheme.get_request_iterator())
    assert [len(batch) for batch in first] == [4, 4, 2]
    assert sorted(sum(first, [])) == list(range(10))
    assert first != second  # a new order every epoch
    again = ShuffledScheme(10, 4, rng=numpy.random.RandomState(3))
    assert list(again.get_request_iterator()) == first
    expected = numpy.random.RandomState(3).permutation(10)
    assert sum(first, []) == expected.tolist()


def test_shuffled_scheme_default_seed_comes_from_config():
    default = list(ShuffledScheme(6, 6).get_request_iterator())
    seeded = ShuffledScheme(6, 6, rng=numpy.random.RandomState(
        config.default_seed))
    assert default == list(seeded.get_request_iterator())
    assert default == list(ShuffledScheme(6, 6).get_request_iterator())
    assert list(ShuffledScheme(6, 6, rng=config.default_seed)
                .get_request_iterator()) == default


def test_shuffled_scheme_over_given_indices_and_sorted():
    scheme = ShuffledScheme([10, 20, 30, 40], 2, rng=1, sorted_indices=True)
    batches = list(scheme.get_request_iterator())
    assert sorted(sum(batches, [])) == [10, 20, 30, 40]
    assert all(batch == sorted(batch) for batch in batches)


def test_example_schemes():
    assert list(SequentialExampleScheme(3).get_request_iterator()) == \
        [0, 1, 2]
    assert list(SequentialExampleScheme([4, 2]).get_request_iterator()) == \
        [4, 2]
    scheme = ShuffledExampleScheme(5, rng=numpy.random.RandomState(0))
    order = list(scheme.get_request_iterator())
    assert order == numpy.random.RandomState(0).permutation(5).tolist()
    assert all(type(index) is int for index in order)
    assert SequentialExampleScheme(2).requests_examples


def test_request_iterators_pickle_mid_epoch():
    for scheme in (SequentialScheme(10, 3), ShuffledScheme(10, 3),
                   ConstantScheme(3, num_examples=10),
                   ShuffledExampleScheme(10)):
        iterator = scheme.get_request_iterator()
        next(iterator)
        copy = pickle.loads(pickle.dumps(iterator))
        assert as_lists(iterator) == as_lists(copy)


def test_bad_examples():
    with pytest.raises(ValueError, match='integer indices'):
        SequentialScheme([0.5, 1.5], 1)
    with pytest.raises(ValueError, match='non-negative'):
        SequentialScheme(-1, 1)


def test_cross_validation():
    folds = list(cross_validation(SequentialScheme, 6, 3, batch_size=2))
    assert len(folds) == 3
    train, valid = folds[1]
    assert as_lists(train.get_request_iterator()) == [[0, 1], [4, 5]]
    assert as_lists(valid.get_request_iterator()) == [[2, 3]]
    with pytest.raises(ValueError, match='equal folds'):
        list(cross_validation(SequentialExampleScheme, 5, 2))
