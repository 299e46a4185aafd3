import numpy
import pytensor
import pytensor.tensor as pt
import pytest

from blocks.bricks import Linear, Tanh, MLP
from blocks.bricks.parallel import Distribute, Fork, Merge, Parallel
from blocks.graph import ComputationGraph
from blocks.initialization import Constant, IsotropicGaussian
from blocks.roles import INPUT, has_roles


def affine(brick, value):
    output = value.dot(brick.W.get_value())
    if brick.use_bias:
        output = output + brick.b.get_value()
    return output


@pytest.fixture
def rng():
    return numpy.random.RandomState(5)


def test_parallel(rng):
    parallel = Parallel(['a', 'b'], [2, 3], [4, 5], Linear(),
                        weights_init=IsotropicGaussian(),
                        biases_init=Constant(0.5))
    parallel.initialize()
    child_a, child_b = parallel.children
    assert (child_a.name, child_b.name) == ('transform_a', 'transform_b')
    assert child_b.W.get_value().shape == (3, 5)
    assert parallel.apply.inputs == parallel.apply.outputs == ['a', 'b']
    a, b = pt.matrix('a'), pt.matrix('b')
    out_a, out_b = parallel.apply(a=a, b=b)
    assert out_b.name == 'parallel_apply_b'
    inputs = [var for var in ComputationGraph([out_a, out_b]).variables
              if has_roles(var, [INPUT]) and var.tag.name in ('a', 'b')]
    assert len(inputs) == 2
    a_value, b_value = rng.randn(1, 2), rng.randn(1, 3)
    values = pytensor.function([a, b], [out_a, out_b])(a_value, b_value)
    numpy.testing.assert_allclose(values[0], affine(child_a, a_value))
    numpy.testing.assert_allclose(values[1], affine(child_b, b_value))
    positional = parallel.apply(a, b)
    numpy.testing.assert_allclose(positional[0].eval({a: a_value}),
                                  values[0])


def test_fork_applies_to_sequences(rng):
    fork = Fork(['x', 'y'], prototype=MLP([Tanh()]),
                weights_init=IsotropicGaussian(), biases_init=Constant(0))
    fork.input_dim = 3
    fork.output_dims = [2, 4]
    fork.initialize()
    assert fork.get_dim('input_') == 3 and fork.get_dim('y') == 4
    assert fork.apply.outputs == ['x', 'y']
    sequence = pt.tensor3('sequence')
    value = rng.randn(5, 2, 3)
    x, y = fork.apply(sequence)
    (layer,) = fork.children[1].linear_transformations
    numpy.testing.assert_allclose(y.eval({sequence: value}),
                                  numpy.tanh(affine(layer, value)))
    with pytest.raises(AttributeError, match='set input_dim instead'):
        fork.input_dims = [1, 2]


def test_distribute(rng):
    distribute = Distribute(['a', 'b'], 'source', input_dim=2,
                            output_dims=[3, 3], weights_init=Constant(1),
                            biases_init=Constant(0))
    distribute.initialize()
    assert distribute.apply.inputs == ['source', 'a', 'b']
    source, a, b = pt.matrix('source'), pt.matrix('a'), pt.matrix('b')
    new_a, new_b = distribute.apply(source=source, a=a, b=b)
    values = {source: rng.randn(1, 2), a: rng.randn(1, 3),
              b: rng.randn(1, 3)}
    numpy.testing.assert_allclose(
        new_b.eval({source: values[source], b: values[b]}),
        values[b] + values[source].sum())
    with pytest.raises(ValueError, match=r"/distribute: expected inputs "
                       r"\['source', 'a', 'b'\]"):
        distribute.apply(source=source, a=a)
    assert (distribute.source_dim, distribute.target_dims) == (2, [3, 3])
    distribute.source_dim, distribute.target_dims = 4, [1, 2]
    assert (distribute.input_dim, distribute.output_dims) == (4, [1, 2])
    # Blocks' names and prototype: fork_<target>, without biases
    assert [child.name for child in distribute.children] == ['fork_a',
                                                             'fork_b']
    assert [len(child.parameters) for child in distribute.children] == \
        [1, 1]


def test_merge(rng):
    merge = Merge(['a', 'b'], [2, 3], output_dim=4,
                  weights_init=IsotropicGaussian())
    merge.initialize()
    assert merge.apply.outputs == ['output']
    assert [child.use_bias for child in merge.children] == [False, False]
    a, b = pt.matrix('a'), pt.matrix('b')
    a_value, b_value = rng.randn(2, 2), rng.randn(2, 3)
    child_a, child_b = merge.children
    numpy.testing.assert_allclose(
        merge.apply(a, b).eval({a: a_value, b: b_value}),
        affine(child_a, a_value) + affine(child_b, b_value))


def test_parallel_errors():
    with pytest.raises(ValueError, match='distinct input names'):
        Parallel(['a', 'a'], [1, 1], [1, 1], Linear())
    parallel = Parallel(['a', 'b'], [1], [1, 1], Linear(), name='par')
    with pytest.raises(ValueError, match='/par: input_dims needs one entry '
                       'per input name'):
        parallel.allocate()
    merge = Merge(['a', 'b'], [2, 3], output_dim=1, name='merge')
    with pytest.raises(ValueError, match='/merge: expected inputs'):
        merge.apply(a=pt.matrix('a'))
    with pytest.raises(ValueError, match=r'/merge/merge_b: input_ expected '
                       r'.*shape \(\.\.\., 3\)'):
        merge.apply(pt.matrix('a'), pt.matrix('b', shape=(1, 2)))
