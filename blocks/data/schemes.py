"""Iteration schemes: which examples a stream asks for, and in what order.

A scheme's :meth:`~IterationScheme.get_request_iterator` returns one epoch's
worth of *requests*. A request is what a data stream hands to
``Dataset.get_data``: an example index (example schemes), a batch of indices
(batch schemes) or a batch size (:class:`ConstantScheme`).

Request iterators are plain picklable objects that hold their index list
and their position, so a training checkpoint taken in the middle of an
epoch resumes with the next request. Sequential batch schemes over
contiguous examples request ``slice`` objects, which index NumPy arrays
without copying; shuffled schemes request lists of indices.

"""
from collections.abc import Iterator

import numpy

from blocks.config import config

__all__ = ['IterationScheme', 'BatchSizeScheme', 'BatchScheme',
           'IndexScheme', 'ConstantScheme', 'SequentialScheme',
           'ShuffledScheme', 'SequentialExampleScheme',
           'ShuffledExampleScheme', 'cross_validation']


class IterationScheme:
    """Base class of iteration schemes.

    Subclasses set ``requests_examples`` (True when each request is one
    example) and implement :meth:`get_request_iterator`.

    """
    requests_examples = None

    def get_request_iterator(self):
        """Return a picklable iterator over one epoch's requests."""
        raise NotImplementedError


class BatchSizeScheme(IterationScheme):
    """A scheme whose requests are batch sizes.

    For :class:`~blocks.data.transformers.Batch`.
    """
    requests_examples = False


class BatchScheme(IterationScheme):
    """A scheme whose requests are batches of example indices.

    Parameters
    ----------
    examples : int or iterable of int
        The number of examples (the indices ``0 .. examples - 1``) or the
        indices themselves.
    batch_size : int
        The number of examples per request; the last batch of an epoch may
        be smaller.

    """
    requests_examples = False

    def __init__(self, examples, batch_size):
        self.indices = _as_indices(examples)
        self.batch_size = _check_positive('batch_size', batch_size)


class IndexScheme(IterationScheme):
    """A scheme whose requests are single example indices.

    Parameters
    ----------
    examples : int or iterable of int
        The number of examples or the indices themselves.

    """
    requests_examples = True

    def __init__(self, examples):
        self.indices = _as_indices(examples)


class ConstantScheme(BatchSizeScheme):
    """Request the same batch size again and again.

    Parameters
    ----------
    batch_size : int
        The size of each request.
    num_examples : int, optional
        Stop once this many examples have been requested; the last request
        is smaller when `batch_size` does not divide it.
    times : int, optional
        Stop after this many requests. At most one of `num_examples` and
        `times` may be given; with neither the iterator never ends.

    Examples
    --------
    >>> list(ConstantScheme(3, num_examples=7).get_request_iterator())
    [3, 3, 1]
    >>> list(ConstantScheme(2, times=3).get_request_iterator())
    [2, 2, 2]

    """
    def __init__(self, batch_size, num_examples=None, times=None):
        if num_examples is not None and times is not None:
            raise ValueError('ConstantScheme takes num_examples or times, '
                             'not both (got num_examples={}, times={})'
                             .format(num_examples, times))
        self.batch_size = _check_positive('batch_size', batch_size)
        self.num_examples = num_examples
        self.times = times

    def get_request_iterator(self):
        return ConstantRequests(self.batch_size, self.num_examples,
                                self.times)


class SequentialScheme(BatchScheme):
    """Request batches of examples in their order.

    Contiguous indices are requested as slices (no copy on NumPy arrays),
    other index lists as lists.

    Examples
    --------
    >>> list(SequentialScheme(5, 2).get_request_iterator())
    [slice(0, 2, None), slice(2, 4, None), slice(4, 5, None)]
    >>> list(SequentialScheme([4, 0, 2], 2).get_request_iterator())
    [[4, 0], [2]]

    """
    def get_request_iterator(self):
        return BatchRequests(self.indices, self.batch_size)


class ShuffledScheme(BatchScheme):
    """Request batches of examples in a new random order every epoch.

    Parameters
    ----------
    examples : int or iterable of int
        The number of examples or the indices themselves.
    batch_size : int
        The number of examples per request.
    rng : numpy.random.RandomState or int, optional
        The source of the permutations (an int seeds a new one); by
        default one seeded with ``blocks.config.config.default_seed``, so
        that runs are reproducible. The generator is part of the
        scheme's pickled state.
    sorted_indices : bool, optional
        Sort the indices inside each batch (helps datasets read from disk).

    Examples
    --------
    >>> scheme = ShuffledScheme(6, 4, rng=numpy.random.RandomState(0))
    >>> [sorted(batch) for batch in scheme.get_request_iterator()]
    [[1, 2, 3, 5], [0, 4]]

    """
    def __init__(self, examples, batch_size, rng=None, sorted_indices=False):
        super().__init__(examples, batch_size)
        self.rng = _default_rng(rng)
        self.sorted_indices = sorted_indices

    def get_request_iterator(self):
        order = self.indices.as_array()[self.rng.permutation(
            len(self.indices))]
        return BatchRequests(_Indices(order), self.batch_size,
                             sort=self.sorted_indices)


class SequentialExampleScheme(IndexScheme):
    """Request the examples one by one, in order.

    Examples
    --------
    >>> list(SequentialExampleScheme(3).get_request_iterator())
    [0, 1, 2]

    """
    def get_request_iterator(self):
        return ExampleRequests(self.indices)


