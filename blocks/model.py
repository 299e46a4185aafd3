"""A model: a computation graph that knows the bricks it was built from."""
from collections import OrderedDict

import numpy

from blocks.bricks.base import name_by_path
from blocks.bricks.summary import summarize
from blocks.filter import get_brick
from blocks.graph import ComputationGraph
from blocks.utils import find_bricks

__all__ = ['Model']


class Model(ComputationGraph):
    """A computation graph whose parameters are named by brick path.

    Parameters
    ----------
    outputs : variable or list of variables
        The outputs of the model (usually a cost).

    Raises
    ------
    ValueError
        If two top bricks have the same name, which would make parameter
        names ambiguous.

    Examples
    --------
    >>> import numpy, pytensor, pytensor.tensor as pt
    >>> from blocks.bricks.base import Brick, application
    >>> class Scale(Brick):
    ...     def _allocate(self):
    ...         self.parameters.append(pytensor.shared(1.0, name='a'))
    ...     @application(inputs=['x'], outputs=['y'])
    ...     def apply(self, x):
    ...         return self.parameters[0] * x
    >>> model = Model(Scale().apply(pt.scalar('x')))
    >>> list(model.get_parameter_dict())
    ['/scale.a']

    """
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Bricks applied only inside the step of a loop count too.
        bricks = [get_brick(var)
                  for var in self.variables + self.scan_variables
                  if get_brick(var) is not None]
        # Top bricks that annotate variables themselves come in the order
        # of their first variable (so the first brick applied comes
        # first, as in Blocks); tops reached only through descendants
        # follow.
        tops = OrderedDict((id(brick), brick) for brick in bricks
                           if not brick.parents)
        for brick in bricks:
            for top in _top_bricks_of(brick):
                tops.setdefault(id(top), top)
        self.top_bricks = list(tops.values())
        names = [brick.name for brick in self.top_bricks]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError('the model has several top bricks named {}; '
                             'give them distinct names'.format(
                                 ', '.join(duplicates)))
        # Sibling bricks with one name would make saved parameter names
        # ambiguous: say so now rather than at the first checkpoint.
        self.get_persistent_dict()

    def get_top_bricks(self):
        """The bricks of the model that have no parents."""
        return list(self.top_bricks)

    def summary(self):
        """The :class:`~blocks.bricks.summary.Summary` of the model's top
        bricks and everything under them (see :meth:`Brick.summary
        <blocks.bricks.base.Brick.summary>`)."""
        return summarize(self.top_bricks)

    def get_parameter_dict(self):
        """The trainable parameters (role PARAMETER), keyed by path such as
        ``/mlp/linear_0.W``."""
        return name_by_path(self.parameters)

    def get_persistent_dict(self):
        """Every variable a saved model must keep, keyed by path: the
        parameters and the non-trainable state of the model's bricks (such
        as batch normalization's population statistics), whether or not
        the graph uses them."""
        variables = list(self.parameters)
        seen = set(variables)
        for brick in find_bricks(self.top_bricks, lambda brick: True):
            for variable in brick.persistent_variables:
                if variable not in seen:
                    seen.add(variable)
                    variables.append(variable)
        return name_by_path(variables)

    def get_parameter_values(self):
        """Values of everything :meth:`get_persistent_dict` names (the
        parameters and the population statistics), keyed by path."""
        return OrderedDict((name, variable.get_value())
                           for name, variable
                           in self.get_persistent_dict().items())

    def set_parameter_values(self, parameter_values):
        """Set values by path.

        Raises
        ------
        KeyError
            If a name is not a parameter of the model.
        ValueError
            If a value has the wrong shape or cannot be cast safely to the
            variable's dtype; nothing is changed in that case.

        """
        variables = self.get_persistent_dict()
        checked = []
        for name, value in parameter_values.items():
            if name not in variables:
                raise KeyError('the model has no parameter {}; known names '
                               'are {}'.format(name, ', '.join(variables)))
            variable = variables[name]
            value = numpy.asarray(value)
            current = variable.get_value(borrow=True)
            if value.shape != current.shape:
                raise ValueError(
                    'shape mismatch for parameter {}: expected {}, got {}'
                    .format(name, current.shape, value.shape))
            if not numpy.can_cast(value.dtype, current.dtype,
                                  casting='same_kind'):
                raise ValueError(
                    'dtype mismatch for parameter {}: expected {}, got {}'
                    .format(name, current.dtype, value.dtype))
            checked.append((variable, value.astype(current.dtype)))
        for variable, value in checked:
            variable.set_value(value)


def _top_bricks_of(brick):
    if not brick.parents:
        return [brick]
    tops = []
    for parent in brick.parents:
        tops.extend(_top_bricks_of(parent))
    return tops
