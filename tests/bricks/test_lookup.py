import numpy
import pytensor.tensor as pt
import pytest

from blocks.bricks.lookup import LookupTable
from blocks.initialization import IsotropicGaussian
from blocks.roles import WEIGHT, has_roles


def test_lookup_table():
    table = LookupTable(length=5, dim=3, weights_init=IsotropicGaussian())
    table.initialize()
    W = table.W.get_value()
    assert W.shape == (5, 3) and table.W.name == 'W'
    assert has_roles(table.W, [WEIGHT]) and table.parameters == [table.W]
    assert (table.get_dim('output'), table.get_dim('indices')) == (3, 0)
    assert (table.input_dim, table.output_dim) == (0, 3)
    indices = pt.lmatrix('indices')
    value = numpy.array([[0, 4], [2, 2], [1, 0]])
    output = table.apply(indices)
    assert output.ndim == 3
    numpy.testing.assert_allclose(output.eval({indices: value}), W[value])


def test_lookup_table_lazy_and_errors():
    table = LookupTable(name='words')
    table.length, table.dim = 4, 2
    table.allocate()
    with pytest.raises(TypeError, match='/words: indices expected an int '
                       'tensor, got float64 tensor ids'):
        table.apply(pt.vector('ids'))


def test_input_dim_can_be_set_to_zero_only():
    table = LookupTable(length=4, dim=2, name='table')
    table.input_dim = 0  # what a parent pushes, as in Blocks
    assert table.input_dim == 0
    with pytest.raises(ValueError, match='/table: .* input_dim is 0, not 5'):
        table.input_dim = 5
