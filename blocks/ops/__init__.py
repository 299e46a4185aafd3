"""Symbolic kernels PyTensor 3 lacks: CNN convolution and pooling."""
from blocks.ops.conv import (
    conv2d,
    conv2d_grad_wrt_inputs,
    conv2d_grad_wrt_weights,
    conv_output_shape,
)
from blocks.ops.pool import pool_2d, pool_output_shape

__all__ = [
    "conv2d",
    "conv2d_grad_wrt_inputs",
    "conv2d_grad_wrt_weights",
    "conv_output_shape",
    "pool_2d",
    "pool_output_shape",
]
