"""Selecting bricks and parameters by path, ``/mlp/linear_0.W``."""
import re
from collections import OrderedDict

from blocks.bricks.base import BRICK_DELIMITER, Brick

__all__ = ['Path', 'Selector']

_PARAMETER_SEPARATOR = '.'


class Path:
    """A path through a brick hierarchy, optionally ending in a parameter.

    Examples
    --------
    >>> path = Path.parse('/mlp/linear_0.W')
    >>> path.nodes
    (Path.BrickName('mlp'), Path.BrickName('linear_0'),
     Path.ParameterName('W'))
    >>> str(path)
    '/mlp/linear_0.W'

    """
    class BrickName(str):
        def part(self):
            return BRICK_DELIMITER + self

        def __repr__(self):
            return 'Path.BrickName({})'.format(str.__repr__(self))

    class ParameterName(str):
        def part(self):
            return _PARAMETER_SEPARATOR + self

        def __repr__(self):
            return 'Path.ParameterName({})'.format(str.__repr__(self))

    _token = re.compile(r'([/.])([^/.]+)')

    def __init__(self, nodes):
        self.nodes = tuple(nodes)

    def __str__(self):
        return ''.join(node.part() for node in self.nodes)

    def __repr__(self):
        return 'Path({!r})'.format(str(self))

    def __eq__(self, other):
        return isinstance(other, Path) and self.nodes == other.nodes

    def __hash__(self):
        return hash(self.nodes)

    def __add__(self, other):
        return Path(self.nodes + other.nodes)

    @staticmethod
    def parse(string):
        """Parse ``/brick/brick.parameter``; a parameter may only come last.

        Raises
        ------
        ValueError
            If the string is not a well-formed path.

        """
        if not isinstance(string, str):
            raise TypeError('a path must be a string, got {!r}'.format(string))
        tokens = Path._token.findall(string)
        if not tokens or ''.join(a + b for a, b in tokens) != string:
            raise ValueError('malformed path {!r}: expected '
                             '/brick/.../brick[.parameter]'.format(string))
        nodes = []
        for i, (separator, name) in enumerate(tokens):
            if separator == _PARAMETER_SEPARATOR:
                if i != len(tokens) - 1:
                    raise ValueError('malformed path {!r}: a parameter name '
                                     'may only come last'.format(string))
                nodes.append(Path.ParameterName(name))
            else:
                nodes.append(Path.BrickName(name))
        return Path(nodes)


class Selector:
    """Selects bricks and parameters below a set of bricks.

    Parameters
    ----------
    bricks : brick or list of bricks
        Where selection starts; paths begin with their names.

    Examples
    --------
    >>> from blocks.bricks.base import Brick
    >>> top = Brick(name='top', children=[Brick(name='child')])
    >>> [brick.name for brick in Selector(top).select('/top/child').bricks]
    ['child']

    """
    def __init__(self, bricks):
        if isinstance(bricks, Brick):
            bricks = [bricks]
        self.bricks = list(bricks)

    def select(self, path):
        """Select the bricks (or, when the path ends in a parameter, the
        parameters) at `path`.

        A path ending in ``.name`` selects the parameters called `name` of
        the bricks reached and of all their descendants, as in Blocks.

        Returns
        -------
        :class:`Selector` or list
            A selector over the matching bricks, or the parameters found.

        """
        if isinstance(path, str):
            path = Path.parse(path)
        current = None
        for node in path.nodes:
            if isinstance(node, Path.ParameterName):
                return list(Selector(current or []).get_parameters(
                    node).values())
            candidates = (self.bricks if current is None else
                          [child for brick in current
                           for child in brick.children])
            current = _unique(brick for brick in candidates
                              if brick.name == node)
        return Selector(current or [])

    def get_parameters(self, parameter_name=None):
        """The parameters of the selected bricks and their descendants,
        keyed by path string (``'/mlp/linear_0.W'``).

        Parameters
        ----------
        parameter_name : str, optional
            Only parameters of this name.

        Raises
        ------
        ValueError
            If two different parameters have the same path.

        """
        found = OrderedDict()

        def visit(brick, prefix):
            path = prefix + Path([Path.BrickName(brick.name)])
            # an unallocated brick has no parameters (yet)
            for parameter in getattr(brick, 'parameters', []):
                if (parameter_name is not None
                        and parameter.name != parameter_name):
                    continue
                key = str(path + Path([Path.ParameterName(parameter.name)]))
                if key in found and found[key] is not parameter:
                    raise ValueError(
                        'name collision: two different parameters have the '
                        'path {}; give the bricks distinct names'.format(key))
                found[key] = parameter
            for child in brick.children:
                visit(child, path)

        for brick in self.bricks:
            visit(brick, Path([]))
        return found


def _unique(bricks):
    result = []
    for brick in bricks:
        if not any(brick is other for other in result):
            result.append(brick)
    return result
