"""The computation graph: every variable between the inputs and outputs of
a model, with the annotations bricks left on them."""
import logging
import warnings
from collections import OrderedDict
from copy import copy

from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Constant, Variable
from pytensor.graph.traversal import ancestors, io_toposort, graph_inputs

from blocks.compilation import BrickNamingFunction, compile_function
from blocks.graph.scans import is_scan_node, rebuild_scan
from blocks.roles import has_roles, AUXILIARY, PARAMETER
from blocks.utils import dict_union, is_graph_input, pack

__all__ = ['ComputationGraph', 'replace_variables']

logger = logging.getLogger(__name__)


class ComputationGraph:
    """Encapsulates a PyTensor graph for inspection and rewriting.

    Parameters
    ----------
    outputs : variable or list of variables
        The outputs of the graph.

    Attributes
    ----------
    outputs : list
        The outputs given.
    variables : list
        Every variable of the graph in topological order, plus the
        auxiliary variables of the annotations found on them (each right
        after the variable carrying the annotation).
    updates : OrderedDict
        The updates of all annotations in the graph.
    scans : list
        The Scan ops of the graph (the loops), distinct by identity, in
        topological order.
    scan_variables : list
        The variables of the inner graphs of the scans (the loops' step
        functions), those of nested loops included. :meth:`replace` and
        the rewrites built on it accept them as keys.

    Examples
    --------
    >>> import pytensor.tensor as pt
    >>> x = pt.vector('x')
    >>> y = (2 * x).sum()
    >>> cg = ComputationGraph(y)
    >>> [v.name for v in cg.inputs]
    ['x']
    >>> doubled = cg.replace({y: 2 * y})
    >>> doubled.outputs[0].eval({x: [1.0]})
    array(4.)

    """
    def __init__(self, outputs, updates=None):
        self.outputs = pack(outputs)
        for output in self.outputs:
            if not isinstance(output, Variable):
                raise TypeError('ComputationGraph expects PyTensor variables '
                                'as outputs, got {!r}'.format(output))
        self._collect_variables()
        if updates is not None:
            self.updates = OrderedDict(updates)

    def __iter__(self):
        return iter(self.variables)

    def __len__(self):
        return len(self.variables)

    def _collect_variables(self):
        self.applies = io_toposort(list(graph_inputs(self.outputs)),
                                   self.outputs)
        in_graph = []
        seen = set()
        for node in self.applies:
            for variable in node.inputs + node.outputs:
                if variable not in seen:
                    seen.add(variable)
                    in_graph.append(variable)
        for output in self.outputs:
            if output not in seen:
                seen.add(output)
                in_graph.append(output)

        variables = []
        updates = OrderedDict()
        seen_annotations = set()
        for variable in in_graph:
            variables.append(variable)
            for annotation in getattr(variable.tag, 'annotations', []):
                if id(annotation) in seen_annotations:
                    continue
                seen_annotations.add(id(annotation))
                for auxiliary in annotation.auxiliary_variables:
                    if auxiliary not in seen:
                        seen.add(auxiliary)
                        variables.append(auxiliary)
                updates = dict_union(updates, annotation.updates)
        self.variables = variables
        self.updates = updates
        # By identity: two loops built alike (by one brick) have equal ops.
        self.scans = list(OrderedDict(
            (id(node.op), node.op) for node in self.applies
            if is_scan_node(node)).values())
        self.scan_variables = []
        for scan in self.scans:
            inner = ComputationGraph(scan.inner_outputs)
            self.scan_variables.extend(inner.variables)
            self.scan_variables.extend(inner.scan_variables)

    @property
    def inputs(self):
        """The variables a compiled function must be given."""
        return [var for var in self.variables if is_graph_input(var)]

    @property
    def shared_variables(self):
        """The shared variables of the graph (parameters, statistics ...)."""
        return [var for var in self.variables
                if isinstance(var, SharedVariable)]

    @property
    def parameters(self):
        """The shared variables with role PARAMETER (or a subrole)."""
        return [var for var in self.shared_variables
                if has_roles(var, [PARAMETER])]

    @property
    def auxiliary_variables(self):
        """The variables with role AUXILIARY (norms, monitoring values ...)."""
        return [var for var in self.variables if has_roles(var, [AUXILIARY])]

    @property
    def intermediary_variables(self):
        """Variables that are neither inputs, shared variables, constants
        nor outputs."""
        outputs = set(self.outputs)
        return [var for var in self.variables
                if var.owner is not None and var not in outputs]

    def dict_of_inputs(self):
        """The inputs keyed by name."""
        return OrderedDict((var.name, var) for var in self.inputs)

    def has_inputs(self, variable):
        """Whether `variable` depends on an input of some graph (a variable
        that is neither shared nor constant)."""
        return any(is_graph_input(var) for var in ancestors([variable]))

    def get_function(self, additional_updates=None, **kwargs):
        """Compile a function from the graph's inputs to its outputs that
        also runs its updates (and `additional_updates`).

        Raises
        ------
        ValueError
            If an additional update targets a variable the graph already
            updates.

        """
        updates = self.updates
        if additional_updates:
            updates = dict_union(updates, OrderedDict(additional_updates))
        return BrickNamingFunction(compile_function(
            self.inputs, self.outputs, updates=updates, **kwargs))

    #: The Blocks name of :meth:`get_function`
    get_theano_function = get_function

    def get_snapshot(self, data):
        """Evaluate the variables of the graph that have a role, on a batch.

        As in Blocks, these are the variables bricks marked (inputs and
        outputs of applications, auxiliary variables...), shared variables
        excepted: their values are at hand already.

        Parameters
        ----------
        data : dict
            Values of the inputs, keyed by input name.

        Returns
        -------
        OrderedDict
            Variable to value, for every non-shared variable with a role.

        """
        if not hasattr(self, '_snapshot_function'):
            self._snapshot_variables = [
                var for var in self.variables
                if getattr(var.tag, 'roles', None)
                and not isinstance(var, (SharedVariable, Constant))]
            self._snapshot_function = compile_function(
                self.inputs, self._snapshot_variables,
                on_unused_input='ignore')
        missing = [var.name for var in self.inputs if var.name not in data]
        if missing:
            raise ValueError('get_snapshot needs values for the inputs {}'
                             .format(', '.join(map(str, missing))))
        values = self._snapshot_function(
            *[data[var.name] for var in self.inputs])
        return OrderedDict(zip(self._snapshot_variables, values))

    def replace(self, replacements):
        """Return a new graph in which some variables are replaced.

        All replacements are made in one pass over the graph, however many
        there are: each node is rebuilt at most once. A replacement value
        may use the variable it replaces (``{y: 2 * y}``), and it sees the
        other replacements: replacing two chained variables ``h1`` and
        ``h2`` makes the new ``h2`` depend on the new ``h1``. Keys may be
        variables of a loop's step function (see ``scan_variables``):
        each loop with such keys is rebuilt once, in the same pass, its
        step with all of them applied. Annotations,
        roles and names of rebuilt variables are kept, and so are updates
        (with the replacements applied to their values).

        Parameters
        ----------
        replacements : dict or list of pairs
            Variable to its replacement.

        """
        replacements = OrderedDict(replacements)
        in_graph = set(self.variables) | set(self.scan_variables)
        absent = [var for var in replacements if var not in in_graph]
        if absent:
            warnings.warn('the variables {} are not a part of the graph: '
                          'replacing them changes nothing'.format(absent))
        auxiliary = [var for var in replacements
                     if has_roles(var, [AUXILIARY])]
        if auxiliary:
            warnings.warn('replacing auxiliary variables {} does not change '
                          'the values computed from the original ones'
                          .format(auxiliary))
        update_keys = list(self.updates)
        targets = self.outputs + [self.updates[key] for key in update_keys]
        new_targets = replace_variables(targets, replacements)
        new_outputs = new_targets[:len(self.outputs)]
        new_updates = OrderedDict(zip(update_keys,
                                      new_targets[len(self.outputs):]))
        graph = ComputationGraph(new_outputs)
        # Annotations of new variables may carry their own updates.
        graph.updates = dict_union(
            new_updates, OrderedDict(
                (key, value) for key, value in graph.updates.items()
                if key not in new_updates))
        return graph


