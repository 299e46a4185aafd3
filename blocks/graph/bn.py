r"""Batch normalization on graphs: training mode, statistic updates and the
population statistics lifecycle.

Bricks compute in inference mode by default. Training mode is obtained
either while building the graph, with the :func:`batch_normalization`
context manager, or afterwards, with the single-pass rewrite
:func:`apply_batch_normalization`. The population statistics are then kept
up to date with :func:`get_population_moving_average_updates` during
training, or re-estimated exactly over a data stream afterwards with
:func:`~blocks.graph.population_statistics.estimate_population_statistics`
(Ioffe & Szegedy 2015, Algorithm 2).
Either way they are saved with the model (they are persistent variables of
their bricks) but never trained by gradient descent.

Conventions compared
--------------------
Our population stdev is :math:`\sqrt{\mathrm{Var} + \epsilon}` (epsilon
included, none added at inference), minibatch variances are biased
(divided by m), and the moving average is
``p <- (1 - alpha) * p + alpha * m`` applied to the mean and the stdev.
PyTorch's ``BatchNorm*`` and Keras' ``BatchNormalization`` differ:

=====================  ==================  =================  =================
quantity               blocks              PyTorch            Keras
=====================  ==================  =================  =================
moving-average weight  ``alpha=0.1`` on    ``momentum=0.1``   ``momentum=0.99``
of the new batch       the new value       on the new value   on the old value
                                           (alpha =           (alpha = 1 -
                                           momentum)          momentum = 0.01)
statistic averaged     stdev (eps inside)  variance           variance
running variance       biased stdev**2     unbiased,          biased
                                           m/(m-1)
epsilon default        1e-4, training      1e-5, train +      1e-3, train +
                       only                inference          inference
scale / shift          ``scale``,          ``weight``,        ``gamma``,
                       ``shift``           ``bias``           ``beta``
=====================  ==================  =================  =================

Converting a PyTorch state into a brick (see
:func:`blocks.bricks.bn.load_pytorch_state`): ``population_mean =
running_mean``, ``population_stdev = sqrt(running_var + eps)``, ``scale =
weight``, ``shift = bias``, ``epsilon = eps``; from Keras, the same with
``moving_mean``/``moving_variance``/``gamma``/``beta``. Inference then gives
the same outputs. For training, PyTorch ``momentum`` m is ``alpha = m``,
Keras ``momentum`` m is ``alpha = 1 - m``; the remaining differences (stdev
versus variance averaged, unbiased variance) are second order for
moving averages, and
:func:`~blocks.graph.population_statistics.estimate_population_statistics`
with ``unbiased=True`` reproduces PyTorch's unbiased convention exactly.
"""
from collections import OrderedDict
from contextlib import contextmanager, ExitStack
import numbers

import pytensor.tensor as pt
from pytensor.graph.basic import Variable
from pytensor.tensor.elemwise import Elemwise
from pytensor.scalar.basic import Identity

from blocks.annotations import ApplicationCall, get_annotation
from blocks.graph.computation_graph import ComputationGraph
from blocks.roles import (has_roles, INPUT, OUTPUT, BATCH_NORM_OFFSET,
                          BATCH_NORM_MINIBATCH_ESTIMATE)
from blocks.utils import find_bricks

__all__ = ['batch_normalization', 'apply_batch_normalization',
           'get_batch_normalization_updates',
           'get_population_moving_average_updates',
           'BATCH_NORMALIZATION_METADATA', 'is_batch_normalization_call',
           'is_batch_normalization_brick', 'batch_normalization_calls',
           'minibatch_estimates', 'as_graph']


#: The call metadata every batch normalization application records
#: (DESIGN.md section 5). Graph tools recognise batch normalization by it,
#: never by brick class, so that graph does not depend on bricks and any
#: brick that keeps this protocol (recurrent or masked variants) is found.
BATCH_NORMALIZATION_METADATA = ('training_mode', 'offset', 'divisor')


def is_batch_normalization_call(call):
    """Whether an application call recorded batch normalization metadata
    (:data:`BATCH_NORMALIZATION_METADATA`)."""
    return all(key in call.metadata for key in BATCH_NORMALIZATION_METADATA)


def is_batch_normalization_brick(brick):
    """Whether a brick switches to training mode in a ``with`` block: it
    has a ``training_mode`` attribute and is a context manager."""
    return (hasattr(brick, 'training_mode')
            and hasattr(type(brick), '__enter__')
            and hasattr(type(brick), '__exit__'))


def as_graph(graph):
    """`graph` as a :class:`~blocks.graph.ComputationGraph` (variables are
    wrapped in one)."""
    if isinstance(graph, ComputationGraph):
        return graph
    return ComputationGraph(graph)


