"""Every Op class of blocks.ops keeps the contract of
:mod:`tests.op_contract`.

A new Op class needs an :class:`OpCase` in ``CASES``:
:func:`test_every_op_class_has_a_case` fails until it has one.
"""
import importlib
import pkgutil

import numpy
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.graph.op import Op

import blocks.ops
from blocks.ops import (batch_normalization_train, conv2d,
                        conv2d_grad_wrt_inputs, conv2d_grad_wrt_weights,
                        pool_2d)
from blocks.ops.batch_norm import (BatchNormalizationTrain,
                                   BatchNormalizationTrainGrad)
from blocks.ops.conv import Conv2d, Conv2dGradInputs, Conv2dGradWeights
from blocks.ops.pool import MaxPoolGradGrad, Pool, PoolGrad
from blocks.ops.scan_inner_graph import simplified_scan
from blocks.ops.scan_shapes import ShapeInferringScan
from blocks.ops.vectorized import VectorizedUnary

from tests.op_contract import OpCase, check_op

try:  # JAX is optional, and with it blocks.ops.jax
    from blocks.ops.jax import ConcreteShapeArithmetic
except ImportError:
    ConcreteShapeArithmetic = None

# Padding, stride and dilation all differ from 1 on some axis.
CONV = dict(border_mode=(1, 0), subsample=(2, 1), filter_dilation=(1, 2))
IMAGES, FILTERS, CONV_OUTPUT = (2, 2, 5, 6), (3, 2, 2, 2), (2, 3, 3, 4)
POOL = dict(ws=(2, 2), stride=(1, 2), pad=(1, 1), ignore_border=True)
POOLED = (2, 3, 6, 3)  # pooling (2, 3, 5, 4) images with POOL
BN_AXES = (0, 2)
BN_WEIGHTS = numpy.random.default_rng(0).standard_normal((3, 2, 4))


def shape_inferring_scan(x):
    """The running sums of the rows of `x` and their doubles, a sit-sot
    and a nit-sot output, computed by a ShapeInferringScan."""
    sums, doubled = pytensor.scan(
        lambda row, total: (total + row, 2 * row), sequences=[x],
        outputs_info=[pt.zeros_like(x[0]), None], return_updates=False)
    node = doubled.owner
    return simplified_scan(node.op).make_node(*node.inputs).outputs


def bn_gradients(x, scale, shift):
    """Gradients through all three outputs of the training operation."""
    output, mean, stdev = batch_normalization_train(x, scale, shift,
                                                    BN_AXES, 0.1)
    cost = ((output * BN_WEIGHTS).sum() + (mean ** 2).sum()
            + pt.log(stdev).sum())
    return pytensor.grad(cost, [x, scale, shift])


CASES = [
    OpCase(Conv2d, lambda x, w: conv2d(x, w, **CONV), [IMAGES, FILTERS]),
    OpCase(Conv2dGradWeights,
           lambda x, g: conv2d_grad_wrt_weights(x, g, FILTERS, **CONV),
           [IMAGES, CONV_OUTPUT]),
    OpCase(Conv2dGradInputs,
           lambda g, w: conv2d_grad_wrt_inputs(g, w, IMAGES, **CONV),
           [CONV_OUTPUT, FILTERS]),
    *[OpCase(Pool, lambda x, mode=mode: pool_2d(x, mode=mode, **POOL),
             [(2, 3, 5, 4)], name=mode)
      for mode in ('max', 'average_exc_pad')],
    *[OpCase(PoolGrad, lambda x, gz, mode=mode: PoolGrad(**POOL, mode=mode)(
        x, gz), [(2, 3, 5, 4), POOLED], name=mode)
      for mode in ('max', 'average_inc_pad')],
    OpCase(MaxPoolGradGrad, lambda x, ggx: MaxPoolGradGrad(**POOL)(x, ggx),
           [(2, 3, 5, 4), (2, 3, 5, 4)]),
    OpCase(BatchNormalizationTrain,
           lambda x, scale, shift: batch_normalization_train(
               x, scale, shift, BN_AXES, 0.1),
           [(3, 2, 4), (1, 2, 1), (1, 2, 1)]),
    OpCase(BatchNormalizationTrainGrad, bn_gradients,
           [(3, 2, 4), (1, 2, 1), (1, 2, 1)]),
    # Only compiled graphs hold it, before or after the gradient is taken.
    OpCase(ShapeInferringScan, shape_inferring_scan, [(4, 3)]),
    # Only the compiled graph holds it, after the gradient is taken.
    OpCase(VectorizedUnary, lambda x: VectorizedUnary('tanh')(x), [(2, 3)],
           differentiable=False),
]
if ConcreteShapeArithmetic is not None:
    # Only JAX-compiled graphs hold it; integers are not differentiable.
    CASES.append(OpCase(
        ConcreteShapeArithmetic,
        lambda x: ConcreteShapeArithmetic(pt.mul)(x.shape[0], x.shape[1]),
        [(2, 3)], differentiable=False))


def op_classes():
    """The public Op subclasses defined in the modules of blocks.ops."""
    classes = set()
    for info in pkgutil.walk_packages(blocks.ops.__path__,
                                      prefix='blocks.ops.'):
        module = importlib.import_module(info.name)
        classes.update(
            obj for obj in vars(module).values()
            if isinstance(obj, type) and issubclass(obj, Op)
            and obj.__module__ == module.__name__
            and not obj.__name__.startswith('_'))
    return classes


def test_every_op_class_has_a_case():
    covered = {case.op_class for case in CASES}
    missing = sorted(cls.__qualname__ for cls in op_classes() - covered)
    assert not missing, 'add an OpCase to {} for: {}'.format(
        __name__, ', '.join(missing))


@pytest.mark.parametrize('case', CASES, ids=[case.id for case in CASES])
def test_op_contract(case, rng):
    check_op(case, rng)
