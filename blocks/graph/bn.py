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
from collections import OrderedDict, namedtuple
from contextlib import contextmanager, ExitStack
import numbers

import pytensor.tensor as pt
from pytensor.graph.basic import Variable
from pytensor.tensor.elemwise import Elemwise
from pytensor.scalar.basic import Identity

from blocks.annotations import ApplicationCall, get_annotation
from blocks.graph.computation_graph import ComputationGraph
from blocks.graph.scans import is_scan_node
from blocks.roles import (has_roles, INPUT, OUTPUT, BATCH_NORM_OFFSET,
                          BATCH_NORM_MINIBATCH_ESTIMATE)
from blocks.utils import find_bricks

__all__ = ['batch_normalization', 'apply_batch_normalization',
           'get_batch_normalization_updates',
           'get_population_moving_average_updates',
           'BATCH_NORMALIZATION_METADATA', 'is_batch_normalization_call',
           'is_batch_normalization_brick', 'batch_normalization_calls',
           'minibatch_estimates', 'as_graph', 'Statistics',
           'batch_normalization_statistics', 'training_statistics',
           'statistics_by_brick', 'per_step_estimate',
           'RECURRENT_BATCH_NORMALIZATION_METADATA']


#: The call metadata every batch normalization application records
#: (DESIGN.md section 5). Graph tools recognise batch normalization by it,
#: never by brick class, so that graph does not depend on bricks and any
#: brick that keeps this protocol (recurrent or masked variants) is found.
BATCH_NORMALIZATION_METADATA = ('training_mode', 'offset', 'divisor')
#: A recurrent application (statistics per time step, computed in its
#: loop) records ``loop_statistics`` instead of ``offset`` and ``divisor``
#: (see :func:`batch_normalization_statistics`).
RECURRENT_BATCH_NORMALIZATION_METADATA = ('training_mode', 'loop_statistics')


def is_batch_normalization_call(call):
    """Whether an application call recorded batch normalization metadata
    (:data:`BATCH_NORMALIZATION_METADATA`)."""
    return any(all(key in call.metadata for key in keys)
               for keys in (BATCH_NORMALIZATION_METADATA,
                            RECURRENT_BATCH_NORMALIZATION_METADATA))


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
    received, ``entry['input']`` is the first one, ``entry['outputs']``
    maps the output names to the outputs and ``entry['output']`` is the
    last. The steps of the graph's loops are searched too."""
    calls = OrderedDict()
    for variable in graph.variables + graph.scan_variables:
        if not has_roles(variable, [INPUT, OUTPUT]):
            continue
        call = get_annotation(variable, ApplicationCall)
        if call is None or not is_batch_normalization_call(call):
            continue
        entry = calls.setdefault(call, {'inputs': OrderedDict(),
                                        'outputs': OrderedDict()})
        if has_roles(variable, [INPUT]):
            entry['inputs'].setdefault(variable.tag.name, variable)
            entry.setdefault('input', variable)
        else:
            entry['outputs'].setdefault(variable.tag.name, variable)
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
            new_outputs = brick.apply(**inputs)
        new_outputs = OrderedDict(
            (output.tag.name, output)
            for output in (new_outputs if isinstance(new_outputs,
                                                     (list, tuple))
                           else [new_outputs]))
        replacements.extend((output, new_outputs[name])
                            for name, output in entry['outputs'].items())
    return graph.replace(replacements)


#: One normalization's minibatch statistics in a training graph: the
#: brick owning the population variables, the offset and divisor estimates
#: typed like them (divisor None for mean_only), and the number of
#: positions they average: a scalar, or one per row of a time axis.
Statistics = namedtuple('Statistics', ['brick', 'offset', 'divisor',
                                       'count'])


def training_statistics(graph, with_counts=False):
    """The :class:`Statistics` of every training-mode application of
    `graph`, in the graph's order (an empty list when it has none); see
    :func:`batch_normalization_statistics` for `with_counts`."""
    entries = batch_normalization_calls(graph)
    calls = [call for call in entries if call.metadata['training_mode']]
    return batch_normalization_statistics(graph, calls, entries,
                                          with_counts=with_counts)


def statistics_by_brick(records):
    """The :class:`Statistics` `records` grouped by brick: an ordered dict
    from each brick, in the order of its first record, to its records."""
    by_brick = OrderedDict()
    for record in records:
        by_brick.setdefault(record.brick, []).append(record)
    return by_brick


def _training_statistics(graph, allow_duplicates):
    """The :class:`Statistics` of every training-mode application; at
    least one, and one per brick unless `allow_duplicates`."""
    statistics = training_statistics(graph)
    if not statistics:
        raise ValueError('no training mode BatchNormalization applications '
                         'found in graph')
    if not allow_duplicates:
        repeated = [brick.path for brick, records
                    in statistics_by_brick(statistics).items()
                    if len(records) > 1]
        if repeated:
            raise ValueError(
                'multiple applications of the same BatchNormalization brick '
                '({}); pass allow_duplicates = True to override this check'
                .format(', '.join(repeated)))
    return statistics


def _position_count(brick, entry):
    """How many positions a (feedforward) application averages per
    feature: the real ones under a mask."""
    mask = entry['inputs'].get('mask')
    if mask is not None:
        return pt.cast(mask, 'float64').sum()
    return pt.cast(pt.prod([entry['input'].shape[axis]
                            for axis in brick.normalization_axes]),
                   'float64')


