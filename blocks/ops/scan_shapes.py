"""The shapes of a scan's outputs, inferred without the graph around it.

PyTensor infers the shapes of a scan node's outputs by walking its step
function with a fresh shape tracker into which it first imports the
graphs of the shapes of the node's inputs. In a stack of recurrent
layers those graphs hold the layers below, whose scans are met again
and have their own step functions walked, and so on down the stack:
every inference of an upper layer's shapes costs all the layers under
it, and the compilation of a deep stack is quadratic in its depth (see
``benchmarks/results.md``, section "Recurrent networks: the LSTM layer").

:func:`scan_output_shapes` gives the same shapes from a walk of the step
function alone: PyTensor's inference runs on a stand-in node whose input
shapes are fresh placeholders, which have no graph to import, and the
placeholders are then replaced by the node's real input shapes. A scan
without nit-sot outputs needs no walk at all: its outputs have the shapes
of its recurrent inputs. :class:`ScanShapeFeature` infers every scan's
shapes that way in the functions blocks compiles (walking each step
once), and :class:`ShapeInferringScan` is a scan op whose own shape
inference does, for the shape trackers PyTensor creates on its own while
it builds nodes (:func:`to_shape_inferring_scan` turns the plain scans
PyTensor's rewrites rebuild into such ops).
"""
from pytensor.graph.basic import Constant, Variable, clone_get_equiv
from pytensor.graph.replace import graph_replace
from pytensor.graph.rewriting.basic import GraphRewriter, node_rewriter
from pytensor.scan.op import Scan
from pytensor.tensor.rewriting.shape import ShapeFeature

__all__ = ['scan_output_shapes', 'ShapeInferringScan', 'shape_inferring',
           'shape_inferring_results', 'to_shape_inferring_scan',
           'ScanShapeFeature', 'ScanShapeOptimizer']


def _placeholder_shapes(input_shapes):
    """`input_shapes` with each symbolic size replaced by a placeholder,
    the same one wherever the size is the same variable (inferences
    simplify sizes they know to be equal); constants stay, since some
    inferences simplify known sizes."""
    placeholders = {}

    def placeholder(dimension):
        if isinstance(dimension, Constant):
            return dimension
        if dimension not in placeholders:
            placeholders[dimension] = dimension.type()
        return placeholders[dimension]
    return [None if shape is None else tuple(map(placeholder, shape))
            for shape in input_shapes]


def _recurrent_shapes(op, input_shapes):
    """The output shapes of a scan with no nit-sot output, or None: each
    output is the buffer of a recurrent input, so it has that input's
    shape (as PyTensor infers it too, after a walk it does not use)."""
    info = op.info
    if info.n_nit_sot or info.as_while:
        return None
    start = 1 + info.n_seqs  # after the number of steps and the sequences
    stop = (start + info.n_mit_mot + info.n_mit_sot + info.n_sit_sot
            + info.n_untraced_sit_sot)
    return list(input_shapes[start:stop])


def _walk_key(node, input_shapes):
    """What the shapes a walk of the step of `node` gives depend on: the
    step, the loop's signature, the input types, the known sizes among
    `input_shapes` and which of the others are the same variable."""
    first_seen = {}

    def size_key(dimension):
        if isinstance(dimension, Constant):
            return ('constant', dimension.data.item())
        return first_seen.setdefault(dimension, len(first_seen))
    return (node.op._frozen_fgraph, node.op.info,
            tuple(variable.type for variable in node.inputs),
            tuple(None if shape is None else tuple(map(size_key, shape))
                  for shape in input_shapes))


def _walked_shapes(node, input_shapes):
    """PyTensor's shapes of a stand-in for `node` whose inputs and input
    shapes are placeholders: (stand-in, placeholder shapes, shapes)."""
    stand_in = node.op.make_node(*(variable.type() for variable in
                                   node.inputs))
    placeholders = _placeholder_shapes(input_shapes)
    return stand_in, placeholders, Scan.infer_shape(
        node.op, None, stand_in, placeholders)


def scan_output_shapes(node, input_shapes, walks=None):
    """The shapes of the outputs of the scan `node`, from the shapes
    `input_shapes` of its inputs: those PyTensor's
    :meth:`~pytensor.scan.op.Scan.infer_shape` gives, without importing
    the graphs of `input_shapes` anywhere.

    Parameters
    ----------
    node : :class:`pytensor.graph.basic.Apply`
        A node of a :class:`~pytensor.scan.op.Scan`.
    input_shapes : list
        A tuple of symbolic sizes (or None) per input of `node`.
    walks : dict, optional
        Where to keep the walks of steps, for the next nodes with the same
        step and signature (a shape tracker keeps one).

    Examples
    --------
    >>> import pytensor, pytensor.tensor as pt
    >>> x = pt.matrix('x')
    >>> doubled = pytensor.scan(lambda row: 2 * row, sequences=[x],
    ...                         return_updates=False)
    >>> node = doubled.owner
    >>> rows, columns = pt.lscalar('rows'), pt.lscalar('columns')
    >>> shapes = [(), (rows, columns), ()]  # steps, x, output length
    >>> (length, width), = scan_output_shapes(node, shapes)
    >>> width is columns  # a row's width, from the shape given for x
    True

    """
    recurrent = _recurrent_shapes(node.op, input_shapes)
    if recurrent is not None:
        return recurrent
    walks = {} if walks is None else walks
    key = _walk_key(node, input_shapes)
    if key not in walks:
        walks[key] = _walked_shapes(node, input_shapes)
    stand_in, placeholders, shapes = walks[key]
    replacements = dict(zip(stand_in.inputs, node.inputs))
    replacements.update(zip(stand_in.outputs, node.outputs))
    for placeholder, shape in zip(placeholders, input_shapes):
        if shape is not None:
            replacements.update(zip(placeholder, shape))
    return _replaced(shapes, replacements)


