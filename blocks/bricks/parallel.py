"""Bricks that apply copies of a prototype brick side by side.

:class:`Parallel` transforms several inputs, each with its own copy;
:class:`Fork` transforms one input into several outputs;
:class:`Distribute` adds transformations of one input to several others;
:class:`Merge` sums transformations of several inputs.

The prototype must have ``input_dim`` and ``output_dim`` attributes and an
``apply`` application (:class:`~blocks.bricks.Linear` by default for the
subclasses).
"""
from copy import deepcopy

from blocks.bricks.base import LazyNone, application, lazy
from blocks.bricks.interfaces import Initializable
from blocks.bricks.simple import Linear

__all__ = ['Parallel', 'Fork', 'Distribute', 'Merge']


def _refuse_derived(brick, attribute, source, value):
    """Subclasses derive some of Parallel's lists from a single value;
    the constructor's placeholder is fine, anything else is a mistake."""
    if value is not None and not isinstance(value, LazyNone):
        raise AttributeError('{}.{} follows {}; set {} instead'.format(
            type(brick).__name__, attribute, source, source))


class Parallel(Initializable):
    """Transform several inputs, each with its own copy of a prototype.

    Parameters
    ----------
    input_names : list of str
        The names of the inputs (and outputs) of ``apply``.
    input_dims : list of int
        The input dimension of each copy (lazy).
    output_dims : list of int
        The output dimension of each copy (lazy).
    prototype : :class:`~blocks.bricks.Feedforward`
        The brick to copy; the copies are named
        ``{child_prefix}_{input_name}``.
    child_prefix : str, optional
        ``'transform'`` by default.

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> from blocks.bricks import Linear
    >>> from blocks.initialization import Constant
    >>> parallel = Parallel(['a', 'b'], [2, 3], [1, 1],
    ...                     Linear(use_bias=False),
    ...                     weights_init=Constant(1))
    >>> parallel.initialize()
    >>> a, b = pt.matrix('a'), pt.matrix('b')
    >>> out_a, out_b = parallel.apply(a=a, b=b)
    >>> out_b.eval({b: numpy.ones((1, 3))})
    array([[3.]])

    """
    @lazy(allocation=['input_dims', 'output_dims'])
    def __init__(self, input_names, input_dims, output_dims, prototype,
                 child_prefix=None, **kwargs):
        input_names = list(input_names)
        if not input_names or len(set(input_names)) != len(input_names):
            raise ValueError('Parallel needs distinct input names, got '
                             '{}'.format(input_names))
        self.input_names = input_names
        self.prototype = prototype
        self.child_prefix = child_prefix or 'transform'
        self.transforms = []
        for name in input_names:
            child = deepcopy(prototype)
            child.name = '{}_{}'.format(self.child_prefix, name)
            self.transforms.append(child)
        children = self.transforms + list(kwargs.pop('children', None) or [])
        super().__init__(children=children, **kwargs)
        self.input_dims = input_dims
        self.output_dims = output_dims

    def _check_dims(self, attribute):
        dims = getattr(self, attribute)
        if isinstance(dims, LazyNone):
            return
        if len(dims) != len(self.input_names):
            raise ValueError('{}: {} needs one entry per input name {}, got '
                             '{}'.format(self.path, attribute,
                                         self.input_names, dims))

    def _push_allocation_config(self):
        super()._push_allocation_config()
        self._check_dims('input_dims')
        self._check_dims('output_dims')
        for input_dim, output_dim, child in zip(
                self.input_dims, self.output_dims, self.transforms):
            child.input_dim = input_dim
            child.output_dim = output_dim

    def _transform(self, inputs):
        """Apply each copy to the input of the same name; `inputs` is a
        dict from input names to variables."""
        missing = [name for name in self.input_names if name not in inputs]
        unknown = [name for name in inputs if name not in self.input_names]
        if missing or unknown:
            raise ValueError('{}: expected inputs {}, got {}'.format(
                self.path, self.input_names, sorted(inputs)))
        return [child.apply(inputs[name])
                for name, child in zip(self.input_names, self.transforms)]

    @application
    def apply(self, *args, **kwargs):
        """Transform the inputs, given by position (in the order of
        `input_names`) or by name; returns one output per input."""
        if len(args) > len(self.input_names):
            raise ValueError('{}: expected at most {} inputs, got {}'.format(
                self.path, len(self.input_names), len(args)))
        inputs = dict(zip(self.input_names, args))
        for name, value in kwargs.items():
            if name in inputs:
                raise ValueError('{}: input {} given twice'.format(
                    self.path, name))
            inputs[name] = value
        return self._transform(inputs)

    @apply.property('inputs')
    def apply_inputs(self):
        return self.input_names

    @apply.property('outputs')
    def apply_outputs(self):
        return self.input_names

    def get_dim(self, name):
        if name in self.input_names and \
                not isinstance(self.input_dims, LazyNone):
            return self.input_dims[self.input_names.index(name)]
        return super().get_dim(name)


