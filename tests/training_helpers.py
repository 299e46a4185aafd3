"""Small models, streams and algorithms shared by the training tests
(main loop, extensions, monitoring)."""
import threading
from collections import OrderedDict
from contextlib import contextmanager

import numpy
import pytensor
import pytensor.tensor as pt

import blocks.compilation
from blocks.algorithms import TrainingAlgorithm
from blocks.config import config
from blocks.data import DataStream, IndexableDataset, ShuffledScheme
from blocks.data.schemes import SequentialScheme
from blocks.roles import add_role, BIAS, WEIGHT
from blocks.utils import shared_floatx

FLOATX = pytensor.config.floatX


class ListStream:
    """An in-memory stream giving the same list of batches every epoch."""
    def __init__(self, batches, sources=('x',)):
        self.batches = [OrderedDict(batch) for batch in batches]
        self.sources = tuple(sources)

    def get_epoch_iterator(self, as_dict=False):
        return iter(self.batches)


class CountingAlgorithm(TrainingAlgorithm):
    """An algorithm that only counts batches: tests of the loop logic need
    no compiled function."""
    def __init__(self, fail_at=None):
        self.batches = []
        self.initialized = 0
        self.fail_at = fail_at

    def initialize(self, **kwargs):
        self.initialized += 1

    def process_batch(self, batch):
        if self.fail_at is not None and len(self.batches) == self.fail_at:
            raise RuntimeError('failing on purpose at batch {}'.format(
                self.fail_at))
        self.batches.append(batch)


def counting_stream(num_batches=3):
    return ListStream([{'x': numpy.full(2, i)} for i in range(num_batches)])


def regression_data(num_examples=40, seed=0):
    rng = numpy.random.RandomState(seed)
    features = rng.normal(size=(num_examples, 3)).astype(FLOATX)
    targets = (features @ numpy.array([[1.0], [-2.0], [0.5]]) + 0.3
               + 0.1 * rng.normal(size=(num_examples, 1))).astype(FLOATX)
    return OrderedDict([('features', features), ('targets', targets)])


def regression_stream(num_examples=40, batch_size=8, shuffled=True, seed=0):
    data = regression_data(num_examples, seed)
    dataset = IndexableDataset(data)
    if shuffled:
        scheme = ShuffledScheme(num_examples, batch_size,
                                rng=numpy.random.RandomState(seed + 3))
    else:
        scheme = SequentialScheme(num_examples, batch_size)
    return DataStream(dataset, iteration_scheme=scheme)


def regression_model():
    """A linear regression: returns (cost, parameters, features, targets)."""
    features = pt.matrix('features')
    targets = pt.matrix('targets')
    weights = shared_floatx(numpy.zeros((3, 1)), name='W')
    bias = shared_floatx(numpy.zeros((1,)), name='b', shape=(1,))
    add_role(weights, WEIGHT)
    add_role(bias, BIAS)
    prediction = features @ weights + bias
    cost = pt.sqr(prediction - targets).mean()
    cost.name = 'cost'
    return cost, [weights, bias], features, targets


@contextmanager
def tiering_held():
    """Tiered compilation on (the suite turns it off), the final tier of
    every function compiled inside held back until the event this yields
    is set."""
    saved = config.tiered_compilation
    config.tiered_compilation = True
    release = threading.Event()
    compile_ = blocks.compilation.compile_function

    def held_final_tier(*args, mode=None, **kwargs):
        if mode is None:  # the final tier: the default mode
            release.wait(60)
        return compile_(*args, mode=mode, **kwargs)
    blocks.compilation.compile_function = held_final_tier
    try:
        yield release
    finally:
        release.set()
        blocks.compilation.compile_function = compile_
        config.tiered_compilation = saved
