"""Transformers: data streams that change the data of another stream.

A transformer wraps a stream and is itself a stream, so they chain::

    stream = Flatten(DataStream.default_stream(mnist, iteration_scheme=...),
                     which_sources=('features',))

Each transformer reads its child stream through a child epoch iterator
that it keeps as an attribute; pickling the outermost stream therefore
captures the position of the whole chain.

"""
import numpy

from blocks.data.streams import AbstractDataStream

__all__ = ['Transformer', 'AgnosticTransformer', 'SourcewiseTransformer',
           'AgnosticSourcewiseTransformer', 'Mapping', 'Flatten',
           'ScaleAndShift', 'Cast', 'ForceFloatX', 'Filter', 'Rename',
           'Batch', 'Unpack', 'Padding', 'Merge', 'SortMapping', 'Cache']


def _floatx():
    # Imported here so that reading data does not require loading
    # PyTensor until a float type is actually needed.
    import pytensor
    return pytensor.config.floatX


class Transformer(AbstractDataStream):
    """Base class of transformers.

    Subclasses override :meth:`transform_example` and/or
    :meth:`transform_batch` (or :meth:`get_data` for transformers that
    change the number of items, such as :class:`Batch`).

    Parameters
    ----------
    data_stream : AbstractDataStream
        The stream to transform.
    produces_examples : bool, optional
        Whether this transformer returns examples; that of `data_stream`
        by default.
    **kwargs
        ``iteration_scheme``, ``axis_labels`` (those of `data_stream` by
        default).

    """
    #: Whether every item of the wrapped stream gives exactly one item here
    #: (progress bars count batches through such transformers)
    keeps_item_count = False

    def __init__(self, data_stream, produces_examples=None, **kwargs):
        kwargs.setdefault('axis_labels', data_stream.axis_labels)
        super().__init__(**kwargs)
        self.data_stream = data_stream
        self.child_epoch_iterator = None
        if produces_examples is None:
            produces_examples = data_stream.produces_examples
        self.produces_examples = produces_examples

    @property
    def sources(self):
        return getattr(self, '_sources', None) or self.data_stream.sources

    @sources.setter
    def sources(self, value):
        self._sources = tuple(value)

    def close(self):
        self.data_stream.close()

    def reset(self):
        self.data_stream.reset()

    def next_epoch(self):
        self.data_stream.next_epoch()

    def get_epoch_iterator(self, as_dict=False):
        self.child_epoch_iterator = self.data_stream.get_epoch_iterator()
        return super().get_epoch_iterator(as_dict=as_dict)

    def get_data(self, request=None):
        if request is not None:
            raise ValueError('{} takes no requests, got {!r}'
                             .format(type(self).__name__, request))
        data = next(self.child_epoch_iterator)
        if self.produces_examples != self.data_stream.produces_examples:
            raise NotImplementedError(
                '{} does not turn {} into {}'.format(
                    type(self).__name__,
                    _kind(self.data_stream.produces_examples),
                    _kind(self.produces_examples)))
        if self.produces_examples:
            return self.transform_example(data)
        return self.transform_batch(data)

    def transform_example(self, example):
        """Transform one example (a tuple, one element per source)."""
        raise NotImplementedError(
            '{} does not transform examples'.format(type(self).__name__))

    def transform_batch(self, batch):
        """Transform one batch (a tuple, one element per source)."""
        raise NotImplementedError(
            '{} does not transform batches'.format(type(self).__name__))


def _kind(produces_examples):
    return 'examples' if produces_examples else 'batches'


class AgnosticTransformer(Transformer):
    """A transformer that treats examples and batches alike
    (:meth:`transform_any`)."""
    def transform_any(self, data):
        raise NotImplementedError

    def transform_example(self, example):
        return self.transform_any(example)

    def transform_batch(self, batch):
        return self.transform_any(batch)


