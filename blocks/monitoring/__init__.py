"""Aggregating monitored values over batches and evaluating them on data
streams."""
