"""Finding, filtering and rewriting annotated graphs."""
from blocks.graph.annotations import Annotation, add_annotation
from blocks.graph.computation_graph import ComputationGraph, replace_variables

__all__ = ['Annotation', 'add_annotation', 'ComputationGraph',
           'replace_variables']
