"""Datasets: in-memory and iterable containers, text files, MNIST and toy
data."""
from blocks.data.datasets.base import Dataset, IndexableDataset, \
    IterableDataset
from blocks.data.datasets.mnist import MNIST
from blocks.data.datasets.text import OneBillionWord, TextFile
from blocks.data.datasets.toy import Spiral

__all__ = ['Dataset', 'IndexableDataset', 'IterableDataset', 'MNIST',
           'OneBillionWord', 'Spiral', 'TextFile']
