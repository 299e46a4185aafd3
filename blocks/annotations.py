"""Annotations: objects attached to variables to say where they come from.

This module sits at the bottom of the library (it imports only roles), so
that bricks and graph tools can both use it.

Bricks and application calls are annotations. They carry auxiliary
variables (monitoring quantities such as weight norms) and updates (such as
those of scan) that a :class:`~blocks.graph.ComputationGraph` gathers.
"""
from collections import OrderedDict

from blocks.roles import add_role, AUXILIARY

__all__ = ['Annotation', 'ApplicationCall', 'add_annotation',
           'get_annotation']


def add_annotation(var, annotation):
    """Attach an annotation to a variable's ``tag.annotations``.

    Raises
    ------
    ValueError
        If the variable already carries an annotation of the same class.

    """
    annotations = getattr(var.tag, 'annotations', [])
    if any(old is annotation for old in annotations):
        return
    if any(old.__class__ == annotation.__class__ for old in annotations):
        raise ValueError('variable {} already has an annotation of class {}'
                         .format(var, annotation.__class__.__name__))
    var.tag.annotations = annotations + [annotation]


def get_annotation(var, cls):
    """The first annotation of class `cls` on a variable, or None."""
    for annotation in getattr(var.tag, 'annotations', []):
        if isinstance(annotation, cls):
            return annotation
    return None


class Annotation:
    """Something that auxiliary variables and updates can hang off.

    Attributes
    ----------
    auxiliary_variables : list
        Variables to include in a computation graph that contains a variable
        annotated with this object.
    updates : OrderedDict
        Updates (shared variable to new value) to run whenever the graph is
        evaluated.

    Examples
    --------
    >>> import pytensor.tensor as pt
    >>> x = pt.vector('x')
    >>> annotation = Annotation()
    >>> annotation.add_auxiliary_variable(x.mean(), name='mean')
    >>> add_annotation(x, annotation)
    >>> annotation.auxiliary_variables[0].name
    'mean'

    """
    def __init__(self):
        self.auxiliary_variables = []
        self.updates = OrderedDict()

    def add_auxiliary_variable(self, variable, roles=None, name=None):
        """Attach a variable with role AUXILIARY (plus `roles`) to this
        annotation."""
        add_annotation(variable, self)
        if name is not None:
            variable.name = name
            variable.tag.name = name
        add_role(variable, AUXILIARY)
        for role in roles or []:
            add_role(variable, role)
        self.auxiliary_variables.append(variable)


class ApplicationCall(Annotation):
    """One call of an application: an annotation on the variables it made.

    Attributes
    ----------
    application : :class:`~blocks.bricks.base.BoundApplication`
        What was called.
    metadata : dict
        Free-form information about the call; batch normalization records
        its mode and statistics here, ``call_id`` is the value of the
        ``call_id`` keyword argument of the call.

    """
    def __init__(self, application):
        super().__init__()
        self.application = application
        self.metadata = {}

    def add_auxiliary_variable(self, variable, roles=None, name=None):
        """Attach a variable to this call, also annotated with the brick;
        its name is prefixed like that of an input."""
        if name is not None:
            variable.name = variable_name(
                self.application.brick, self.application.name, name)
            variable.tag.name = name
            name = None
        add_annotation(variable, self.application.brick)
        super().add_auxiliary_variable(variable, roles, name)


def variable_name(brick, application_name, name):
    """Blocks' name of a variable an application made:
    ``{brick}_{application}_{name}``."""
    return '{}_{}_{}'.format(brick.name, application_name, name)