class Fork(Parallel):
    """Several outputs, each a transformation of the same input.

    Parameters
    ----------
    output_names : list of str
        The names of the outputs; the copies are named ``fork_{name}``.
    input_dim : int
        The dimension of the input (lazy).
    prototype : :class:`~blocks.bricks.Feedforward`, optional
        The brick to copy; :class:`~blocks.bricks.Linear` by default.
    output_dims : list of int
        The dimension of each output (lazy keyword argument).

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> from blocks.initialization import Constant
    >>> fork = Fork(['mean', 'log_std'], input_dim=3, output_dims=[2, 4],
    ...             weights_init=Constant(1), biases_init=Constant(0))
    >>> fork.initialize()
    >>> x = pt.tensor3('x')  # (time, batch, features) works too
    >>> mean, log_std = fork.apply(x)
    >>> log_std.eval({x: numpy.ones((5, 1, 3))}).shape
    (5, 1, 4)

    """
    @lazy(allocation=['input_dim'])
    def __init__(self, output_names, input_dim, prototype=None, **kwargs):
        if prototype is None:
            prototype = Linear()
        kwargs.setdefault('child_prefix', 'fork')
        self.output_names = list(output_names)
        self.input_dim = input_dim
        super().__init__(output_names, prototype=prototype, **kwargs)

    @property
    def input_dims(self):
        return [self.input_dim] * len(self.output_names)

    @input_dims.setter
    def input_dims(self, value):
        _refuse_derived(self, 'input_dims', 'input_dim', value)

    @application(inputs=['input_'])
    def apply(self, input_):
        """Transform `input_` once per output name."""
        return self._transform({name: input_ for name in self.output_names})

    @apply.property('outputs')
    def apply_outputs(self):
        return self.output_names

    def get_dim(self, name):
        if name == 'input_':
            return self.input_dim
        if name in self.output_names and \
                not isinstance(self.output_dims, LazyNone):
            return self.output_dims[self.output_names.index(name)]
        return super().get_dim(name)


