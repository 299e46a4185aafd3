"""Data for training: a Fuel-compatible API.

Scripts written for Fuel port by changing ``fuel.`` imports to
``blocks.data.``::

    from blocks.data.datasets import MNIST
    from blocks.data.schemes import SequentialScheme
    from blocks.data.streams import DataStream
    from blocks.data.transformers import Flatten

The main names are also available from ``blocks.data`` directly.

"""
from blocks.data.datasets import (Dataset, IndexableDataset,
                                  IterableDataset, MNIST, OneBillionWord,
                                  Spiral, TextFile)
from blocks.data.schemes import (ConstantScheme, SequentialScheme,
                                 ShuffledScheme, SequentialExampleScheme,
                                 ShuffledExampleScheme)
from blocks.data.streams import DataStream
from blocks.data.transformers import (Transformer, Mapping, Flatten,
                                      ScaleAndShift, Cast, ForceFloatX,
                                      Batch, Unpack, Padding, Filter, Rename,
                                      Merge, SortMapping, Cache)

__all__ = ['Dataset', 'IndexableDataset', 'IterableDataset', 'MNIST',
           'OneBillionWord', 'TextFile', 'Spiral', 'ConstantScheme',
           'SequentialScheme', 'ShuffledScheme',
           'SequentialExampleScheme', 'ShuffledExampleScheme', 'DataStream',
           'Transformer', 'Mapping', 'Flatten', 'ScaleAndShift', 'Cast',
           'ForceFloatX', 'Batch', 'Unpack', 'Padding', 'Filter', 'Rename',
           'Merge', 'SortMapping', 'Cache']
