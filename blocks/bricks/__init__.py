"""Bricks: the building blocks of models.

The most common bricks are importable from here; convolutional, cost,
lookup and parallel bricks live in their own modules
(``blocks.bricks.conv``, ``blocks.bricks.cost`` ...).
"""
from blocks.bricks.base import application, Brick, lazy
from blocks.bricks.interfaces import (Activation, Feedforward, Initializable,
                                      LinearLike, Random)
from blocks.bricks.simple import (Linear, Identity, Tanh, Logistic,
                                  Softplus, Rectifier, LeakyRectifier)
from blocks.bricks.sequences import Sequence, FeedforwardSequence, MLP

__all__ = ['application', 'Brick', 'lazy', 'Activation', 'Feedforward',
           'Initializable', 'LinearLike', 'Random', 'Linear', 'Identity',
           'Tanh', 'Logistic', 'Softplus', 'Rectifier', 'LeakyRectifier',
           'Sequence', 'FeedforwardSequence', 'MLP']
