"""Reproducible comparisons against PyTorch and scaling studies."""
