"""Reproducible comparisons against PyTorch and scaling studies."""
import os

# Benchmarks time the C tier of training functions: tiered compilation
# (blocks.compilation) would run their first batches in the Python tier.
# benchmarks.cold_compile chooses it per worker.
os.environ.setdefault('BLOCKS_TIERED_COMPILATION', 'false')