def _copy_tag(old, new):
    """Give a rebuilt variable the tag (roles, annotations ...) and name of
    the variable it stands for."""
    if new.tag is not old.tag:
        tag = copy(old.tag)
        # Own lists, so that adding a role to one copy leaves the other.
        for key in ('roles', 'annotations'):
            if hasattr(tag, key):
                setattr(tag, key, list(getattr(tag, key)))
        for key, value in vars(new.tag).items():
            if not hasattr(tag, key):
                setattr(tag, key, value)
        new.tag = tag
    new.name = old.name


def _matching_type(key, value):
    """Convert a replacement to the type of the variable it replaces (a
    more precise static shape is fine, a different ndim or dtype is not)."""
    if not isinstance(value, Variable):
        raise TypeError('replacement of {} must be a PyTensor variable, got '
                        '{!r}'.format(key, value))
    if key.type == value.type:
        return value
    try:
        return key.type.filter_variable(value, allow_convert=True)
    except TypeError as error:
        raise ValueError('cannot replace {} of type {} by {} of type {}'
                         .format(key, key.type, value, value.type)) from error


def replace_variables(outputs, replacements):
    """Rebuild `outputs` with `replacements` applied, in one pass.

    Keys are processed in topological order. Inside the value of a key, the
    key itself stands for the original variable (with the replacements of
    its ancestors applied), so ``{y: 2 * y}`` doubles y; every other key
    stands for its replacement. A key may be a variable of the step
    function of a loop (one of the graph's ``scan_variables``): the loop is
    then rebuilt once, around a step with all its replacements applied.

    Parameters
    ----------
    outputs : list of variables
    replacements : dict
        Variable to replacement value.

    Returns
    -------
    list of variables

    """
    return _Rebuild(outputs, replacements).run()