@contextmanager
def batch_normalization(*bricks):
    """Put every batch normalization brick under `bricks` in training mode.

    The bricks are found breadth-first (the given bricks included), entered
    in that order and left in reverse order, also when the body raises.

    Building the graph under this context manager compiles a little faster
    than :func:`apply_batch_normalization`, but the inference graph must
    then be built separately if it is also wanted.

    Examples
    --------
    >>> import pytensor.tensor as pt
    >>> from blocks.bricks import BatchNormalizedMLP, Tanh
    >>> mlp = BatchNormalizedMLP([Tanh()], [3, 4])
    >>> with batch_normalization(mlp):
    ...     y = mlp.apply(pt.matrix('x'))
    >>> len(get_batch_normalization_updates(ComputationGraph(y)))
    2

    """
    found = find_bricks(bricks, is_batch_normalization_brick)
    with ExitStack() as stack:
        for brick in found:
            stack.enter_context(brick)
        yield


def batch_normalization_calls(graph):
    """Application calls of batch normalization bricks in a graph, in graph
    order, each with its variables: ``entry['inputs']`` maps the input
    names (``input_``, ``mask``) to the tagged copies the application
    received, ``entry['input']`` is the first one and ``entry['output']``
    the output. The steps of the graph's loops are searched too."""
    calls = OrderedDict()
    for variable in graph.variables + graph.scan_variables:
        if not has_roles(variable, [INPUT, OUTPUT]):
            continue
        call = get_annotation(variable, ApplicationCall)
        if call is None or not is_batch_normalization_call(call):
            continue
        entry = calls.setdefault(call, {'inputs': OrderedDict()})
        if has_roles(variable, [INPUT]):
            entry['inputs'].setdefault(variable.tag.name, variable)
            entry.setdefault('input', variable)
        else:
            entry['output'] = variable
    return OrderedDict((call, entry) for call, entry in calls.items()
                       if 'output' in entry)


def _original_input(input_copy):
    """The variable an application was called with, behind the tagged
    copy it received (the copy itself when it is not a plain copy)."""
    owner = input_copy.owner
    if (owner is not None and isinstance(owner.op, Elemwise)
            and isinstance(owner.op.scalar_op, Identity)):
        return owner.inputs[0]
    return input_copy


def apply_batch_normalization(computation_graph):
    """Return a copy of a graph in which batch normalization uses minibatch
    statistics.

    Every inference-mode application of a batch normalization brick is
    replaced by a training-mode application on the same input, in a single
    replacement pass: the result has as many nodes as the graph built under
    :func:`batch_normalization`. Applications already in training mode are
    kept as they are.

    Parameters
    ----------
    computation_graph : :class:`~blocks.graph.ComputationGraph`

    Returns
    -------
    :class:`~blocks.graph.ComputationGraph`

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> from blocks.bricks import BatchNormalization
    >>> bn = BatchNormalization(input_dim=1)
    >>> bn.initialize()
    >>> x = pt.matrix('x')
    >>> training = apply_batch_normalization(ComputationGraph(bn.apply(x)))
    >>> training.outputs[0].eval({x: [[1.], [3.]]}).round(3)
    array([[-1.],
           [ 1.]])

    """
    graph = as_graph(computation_graph)
    replacements = []
    for call, entry in batch_normalization_calls(graph).items():
        if call.metadata['training_mode']:
            continue
        if 'input' not in entry:
            raise ValueError('{}: the input of an application is missing from '
                             'the graph'.format(call.application.brick.path))
        brick = call.application.brick
        inputs = OrderedDict((name, _original_input(variable))
                             for name, variable in entry['inputs'].items())
        with brick:
            new_output = brick.apply(**inputs)
        replacements.append((entry['output'], new_output))
    return graph.replace(replacements)


def _training_calls(graph, allow_duplicates):
    calls = [call for call in batch_normalization_calls(graph)
             if call.metadata['training_mode']]
    if not calls:
        raise ValueError('no training mode BatchNormalization applications '
                         'found in graph')
    if not allow_duplicates:
        seen = OrderedDict()
        for call in calls:
            brick = call.application.brick
            seen[id(brick)] = seen.get(id(brick), 0) + 1
        repeated = [call.application.brick.path for call in calls
                    if seen.get(id(call.application.brick), 0) > 1]
        if repeated:
            raise ValueError(
                'multiple applications of the same BatchNormalization brick '
                '({}); pass allow_duplicates = True to override this check'
                .format(', '.join(OrderedDict.fromkeys(repeated))))
    return calls


def minibatch_estimates(graph, calls):
    """For each call, its (offset, divisor) without the batch axis, as
    computed *in this graph*.

    The call metadata holds the statistics as they were built; when a
    graph has been rewritten (by :func:`apply_batch_normalization` or any
    other replacement) the statistics in the graph are rebuilt copies that
    carry the same annotations, and those are the ones that must be used:
    the metadata ones may still depend on inference-mode layers below.
    """
    in_graph = {}
    for variable in graph.variables:
        if not has_roles(variable, [BATCH_NORM_MINIBATCH_ESTIMATE]):
            continue
        call = get_annotation(variable, ApplicationCall)
        key = ('offset' if has_roles(variable, [BATCH_NORM_OFFSET])
               else 'divisor')
        in_graph.setdefault(call, {})[key] = variable
    estimates = []
    for call in calls:
        pair = []
        for key in ('offset', 'divisor'):
            recorded = call.metadata[key]
            current = in_graph.get(call, {}).get(key)
            if (recorded is None or current is None
                    or recorded.owner.inputs[0] is current):
                pair.append(recorded)
            else:
                pair.append(current[0])
        estimates.append(tuple(pair))
    return estimates


