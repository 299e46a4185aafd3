import sys
from collections import OrderedDict

import numpy
import pytensor
import pytensor.tensor as pt
import pytest

from blocks.bricks import MLP, Sequence, Tanh, Identity, Logistic
from blocks.bricks.base import Brick
from blocks.utils import (pack, unpack, dict_union, dict_subset, reraise_as,
                          change_recursion_limit, find_bricks, shared_floatx,
                          shared_floatx_zeros, shared_floatx_nans,
                          shared_floatx_zeros_matching, shared_like,
                          is_graph_input, is_shared_variable, extract_args,
                          AnnotatingList)

floatX = pytensor.config.floatX


def test_pack_and_unpack():
    assert pack(1) == [1]
    assert pack((1, 2)) == [1, 2]
    assert pack([1]) == [1]
    assert unpack((1, 2)) == [1, 2]  # a list, as in Blocks
    assert unpack([1, 2]) == [1, 2]
    assert unpack([1]) == 1
    marker = object()
    assert unpack(marker) is marker
    with pytest.raises(ValueError, match='single element, got 2'):
        unpack([1, 2], singleton=True)


def test_dict_union_and_subset():
    merged = dict_union({'a': 1}, OrderedDict(b=2), c=3)
    assert list(merged.items()) == [('a', 1), ('b', 2), ('c', 3)]
    with pytest.raises(ValueError, match="'a'"):
        dict_union({'a': 1}, {'a': 2})
    source = {'a': 1, 'b': 2, 'c': 3}
    assert list(dict_subset(source, ['c', 'a']).items()) == [('c', 3),
                                                             ('a', 1)]
    with pytest.raises(KeyError):
        dict_subset(source, ['z'])
    assert dict_subset(source, ['z', 'b'], must_have=False) == {'b': 2}
    assert dict_subset(source, ['a'], pop=True) == {'a': 1}
    assert 'a' not in source


def test_reraise_as_keeps_original_message():
    with pytest.raises(ValueError, match='(?s)while loading.*KeyError.*x'):
        try:
            {}['x']
        except KeyError:
            reraise_as(ValueError('while loading'))
    with pytest.raises(TypeError, match='Original exception'):
        try:
            raise RuntimeError('boom')
        except RuntimeError:
            reraise_as(TypeError)


def test_change_recursion_limit():
    old = sys.getrecursionlimit()
    with change_recursion_limit(old + 1000):
        assert sys.getrecursionlimit() == old + 1000
    assert sys.getrecursionlimit() == old
    with change_recursion_limit(10):  # never lowers the limit
        assert sys.getrecursionlimit() == old


def test_shared_floatx_family():
    variable = shared_floatx([1, 2], name='v')
    assert variable.dtype == floatX and variable.name == 'v'
    assert shared_floatx([1], dtype='int64').dtype == 'int64'
    zeros = shared_floatx_zeros((2, 3))
    assert zeros.get_value().shape == (2, 3)
    assert not zeros.get_value().any()
    assert numpy.isnan(shared_floatx_nans((2,)).get_value()).all()
    row = shared_floatx_zeros((1, 4), broadcastable=(True, False))
    assert row.broadcastable == (True, False)


def test_shared_floatx_zeros_matching():
    original = shared_floatx(numpy.ones((1, 3, 1)), shape=(1, None, 1),
                             dtype='float32')
    zeros = shared_floatx_zeros_matching(original, name='buffer')
    assert zeros.type == original.type
    assert zeros.broadcastable == (True, False, True)
    assert zeros.dtype == 'float32'
    assert zeros.name == 'buffer'
    assert zeros.get_value().shape == (1, 3, 1)
    assert not zeros.get_value().any()
    with pytest.raises(ValueError, match='expected a shared variable'):
        shared_floatx_zeros_matching(pt.matrix())


def test_shared_like():
    x = pt.tensor('x', dtype='float32', shape=(None, 1))
    like = shared_like(x)
    assert like.name == 'shared_x'
    assert like.dtype == 'float32'
    assert like.broadcastable == (False, True)


def test_variable_predicates():
    x = pt.vector()
    shared = shared_floatx([1.0])
    assert is_graph_input(x)
    assert not is_graph_input(shared)
    assert not is_graph_input(pt.constant(1.0))
    assert not is_graph_input(x + 1)
    assert is_shared_variable(shared) and not is_shared_variable(x)


def test_extract_args():
    assert extract_args(['a', 'b'], 1, b=2) == OrderedDict(a=1, b=2)
    with pytest.raises(KeyError, match='missing arguments: b'):
        extract_args(['a', 'b'], 1)
    with pytest.raises(TypeError, match='two values'):
        extract_args(['a'], 1, a=2)


