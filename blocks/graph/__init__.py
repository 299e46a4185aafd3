"""Finding, filtering and rewriting annotated graphs."""
from blocks.annotations import Annotation, add_annotation
from blocks.graph.computation_graph import ComputationGraph, replace_variables
from blocks.graph.noise import apply_noise, apply_dropout
from blocks.graph.collect import collect_parameters
from blocks.graph.bn import (batch_normalization, apply_batch_normalization,
                             get_batch_normalization_updates,
                             get_population_moving_average_updates)
from blocks.graph.population_statistics import (
    estimate_population_statistics, PopulationStatisticsEstimator)

__all__ = ['Annotation', 'add_annotation', 'ComputationGraph',
           'replace_variables', 'apply_noise', 'apply_dropout',
           'collect_parameters', 'batch_normalization',
           'apply_batch_normalization', 'get_batch_normalization_updates',
           'get_population_moving_average_updates',
           'estimate_population_statistics', 'PopulationStatisticsEstimator']