def _inner_variables(op, cache):
    """Every variable of a loop's step, those of nested loops included."""
    if op not in cache:
        variables = set(ancestors(op.inner_outputs))
        for var in list(variables):
            if is_scan_node(var.owner):
                variables |= _inner_variables(var.owner.op, cache)
        cache[op] = variables
    return cache[op]


class _Rebuild:
    """One replacement pass over the graph of `outputs` and the steps of
    its loops: each node is rebuilt at most once, each loop too.

    Parameters
    ----------
    outputs : list of variables
    replacements : dict
        Variable to replacement value; keys may be variables of the graph
        or of the step of one of its loops.
    exposed : list of variables, optional
        Variables of replacement values inside a step, to make per-step
        outputs of their loop; :attr:`exposed` maps each to its outer,
        time-stacked version after :meth:`run`.

    """
    def __init__(self, outputs, replacements, exposed=()):
        self.outputs = list(outputs)
        self.replacements = OrderedDict(
            (key, _matching_type(key, value))
            for key, value in OrderedDict(replacements).items())
        self.memo = {}
        self.to_expose = list(exposed)
        self.exposed = OrderedDict()
        applies = io_toposort(list(graph_inputs(self.outputs)),
                              self.outputs)
        self._order = {node: i for i, node in enumerate(applies)}
        self._step_replacements = self._keys_inside_loops(applies)

    def _keys_inside_loops(self, applies):
        """Loop node to the replacements of its step (the keys that are
        not variables of this graph)."""
        outer = set(self.outputs)
        for node in applies:
            outer.update(node.inputs)
            outer.update(node.outputs)
        loops = [node for node in applies if is_scan_node(node)]
        cache = {}
        inside = OrderedDict()
        for key in list(self.replacements):
            if key in outer:
                continue
            owners = [node for node in loops
                      if key in _inner_variables(node.op, cache)]
            if any(key in node.op.inner_inputs for node in owners):
                raise ValueError(
                    'cannot replace {}: it stands for an outer input of a '
                    'loop; replace that outer variable instead'.format(key))
            for node in owners:
                inside.setdefault(node, OrderedDict())[key] = (
                    self.replacements[key])
            if owners:
                del self.replacements[key]
        return inside

    def _position(self, variable):
        return self._order.get(variable.owner, -1)

    def run(self):
        """The rebuilt outputs."""
        for key in sorted(self.replacements, key=self._position):
            self.memo[key] = self.rebuild(key)
            self.memo[key] = self.rebuild(self.replacements[key])
        return [self.rebuild(output) for output in self.outputs]

    def rebuild(self, variable):
        """The rebuilt version of `variable`. Fills the memo as it goes, so
        each node is visited once over many calls."""
        memo = self.memo
        stack = [variable]
        while stack:
            current = stack[-1]
            if current in memo:
                stack.pop()
                continue
            node = current.owner
            if node is None:
                memo[current] = current
                stack.pop()
                continue
            pending = [var for var in node.inputs if var not in memo]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            new_inputs = [memo[var] for var in node.inputs]
            if node in self._step_replacements:
                new_outputs = self._rebuild_loop(node, new_inputs)
            elif all(new is old for new, old in zip(new_inputs, node.inputs)):
                new_outputs = node.outputs
            else:
                new_outputs = node.clone_with_new_inputs(
                    new_inputs, strict=False).outputs
            for old, new in zip(node.outputs, new_outputs):
                if new is not old:
                    _copy_tag(old, new)
                memo[old] = new
        return memo[variable]

    def _rebuild_loop(self, node, new_inputs):
        """The outputs of a loop whose step has replacements."""
        step = _Rebuild(node.op.inner_outputs, self._step_replacements[node])
        inner_outputs = step.run()
        generators = [var for var in graph_inputs(inner_outputs)
                      if isinstance(var, SharedVariable)
                      and getattr(var, 'default_update', None) is not None]
        # A draw rebuilt in the step has a rebuilt next generator state.
        step_updates = {var: step.rebuild(var.default_update)
                        for var in generators}
        exposed = [var for var in self.to_expose if var in step.memo]
        outputs, stacked = rebuild_scan(
            node, new_inputs, inner_outputs, step_updates,
            [step.memo[var] for var in exposed])
        self.exposed.update(zip(exposed, stacked))
        return outputs
