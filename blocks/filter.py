"""Selecting variables of a graph by role, brick, application or name."""
import re
from inspect import isclass

from blocks.annotations import ApplicationCall, get_annotation
from blocks.bricks.base import BoundApplication, Brick
from blocks.graph import ComputationGraph
from blocks.roles import has_roles
from blocks.utils import pack

__all__ = ['VariableFilter', 'get_annotation', 'get_brick',
           'get_application_call']


def get_brick(var):
    """The brick that created a variable (or owns a parameter), or None."""
    return get_annotation(var, Brick)


def get_application_call(var):
    """The :class:`~blocks.bricks.base.ApplicationCall` a variable comes
    from, or None."""
    return get_annotation(var, ApplicationCall)


def _checked_list(values, argument, what):
    if values is None or isinstance(values, (list, tuple, set, frozenset)):
        return values
    raise TypeError(
        'VariableFilter: {} must be a list, got the single {} {!r}; write '
        '{}=[{!r}]'.format(argument, what, values, argument, values))


class VariableFilter:
    """Keep the variables that meet every given criterion.

    Parameters
    ----------
    roles : list of roles, optional
        Keep variables with any of these roles (or subroles), or with all of
        them when `each_role` is True.
    bricks : brick, brick class or a list of them, optional
        Keep variables made by these bricks (instances match by identity,
        classes by ``isinstance``).
    each_role : bool, optional
        See `roles`.
    name : str, optional
        Keep variables whose ``tag.name`` (the name given by the brick,
        ``W`` or ``input_``) equals this.
    name_regex : str, optional
        Keep variables whose ``tag.name`` matches this regular expression.
    theano_name : str, optional
        Keep variables whose PyTensor name (``var.name``) equals this.
    theano_name_regex : str, optional
        Keep variables whose PyTensor name matches this regular expression.
    applications : list of applications, optional
        Keep variables made by calls of these applications (bound
        applications match their brick too).
    call_id : object, optional
        Keep variables of application calls made with this ``call_id``.

    Examples
    --------
    >>> import pytensor.tensor as pt
    >>> from blocks.bricks.base import Brick, application
    >>> from blocks.graph import ComputationGraph
    >>> from blocks.roles import OUTPUT
    >>> class Square(Brick):
    ...     @application(inputs=['x'], outputs=['y'])
    ...     def apply(self, x):
    ...         return x ** 2
    >>> y = Square().apply(pt.vector('x'))
    >>> VariableFilter(roles=[OUTPUT])(ComputationGraph(y))
    [square_apply_y]

    """
    def __init__(self, roles=None, bricks=None, each_role=False, name=None,
                 name_regex=None, theano_name=None, theano_name_regex=None,
                 applications=None, call_id=None):
        # Blocks took one brick or a list, but required lists of roles and
        # of applications (a single one raised a TypeError): a single role
        # is refused rather than guessed at, as there.
        roles = _checked_list(roles, 'roles', 'role')
        applications = _checked_list(applications, 'applications',
                                     'application')
        if bricks is not None:
            bricks = pack(bricks)
        if bricks is not None and not all(
                isinstance(brick, Brick) or (isclass(brick)
                                             and issubclass(brick, Brick))
                for brick in bricks):
            raise ValueError('bricks must be bricks or brick classes, got '
                             '{!r}'.format(bricks))
        self.roles = roles
        self.bricks = bricks
        self.each_role = each_role
        self.name = name
        self.name_regex = name_regex
        self.theano_name = theano_name
        self.theano_name_regex = theano_name_regex
        self.applications = applications
        self.call_id = call_id

    def _matches_bricks(self, var):
        brick = get_brick(var)
        if brick is None:
            return False
        return any(brick is wanted if isinstance(wanted, Brick)
                   else isinstance(brick, wanted) for wanted in self.bricks)

    def _matches_applications(self, var):
        call = get_application_call(var)
        if call is None:
            return False
        for wanted in self.applications:
            if isinstance(wanted, BoundApplication):
                if (call.application.application is wanted.application
                        and call.application.brick is wanted.brick):
                    return True
            elif call.application.application is wanted:
                return True
        return False

    def _matches_call_id(self, var):
        call = get_application_call(var)
        return (call is not None
                and call.metadata.get('call_id') == self.call_id)

    def _tests(self):
        if self.roles is not None:
            yield lambda var: has_roles(var, self.roles, self.each_role)
        if self.bricks is not None:
            yield self._matches_bricks
        if self.name is not None:
            yield lambda var: getattr(var.tag, 'name', None) == self.name
        if self.name_regex is not None:
            pattern = re.compile(self.name_regex)
            yield lambda var: (getattr(var.tag, 'name', None) is not None
                               and pattern.match(var.tag.name) is not None)
        if self.theano_name is not None:
            yield lambda var: var.name == self.theano_name
        if self.theano_name_regex is not None:
            pattern = re.compile(self.theano_name_regex)
            yield lambda var: (var.name is not None
                               and pattern.match(var.name) is not None)
        if self.applications is not None:
            yield self._matches_applications
        if self.call_id is not None:
            yield self._matches_call_id

    def __call__(self, variables):
        """Filter a list of variables, or a computation graph.

        As in Blocks, a graph is searched through its
        :attr:`~blocks.graph.ComputationGraph.variables`: the outer graph,
        the variables of a loop's step function excluded (a ``generate``
        call thus gives one ``outputs``, the time-stacked one). To search
        the steps of the loops, filter
        :attr:`~blocks.graph.ComputationGraph.scan_variables` instead
        (``VariableFilter(roles=[OUTPUT])(cg.scan_variables)``); what is
        found there can be given to :meth:`ComputationGraph.replace
        <blocks.graph.ComputationGraph.replace>`,
        :func:`~blocks.graph.apply_dropout` or
        :func:`~blocks.graph.apply_noise` like an outer variable.

        Returns
        -------
        list
            The variables that pass, in their original order.

        """
        if isinstance(variables, ComputationGraph):
            variables = variables.variables
        tests = list(self._tests())
        return [var for var in variables if all(test(var) for test in tests)]
