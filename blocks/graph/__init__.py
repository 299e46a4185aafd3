"""Finding, filtering and rewriting annotated graphs."""
from blocks.graph.annotations import Annotation, add_annotation
from blocks.graph.computation_graph import ComputationGraph, replace_variables
from blocks.graph.noise import apply_noise, apply_dropout
from blocks.graph.collect import collect_parameters

__all__ = ['Annotation', 'add_annotation', 'ComputationGraph',
           'replace_variables', 'apply_noise', 'apply_dropout',
           'collect_parameters']
