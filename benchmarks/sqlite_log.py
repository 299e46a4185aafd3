"""The SQLite log's cost per batch as the log grows.

A main loop with an algorithm that does nothing writes one record per
batch into an :class:`~blocks.log.SQLiteLog` (as TrainingDataMonitoring
does); the cost of a batch is timed over a window of batches early in the
run and again after the log holds many rows. Flat means the ratio stays
near 1.

Run with ``python -m benchmarks.sqlite_log [--batches N]``.
"""
import argparse
import os
import tempfile
import time

import numpy

from blocks.algorithms import TrainingAlgorithm
from blocks.extensions import FinishAfter, SimpleExtension
from blocks.log import SQLiteLog
from blocks.main_loop import MainLoop

__all__ = ['measure']


class _NoAlgorithm(TrainingAlgorithm):
    def initialize(self, **kwargs):
        pass

    def process_batch(self, batch):
        pass


class _Stream:
    """Epochs of `epoch_length` empty batches, without end."""
    sources = ('x',)

    def __init__(self, epoch_length):
        self.batch = {'x': numpy.zeros(1)}
        self.epoch_length = epoch_length

    def get_epoch_iterator(self, as_dict=False):
        return iter([self.batch] * self.epoch_length)


class _Record(SimpleExtension):
    """Writes a cost after every batch and keeps the time of each."""
    def __init__(self, **kwargs):
        kwargs.setdefault('after_batch', True)
        super().__init__(**kwargs)
        self.times = []

    def do(self, which_callback, *args):
        self.main_loop.log.current_row['train_cost'] = 0.5
        self.times.append(time.perf_counter())


def measure(num_batches=100000, window=1000, epoch_length=10):
    """Seconds per batch over the `window` batches after the first
    thousand and over the last `window` batches of a run of
    `num_batches` batches, and their ratio."""
    directory = tempfile.mkdtemp()
    log = SQLiteLog(os.path.join(directory, 'log.sqlite'))
    record = _Record()
    MainLoop(_NoAlgorithm(), _Stream(epoch_length), log=log,
             extensions=[record,
                         FinishAfter(after_n_batches=num_batches)]).run()
    log.close()
    times = numpy.array(record.times)
    early = (times[1000 + window] - times[1000]) / window
    late = (times[-1] - times[-1 - window]) / window
    return {'batches': num_batches, 'early_seconds_per_batch': early,
            'late_seconds_per_batch': late, 'ratio': late / early}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--batches', type=int, default=100000)
    result = measure(parser.parse_args().batches)
    print('{batches} batches: {early:.1f} us per batch after 1k, {late:.1f} '
          'us at the end; ratio {ratio:.2f}'.format(
              batches=result['batches'],
              early=1e6 * result['early_seconds_per_batch'],
              late=1e6 * result['late_seconds_per_batch'],
              ratio=result['ratio']))


if __name__ == '__main__':
    main()
