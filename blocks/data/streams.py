"""Data streams: a dataset read according to an iteration scheme.

``stream.get_epoch_iterator()`` returns a :class:`DataIterator`, an
ordinary picklable object. Streams also remember their live epoch iterator
(``AbstractDataStream.epoch_iterator``), so pickling a stream, or a
training loop that holds both, in the middle of an epoch and unpickling it
goes on with the next batch of that same epoch.

"""
from collections import OrderedDict
from collections.abc import Iterator

__all__ = ['AbstractDataStream', 'DataStream', 'DataIterator']


class DataIterator(Iterator):
    """One epoch of a data stream.

    Parameters
    ----------
    data_stream : AbstractDataStream
        The stream to read.
    request_iterator : iterator, optional
        The requests to pass to ``data_stream.get_data``; without one,
        ``get_data()`` is called without a request.
    as_dict : bool, optional
        Return an OrderedDict mapping source names to data instead of a
        tuple.

    """
    def __init__(self, data_stream, request_iterator=None, as_dict=False):
        self.data_stream = data_stream
        self.request_iterator = request_iterator
        self.as_dict = as_dict

    def __next__(self):
        if self.request_iterator is None:
            data = self.data_stream.get_data()
        else:
            data = self.data_stream.get_data(next(self.request_iterator))
        if self.as_dict:
            return OrderedDict(zip(self.data_stream.sources, data))
        return data


class AbstractDataStream:
    """Base class of data streams and transformers.

    Parameters
    ----------
    iteration_scheme : IterationScheme, optional
        Where the requests of each epoch come from.
    axis_labels : dict, optional
        Maps source names to the names of their axes.

    """
    def __init__(self, iteration_scheme=None, axis_labels=None):
        self.iteration_scheme = iteration_scheme
        self.axis_labels = axis_labels
        self.epoch_iterator = None

    @property
    def produces_examples(self):
        """True when the stream returns single examples, False for
        batches."""
        if self.iteration_scheme is not None:
            return self.iteration_scheme.requests_examples
        return self._produces_examples

    @produces_examples.setter
    def produces_examples(self, value):
        self._produces_examples = value

    @property
    def sources(self):
        """The names of the data elements the stream returns, in order."""
        return self._sources

    @sources.setter
    def sources(self, value):
        self._sources = tuple(value)

    def get_data(self, request=None):
        """Return the next data tuple (for `request`)."""
        raise NotImplementedError

    def reset(self):
        raise NotImplementedError

    def next_epoch(self):
        raise NotImplementedError

    def close(self):
        raise NotImplementedError

    def get_epoch_iterator(self, as_dict=False):
        """Start an epoch and return its
        :class:`~blocks.data.streams.DataIterator`."""
        requests = (self.iteration_scheme.get_request_iterator()
                    if self.iteration_scheme is not None else None)
        self.epoch_iterator = DataIterator(self, requests, as_dict=as_dict)
        return self.epoch_iterator

    def iterate_epochs(self, as_dict=False):
        """Yield the epoch iterators of one epoch after another, forever."""
        while True:
            yield self.get_epoch_iterator(as_dict=as_dict)


class DataStream(AbstractDataStream):
    """Read a dataset according to an iteration scheme.

    Parameters
    ----------
    dataset : Dataset
        The data.
    iteration_scheme : IterationScheme, optional
        The requests to make; without one, the dataset's
        ``example_iteration_scheme`` if it has one, or else (iterable
        datasets) the examples as they come.
    axis_labels : dict, optional
        The dataset's axis labels by default.

    Examples
    --------
    >>> import numpy
    >>> from blocks.data.datasets import IndexableDataset
    >>> from blocks.data.schemes import SequentialScheme
    >>> dataset = IndexableDataset({'x': numpy.arange(5)})
    >>> stream = DataStream(dataset,
    ...                     iteration_scheme=SequentialScheme(5, 2))
    >>> [batch for batch, in stream.get_epoch_iterator()]
    [array([0, 1]), array([2, 3]), array([4])]

    """
    def __init__(self, dataset, iteration_scheme=None, axis_labels=None):
        if iteration_scheme is None:
            iteration_scheme = dataset.example_iteration_scheme
        if axis_labels is None and dataset.axis_labels:
            axis_labels = dict(dataset.axis_labels)
        super().__init__(iteration_scheme=iteration_scheme,
                         axis_labels=axis_labels)
        self.dataset = dataset
        self._produces_examples = True
        self.data_state = dataset.open()
        self._fresh_state = True

    @classmethod
    def default_stream(cls, dataset, **kwargs):
        """A stream over `dataset` wrapped in its default transformers
        (for MNIST: features scaled to [0, 1] and cast to floatX)."""
        return dataset.apply_default_transformers(cls(dataset, **kwargs))

    @property
    def sources(self):
        return self.dataset.sources

    def close(self):
        self.data_state = self.dataset.close(self.data_state)

    def reset(self):
        self.data_state = self.dataset.reset(self.data_state)
        self._fresh_state = True

    def next_epoch(self):
        self.data_state = self.dataset.next_epoch(self.data_state)

    def get_data(self, request=None):
        return self.dataset.get_data(self.data_state, request)

    def get_epoch_iterator(self, as_dict=False):
        if self._fresh_state:
            self._fresh_state = False
        else:
            self.next_epoch()
        return super().get_epoch_iterator(as_dict=as_dict)