class ShuffledExampleScheme(IndexScheme):
    """Request the examples one by one, in a new random order every epoch.

    Parameters
    ----------
    examples : int or iterable of int
        The number of examples or the indices themselves.
    rng : numpy.random.RandomState, optional
        As for :class:`ShuffledScheme`.

    Examples
    --------
    >>> scheme = ShuffledExampleScheme(4, rng=numpy.random.RandomState(0))
    >>> sorted(scheme.get_request_iterator())
    [0, 1, 2, 3]

    """
    def __init__(self, examples, rng=None):
        super().__init__(examples)
        self.rng = _default_rng(rng)

    def get_request_iterator(self):
        order = self.indices.as_array()[self.rng.permutation(
            len(self.indices))]
        return ExampleRequests(_Indices(order))


def cross_validation(scheme_class, num_examples, num_folds, strict=True,
                     **kwargs):
    """Yield (train scheme, validation scheme) pairs for k-fold validation.

    Parameters
    ----------
    scheme_class : type
        An :class:`IndexScheme` or :class:`BatchScheme` subclass.
    num_examples : int
        The number of examples to split.
    num_folds : int
        The number of folds.
    strict : bool, optional
        If True, `num_folds` must divide `num_examples`.
    **kwargs
        Passed to `scheme_class` (e.g. ``batch_size``).

    Examples
    --------
    >>> folds = list(cross_validation(SequentialExampleScheme, 4, 2))
    >>> [list(valid.get_request_iterator()) for _, valid in folds]
    [[0, 1], [2, 3]]

    """
    if strict and num_examples % num_folds:
        raise ValueError('{} examples cannot be split into {} equal folds'
                         .format(num_examples, num_folds))
    bounds = numpy.linspace(0, num_examples, num_folds + 1).astype(int)
    everything = numpy.arange(num_examples)
    for begin, end in zip(bounds[:-1], bounds[1:]):
        train = numpy.concatenate([everything[:begin], everything[end:]])
        yield (scheme_class(train.tolist(), **kwargs),
               scheme_class(list(range(begin, end)), **kwargs))


# Request iterators ---------------------------------------------------------

class ConstantRequests(Iterator):
    """The picklable request iterator of :class:`ConstantScheme`."""
    def __init__(self, batch_size, num_examples=None, times=None):
        self.batch_size = batch_size
        self.num_examples = num_examples
        self.times = times
        self.position = 0  # examples (or requests, with `times`) handed out

    def __next__(self):
        if self.times is not None:
            if self.position >= self.times:
                raise StopIteration
            self.position += 1
            return self.batch_size
        if self.num_examples is not None:
            left = self.num_examples - self.position
            if left <= 0:
                raise StopIteration
            size = min(self.batch_size, left)
            self.position += size
            return size
        return self.batch_size


class BatchRequests(Iterator):
    """The picklable request iterator of the batch schemes.

    It holds the epoch's index list (or, for contiguous indices, just the
    range) and the position of the next batch.

    """
    def __init__(self, indices, batch_size, sort=False):
        self.indices = indices
        self.batch_size = batch_size
        self.sort = sort
        self.position = 0

    def __next__(self):
        begin = self.position
        if begin >= len(self.indices):
            raise StopIteration
        end = min(begin + self.batch_size, len(self.indices))
        self.position = end
        return self.indices.batch(begin, end, self.sort)


class ExampleRequests(Iterator):
    """The picklable request iterator of the example schemes."""
    def __init__(self, indices):
        self.indices = indices
        self.position = 0

    def __next__(self):
        if self.position >= len(self.indices):
            raise StopIteration
        self.position += 1
        return self.indices.item(self.position - 1)


class _Indices:
    """Example indices: a contiguous range ``[start, stop)`` kept as two
    numbers, or an arbitrary index array."""
    def __init__(self, array=None, start=None, stop=None):
        self.array = array
        self.start = start
        self.stop = stop

    def __len__(self):
        if self.array is None:
            return self.stop - self.start
        return len(self.array)

    def as_array(self):
        if self.array is None:
            return numpy.arange(self.start, self.stop)
        return self.array

    def item(self, position):
        if self.array is None:
            return self.start + position
        return int(self.array[position])

    def batch(self, begin, end, sort=False):
        if self.array is None:
            return slice(self.start + begin, self.start + end)
        batch = self.array[begin:end]
        if sort:
            batch = numpy.sort(batch)
        return batch.tolist()


def _as_indices(examples):
    if isinstance(examples, (int, numpy.integer)):
        if examples < 0:
            raise ValueError('the number of examples must be non-negative, '
                             'got {}'.format(examples))
        return _Indices(start=0, stop=int(examples))
    if isinstance(examples, range) and examples.step == 1:
        return _Indices(start=examples.start,
                        stop=max(examples.start, examples.stop))
    array = numpy.asarray(list(examples) if not hasattr(examples, '__len__')
                          else examples)
    if array.ndim != 1 or (array.size and array.dtype.kind not in 'iu'):
        raise ValueError('examples must be a number of examples or a '
                         'sequence of integer indices, got {!r}'
                         .format(examples))
    array = array.astype(numpy.int64)
    if array.size and array[0] >= 0 and numpy.all(numpy.diff(array) == 1):
        return _Indices(start=int(array[0]), stop=int(array[-1]) + 1)
    return _Indices(array)


def _check_positive(name, value):
    if not isinstance(value, (int, numpy.integer)) or value <= 0:
        raise ValueError('{} must be a positive integer, got {!r}'
                         .format(name, value))
    return int(value)


def _default_rng(rng):
    if rng is None:
        return numpy.random.RandomState(config.default_seed)
    if isinstance(rng, (int, numpy.integer)):
        return numpy.random.RandomState(rng)
    return rng
