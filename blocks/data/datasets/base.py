"""Datasets: where examples come from.

A dataset answers ``get_data(state, request)``. The *state* is whatever
``open()`` returned (``None`` for in-memory data, a position for iterable
data) and the *request* comes from an iteration scheme. Datasets are
stateless apart from that state, so one dataset may feed several streams.

"""
import math
import os
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence

import numpy

from blocks.data.schemes import SequentialExampleScheme
from blocks.data.streams import DataStream

__all__ = ['Dataset', 'IndexableDataset', 'IterableDataset', 'data_path']


def data_path():
    """The root of blocks' data: ``$BLOCKS_DATA_PATH`` or
    ``~/.local/share/blocks``."""
    return os.path.expanduser(
        os.environ.get('BLOCKS_DATA_PATH') or
        os.path.join('~', '.local', 'share', 'blocks'))



class Dataset:
    """Base class of datasets.

    Parameters
    ----------
    sources : sequence of str, optional
        The subset of :attr:`provides_sources` to return, in the order
        wanted; all of them by default.
    axis_labels : dict, optional
        Maps a source name to the names of its axes, e.g.
        ``{'features': ('batch', 'feature')}``.

    Attributes
    ----------
    provides_sources : tuple of str
        Every source the dataset can return, in the order in which
        :meth:`get_data` produces them before :meth:`filter_sources`.
    default_transformers : tuple
        ``(transformer_class, args, kwargs)`` triples that
        :meth:`blocks.data.streams.DataStream.default_stream` applies in
        order.
    example_iteration_scheme : IterationScheme or None
        The scheme used by a data stream created without one.

    """
    provides_sources = None
    default_transformers = ()
    example_iteration_scheme = None

    def __init__(self, sources=None, axis_labels=None):
        if not self.provides_sources:
            raise ValueError('{} does not declare provides_sources'
                             .format(type(self).__name__))
        self.provides_sources = tuple(self.provides_sources)
        self.sources = sources
        self.axis_labels = axis_labels

    @property
    def sources(self):
        """The sources returned by :meth:`get_data`, in order."""
        return self._sources

    @sources.setter
    def sources(self, sources):
        if sources is None:
            self._sources = self.provides_sources
            return
        if isinstance(sources, str):
            sources = (sources,)
        sources = tuple(sources)
        unknown = [source for source in sources
                   if source not in self.provides_sources]
        if unknown or len(set(sources)) != len(sources) or not sources:
            raise ValueError('{}: sources must be distinct names among {}, '
                             'got {}'.format(type(self).__name__,
                                             self.provides_sources, sources))
        self._sources = sources

    @property
    def num_examples(self):
        """The number of examples, NaN when unknown."""
        return math.nan

    def apply_default_transformers(self, stream):
        """Wrap `stream` in this dataset's :attr:`default_transformers`."""
        for transformer, args, kwargs in self.default_transformers:
            stream = transformer(stream, *args, **kwargs)
        return stream

    def get_example_stream(self):
        """A :class:`~blocks.data.streams.DataStream` of single examples."""
        return DataStream(self, iteration_scheme=self.example_iteration_scheme)

    def open(self):
        """Return the state one epoch of reading starts from."""
        return None

    def close(self, state):
        """Release what `state` holds (files, iterators)."""

    def reset(self, state):
        """Close `state` and return a fresh one."""
        self.close(state)
        return self.open()

    def next_epoch(self, state):
        """Return the state for the next epoch (a fresh one by default)."""
        return self.reset(state)

    def get_data(self, state=None, request=None):
        """Return a tuple of data, one element per source in
        :attr:`sources`."""
        raise NotImplementedError

    def filter_sources(self, data):
        """Keep, in :attr:`sources` order, the elements of `data` (one per
        source in :attr:`provides_sources`) that were asked for."""
        if self._sources == self.provides_sources:
            return tuple(data)
        return tuple(data[self.provides_sources.index(source)]
                     for source in self._sources)


def _named(data, what):
    if isinstance(data, Mapping):
        if not data:
            raise ValueError('{} needs at least one source'.format(what))
        return OrderedDict(data)
    return OrderedDict([('data', data)])


