"""``python -m examples.machine_translation``."""
import sys

from examples.machine_translation import cli

sys.exit(cli())