def get_batch_normalization_updates(training_graph, allow_duplicates=False):
    """Pairs (population variable, minibatch estimate) of a training graph.

    Parameters
    ----------
    training_graph : :class:`~blocks.graph.ComputationGraph` or variables
        A graph with training-mode batch normalization applications.
    allow_duplicates : bool, optional
        Allow a brick to be applied several times (siamese or recurrent
        networks); its population variables then appear in several pairs
        and the caller decides how to combine them.

    Returns
    -------
    list of pairs
        ``(brick.population_mean, minibatch mean)`` and
        ``(brick.population_stdev, minibatch stdev)`` for each training-mode
        application (only the mean pair for ``mean_only`` bricks).

    Raises
    ------
    ValueError
        If there is no training-mode application, or if a brick is applied
        more than once and `allow_duplicates` is False.

    Notes
    -----
    Used as updates directly, these pairs overwrite the population
    statistics with those of the last minibatch. Use
    :func:`get_population_moving_average_updates` or
    :func:`~blocks.graph.population_statistics.estimate_population_statistics`
    instead.

    """
    graph = as_graph(training_graph)
    calls = _training_calls(graph, allow_duplicates)
    pairs = []
    for call, (offset, divisor) in zip(
            calls, minibatch_estimates(graph, calls)):
        brick = call.application.brick
        pairs.append((brick.population_mean, offset))
        if not brick.mean_only:
            pairs.append((brick.population_stdev, divisor))
    return pairs


def _check_alpha(alpha):
    if isinstance(alpha, Variable):
        return
    if (isinstance(alpha, bool) or not isinstance(alpha, numbers.Real)
            or not 0 < alpha <= 1):
        raise ValueError('alpha must be in (0, 1], got {!r}'.format(alpha))


def get_population_moving_average_updates(training_graph, alpha=0.1,
                                          allow_duplicates=False,
                                          skip_nonfinite=False):
    """Updates that keep the population statistics as moving averages.

    Each population variable p with minibatch estimate m becomes
    ``(1 - alpha) * p + alpha * m`` at every step (PyTorch's ``momentum``
    is alpha; see the module documentation for other conventions). After k
    steps with a constant estimate m, ``p_k = m + (1 - alpha)**k (p_0 - m)``.

    Parameters
    ----------
    training_graph : :class:`~blocks.graph.ComputationGraph` or variables
        A graph with training-mode batch normalization applications (from
        :func:`apply_batch_normalization` or :func:`batch_normalization`).
    alpha : float or scalar variable, optional
        The weight of the new minibatch (0.1).
    allow_duplicates : bool, optional
        Allow bricks applied several times; their estimates are averaged
        before the moving average.
    skip_nonfinite : bool, optional
        Leave a brick's population statistics unchanged on a step whose
        minibatch statistics are not all finite (an exploding batch would
        otherwise poison them for good).

    Returns
    -------
    list of pairs
        Ready for ``GradientDescent.add_updates`` or
        ``ComputationGraph.get_function(additional_updates=...)``.

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> from blocks.bricks import BatchNormalization
    >>> bn = BatchNormalization(input_dim=1)
    >>> bn.initialize()
    >>> x = pt.matrix('x')
    >>> cg = apply_batch_normalization(ComputationGraph(bn.apply(x)))
    >>> step = cg.get_function(
    ...     additional_updates=get_population_moving_average_updates(cg))
    >>> _ = step(numpy.array([[1.], [3.]]))
    >>> bn.population_mean.get_value()
    array([0.2])

    """
    _check_alpha(alpha)
    graph = as_graph(training_graph)
    calls = _training_calls(graph, allow_duplicates)
    by_brick = OrderedDict()
    for call, estimates in zip(calls, minibatch_estimates(graph, calls)):
        brick = call.application.brick
        by_brick.setdefault(brick, []).append(estimates)
    updates = []
    for brick, brick_estimates in by_brick.items():
        populations = [(0, brick.population_mean)]
        if not brick.mean_only:
            populations.append((1, brick.population_stdev))
        averaged = []
        for index, population in populations:
            values = [estimates[index] for estimates in brick_estimates]
            estimate = values[0]
            if len(values) > 1:
                estimate = sum(values[1:], estimate) / len(values)
            averaged.append((population, estimate))
        finite = None
        if skip_nonfinite:
            finite = pt.all([pt.all(pt.isfinite(value))
                             for _, value in averaged])
        for population, estimate in averaged:
            new = (1 - alpha) * population + alpha * estimate
            if finite is not None:
                new = pt.switch(finite, new, population)
            updates.append((population, pt.cast(new, population.dtype)))
    return updates