class SourcewiseTransformer(Transformer):
    """A transformer that changes some sources independently of the others.

    Parameters
    ----------
    data_stream : AbstractDataStream
        The stream to transform.
    produces_examples : bool
        As for :class:`Transformer`.
    which_sources : str or sequence of str, optional
        The sources to transform; all of them by default.

    """
    keeps_item_count = True

    def __init__(self, data_stream, produces_examples=None,
                 which_sources=None, **kwargs):
        super().__init__(data_stream, produces_examples, **kwargs)
        if which_sources is None:
            which_sources = self.data_stream.sources
        elif isinstance(which_sources, str):
            which_sources = (which_sources,)
        which_sources = tuple(which_sources)
        unknown = set(which_sources) - set(self.data_stream.sources)
        if unknown:
            raise ValueError('{}: which_sources {} not among the stream\'s '
                             'sources {}'.format(type(self).__name__,
                                                 sorted(unknown),
                                                 self.data_stream.sources))
        self.which_sources = which_sources

    def _apply(self, data, method):
        sources = self.data_stream.sources
        return tuple(method(element, source) if source in self.which_sources
                     else element for element, source in zip(data, sources))

    def transform_source_example(self, example, source_name):
        raise NotImplementedError

    def transform_source_batch(self, batch, source_name):
        raise NotImplementedError

    def transform_example(self, example):
        return self._apply(example, self.transform_source_example)

    def transform_batch(self, batch):
        return self._apply(batch, self.transform_source_batch)


class AgnosticSourcewiseTransformer(AgnosticTransformer,
                                    SourcewiseTransformer):
    """A sourcewise transformer that treats examples and batches alike
    (:meth:`transform_any_source`)."""
    def transform_any_source(self, source_data, source_name):
        raise NotImplementedError

    def transform_any(self, data):
        return self._apply(data, self.transform_any_source)


class Mapping(Transformer):
    """Apply a function to each item (example or batch).

    Parameters
    ----------
    data_stream : AbstractDataStream
        The stream to transform.
    mapping : callable
        Takes the data tuple and returns a tuple. Must be picklable
        (a module-level function, not a lambda) for checkpoints.
    add_sources : tuple of str, optional
        If given, the mapping's output is appended to the data as these new
        sources instead of replacing it.

    Examples
    --------
    >>> import numpy
    >>> from blocks.data.datasets import IterableDataset
    >>> from blocks.data.streams import DataStream
    >>> stream = DataStream(IterableDataset({'x': [1, 2]}))
    >>> doubled = Mapping(stream, lambda data: (2 * data[0],),
    ...                   add_sources=('y',))
    >>> doubled.sources, list(doubled.get_epoch_iterator())
    (('x', 'y'), [(1, 2), (2, 4)])

    """
    keeps_item_count = True

    def __init__(self, data_stream, mapping, add_sources=None, **kwargs):
        super().__init__(data_stream, **kwargs)
        self.mapping = mapping
        self.add_sources = add_sources
        if add_sources is not None:
            self.sources = self.data_stream.sources + tuple(add_sources)

    def get_data(self, request=None):
        if request is not None:
            raise ValueError('Mapping takes no requests')
        data = next(self.child_epoch_iterator)
        mapped = tuple(self.mapping(data))
        if self.add_sources is not None:
            return tuple(data) + mapped
        return mapped


