"""Finding, filtering and rewriting annotated graphs.

``add_role`` and ``PARAMETER`` are importable from here as they were in
Blocks; they live in :mod:`blocks.roles`.
"""
from blocks.annotations import Annotation, add_annotation
from blocks.roles import add_role, PARAMETER
from blocks.graph.computation_graph import ComputationGraph, replace_variables
from blocks.graph.noise import apply_noise, apply_dropout
from blocks.graph.collect import collect_parameters
from blocks.graph.bn import (batch_normalization, apply_batch_normalization,
                             get_batch_normalization_updates,
                             get_population_moving_average_updates)
from blocks.graph.population_statistics import (
    estimate_population_statistics, PopulationStatisticsEstimator)

__all__ = ['Annotation', 'add_annotation', 'add_role', 'PARAMETER',
           'ComputationGraph',
           'replace_variables', 'apply_noise', 'apply_dropout',
           'collect_parameters', 'batch_normalization',
           'apply_batch_normalization', 'get_batch_normalization_updates',
           'get_population_moving_average_updates',
           'estimate_population_statistics', 'PopulationStatisticsEstimator']