def _loop_node(call, entry):
    """The Scan node that computed a recurrent application's outputs in
    this graph (behind each output's tagged copy and buffer slice)."""
    for output in entry['outputs'].values():
        variable = output
        while variable.owner is not None:
            if is_scan_node(variable.owner):
                return variable.owner
            variable = variable.owner.inputs[0]
    raise ValueError('{}: the loop of a recurrent batch normalization is '
                     'missing from the graph'.format(
                         call.application.brick.path))


def per_step_estimate(population, stacked, counts):
    """Per-time-step statistics as an estimate of a population variable
    with a time axis.

    Step t estimates row ``min(t, T_max - 1)`` of the population
    (``T_max`` rows); the steps that share a row are averaged, weighted by
    their counts; a row no step of this batch reached (or only steps
    without real positions) keeps the population's value.

    Parameters
    ----------
    population : shared variable
        Shape ``(T_max, features)``.
    stacked : tensor variable
        The statistic of each step, ``(time, features)``.
    counts : tensor variable
        The number of real positions of each step, ``(time,)``.

    Returns
    -------
    estimate : tensor variable
        Typed like `population`.
    row_counts : tensor variable
        ``(T_max, 1)``: the positions behind each row.

    """
    rows = pt.minimum(pt.arange(stacked.shape[0]), population.shape[0] - 1)
    counts = pt.cast(counts, 'float64')
    row_counts = pt.inc_subtensor(
        pt.zeros((population.shape[0],), dtype='float64')[rows], counts)
    reached = pt.gt(counts, 0)[:, None]
    weighted = pt.switch(reached, pt.cast(stacked, 'float64'), 0.)
    sums = pt.inc_subtensor(
        pt.zeros_like(population, dtype='float64')[rows],
        counts[:, None] * weighted)
    estimate = pt.switch(row_counts[:, None] > 0,
                         sums / pt.maximum(row_counts, 1.)[:, None],
                         population)
    return (pt.specify_shape(pt.cast(estimate, population.dtype),
                             population.type.shape), row_counts[:, None])


def batch_normalization_statistics(graph, calls, entries=None,
                                   with_counts=False):
    """The :class:`Statistics` of training-mode calls, as computed *in this
    graph*.

    A feedforward application gives one record (see
    :func:`minibatch_estimates`). A recurrent one (metadata
    ``loop_statistics``: for each normalization, its brick and the indices
    of the per-step mean, stdev and count among its loop's outputs) gives
    one record per normalization, the per-step statistics turned into
    estimates of the population rows by :func:`per_step_estimate`.
    Feedforward counts (from the input's shape, or its mask) are computed
    only `with_counts`; they are None otherwise.
    """
    if entries is None:
        entries = batch_normalization_calls(graph)
    outer = set(graph.variables)
    for call in calls:
        if ('loop_statistics' not in call.metadata
                and entries[call]['output'] not in outer):
            raise ValueError(
                '{}: applied in training mode inside a loop, its statistics '
                'differ at every step and have no population to update; use '
                'a brick with per-step statistics (BatchNormalizedLSTM, '
                'RecurrentBatchNormalization) there'.format(
                    call.application.brick.path))
    feedforward = [call for call in calls
                   if 'loop_statistics' not in call.metadata]
    estimates = dict(zip(feedforward,
                         minibatch_estimates(graph, feedforward)))
    records = []
    for call in calls:
        entry = entries[call]
        if call in estimates:
            brick = call.application.brick
            offset, divisor = estimates[call]
            count = _position_count(brick, entry) if with_counts else None
            records.append(Statistics(brick, offset, divisor, count))
            continue
        outputs = _loop_node(call, entry).outputs
        for brick, mean, stdev, count in call.metadata['loop_statistics']:
            offset, row_counts = per_step_estimate(
                brick.population_mean, outputs[mean], outputs[count])
            divisor, _ = per_step_estimate(
                brick.population_stdev, outputs[stdev], outputs[count])
            records.append(Statistics(brick, offset, divisor, row_counts))
    return records


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
        application (only the mean pair for ``mean_only`` bricks). A
        recurrent application with per-step statistics (such as
        :class:`~blocks.bricks.recurrent.bn.BatchNormalizedLSTM`) gives one
        such pair per statistic of each of its normalizations, with the
        time axis: the estimate has the population's ``(T_max, features)``
        shape (see :func:`per_step_estimate`).

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
    pairs = []
    for record in _training_statistics(graph, allow_duplicates):
        pairs.append((record.brick.population_mean, record.offset))
        if not record.brick.mean_only:
            pairs.append((record.brick.population_stdev, record.divisor))
    return pairs


def _check_alpha(alpha):
    if isinstance(alpha, Variable):
        return
    if (isinstance(alpha, bool) or not isinstance(alpha, numbers.Real)
            or not 0 < alpha <= 1):
        raise ValueError('alpha must be in (0, 1], got {!r}'.format(alpha))


def get_population_moving_average_updates(training_graph, alpha=0.1,
                                          allow_duplicates=False,
                                          skip_nonfinite=True):
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
        minibatch statistics are not all finite (True by default): one
        exploding batch would otherwise make them NaN for good, and
        inference with them useless. PyTorch has no such guard (its
        running statistics take the NaN: pytorch/pytorch#88474, open).
        This protects the statistics only; to also leave the *parameters*
        alone on such a step, give the step rule
        ``CompositeRule([..., RemoveNotFinite()])``
        (:class:`~blocks.algorithms.RemoveNotFinite`).

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
    updates = []
    for brick, records in statistics_by_brick(
            _training_statistics(graph, allow_duplicates)).items():
        populations = [('offset', brick.population_mean)]
        if not brick.mean_only:
            populations.append(('divisor', brick.population_stdev))
        averaged = []
        for field, population in populations:
            values = [getattr(record, field) for record in records]
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
