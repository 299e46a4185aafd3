"""Roles: what a variable is for.

A role is attached to a variable's ``tag.roles`` list with :func:`add_role`
and queried with :func:`has_roles`. Roles form a hierarchy of classes:
``WEIGHT`` is a ``PARAMETER``, which is ``PERSISTENT``. A variable keeps only
its most specific roles: adding ``WEIGHT`` to a ``PARAMETER`` replaces it,
while adding ``PARAMETER`` to a ``WEIGHT`` changes nothing.

Examples
--------
>>> import pytensor
>>> import numpy
>>> from blocks.roles import add_role, has_roles, PARAMETER, WEIGHT
>>> W = pytensor.shared(numpy.zeros((2, 2)))
>>> add_role(W, PARAMETER)
>>> add_role(W, WEIGHT)
>>> W.tag.roles
[WEIGHT]
>>> has_roles(W, [PARAMETER])
True

"""
import re

__all__ = [
    'add_role', 'has_roles', 'VariableRole',
    'INPUT', 'OUTPUT', 'COST', 'AUXILIARY', 'DROPOUT', 'COLLECTED',
    'COLLECTOR', 'PERSISTENT', 'PARAMETER', 'WEIGHT', 'FILTER', 'BIAS',
    'INITIAL_STATE', 'BATCH_NORM_SHIFT_PARAMETER',
    'BATCH_NORM_SCALE_PARAMETER', 'BATCH_NORM_POPULATION_STATISTICS',
    'BATCH_NORM_POPULATION_MEAN', 'BATCH_NORM_POPULATION_STDEV',
    'ALGORITHM_STATE', 'ALGORITHM_HYPERPARAMETER', 'ALGORITHM_BUFFER',
    'BATCH_NORM_GRAPH_VARIABLE', 'BATCH_NORM_OFFSET', 'BATCH_NORM_DIVISOR',
    'BATCH_NORM_MINIBATCH_ESTIMATE',
]


def add_role(var, role):
    """Add a role to a variable, keeping only the most specific roles.

    Parameters
    ----------
    var : :class:`~pytensor.graph.basic.Variable`
        The variable to annotate.
    role : :class:`VariableRole` instance
        The role to add.

    """
    roles = getattr(var.tag, 'roles', [])
    if any(isinstance(old, role.__class__) for old in roles):
        return  # the role or a subrole of it is already there
    roles = [old for old in roles if not isinstance(role, old.__class__)]
    var.tag.roles = roles + [role]


def has_roles(var, roles, match_all=False):
    """Test whether a variable has the given roles (or subroles of them).

    Parameters
    ----------
    var : :class:`~pytensor.graph.basic.Variable`
        The variable to check.
    roles : iterable of :class:`VariableRole` instances
        The roles to look for.
    match_all : bool, optional
        If True, every role must be present; otherwise one is enough.

    """
    var_roles = getattr(var.tag, 'roles', [])
    matches = (any(isinstance(var_role, role.__class__)
                   for var_role in var_roles) for role in roles)
    return all(matches) if match_all else any(matches)


class VariableRole:
    """Base class of all roles; roles are equal when their classes are."""
    def __eq__(self, other):
        return self.__class__ == other.__class__

    def __hash__(self):
        return hash(self.__class__)

    def __repr__(self):
        name = self.__class__.__name__
        if name.endswith('Role'):
            name = name[:-len('Role')]
        return re.sub(r'(?<!^)(?=[A-Z])', '_', name).upper()


class InputRole(VariableRole):
    pass


#: The input of a brick application
INPUT = InputRole()


class OutputRole(VariableRole):
    pass


#: The output of a brick application
OUTPUT = OutputRole()


class CostRole(VariableRole):
    pass


#: A scalar cost that can be used to train or regularize
COST = CostRole()


class AuxiliaryRole(VariableRole):
    pass


#: Variables added to the graph as annotations (norms, statistics ...)
AUXILIARY = AuxiliaryRole()


class DropoutRole(VariableRole):
    pass


#: The output of a dropout mask multiplication
DROPOUT = DropoutRole()


class CollectedRole(VariableRole):
    pass


#: A parameter that was replaced by a slice of a collector vector
COLLECTED = CollectedRole()


class PersistentRole(VariableRole):
    pass


#: State that outlives a function call and must be saved with the model
PERSISTENT = PersistentRole()


class ParameterRole(PersistentRole):
    pass


#: A trainable parameter
PARAMETER = ParameterRole()


class CollectorRole(ParameterRole):
    pass


#: A shared vector holding several collected parameters
COLLECTOR = CollectorRole()


class WeightRole(ParameterRole):
    pass


#: The weights of a linear transformation
WEIGHT = WeightRole()


class FilterRole(WeightRole):
    pass


#: The filters (kernels) of a convolution
FILTER = FilterRole()


class BiasRole(ParameterRole):
    pass


#: Biases added to an affine transformation
BIAS = BiasRole()


class InitialStateRole(ParameterRole):
    pass


#: The initial state of a recurrent network
INITIAL_STATE = InitialStateRole()


class BatchNormShiftParameterRole(BiasRole):
    pass


#: The shift (beta) of batch normalization
BATCH_NORM_SHIFT_PARAMETER = BatchNormShiftParameterRole()


class BatchNormScaleParameterRole(ParameterRole):
    pass


#: The scale (gamma) of batch normalization
BATCH_NORM_SCALE_PARAMETER = BatchNormScaleParameterRole()


class BatchNormPopulationStatisticsRole(PersistentRole):
    pass


#: Statistics of the training population used by batch normalization at
#: inference; persistent, but never trained by gradient descent
BATCH_NORM_POPULATION_STATISTICS = BatchNormPopulationStatisticsRole()


class BatchNormPopulationMeanRole(BatchNormPopulationStatisticsRole):
    pass


#: The population mean used by batch normalization at inference
BATCH_NORM_POPULATION_MEAN = BatchNormPopulationMeanRole()


class BatchNormPopulationStdevRole(BatchNormPopulationStatisticsRole):
    pass


#: The population standard deviation (epsilon included) used at inference
BATCH_NORM_POPULATION_STDEV = BatchNormPopulationStdevRole()


class AlgorithmStateRole(VariableRole):
    pass


#: Shared variables that belong to a training algorithm
ALGORITHM_STATE = AlgorithmStateRole()


class AlgorithmHyperparameterRole(AlgorithmStateRole):
    pass


#: A hyperparameter of a training algorithm (a learning rate ...)
ALGORITHM_HYPERPARAMETER = AlgorithmHyperparameterRole()


class AlgorithmBufferRole(AlgorithmStateRole):
    pass


#: A buffer of a training algorithm (a velocity, a running average ...)
ALGORITHM_BUFFER = AlgorithmBufferRole()


class BatchNormGraphVariableRole(VariableRole):
    pass


#: Variables computed inside a batch normalization application
BATCH_NORM_GRAPH_VARIABLE = BatchNormGraphVariableRole()


class BatchNormOffsetRole(BatchNormGraphVariableRole):
    pass


#: The value subtracted by batch normalization (a mean)
BATCH_NORM_OFFSET = BatchNormOffsetRole()


class BatchNormDivisorRole(BatchNormGraphVariableRole):
    pass


#: The value divided by in batch normalization (a standard deviation)
BATCH_NORM_DIVISOR = BatchNormDivisorRole()


class BatchNormMinibatchEstimateRole(BatchNormGraphVariableRole):
    pass


#: A statistic estimated on the current minibatch in training mode
BATCH_NORM_MINIBATCH_ESTIMATE = BatchNormMinibatchEstimateRole()
