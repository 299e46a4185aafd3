"""blocks: bricks, graph rewriting and training loops on PyTensor."""
__version__ = '0.3.0.dev0'
