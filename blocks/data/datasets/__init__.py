"""Datasets: in-memory and iterable containers, MNIST and toy data."""
from blocks.data.datasets.base import Dataset, IndexableDataset, \
    IterableDataset
from blocks.data.datasets.mnist import MNIST
from blocks.data.datasets.toy import Spiral

__all__ = ['Dataset', 'IndexableDataset', 'IterableDataset', 'MNIST',
           'Spiral']
