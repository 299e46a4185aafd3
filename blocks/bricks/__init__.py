"""Bricks: the building blocks of models.

The most common bricks, the recurrent ones included, are importable from
here; convolutional, cost, lookup and parallel bricks live in their own
modules (``blocks.bricks.conv``, ``blocks.bricks.cost`` ...).
"""
from blocks.bricks.base import application, Brick, lazy
from blocks.bricks.interfaces import (Activation, Feedforward, Initializable,
                                      LinearLike, Random)
from blocks.bricks.simple import (Linear, Bias, Maxout, LinearMaxout,
                                  Identity, Tanh, Logistic, Softplus,
                                  Rectifier, LeakyRectifier, Softmax,
                                  NDimensionalSoftmax)
from blocks.bricks.sequences import Sequence, FeedforwardSequence, MLP
from blocks.bricks.wrappers import WithExtraDims
from blocks.bricks.bn import (BatchNormalization, SpatialBatchNormalization,
                              BatchNormalizedMLP)
# The decorator `recurrent` stays in blocks.bricks.recurrent: imported here,
# it would hide the module of the same name.
from blocks.bricks.recurrent import (BaseRecurrent,
                                     SimpleRecurrent, LSTM, GatedRecurrent,
                                     Bidirectional, RecurrentStack,
                                     RECURRENTSTACK_SEPARATOR)
# Reachable from here as in Blocks, where scripts such as the
# blocks-examples MNIST MLP import WEIGHT from blocks.bricks
from blocks.roles import BIAS, WEIGHT  # noqa: F401

__all__ = ['application', 'Brick', 'lazy', 'Activation', 'Feedforward',
           'Initializable', 'LinearLike', 'Random', 'Linear', 'Bias',
           'Maxout', 'LinearMaxout', 'Identity', 'Tanh', 'Logistic',
           'Softplus', 'Rectifier', 'LeakyRectifier', 'Softmax',
           'NDimensionalSoftmax', 'Sequence', 'FeedforwardSequence', 'MLP',
           'WithExtraDims', 'BatchNormalization',
           'SpatialBatchNormalization', 'BatchNormalizedMLP',
           'BaseRecurrent', 'SimpleRecurrent', 'LSTM',
           'GatedRecurrent', 'Bidirectional', 'RecurrentStack',
           'RECURRENTSTACK_SEPARATOR']