def test_annotating_list_hooks():
    events = []

    class Recording(AnnotatingList):
        def _setitem(self, key, value):
            events.append(('set', value))

        def _delitem(self, key):
            events.append(('del', self[key]))

    items = Recording([1, 2, 3])
    items[0] = 10
    del items[1:]
    assert list(items) == [10]
    assert events == [('set', 1), ('set', 2), ('set', 3), ('del', 1),
                      ('set', 10), ('del', 3), ('del', 2)]
    with pytest.raises(TypeError, match='slice assignment'):
        items[0:1] = [4]


class TestFindBricks:
    def setup_method(self):
        self.mlp = MLP(
            [Sequence([Identity(name='id1').apply, Tanh(name='tanh1').apply],
                      name='sequence1'),
             Sequence([Logistic(name='logistic1').apply,
                       Identity(name='id2').apply,
                       Tanh(name='tanh2').apply], name='sequence2'),
             Logistic(name='logistic2'),
             Sequence([Sequence([Logistic(name='logistic3').apply],
                                name='sequence4').apply],
                      name='sequence3')],
            [10, 5, 9, 5, 9])

    def test_root_is_found(self):
        assert find_bricks([self.mlp], lambda b: isinstance(b, MLP)) == [
            self.mlp]

    def test_repeated_roots_are_found_once(self):
        found = find_bricks([self.mlp, self.mlp],
                            lambda b: isinstance(b, MLP))
        assert found == [self.mlp]

    def test_all_unique_bricks(self):
        found = find_bricks([self.mlp, self.mlp] + list(self.mlp.children),
                            lambda brick: True)
        # the MLP, its 4 linear layers and 11 activations and sequences
        assert len(found) == 16
        assert len({id(brick) for brick in found}) == 16

    def test_nothing_found(self):
        assert find_bricks([self.mlp], lambda brick: False) == []

    def test_first_level(self):
        found = find_bricks([self.mlp], lambda b: isinstance(b, Sequence))
        activations = self.mlp.activations
        # MLP is a Sequence too
        assert set(found) == {self.mlp, activations[0], activations[1],
                              activations[3], activations[3].children[0]}
        assert len(found) == 5

    def test_second_and_third_level(self):
        found = find_bricks([self.mlp], lambda b: isinstance(b, Identity))
        activations = self.mlp.activations
        assert found == [activations[0].children[0],
                         activations[1].children[1]]

    def test_levels_one_to_three_breadth_first(self):
        found = find_bricks([self.mlp], lambda b: isinstance(b, Logistic))
        activations = self.mlp.activations
        assert found == [activations[2], activations[1].children[0],
                         activations[3].children[0].children[0]]


def test_find_bricks_on_shared_children():
    child = Brick(name='child')
    left = Brick(name='left', children=[child])
    right = Brick(name='right', children=[child])
    found = find_bricks([left, right], lambda brick: True)
    assert found == [left, right, child]


def test_importing_utils_does_not_import_pytensor():
    import subprocess
    code = ('import sys, blocks.utils; '
            'print(sorted(m for m in sys.modules '
            'if m.startswith("pytensor")))')
    output = subprocess.run([sys.executable, '-c', code], check=True,
                            capture_output=True, text=True).stdout
    assert output.strip() == '[]'


def test_pytensor_helpers_load_on_first_use():
    import blocks.utils
    from blocks.utils import pytensor_utils, random_streams
    assert blocks.utils.shared_floatx is pytensor_utils.shared_floatx
    assert blocks.utils.MRG_RandomStreams is random_streams.MRGRandomStream
    assert 'check_theano_variable' in dir(blocks.utils)
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        blocks.utils.no_such_name


def test_theano_utils_is_blocks_name_for_the_pytensor_helpers():
    from blocks.utils import pytensor_utils, theano_utils
    for name in pytensor_utils.__all__:
        assert getattr(theano_utils, name) is getattr(pytensor_utils, name)


def test_check_theano_variable():
    from blocks.utils import check_theano_variable
    check_theano_variable(None, 2, 'float')
    check_theano_variable(pt.lmatrix(), 2, 'int')
    check_theano_variable([1.5, 2.5], 1, 'float')  # converted first
    check_theano_variable(pt.tensor3(), None, None)
    with pytest.raises(ValueError, match='dimensions: expected 2, got 3'):
        check_theano_variable(pt.tensor3(), 2, None)
    with pytest.raises(ValueError, match="starting with 'int', got float"):
        check_theano_variable(pt.matrix(), 2, 'int')
