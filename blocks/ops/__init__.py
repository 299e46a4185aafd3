"""Symbolic kernels PyTensor 3 lacks: CNN convolution, pooling and fused
training-mode batch normalization."""
from blocks.ops.batch_norm import batch_normalization_train
from blocks.ops.conv import (
    conv2d,
    conv2d_grad_wrt_inputs,
    conv2d_grad_wrt_weights,
    conv_output_shape,
)
from blocks.ops.pool import pool_2d, pool_output_shape

try:
    import jax  # noqa: F401 (only whether JAX is installed)
except ImportError:
    JAX_AVAILABLE = False
else:
    JAX_AVAILABLE = True
    # Registers the JAX implementations of the Ops above.
    import blocks.ops.jax  # noqa: F401

__all__ = [
    "JAX_AVAILABLE",
    "batch_normalization_train",
    "conv2d",
    "conv2d_grad_wrt_inputs",
    "conv2d_grad_wrt_weights",
    "conv_output_shape",
    "pool_2d",
    "pool_output_shape",
]
