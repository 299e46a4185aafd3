"""Installation script for blocks (metadata lives in pyproject.toml)."""
from setuptools import setup

setup()