def _replaced(shapes, replacements):
    """`shapes` (tuples of dimensions, or None) with the variables of
    `replacements` replaced; the replacing variables are used as they
    are (a copy of a shape from the graph would not be tracked)."""
    dimensions = [dimension for shape in shapes if shape is not None
                  for dimension in shape if isinstance(dimension, Variable)]
    equivalent = clone_get_equiv(list(replacements), dimensions,
                                 copy_inputs=False, copy_orphans=False,
                                 memo=dict(replacements))
    return [None if shape is None else tuple(
        equivalent.get(dimension, dimension) if isinstance(
            dimension, Variable) else dimension for dimension in shape)
        for shape in shapes]


class ShapeInferringScan(Scan):
    """A scan op whose shapes are inferred by :func:`scan_output_shapes`.

    The same loop as :class:`~pytensor.scan.op.Scan`: only what shape
    inference imports differs. PyTensor's scan rewrites rebuild the scans
    they change as plain :class:`~pytensor.scan.op.Scan` ops, which
    :class:`ScanShapeFeature` covers.

    Examples
    --------
    >>> import pytensor, pytensor.tensor as pt
    >>> x = pt.vector('x')
    >>> doubled = pytensor.scan(lambda v: 2 * v, sequences=[x],
    ...                         return_updates=False)
    >>> op = doubled.owner.op
    >>> cheap = ShapeInferringScan(op.inner_inputs, op.inner_outputs,
    ...                            op.info)
    >>> cheap.make_node(*doubled.owner.inputs).outputs[0].eval(
    ...     {x: [1.0, 2.0]}).tolist()
    [2.0, 4.0]

    """

    def infer_shape(self, fgraph, node, input_shapes):
        return scan_output_shapes(node, input_shapes)


def shape_inferring(op, inner_inputs=None, inner_outputs=None, info=None,
                    mode=None):
    """The scan `op` as a :class:`ShapeInferringScan`: the same loop, or,
    where given, a new step function, signature or mode with `op`'s other
    settings (truncation, name, profiling, garbage collection)."""
    return ShapeInferringScan(
        op.inner_inputs if inner_inputs is None else inner_inputs,
        op.inner_outputs if inner_outputs is None else inner_outputs,
        op.info if info is None else info,
        mode=op.mode if mode is None else mode,
        truncate_gradient=op.truncate_gradient, name=op.name,
        profile=op.profile, allow_gc=op.allow_gc, strict=op.strict)


def shape_inferring_results(results, updates):
    """The `results` and `updates` :func:`pytensor.scan` returned, computed
    by a :class:`ShapeInferringScan` node in place of its plain one.

    Only the graph between the scan node and `results` (the slices that
    drop the initial states) is rebuilt, so every variable outside it,
    the loop's inputs among them, keeps its identity.
    """
    node = results[0].owner
    if not isinstance(node.op, Scan):  # a state: a slice of the output
        node = node.inputs[0].owner
    new_node = shape_inferring(node.op).make_node(*node.inputs)
    keys = list(updates)
    rebuilt = graph_replace(list(results) + [updates[key] for key in keys],
                            dict(zip(node.outputs, new_node.outputs)))
    return (rebuilt[:len(results)],
            type(updates)(zip(keys, rebuilt[len(results):])))


@node_rewriter([Scan])
def to_shape_inferring_scan(fgraph, node):
    """Replace a plain scan, as PyTensor's scan rewrites rebuild them, by
    a :class:`ShapeInferringScan`: the shape trackers PyTensor builds on
    its own (for the static shape of an allocation) then infer its shapes
    without walking the layers below it again."""
    if type(node.op) is not Scan:
        return None
    return shape_inferring(node.op).make_node(*node.inputs).outputs


class ScanShapeFeature(ShapeFeature):
    """PyTensor's shape tracker, inferring every scan's shapes with
    :func:`scan_output_shapes`, and walking each step once: the rewrites
    of a function rebuild its scans many times, mostly with the same
    step."""

    def on_attach(self, fgraph):
        self.walks = {}
        super().on_attach(fgraph)

    def get_node_infer_shape(self, node):
        if not isinstance(node.op, Scan):
            return super().get_node_infer_shape(node)
        return scan_output_shapes(node, [self.shape_of[variable]
                                         for variable in node.inputs],
                                  self.walks)


class ScanShapeOptimizer(GraphRewriter):
    """Attach a :class:`ScanShapeFeature`: PyTensor's ``ShapeOpt`` with
    the cheaper tracker (it takes ``ShapeOpt``'s place in a mode)."""

    def apply(self, fgraph):
        fgraph.attach_feature(ScanShapeFeature())
