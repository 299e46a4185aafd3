from copy import deepcopy

import pytensor
import pytest

from blocks.bricks.base import Brick
from blocks.select import Path, Selector


class Top(Brick):
    def __init__(self, children, **kwargs):
        super().__init__(children=children, **kwargs)


class Bottom(Brick):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.parameters = [pytensor.shared(0, name='V'),
                           pytensor.shared(0, name='W')]


def test_path_parse_str_and_equality():
    assert Path.parse('/brick').nodes == (Path.BrickName('brick'),)
    path = Path.parse('/brick1/brick2.W')
    assert path.nodes == (Path.BrickName('brick1'), Path.BrickName('brick2'),
                          Path.ParameterName('W'))
    assert str(path) == '/brick1/brick2.W'
    assert Path.parse('/brick1') + Path.parse('/brick2.W') == path
    copy = deepcopy(path)
    assert copy == path and hash(copy) == hash(path)
    assert copy != Path.parse('/brick1/brick2')


@pytest.mark.parametrize('text', ['', 'brick', '/a.W/b', '/a//b', '/a.'])
def test_malformed_paths(text):
    with pytest.raises(ValueError, match='malformed path'):
        Path.parse(text)


def test_select_bricks_and_parameters():
    b1, b2, b3 = Bottom(name='b1'), Bottom(name='b2'), Bottom(name='b3')
    t1 = Top([b1, b2], name='t1')
    t2 = Top([b2, b3], name='t2')
    assert Selector([t1]).select('/t1/b1').bricks == [b1]
    assert Selector(t1).select('/t1').bricks == [t1]
    both = Selector([t1, t2])
    assert both.select('/t2/b2').bricks == [b2]
    assert both.select('/t2/b2.V') == [b2.parameters[0]]
    assert both.select('/t3').bricks == []
    assert both.select('/t1/b3').bricks == []
    # a parameter path below a brick reaches its descendants' parameters
    assert both.select('/t1.W') == [b1.parameters[1], b2.parameters[1]]


def test_get_parameters_keys_are_paths():
    b1, b2 = Bottom(name='b1'), Bottom(name='b2')
    top = Top([b1, b2], name='t1')
    parameters = list(Selector([top]).get_parameters().items())
    assert parameters == [('/t1/b1.V', b1.parameters[0]),
                          ('/t1/b1.W', b1.parameters[1]),
                          ('/t1/b2.V', b2.parameters[0]),
                          ('/t1/b2.W', b2.parameters[1])]
    only_w = Selector([top]).get_parameters('W')
    assert list(only_w) == ['/t1/b1.W', '/t1/b2.W']


def test_get_parameters_collision():
    top = Top([Bottom(name='bottom'), Bottom(name='bottom')], name='top')
    with pytest.raises(ValueError, match='/top/bottom.V'):
        Selector([top]).get_parameters()