class Distribute(Fork):
    """Add a transformation of one variable (the source) to each of
    several others (the targets).

    Parameters
    ----------
    target_names : list of str
        The names of the targets, which are also those of the outputs.
    source_name : str
        The name of the source.
    \\*\\*kwargs
        ``input_dim`` (the source's dimension, also ``source_dim``),
        ``output_dims`` (the targets', also ``target_dims``) and
        ``prototype`` (``Linear(use_bias=False)`` by default); the copies
        are named ``fork_{target}``.

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> from blocks.initialization import Constant
    >>> distribute = Distribute(['a', 'b'], 'source', input_dim=2,
    ...                         output_dims=[1, 1], weights_init=Constant(1),
    ...                         biases_init=Constant(0))
    >>> distribute.initialize()
    >>> source, a, b = pt.matrix('source'), pt.matrix('a'), pt.matrix('b')
    >>> new_a, new_b = distribute.apply(source=source, a=a, b=b)
    >>> new_a.eval({source: [[1., 2.]], a: [[10.]]})
    array([[13.]])

    """
    @lazy()
    def __init__(self, target_names, source_name, **kwargs):
        if source_name in target_names:
            raise ValueError('Distribute: the source {!r} cannot also be a '
                             'target'.format(source_name))
        # As in Blocks: the copies are named fork_<target> and add no
        # biases (the targets usually have their own).
        if kwargs.get('prototype') is None:
            kwargs['prototype'] = Linear(use_bias=False)
        super().__init__(target_names, **kwargs)
        self.target_names = self.output_names
        self.source_name = source_name

    @property
    def source_dim(self):
        """Blocks' name of ``input_dim``: the dimension of the source."""
        return self.input_dim

    @source_dim.setter
    def source_dim(self, value):
        self.input_dim = value

    @property
    def target_dims(self):
        """Blocks' name of ``output_dims``: the targets' dimensions."""
        return self.output_dims

    @target_dims.setter
    def target_dims(self, value):
        self.output_dims = value

    @application
    def apply(self, **kwargs):
        """Add the transformed source to each target; all by name."""
        expected = [self.source_name] + self.target_names
        if sorted(kwargs) != sorted(expected):
            raise ValueError('{}: expected inputs {}, got {}'.format(
                self.path, expected, sorted(kwargs)))
        source = kwargs[self.source_name]
        transformed = self._transform(
            {name: source for name in self.target_names})
        return [kwargs[name] + value
                for name, value in zip(self.target_names, transformed)]

    @apply.property('inputs')
    def apply_inputs(self):
        return [self.source_name] + self.target_names

    @apply.property('outputs')
    def apply_outputs(self):
        return self.target_names

    def get_dim(self, name):
        if name == self.source_name:
            return self.input_dim
        return super().get_dim(name)


class Merge(Parallel):
    """The sum of transformations of several inputs.

    Parameters
    ----------
    input_names : list of str
        The names of the inputs.
    input_dims : list of int
        Their dimensions (lazy).
    output_dim : int
        The dimension of the output (lazy).
    prototype : :class:`~blocks.bricks.Feedforward`, optional
        The brick to copy; ``Linear(use_bias=False)`` by default.

    Examples
    --------
    >>> import numpy, pytensor.tensor as pt
    >>> from blocks.initialization import Constant
    >>> merge = Merge(['a', 'b'], [3, 4], output_dim=2,
    ...               weights_init=Constant(1))
    >>> merge.initialize()
    >>> a, b = pt.matrix('a'), pt.matrix('b')
    >>> merge.apply(a=a, b=b).eval({a: [[1., 1., 1.]],
    ...                             b: [[2., 2., 2., 2.]]})
    array([[11., 11.]])

    """
    @lazy(allocation=['input_dims', 'output_dim'])
    def __init__(self, input_names, input_dims, output_dim, prototype=None,
                 **kwargs):
        if prototype is None:
            prototype = Linear(use_bias=False)
        kwargs.setdefault('child_prefix', 'merge')
        super().__init__(input_names, input_dims, None, prototype,
                         **kwargs)
        self.output_dim = output_dim

    @property
    def output_dims(self):
        return [self.output_dim] * len(self.input_names)

    @output_dims.setter
    def output_dims(self, value):
        _refuse_derived(self, 'output_dims', 'output_dim', value)

    @application(outputs=['output'])
    def apply(self, *args, **kwargs):
        """Transform the inputs (by position or name) and sum them."""
        if len(args) > len(self.input_names):
            raise ValueError('{}: expected at most {} inputs, got {}'.format(
                self.path, len(self.input_names), len(args)))
        inputs = dict(zip(self.input_names, args))
        inputs.update(kwargs)
        transformed = self._transform(inputs)
        total = transformed[0]
        for value in transformed[1:]:
            total = total + value
        return total

    @apply.property('inputs')
    def apply_inputs(self):
        return self.input_names

    def get_dim(self, name):
        if name == 'output':
            return self.output_dim
        return super().get_dim(name)

