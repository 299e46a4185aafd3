"""A table of a brick hierarchy: bricks, output dimensions, variables.

:meth:`Brick.summary <blocks.bricks.base.Brick.summary>` and
:meth:`Model.summary <blocks.model.Model.summary>` build a
:class:`Summary`; this module only reads bricks (their children,
parameters, persistent variables and ``get_dim``), so it imports none.
"""
import numpy

from blocks.roles import PARAMETER, has_roles

__all__ = ['Summary', 'summarize']

_HEADINGS = ('Brick / variable', 'Class / shape', 'Output / role', 'Count')
_MISSING_DIM = (ValueError, AttributeError, TypeError, KeyError)


class Summary:
    """The summary of bricks: one row per brick (its path, class and output
    dimensions), then one row per variable it owns (name, shape, roles,
    number of elements), with totals at the bottom.

    Its ``repr`` is the table, so that ``brick.summary()`` shows it at an
    interactive prompt and ``print(brick.summary())`` prints it.

    Attributes
    ----------
    rows : list of tuple of str
        The rows of the table, without the headings and the totals.
    parameter_count : int
        Elements of the trainable parameters (role PARAMETER), each shared
        variable counted once.
    persistent_count : int
        Elements of the other persistent variables (such as batch
        normalization's population statistics).

    Examples
    --------
    >>> from blocks.bricks import Linear
    >>> linear = Linear(input_dim=3, output_dim=2)
    >>> linear.allocate()
    >>> print(linear.summary())  # doctest: +NORMALIZE_WHITESPACE
    Brick / variable  Class / shape  Output / role  Count
    -----------------------------------------------------
    /linear           Linear         2
      W               (3, 2)         WEIGHT             6
      b               (2,)           BIAS               2
    =====================================================
    Trainable parameters: 8
    Other persistent variables: 0
    Total: 8

    """
    def __init__(self, rows, parameter_count, persistent_count):
        self.rows = rows
        self.parameter_count = parameter_count
        self.persistent_count = persistent_count

    @property
    def total_count(self):
        """All persistent elements: parameters and other state."""
        return self.parameter_count + self.persistent_count

    def __str__(self):
        table = [_HEADINGS] + self.rows
        widths = [max(len(row[column]) for row in table)
                  for column in range(len(_HEADINGS))]
        lines = [_format_row(row, widths) for row in table]
        rule_width = sum(widths) + 2 * (len(widths) - 1)
        lines.insert(1, '-' * rule_width)
        lines.append('=' * rule_width)
        lines.append('Trainable parameters: {:,}'.format(
            self.parameter_count))
        lines.append('Other persistent variables: {:,}'.format(
            self.persistent_count))
        lines.append('Total: {:,}'.format(self.total_count))
        return '\n'.join(lines)

    __repr__ = __str__


def _format_row(row, widths):
    # Counts line up on the right, as numbers do; the rest on the left.
    cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths)]
    cells.append(row[-1].rjust(widths[-1]))
    return '  '.join(cells).rstrip()


def summarize(top_bricks):
    """The :class:`Summary` of the hierarchies under `top_bricks`.

    A brick reached twice (shared by two parents) is listed under each
    parent, but its variables count once in the totals.
    """
    rows = []
    counted = {}
    for brick in top_bricks:
        _add_brick(brick, 0, rows, counted)
    parameter_count = sum(size for size, trainable in counted.values()
                          if trainable)
    persistent_count = sum(size for size, trainable in counted.values()
                           if not trainable)
    return Summary(rows, parameter_count, persistent_count)


def _add_brick(brick, depth, rows, counted):
    indent = '  ' * depth
    rows.append((indent + brick.path, type(brick).__name__,
                 _output_dims(brick), ''))
    if not brick.allocated:
        rows.append((indent + '  (not allocated)', '', '', ''))
    for variable in _owned_variables(brick):
        size, trainable = _count(variable)
        counted[id(variable)] = (size, trainable)
        rows.append((indent + '  ' + str(variable.name),
                     _shape(variable), _roles(variable),
                     '{:,}'.format(size)))
    for child in brick.children:
        _add_brick(child, depth + 1, rows, counted)


def _owned_variables(brick):
    """The brick's parameters, then its other persistent variables; none
    before allocation."""
    variables = list(brick.__dict__.get('parameters', []))
    variables += [variable for variable in brick.persistent_variables
                  if not any(variable is known for known in variables)]
    return variables


def _count(variable):
    value = variable.get_value(borrow=True, return_internal_type=True)
    size = int(numpy.prod(numpy.shape(value)))
    return size, has_roles(variable, [PARAMETER])


def _shape(variable):
    return str(tuple(numpy.shape(
        variable.get_value(borrow=True, return_internal_type=True))))


def _roles(variable):
    return ', '.join(repr(role) for role in getattr(variable.tag, 'roles',
                                                    [])) or '-'


def _output_dims(brick):
    """The dimensions of the brick's main application's outputs, where the
    brick knows them without being configured further."""
    if not (brick.allocation_config_pushed or brick.allocated
            or not brick.children):
        # Asking a parent before its configuration is pushed would push
        # it (ConvolutionalSequence does): a summary changes nothing.
        return ''
    application = getattr(brick, 'apply', None)
    names = list(getattr(application, 'outputs', None) or [])
    dims = []
    for name in names:
        dim = _dim(brick, name)
        if dim is None:
            continue
        dims.append((name, _format_dim(dim)))
    if len(dims) == 1:
        return dims[0][1]
    return ', '.join('{} {}'.format(name, dim) for name, dim in dims)


def _dim(brick, name):
    try:
        return brick.get_dim(name)
    except _MISSING_DIM:
        pass
    # Sequences (MLP) say their output size as an attribute only.
    if name == 'output':
        return getattr(brick, 'output_dim', None)
    return None


def _format_dim(dim):
    if isinstance(dim, (tuple, list)):
        return '({})'.format(', '.join(_format_dim(part) for part in dim))
    if isinstance(dim, (int, numpy.integer)) and not isinstance(dim, bool):
        return str(int(dim))
    return '?'