class SortMapping:
    """A mapping for :class:`Mapping` that sorts the examples of a batch.

    Parameters
    ----------
    key : callable
        Takes one example (a tuple with one element per source) and
        returns the value to sort on. Must be picklable for checkpoints.
    reverse : bool, optional
        Sort in decreasing order.

    Notes
    -----
    Each source keeps its kind: an array stays an array (an object array
    when its examples are ragged), anything else becomes a list.

    Examples
    --------
    >>> import numpy
    >>> from blocks.data.datasets import IterableDataset
    >>> from blocks.data.schemes import ConstantScheme
    >>> from blocks.data.streams import DataStream
    >>> sequences = IterableDataset([[1, 2, 3], [4], [5, 6]])
    >>> batches = Batch(DataStream(sequences), ConstantScheme(3))
    >>> by_length = Mapping(batches, SortMapping(lambda example:
    ...                                          len(example[0])))
    >>> sorted_sequences, = next(by_length.get_epoch_iterator())
    >>> [list(sequence) for sequence in sorted_sequences]
    [[4], [5, 6], [1, 2, 3]]

    """
    def __init__(self, key, reverse=False):
        self.key = key
        self.reverse = reverse

    def __call__(self, batch):
        examples = sorted(zip(*batch), key=self.key, reverse=self.reverse)
        columns = list(zip(*examples)) if examples else [()] * len(batch)
        return tuple(_stack(column) if isinstance(original, numpy.ndarray)
                     else list(column)
                     for column, original in zip(columns, batch))


class Flatten(SourcewiseTransformer):
    """Flatten each example of the chosen sources to one dimension.

    Batches become (batch size, features) arrays.

    Examples
    --------
    >>> import numpy
    >>> from blocks.data.datasets import IndexableDataset
    >>> from blocks.data.streams import DataStream
    >>> from blocks.data.schemes import SequentialScheme
    >>> dataset = IndexableDataset({'x': numpy.zeros((4, 2, 3))})
    >>> stream = Flatten(DataStream(dataset,
    ...                             iteration_scheme=SequentialScheme(4, 4)))
    >>> next(stream.get_epoch_iterator())[0].shape
    (4, 6)

    """
    def __init__(self, data_stream, **kwargs):
        super().__init__(data_stream, **kwargs)
        if self.axis_labels:
            labels = (('batch', 'feature') if not self.produces_examples
                      else ('feature',))
            self.axis_labels = dict(self.axis_labels)
            for source in self.which_sources:
                if source in self.axis_labels:
                    self.axis_labels[source] = labels

    def transform_source_example(self, example, source_name):
        return numpy.asarray(example).reshape(-1)

    def transform_source_batch(self, batch, source_name):
        batch = numpy.asarray(batch)
        return batch.reshape((batch.shape[0], -1))


class ScaleAndShift(AgnosticSourcewiseTransformer):
    """Compute ``data * scale + shift`` on the chosen sources.

    Integer data (images in uint8, say) becomes floating point.

    Parameters
    ----------
    data_stream : AbstractDataStream
        The stream to transform.
    scale, shift : float
        The factor and the offset.
    which_sources : sequence of str, optional
        The sources to change; all by default.

    Examples
    --------
    >>> import numpy
    >>> from blocks.data.datasets import IterableDataset
    >>> from blocks.data.streams import DataStream
    >>> stream = DataStream(IterableDataset({'x': numpy.array([0, 255])}))
    >>> [x for x, in ScaleAndShift(stream, 1 / 255., 1).get_epoch_iterator()]
    [np.float64(1.0), np.float64(2.0)]

    """
    def __init__(self, data_stream, scale, shift, **kwargs):
        super().__init__(data_stream, **kwargs)
        self.scale = scale
        self.shift = shift

    def transform_any_source(self, source_data, source_name):
        result = numpy.multiply(source_data, self.scale)
        if self.shift == 0:
            return result
        if isinstance(result, numpy.ndarray) and result.dtype.kind in 'fc':
            # In place: one pass over the batch instead of two.
            return numpy.add(result, self.shift, out=result,
                             casting='same_kind')
        return result + self.shift