class IndexableDataset(Dataset):
    """A dataset of indexable containers (usually NumPy arrays) of equal
    length, one per source.

    Parameters
    ----------
    indexables : dict or array-like
        Maps each source name to its data; a single container becomes the
        source ``'data'``. The first axis indexes examples.
    start, stop : int, optional
        Keep only the examples ``start:stop``.
    **kwargs
        Passed to :class:`Dataset` (``sources``, ``axis_labels``).

    Examples
    --------
    >>> data = IndexableDataset({'x': numpy.arange(6).reshape(3, 2),
    ...                          'y': numpy.array([0, 1, 0])})
    >>> data.num_examples
    3
    >>> data.get_data(request=[2, 0])
    (array([[4, 5],
           [0, 1]]), array([0, 0]))
    >>> data.get_data(request=slice(0, 1))[1]
    array([0])

    """
    def __init__(self, indexables, start=None, stop=None, **kwargs):
        indexables = _named(indexables, 'IndexableDataset')
        self.provides_sources = tuple(indexables)
        self.indexables = OrderedDict(
            (source, _restrict(data, start, stop))
            for source, data in indexables.items())
        lengths = {source: len(data)
                   for source, data in self.indexables.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError('IndexableDataset: every source must hold the '
                             'same number of examples, got {}'
                             .format(lengths))
        self._num_examples = next(iter(lengths.values()))
        super().__init__(**kwargs)

    @property
    def num_examples(self):
        return self._num_examples

    @property
    def example_iteration_scheme(self):
        return SequentialExampleScheme(self.num_examples)

    def get_data(self, state=None, request=None):
        if state is not None or request is None:
            raise ValueError('IndexableDataset.get_data needs a request (an '
                             'index, a slice or a list of indices) and no '
                             'state, got state={!r}, request={!r}'
                             .format(state, request))
        return tuple(_take(self.indexables[source], request)
                     for source in self.sources)


def _restrict(data, start, stop):
    if start is None and stop is None:
        return data
    return data[slice(start, stop)]


def _take(data, request):
    if isinstance(data, numpy.ndarray) or isinstance(request, (int, slice)):
        return data[request]
    # Plain sequences (lists of variable-length sequences, say) cannot be
    # indexed by a list.
    return [data[index] for index in request]


class IterableDataset(Dataset):
    """A dataset of iterables read in lockstep, one per source.

    Each epoch starts again from the beginning of every re-iterable
    source (lists, arrays, ``range``...). A one-shot iterator, such as
    ``itertools.count()`` or a generator, is accepted as in Fuel: it is
    never rewound, so each epoch continues where the last one stopped.
    Sequences (anything with ``len`` and indexing) are read by position,
    which makes a half-read epoch picklable.

    Parameters
    ----------
    iterables : dict or iterable
        Maps each source name to its iterable; a single iterable becomes
        the source ``'data'``.
    **kwargs
        Passed to :class:`Dataset`.

    Examples
    --------
    >>> dataset = IterableDataset({'x': [1, 2, 3], 'y': 'abc'})
    >>> state = dataset.open()
    >>> dataset.get_data(state), dataset.get_data(state)
    ((1, 'a'), (2, 'b'))

    """
    def __init__(self, iterables, **kwargs):
        iterables = _named(iterables, 'IterableDataset')
        self.provides_sources = tuple(iterables)
        self.iterables = iterables
        super().__init__(**kwargs)

    @property
    def num_examples(self):
        try:
            lengths = {len(iterable) for iterable in self.iterables.values()}
        except TypeError:
            return math.nan
        return lengths.pop() if len(lengths) == 1 else math.nan

    def open(self):
        return ZipState([self.iterables[source] for source in self.sources])

    def get_data(self, state=None, request=None):
        if request is not None or state is None:
            raise ValueError('IterableDataset.get_data needs the state '
                             'returned by open() and no request, got '
                             'request={!r}'.format(request))
        return next(state)


class ZipState(Iterator):
    """Reads several iterables in lockstep; picklable when they are
    sequences, because it then keeps only a position."""
    def __init__(self, iterables):
        self.iterables = iterables
        self.by_position = all(isinstance(iterable, (Sequence, numpy.ndarray))
                               for iterable in iterables)
        if self.by_position:
            self.position = 0
            self.length = min(len(iterable) for iterable in iterables)
        else:
            self.iterators = [iter(iterable) for iterable in iterables]

    def __next__(self):
        if self.by_position:
            if self.position >= self.length:
                raise StopIteration
            self.position += 1
            return tuple(iterable[self.position - 1]
                         for iterable in self.iterables)
        # A list, not a generator: StopIteration must reach the caller.
        return tuple([next(iterator) for iterator in self.iterators])
