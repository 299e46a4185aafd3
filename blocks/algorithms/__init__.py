"""Training algorithms and the step rules of gradient descent."""
from blocks.algorithms.gradient_descent import (
    TrainingAlgorithm, UpdatesAlgorithm, GradientDescent)
from blocks.algorithms.step_rules import (
    StepRule, CompositeRule, Scale, BasicMomentum, Momentum, AdaDelta,
    BasicRMSProp, RMSProp, StepClipping, VariableClipping, AdaGrad, Adam,
    RemoveNotFinite, Restrict, l2_norm)

__all__ = ['TrainingAlgorithm', 'UpdatesAlgorithm', 'GradientDescent',
           'StepRule', 'CompositeRule', 'Scale', 'BasicMomentum', 'Momentum',
           'AdaDelta', 'BasicRMSProp', 'RMSProp', 'StepClipping',
           'VariableClipping', 'AdaGrad', 'Adam', 'RemoveNotFinite',
           'Restrict', 'l2_norm']