class Cast(AgnosticSourcewiseTransformer):
    """Cast the chosen sources to a dtype.

    Parameters
    ----------
    data_stream : AbstractDataStream
        The stream to transform.
    dtype : str or numpy dtype
        The target dtype; ``'floatX'`` means ``pytensor.config.floatX``.
    which_sources : sequence of str, optional
        The sources to change; all by default.

    Examples
    --------
    >>> import numpy
    >>> from blocks.data.datasets import IterableDataset
    >>> from blocks.data.streams import DataStream
    >>> stream = DataStream(IterableDataset({'x': numpy.array([1, 2])}))
    >>> next(Cast(stream, 'float32').get_epoch_iterator())[0].dtype
    dtype('float32')

    """
    def __init__(self, data_stream, dtype, **kwargs):
        super().__init__(data_stream, **kwargs)
        if dtype == 'floatX':
            dtype = _floatx()
        self.dtype = numpy.dtype(dtype)

    def transform_any_source(self, source_data, source_name):
        return numpy.asarray(source_data, dtype=self.dtype)


class ForceFloatX(AgnosticSourcewiseTransformer):
    """Cast the floating-point data of the chosen sources to floatX;
    other data is left alone.

    Examples
    --------
    >>> import numpy, pytensor
    >>> from blocks.data.datasets import IterableDataset
    >>> from blocks.data.streams import DataStream
    >>> stream = DataStream(IterableDataset({'x': numpy.ones((2, 3))}))
    >>> x, = next(ForceFloatX(stream).get_epoch_iterator())
    >>> x.dtype == pytensor.config.floatX
    True

    """
    def __init__(self, data_stream, **kwargs):
        super().__init__(data_stream, **kwargs)
        self.dtype = numpy.dtype(_floatx())

    def transform_any_source(self, source_data, source_name):
        source_data = numpy.asarray(source_data)
        if source_data.dtype.kind == 'f' and source_data.dtype != self.dtype:
            return source_data.astype(self.dtype)
        return source_data


class Filter(Transformer):
    """Keep only the items (examples or batches) for which a predicate is
    true.

    Parameters
    ----------
    data_stream : AbstractDataStream
        The stream to filter.
    predicate : callable
        Takes the data tuple, returns a bool.

    Examples
    --------
    >>> from blocks.data.datasets import IterableDataset
    >>> from blocks.data.streams import DataStream
    >>> stream = DataStream(IterableDataset([1, 2, 3, 4]))
    >>> list(Filter(stream, lambda data: data[0] % 2).get_epoch_iterator())
    [(1,), (3,)]

    """
    def __init__(self, data_stream, predicate, **kwargs):
        super().__init__(data_stream, **kwargs)
        self.predicate = predicate

    def get_data(self, request=None):
        if request is not None:
            raise ValueError('Filter takes no requests')
        while True:
            data = next(self.child_epoch_iterator)
            if self.predicate(data):
                return data


class Rename(AgnosticTransformer):
    """Rename sources.

    Parameters
    ----------
    data_stream : AbstractDataStream
        The stream whose sources to rename.
    names : dict
        Maps old names to new ones.
    on_non_existent : {'raise', 'ignore'}, optional
        What to do when `names` has a source the stream lacks.

    Examples
    --------
    >>> from blocks.data.datasets import IterableDataset
    >>> from blocks.data.streams import DataStream
    >>> stream = DataStream(IterableDataset({'x': [1], 'y': [2]}))
    >>> Rename(stream, {'x': 'features'}).sources
    ('features', 'y')

    """
    keeps_item_count = True

    def __init__(self, data_stream, names, on_non_existent='raise',
                 **kwargs):
        if on_non_existent not in ('raise', 'ignore'):
            raise ValueError("on_non_existent must be 'raise' or 'ignore', "
                             "got {!r}".format(on_non_existent))
        missing = set(names) - set(data_stream.sources)
        if missing and on_non_existent == 'raise':
            raise KeyError('Rename: {} not among the stream\'s sources {}'
                           .format(sorted(missing), data_stream.sources))
        super().__init__(data_stream, **kwargs)
        self.sources = tuple(names.get(source, source)
                             for source in data_stream.sources)
        if len(set(self.sources)) != len(self.sources):
            raise ValueError('Rename: the new names {} are not distinct'
                             .format(self.sources))
        if self.axis_labels:
            self.axis_labels = {names.get(source, source): labels
                                for source, labels in self.axis_labels.items()}

    def transform_any(self, data):
        return data


