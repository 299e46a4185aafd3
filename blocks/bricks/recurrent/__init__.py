"""Recurrent bricks: the :func:`recurrent` decorator that turns one step
into a loop over (time, batch, features) sequences, the classic cells and
the bricks that combine them."""
from blocks.bricks.recurrent.base import BaseRecurrent, recurrent
from blocks.bricks.recurrent.architectures import (SimpleRecurrent, LSTM,
                                                   GatedRecurrent)
from blocks.bricks.recurrent.misc import (Bidirectional, RecurrentStack,
                                          RECURRENTSTACK_SEPARATOR)
from blocks.bricks.recurrent.bn import (BatchNormalizedLSTM,
                                        RecurrentBatchNormalization)

__all__ = ['BaseRecurrent', 'recurrent', 'SimpleRecurrent', 'LSTM',
           'GatedRecurrent', 'Bidirectional', 'RecurrentStack',
           'RECURRENTSTACK_SEPARATOR', 'BatchNormalizedLSTM',
           'RecurrentBatchNormalization']
