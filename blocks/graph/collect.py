"""Packing the parameters of a graph into one shared vector."""
import numpy

from blocks.roles import add_role, COLLECTED, COLLECTOR
from blocks.utils import is_shared_variable, shared_floatx

__all__ = ['collect_parameters']


def collect_parameters(computation_graph, parameters):
    """Replace parameters by slices of a single shared vector.

    The values of the parameters are concatenated (flattened, in order)
    into a new shared vector named ``collected_parameters`` with role
    COLLECTOR; in the returned graph every parameter is replaced by its
    slice of that vector, reshaped, with role COLLECTED and
    ``tag.replacement_of`` pointing at the parameter. Training the new
    graph trains the vector; the original parameters keep their values.

    Parameters
    ----------
    computation_graph : :class:`~blocks.graph.ComputationGraph`
        The graph to rewrite.
    parameters : list of shared variables
        The parameters to collect; they must share one dtype.

    Returns
    -------
    :class:`~blocks.graph.ComputationGraph`
        The new graph.

    Raises
    ------
    ValueError
        If `parameters` is empty, holds something that is not a shared
        variable, or mixes dtypes.

    Examples
    --------
    >>> import numpy, pytensor, pytensor.tensor as pt
    >>> from blocks.graph import ComputationGraph
    >>> W = pytensor.shared(numpy.ones((2, 2)), name='W')
    >>> b = pytensor.shared(numpy.zeros(2), name='b')
    >>> x = pt.vector('x')
    >>> cg = collect_parameters(ComputationGraph(pt.dot(x, W) + b), [W, b])
    >>> [p.name for p in cg.shared_variables]
    ['collected_parameters']
    >>> cg.shared_variables[0].get_value()
    array([1., 1., 1., 1., 0., 0.])

    """
    parameters = list(parameters)
    if not parameters:
        raise ValueError('collect_parameters needs at least one parameter')
    for parameter in parameters:
        if not is_shared_variable(parameter):
            raise ValueError('can only collect shared variables, got {!r}'
                             .format(parameter))
    dtype = parameters[0].dtype
    for parameter in parameters:
        if parameter.dtype != dtype:
            raise ValueError(
                'cannot collect parameters of different dtypes: {} is {} '
                'but {} is {}'.format(parameters[0], dtype, parameter,
                                      parameter.dtype))
    values = [parameter.get_value(borrow=True) for parameter in parameters]
    collector = shared_floatx(
        numpy.concatenate([value.ravel() for value in values]),
        name='collected_parameters', dtype=dtype)
    add_role(collector, COLLECTOR)

    replacements = []
    start = 0
    for parameter, value in zip(parameters, values):
        stop = start + value.size
        collected = collector[start:stop].reshape(value.shape)
        add_role(collected, COLLECTED)
        collected.tag.replacement_of = parameter
        replacements.append((parameter, collected))
        start = stop
    return computation_graph.replace(replacements)