class Batch(Transformer):
    """Group the examples of a stream into batches.

    Each source becomes a NumPy array whose first axis is the batch (an
    object array when the examples have different shapes, as sequences
    of different lengths do; :class:`Padding` turns those into a dense
    array and a mask).

    Parameters
    ----------
    data_stream : AbstractDataStream
        A stream of examples.
    iteration_scheme : BatchSizeScheme
        The batch sizes, usually a
        :class:`~blocks.data.schemes.ConstantScheme`.
    strictness : {0, 1, 2}, optional
        What to do with an incomplete last batch: 0 returns it, 1 drops
        it, 2 raises ValueError.

    Examples
    --------
    >>> from blocks.data.datasets import IterableDataset
    >>> from blocks.data.schemes import ConstantScheme
    >>> from blocks.data.streams import DataStream
    >>> stream = DataStream(IterableDataset([1, 2, 3]))
    >>> list(Batch(stream, ConstantScheme(2)).get_epoch_iterator())
    [(array([1, 2]),), (array([3]),)]

    """
    def __init__(self, data_stream, iteration_scheme, strictness=0,
                 **kwargs):
        if not data_stream.produces_examples:
            raise ValueError('Batch needs a stream of examples, got a '
                             'stream of batches')
        if strictness not in (0, 1, 2):
            raise ValueError('strictness must be 0, 1 or 2, got {!r}'
                             .format(strictness))
        super().__init__(data_stream, produces_examples=False,
                         iteration_scheme=iteration_scheme, **kwargs)
        self.strictness = strictness

    def get_data(self, request=None):
        if request is None:
            raise ValueError('Batch needs a batch size as request')
        examples = []
        for _ in range(request):
            try:
                examples.append(next(self.child_epoch_iterator))
            except StopIteration:
                if not examples or self.strictness == 1:
                    raise
                if self.strictness == 2:
                    raise ValueError(
                        'Batch: the epoch ended with an incomplete batch of '
                        '{} examples instead of {} (strictness=2)'
                        .format(len(examples), request))
                break
        return tuple(_stack(values) for values in zip(*examples))


def _stack(values):
    try:
        return numpy.asarray(values)
    except ValueError:
        # Ragged: keep each example as it is.
        stacked = numpy.empty(len(values), dtype=object)
        for index, value in enumerate(values):
            stacked[index] = value
        return stacked


class Unpack(Transformer):
    """Split the batches of a stream back into examples.

    Examples
    --------
    >>> import numpy
    >>> from blocks.data.datasets import IndexableDataset
    >>> from blocks.data.schemes import SequentialScheme
    >>> from blocks.data.streams import DataStream
    >>> stream = DataStream(IndexableDataset(numpy.arange(3)),
    ...                     iteration_scheme=SequentialScheme(3, 2))
    >>> [int(x) for x, in Unpack(stream).get_epoch_iterator()]
    [0, 1, 2]

    """
    def __init__(self, data_stream, **kwargs):
        if data_stream.produces_examples:
            raise ValueError('Unpack needs a stream of batches, got a '
                             'stream of examples')
        super().__init__(data_stream, produces_examples=True, **kwargs)
        self.batch = None
        self.position = 0

    def get_epoch_iterator(self, as_dict=False):
        self.batch = None
        return super().get_epoch_iterator(as_dict=as_dict)

    def get_data(self, request=None):
        if request is not None:
            raise ValueError('Unpack takes no requests')
        while self.batch is None or self.position >= len(self.batch[0]):
            self.batch = next(self.child_epoch_iterator)
            self.position = 0
        self.position += 1
        return tuple(source[self.position - 1] for source in self.batch)


