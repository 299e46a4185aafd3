"""Command-line programs installed with blocks."""
