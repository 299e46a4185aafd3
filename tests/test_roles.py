import pickle

import numpy
import pytensor
import pytensor.tensor as pt

from blocks import roles
from blocks.roles import (add_role, has_roles, BIAS, COLLECTOR, FILTER,
                          INPUT, OUTPUT, PARAMETER, PERSISTENT, WEIGHT,
                          BATCH_NORM_SHIFT_PARAMETER,
                          BATCH_NORM_POPULATION_MEAN,
                          BATCH_NORM_POPULATION_STATISTICS,
                          ALGORITHM_BUFFER, ALGORITHM_STATE,
                          BATCH_NORM_MINIBATCH_ESTIMATE,
                          BATCH_NORM_GRAPH_VARIABLE)


def test_most_specific_role_is_kept():
    W = pytensor.shared(numpy.zeros(2))
    add_role(W, PARAMETER)
    add_role(W, WEIGHT)
    assert W.tag.roles == [WEIGHT]
    add_role(W, PARAMETER)  # a parent of a present role adds nothing
    assert W.tag.roles == [WEIGHT]
    add_role(W, FILTER)
    assert W.tag.roles == [FILTER]
    add_role(W, OUTPUT)  # unrelated roles accumulate
    assert W.tag.roles == [FILTER, OUTPUT]


def test_has_roles():
    x = pt.vector()
    add_role(x, WEIGHT)
    add_role(x, INPUT)
    assert has_roles(x, [PARAMETER])
    assert has_roles(x, [PERSISTENT, BIAS])
    assert not has_roles(x, [PERSISTENT, BIAS], match_all=True)
    assert has_roles(x, [PARAMETER, INPUT], match_all=True)
    assert not has_roles(x, [BIAS])
    assert not has_roles(pt.vector(), [INPUT])


def test_tree():
    assert isinstance(BATCH_NORM_SHIFT_PARAMETER, type(BIAS))
    assert isinstance(COLLECTOR, type(PARAMETER))
    assert isinstance(BATCH_NORM_POPULATION_MEAN,
                      type(BATCH_NORM_POPULATION_STATISTICS))
    assert isinstance(BATCH_NORM_POPULATION_MEAN, type(PERSISTENT))
    assert not isinstance(BATCH_NORM_POPULATION_MEAN, type(PARAMETER))
    assert isinstance(ALGORITHM_BUFFER, type(ALGORITHM_STATE))
    assert isinstance(BATCH_NORM_MINIBATCH_ESTIMATE,
                      type(BATCH_NORM_GRAPH_VARIABLE))


def test_equality_repr_and_pickling():
    assert roles.WeightRole() == WEIGHT
    assert WEIGHT != BIAS
    assert hash(roles.WeightRole()) == hash(WEIGHT)
    assert repr(BATCH_NORM_SHIFT_PARAMETER) == 'BATCH_NORM_SHIFT_PARAMETER'
    assert repr(INPUT) == 'INPUT'
    assert pickle.loads(pickle.dumps(WEIGHT)) == WEIGHT


def test_every_exported_role_prints_its_name():
    for name in roles.__all__:
        value = getattr(roles, name)
        if isinstance(value, roles.VariableRole):
            assert repr(value) == name