class Padding(Transformer):
    """Pad the variable-length sequences of a batch and add masks.

    Every masked source ``s`` is followed in the output by ``s + '_mask'``:
    ``s`` becomes an array (batch, longest length, ...) padded with zeros,
    and its mask (batch, longest length) holds 1 where there is data.

    Parameters
    ----------
    data_stream : AbstractDataStream
        A stream of batches whose examples are sequences along their first
        axis.
    mask_sources : tuple of str, optional
        The sources to pad; all by default.
    mask_dtype : str, optional
        The mask's dtype; floatX by default.

    Examples
    --------
    >>> from blocks.data.datasets import IterableDataset
    >>> from blocks.data.schemes import ConstantScheme
    >>> from blocks.data.streams import DataStream
    >>> stream = Batch(DataStream(IterableDataset({'s': [[1], [2, 3]]})),
    ...                ConstantScheme(2))
    >>> padded = Padding(stream, mask_dtype='int8')
    >>> padded.sources
    ('s', 's_mask')
    >>> next(padded.get_epoch_iterator())
    (array([[1, 0],
           [2, 3]]), array([[1, 0],
           [1, 1]], dtype=int8))

    """
    keeps_item_count = True

    def __init__(self, data_stream, mask_sources=None, mask_dtype=None,
                 **kwargs):
        if data_stream.produces_examples:
            raise ValueError('Padding needs a stream of batches, got a '
                             'stream of examples')
        super().__init__(data_stream, **kwargs)
        if mask_sources is None:
            mask_sources = data_stream.sources
        elif isinstance(mask_sources, str):
            mask_sources = (mask_sources,)
        unknown = set(mask_sources) - set(data_stream.sources)
        if unknown:
            raise ValueError('Padding: mask_sources {} not among the '
                             'stream\'s sources {}'.format(
                                 sorted(unknown), data_stream.sources))
        self.mask_sources = tuple(mask_sources)
        self.mask_dtype = numpy.dtype(mask_dtype or _floatx())
        sources = []
        for source in data_stream.sources:
            sources.append(source)
            if source in self.mask_sources:
                sources.append(source + '_mask')
        self.sources = sources

    def transform_batch(self, batch):
        result = []
        for source, data in zip(self.data_stream.sources, batch):
            result.append(data)
            if source in self.mask_sources:
                result[-1:] = self._pad(source, data)
        return tuple(result)

    def _pad(self, source, data):
        sequences = [numpy.asarray(sequence) for sequence in data]
        if not sequences:
            raise ValueError('Padding: empty batch for source {!r}'
                             .format(source))
        trailing = {sequence.shape[1:] for sequence in sequences}
        if any(sequence.ndim == 0 for sequence in sequences) or \
                len(trailing) > 1:
            raise ValueError(
                'Padding: the examples of source {!r} must be sequences '
                'whose shapes differ only in length, got shapes {}'.format(
                    source, sorted({s.shape for s in sequences})))
        lengths = numpy.array([len(sequence) for sequence in sequences])
        longest = int(lengths.max())
        dtype = numpy.result_type(*sequences)
        padded = numpy.zeros((len(sequences), longest) + trailing.pop(),
                             dtype=dtype)
        for row, sequence in enumerate(sequences):
            padded[row, :len(sequence)] = sequence
        mask = (numpy.arange(longest) < lengths[:, None]).astype(
            self.mask_dtype)
        return padded, mask


class Cache(Transformer):
    """Serve batches of any size out of a stream of larger batches.

    The examples of each batch read from the child stream go into a cache,
    from which the requested batch sizes are taken; the cache is refilled
    when it holds fewer examples than requested (the last batch of an
    epoch may therefore be smaller).

    Parameters
    ----------
    data_stream : AbstractDataStream
        A stream of batches.
    iteration_scheme : BatchSizeScheme
        The batch sizes to serve.

    Examples
    --------
    >>> import numpy
    >>> from blocks.data.datasets import IndexableDataset
    >>> from blocks.data.schemes import ConstantScheme, SequentialScheme
    >>> from blocks.data.streams import DataStream
    >>> stream = DataStream(IndexableDataset(numpy.arange(5)),
    ...                     iteration_scheme=SequentialScheme(5, 3))
    >>> cached = Cache(stream, ConstantScheme(2))
    >>> [x.tolist() for x, in cached.get_epoch_iterator()]
    [[0, 1], [2, 3], [4]]

    """
    def __init__(self, data_stream, iteration_scheme, **kwargs):
        if data_stream.produces_examples:
            raise ValueError('Cache needs a stream of batches, got a '
                             'stream of examples')
        if iteration_scheme.requests_examples:
            raise ValueError('Cache needs an iteration scheme of batch '
                             'sizes, got one of examples')
        super().__init__(data_stream, iteration_scheme=iteration_scheme,
                         **kwargs)
        self.cache = self._empty_cache()

    def _empty_cache(self):
        return [[] for _ in self.sources]

    def get_epoch_iterator(self, as_dict=False):
        self.cache = self._empty_cache()
        return super().get_epoch_iterator(as_dict=as_dict)

    def get_data(self, request=None):
        if request is None:
            raise ValueError('Cache needs a batch size as request')
        while len(self.cache[0]) < request:
            try:
                batch = next(self.child_epoch_iterator)
            except StopIteration:
                if not self.cache[0]:
                    raise
                break
            for cached, data in zip(self.cache, batch):
                cached.extend(data)
        served = tuple(_stack(cached[:request]) for cached in self.cache)
        self.cache = [cached[request:] for cached in self.cache]
        return served


class Merge(AbstractDataStream):
    """Read several streams in lockstep and join their data.

    Parameters
    ----------
    data_streams : sequence of AbstractDataStream
        The streams; all must produce examples, or all batches.
    sources : sequence of str
        The names of the joined sources, as many as the streams' sources
        together.
    axis_labels : dict, optional
        The merged axis labels.

    Examples
    --------
    >>> from blocks.data.datasets import IterableDataset
    >>> from blocks.data.streams import DataStream
    >>> merged = Merge([DataStream(IterableDataset([1, 2])),
    ...                 DataStream(IterableDataset(['a', 'b']))],
    ...                ('number', 'letter'))
    >>> list(merged.get_epoch_iterator())
    [(1, 'a'), (2, 'b')]

    """
    def __init__(self, data_streams, sources, axis_labels=None):
        data_streams = list(data_streams)
        kinds = {stream.produces_examples for stream in data_streams}
        if len(kinds) != 1:
            raise ValueError('Merge: the streams must all produce examples '
                             'or all produce batches')
        count = sum(len(stream.sources) for stream in data_streams)
        if len(sources) != count:
            raise ValueError('Merge: {} source names given for {} sources'
                             .format(len(sources), count))
        if axis_labels is None:
            axis_labels = _merged_axis_labels(data_streams, sources)
        super().__init__(axis_labels=axis_labels)
        self.data_streams = data_streams
        self.sources = sources
        self.produces_examples = kinds.pop()
        self.child_epoch_iterators = None

    def close(self):
        for stream in self.data_streams:
            stream.close()

    def reset(self):
        for stream in self.data_streams:
            stream.reset()

    def next_epoch(self):
        for stream in self.data_streams:
            stream.next_epoch()

    def get_epoch_iterator(self, as_dict=False):
        self.child_epoch_iterators = [stream.get_epoch_iterator()
                                      for stream in self.data_streams]
        return super().get_epoch_iterator(as_dict=as_dict)

    def get_data(self, request=None):
        if request is not None:
            raise ValueError('Merge takes no requests')
        data = []
        for iterator in self.child_epoch_iterators:
            data.extend(next(iterator))
        return tuple(data)


def _merged_axis_labels(data_streams, sources):
    old_names = [(stream, source) for stream in data_streams
                 for source in stream.sources]
    labels = {}
    for (stream, old), new in zip(old_names, sources):
        if stream.axis_labels and old in stream.axis_labels:
            labels[new] = stream.axis_labels[old]
    return labels or None
