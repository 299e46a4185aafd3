import pickle
import threading

import numpy
import pytensor
import pytensor.tensor as pt
import pytest

from blocks.bricks import Linear, MLP, Tanh, Initializable, Random
from blocks.bricks.base import (Application, ApplicationCall,
                                BoundApplication, Brick, NoneAllocation,
                                NoneInitialization, application, lazy,
                                name_by_path)
from blocks.bricks.interfaces import LinearLike
from blocks.filter import get_application_call, get_brick
from blocks.graph import ComputationGraph
from blocks.initialization import Constant
from blocks.roles import (AUXILIARY, COST, INPUT, OUTPUT, PARAMETER, WEIGHT,
                          add_role, has_roles)
from blocks.utils import shared_floatx_nans


class Recorder(Brick):
    """Logs its lifecycle calls; has a lazy allocation and initialization
    argument."""
    @lazy(allocation=['dim'], initialization=['value'])
    def __init__(self, dim, value, **kwargs):
        super().__init__(**kwargs)
        self.dim = dim
        self.value = value
        self.log = []

    def _push_allocation_config(self):
        self.log.append('push_allocation')

    def _allocate(self):
        self.log.append('allocate')
        W = shared_floatx_nans((self.dim,), name='W')
        add_role(W, WEIGHT)
        self.parameters.append(W)

    def _push_initialization_config(self):
        self.log.append('push_initialization')

    def _initialize(self):
        self.log.append('initialize')
        self.parameters[0].set_value(
            numpy.full(self.dim, self.value, dtype=pytensor.config.floatX))

    @application(inputs=['x'], outputs=['y'])
    def apply(self, x):
        return x * self.parameters[0]


class Parent(Brick):
    def __init__(self, children, **kwargs):
        super().__init__(children=children, **kwargs)

    @application
    def apply(self, x):
        for child in self.children:
            x = child.apply(x)
        return x


class Stranger(Brick):
    """Calls another brick without making it a child."""
    def __init__(self, other, **kwargs):
        super().__init__(**kwargs)
        self.other = other

    @application
    def apply(self, x):
        return self.other.apply(x)


class Multi(Brick):
    @application(outputs=['sum', 'difference'])
    def apply(self, a, b, application_call):
        application_call.add_auxiliary_variable((a * b).sum(), [COST],
                                                name='product')
        application_call.metadata['seen'] = True
        return a + b, a - b

    @application
    def unnamed(self, *inputs):
        return list(inputs)

    @application(outputs=['only'])
    def too_many(self, a):
        return a, a

    @application(outputs=['scaled'])
    def call_first(self, application_call, a, scale=2):
        application_call.metadata['scale'] = scale
        return scale * a


class WithProperties(Brick):
    def __init__(self, input_names, **kwargs):
        super().__init__(**kwargs)
        self.input_names = input_names

    @application
    def apply(self, *args):
        return args[0]

    @apply.property('inputs')
    def apply_inputs(self):
        return self.input_names


class Delegating(Brick):
    def __init__(self, **kwargs):
        super().__init__(children=[Multi()], **kwargs)

    @application
    def apply(self, a, b):
        return self.children[0].apply(a, b)

    @apply.delegate
    def apply_delegate(self):
        return self.children[0].apply


def test_default_name_and_path():
    child = Brick()
    parent = Brick(name='parent', children=[child])
    assert child.name == 'brick'
    assert child.parents == [parent]
    assert child.get_unique_path() == [parent, child]
    assert child.path == '/parent/brick'


def test_unique_path_follows_smallest_parent_name():
    child = Brick(name='child')
    Brick(name='zeta', children=[child])
    alpha = Brick(name='alpha', children=[child])
    assert child.get_unique_path()[0] is alpha


def test_reassigning_children_updates_parents():
    first, second = Brick(name='first'), Brick(name='second')
    parent = Brick(name='parent', children=[first])
    parent.children = [second]
    assert first.parents == []
    assert second.parents == [parent]
    parent.children[0] = first
    assert second.parents == [] and first.parents == [parent]
    with pytest.raises(TypeError, match='/parent: children must be bricks'):
        parent.children.append('not a brick')


def test_lazy_arguments_become_placeholders():
    brick = Recorder()
    assert brick.dim is NoneAllocation
    assert brick.value is NoneInitialization
    assert not brick.dim and not brick.value
    assert brick.allocation_args == ['dim']
    assert brick.initialization_args == ['value']
    assert Recorder(3, 0.5).dim == 3
    assert Recorder(value=2).value == 2


def test_lazy_rejects_unknown_names():
    with pytest.raises(TypeError, match="'size' is not an argument"):
        class Broken(Brick):
            @lazy(allocation=['size'])
            def __init__(self, dim, **kwargs):
                super().__init__(**kwargs)


def test_lazy_arguments_accumulate_along_super_chain():
    linear = Linear()
    assert set(linear.allocation_args) == {'input_dim', 'output_dim'}
    mlp = MLP([Tanh()], None)
    assert mlp.allocation_args == ['dims']


def test_missing_allocation_config_names_brick_and_arguments():
    brick = Recorder(name='rec')
    parent = Brick(name='top', children=[brick])
    with pytest.raises(ValueError,
                       match='/top/rec: allocation config not set: dim'):
        parent.allocate()
    assert not parent.allocation_config_pushed
    with pytest.raises(ValueError, match=r'/lin.*not set: input_dim, '
                                         r'output_dim'):
        Linear(name='lin').allocate()


def test_missing_initialization_config():
    brick = Recorder(dim=2, name='rec')
    brick.allocate()
    with pytest.raises(ValueError,
                       match='/rec: initialization config not set: value'):
        brick.initialize()
    brick.value = 3.0
    brick.initialize()
    assert (brick.parameters[0].get_value() == 3).all()


def test_lifecycle_order():
    child = Recorder(dim=2, value=1.0, name='child')
    parent = Parent([child], name='parent')
    parent.initialize()
    assert child.log == ['push_allocation', 'allocate',
                         'push_initialization', 'initialize']
    assert child.allocated and child.initialized and parent.initialized
    assert child.allocation_config_pushed
    assert child.initialization_config_pushed
    # allocation resets the parameters and makes them NaN again
    child.allocate()
    assert len(child.parameters) == 1
    assert numpy.isnan(child.parameters[0].get_value()).all()


def test_parameters_get_role_and_brick():
    brick = Recorder(dim=2)
    brick.allocate()
    W, = brick.parameters
    assert W.tag.roles == [WEIGHT]
    assert has_roles(W, [PARAMETER])
    assert get_brick(W) is brick
    plain = pytensor.shared(0.0)
    brick.parameters.append(plain)
    assert plain.tag.roles == [PARAMETER]


class Gated(Brick):
    """Creates its parameters with Brick.add_parameter."""
    def _allocate(self):
        self.add_parameter('W', (2, 3), WEIGHT, norm=True)
        self.add_parameter('gate', (1, 3), PARAMETER,
                           broadcastable=(True, False))


def test_add_parameter_creates_tags_and_monitors():
    brick = Gated()
    brick.allocate()
    W, gate = brick.parameters
    assert W.name == 'W' and W.get_value().shape == (2, 3)
    assert numpy.isnan(W.get_value()).all()
    assert W.tag.roles == [WEIGHT] and get_brick(W) is brick
    assert gate.broadcastable == (True, False)
    norm, = brick.auxiliary_variables
    assert norm.name == 'W_norm' and has_roles(norm, [AUXILIARY])
    W.set_value(numpy.full((2, 3), 2.0, dtype=W.dtype))
    assert numpy.isclose(norm.eval(), numpy.sqrt(6 * 4.0))
    # allocating again starts from fresh parameters
    brick.allocate()
    assert brick.parameters[0] is not W and len(brick.parameters) == 2


def test_name_by_path():
    left, right = Recorder(dim=2, name='left'), Recorder(dim=2, name='right')
    top = Brick(name='top', children=[left, right])
    top.allocate()
    rate = pytensor.shared(0.1, name='rate')
    variables = [right.parameters[0], rate, left.parameters[0], rate]
    named = name_by_path(variables)
    assert list(named) == ['/top/right.W', 'rate', '/top/left.W']
    assert list(named.values()) == variables[:3]
    right.name = 'left'
    with pytest.raises(ValueError, match=r'different variables get the '
                                         r'same name: /top/left\.W; do two '
                                         r'sibling bricks share a name'):
        name_by_path([left.parameters[0], right.parameters[0]])
    with pytest.raises(ValueError, match='belongs to no brick and has no '
                                         'name'):
        name_by_path([pytensor.shared(0.)])


def test_get_dim_default_and_get_hierarchical_name():
    brick = Recorder(dim=2, name='rec')
    top = Brick(name='top', children=[brick])
    with pytest.raises(ValueError, match="/top/rec: no dimension .*'x'"):
        brick.get_dim('x')
    linear = Linear(3, 4)
    assert linear.get_dims(['input_', 'output']) == [3, 4]
    top.allocate()
    assert brick.get_hierarchical_name(brick.parameters[0]) == '/top/rec.W'
    assert brick.get_hierarchical_name(brick.parameters[0], '-') == \
        '-top-rec.W'


def test_application_tags_inputs_and_outputs():
    brick = Recorder(dim=2, name='rec')
    x = pt.vector('x')
    y = brick.apply(x)
    assert brick.allocated  # applying allocates
    assert y.name == 'rec_apply_y'
    assert y.tag.name == 'y'
    assert y.tag.roles == [OUTPUT]
    assert get_brick(y) is brick
    call = get_application_call(y)
    assert isinstance(call, ApplicationCall)
    assert call.application is brick.apply
    assert call.metadata['call_id'] is None
    input_copy = y.owner.inputs[0].owner.inputs[0]
    assert input_copy is not x
    assert input_copy.name == 'rec_apply_x'
    assert input_copy.tag.roles == [INPUT]
    assert get_application_call(input_copy) is call
    assert input_copy.owner.inputs == [x]
    assert not hasattr(x.tag, 'roles')  # the original stays untouched


def test_linear_input_name():
    y = Linear(2, 3).apply(pt.matrix())
    names = [var.name for var in ComputationGraph(y).variables
             if var.name is not None]
    assert 'linear_apply_input_' in names
    assert 'linear_apply_output' in names


def test_application_outputs_as_dict_list_and_call_id():
    brick = Multi()
    a, b = pt.vector('a'), pt.vector('b')
    total, difference = brick.apply(a, b)
    assert total.name == 'multi_apply_sum'
    assert difference.tag.name == 'difference'
    as_dict = brick.apply(a, b, as_dict=True)
    assert list(as_dict) == ['sum', 'difference']
    as_list = brick.apply(a, b=b, as_list=True)
    assert isinstance(as_list, list) and len(as_list) == 2
    tagged = brick.apply(a, b, call_id='second')
    assert get_application_call(tagged[0]).metadata['call_id'] == 'second'
    with pytest.raises(ValueError, match='as_dict and as_list'):
        brick.apply(a, b, as_dict=True, as_list=True)
    with pytest.raises(TypeError, match='/multi: bad arguments for '
                                        'application apply'):
        brick.apply(a)


def test_default_output_and_varargs_names():
    outputs = Multi().unnamed(pt.vector(), pt.vector())
    assert [out.name for out in outputs] == ['multi_unnamed_output_0',
                                            'multi_unnamed_output_1']
    assert outputs[1].owner.inputs[0].name == 'multi_unnamed_inputs_1'


def test_too_many_outputs():
    with pytest.raises(ValueError, match='/multi: unexpected outputs.*2 '
                                         'values.*1 outputs'):
        Multi().too_many(pt.vector())


def test_application_call_auxiliary_variables_and_metadata():
    brick = Multi()
    total, _ = brick.apply(pt.vector('a'), pt.vector('b'))
    call = get_application_call(total)
    assert call.metadata['seen'] is True
    product, = call.auxiliary_variables
    assert product.name == 'multi_apply_product'
    assert product.tag.name == 'product'
    assert has_roles(product, [AUXILIARY, COST], match_all=True)
    assert get_brick(product) is brick
    assert product in ComputationGraph(total).variables


def test_call_injected_before_positional_arguments():
    brick = Multi()
    a = pt.vector('a')
    for scaled in (brick.call_first(a, 3), brick.call_first(a, scale=3),
                   brick.call_first(a=a, scale=3)):
        assert get_application_call(scaled).metadata['scale'] == 3
        numpy.testing.assert_allclose(scaled.eval({a: [1.]}), [3.])


def test_calling_a_non_child_names_both_bricks():
    caller = Stranger(Recorder(dim=2, name='outsider'), name='boss')
    with pytest.raises(ValueError, match='/boss .*application apply of '
                                         'brick /outsider.*not in the '
                                         'list of its children'):
        caller.apply(pt.vector())
    assert Application.call_stack == []  # the stack is clean afterwards
    # a child may be called
    child = Recorder(dim=2, name='child')
    Parent([child], name='parent').apply(pt.vector())


def test_application_class_access_and_binding():
    assert isinstance(Recorder.apply, Application)
    brick = Recorder(dim=2)
    assert isinstance(brick.apply, BoundApplication)
    assert brick.apply is brick.apply  # cached
    assert brick.apply.brick is brick
    assert brick.apply.name == 'apply'
    assert Recorder.apply.inputs == ['x']
    assert brick.apply.outputs == ['y']
    assert Multi.apply.inputs == ['a', 'b']  # application_call is injected
    y = Recorder.apply(brick, pt.vector())
    assert get_brick(y) is brick
    with pytest.raises(TypeError, match='must be called on a brick'):
        Recorder.apply(object(), pt.vector())


def test_application_decorator_misuse():
    with pytest.raises(TypeError, match='use @application'):
        application(1, 2)


def test_application_rejects_unknown_keywords():
    with pytest.raises(TypeError,
                       match=r"Misspelt\.apply: @application got unknown "
                             r"keyword 'ouputs'; expected some of inputs, "
                             r"outputs"):
        class Misspelt(Brick):
            @application(ouputs=['y'])
            def apply(self, x):
                return x


def test_application_stores_recurrent_keywords():
    class Step(Brick):
        @application(sequences=['x'], states=['h'], contexts=['c'],
                     outputs=['h'])
        def apply(self, x, h, c):
            return x + h + c

    assert Step.apply.sequences == ['x']
    assert Step.apply.states == ['h']
    assert Step.apply.contexts == ['c']
    assert Step().apply.states == ['h']


def test_property_and_delegate():
    brick = WithProperties(['first', 'second'])
    assert brick.apply.inputs == ['first', 'second']
    assert WithProperties(['x']).apply.inputs == ['x']
    delegating = Delegating()
    assert delegating.apply.outputs == ['sum', 'difference']
    assert delegating.apply.inputs == ['a', 'b']


def test_pickling_bricks_and_bound_applications():
    mlp = MLP([Tanh(), None], [2, 3, 1], weights_init=Constant(1.0),
              biases_init=Constant(0.0))
    mlp.initialize()
    x = pt.matrix('x')
    mlp.apply(x)
    copy = pickle.loads(pickle.dumps(mlp))
    assert [child.name for child in copy.children] == [
        'linear_0', 'tanh', 'linear_1']
    assert copy.children[0].parents == [copy]
    assert isinstance(copy.apply, BoundApplication)
    assert copy.apply.brick is copy
    assert copy.application_methods[0].brick is copy.children[0]
    numpy.testing.assert_array_equal(
        copy.linear_transformations[0].W.get_value(), numpy.ones((2, 3)))
    # pickling a child first reaches its parent (and the parent's bound
    # applications of the child) before the child's state
    child = pickle.loads(pickle.dumps(mlp.children[0]))
    assert child.apply.brick is child
    assert child.parents[0].application_methods[0] is child.apply
    bound = pickle.loads(pickle.dumps(mlp.apply))
    assert isinstance(bound, BoundApplication) and bound.name == 'apply'
    assert pickle.loads(pickle.dumps(MLP.apply)) is MLP.apply
    # new applications of an unpickled brick work
    y = copy.apply(x)
    numpy.testing.assert_allclose(
        y.eval({x: numpy.ones((1, 2), dtype=x.dtype)}),
        [[3 * numpy.tanh(2.0)]], rtol=1e-6)


def test_pickling_a_graph_output():
    y = Recorder(dim=2, name='rec').apply(pt.vector('x'))
    copy = pickle.loads(pickle.dumps(y))
    assert get_brick(copy).name == 'rec'
    assert get_application_call(copy).application.brick is get_brick(copy)


class Layer(LinearLike):
    def __init__(self, dim, **kwargs):
        super().__init__(**kwargs)
        self.dim = dim

    def _allocate(self):
        self.parameters.append(shared_floatx_nans((self.dim, self.dim),
                                                  name='W'))
        if self.use_bias:
            self.parameters.append(shared_floatx_nans((self.dim,), name='b'))


class Stack(Initializable):
    def __init__(self, layers, **kwargs):
        super().__init__(children=layers, **kwargs)


def test_initializable_pushes_schemes_rng_and_use_bias():
    layers = [Layer(2, name='a'), Layer(2, name='b',
                                       weights_init=Constant(5))]
    stack = Stack(layers, weights_init=Constant(1), biases_init=Constant(2),
                  use_bias=True, seed=7)
    stack.initialize()
    for layer in layers:
        assert layer.rng is stack.rng
        assert (layer.W.get_value() == 1).all()  # the parent's value wins
        assert (layer.b.get_value() == 2).all()
    no_bias = Stack([Layer(2)], use_bias=False, weights_init=Constant(1))
    no_bias.initialize()
    assert len(no_bias.children[0].parameters) == 1
    with pytest.raises(AttributeError, match='no biases'):
        no_bias.children[0].b


def test_initializable_without_scheme_names_brick():
    layer = Layer(2, name='lonely')
    with pytest.raises(ValueError, match='/lonely: biases_init is not set'):
        layer.initialize()


def test_seeds():
    assert Layer(2, seed=3).seed == 3
    assert Layer(2, seed=3).rng.randint(1000) == \
        numpy.random.RandomState(3).randint(1000)
    first, second = Layer(2), Layer(2)
    assert first.seed != second.seed
    layer = Layer(2)
    layer.rng
    with pytest.raises(AttributeError, match='cannot change'):
        layer.seed = 4


def test_random_brick():
    first, second = Random(), Random()
    assert first.theano_seed != second.theano_seed
    assert Random(theano_seed=5).theano_seed == 5
    sample = first.theano_rng.uniform(0, 1, size=(3,))
    function = pytensor.function([], sample)
    assert not numpy.array_equal(function(), function())
    one = Random(theano_seed=5).theano_rng.normal(0, 1, size=(2,)).eval()
    two = Random(theano_seed=5).theano_rng.normal(0, 1, size=(2,)).eval()
    numpy.testing.assert_array_equal(one, two)
    copy = pickle.loads(pickle.dumps(first))
    assert copy.theano_seed == first.theano_seed


class ThreadedBuilder(Brick):
    """While its application runs, another thread applies a brick that is
    not its child."""
    def __init__(self, other, **kwargs):
        super().__init__(**kwargs)
        self.other = other

    @application
    def apply(self, x):
        outcome = {}

        def build():
            try:
                outcome['output'] = self.other.apply(x)
            except ValueError as error:
                outcome['error'] = error
        thread = threading.Thread(target=build)
        thread.start()
        thread.join()
        if 'error' in outcome:
            raise outcome['error']
        return outcome['output']


def test_each_thread_has_its_own_call_stack():
    # The other thread's application has no caller: the bricks running
    # here are not its callers.
    output = ThreadedBuilder(Recorder(dim=2, name='elsewhere')).apply(
        pt.vector('x'))
    assert get_brick(output).name == 'threadedbuilder'
    assert Application.call_stack == []


class Configured(Brick):
    @lazy(allocation=['size'])
    def __init__(self, size, **kwargs):
        super().__init__(**kwargs)
        self.size = size

    def _allocate(self):
        self.parameters.append(shared_floatx_nans((self.size,), name='v'))

    @application(inputs=['x'], outputs=['y'])
    def apply(self, x):
        return x

    @apply.property('everything')
    def apply_everything(self):
        return self.apply.inputs + self.apply.outputs


def test_lazy_argument_given_twice_raises_value_error():
    with pytest.raises(ValueError, match='Configured: size given both by '
                       'position and by keyword'):
        Configured(3, size=3)


def test_parameters_exist_from_allocation_on():
    brick = Configured(2, name='late')
    assert not hasattr(brick, 'parameters')
    with pytest.raises(AttributeError, match='/late: parameters do not exist '
                       'before allocation'):
        brick.parameters
    assert brick.persistent_variables == []
    brick.allocate()
    assert [p.name for p in brick.parameters] == ['v']


def test_application_properties_cannot_be_set_on_the_class():
    assert Configured(1).apply.everything == ['x', 'y']
    with pytest.raises(AttributeError, match='everything of application '
                       'apply is a property'):
        Configured.apply.everything = ['w']
    brick = Configured(1)
    brick.apply.inputs = ['x', 'z']  # per-brick values stay settable
    assert brick.apply.everything == ['x', 'z', 'y']
    assert Configured(1).apply.inputs == ['x']


def test_decorators_class_attribute_applies_to_the_subclass():
    seen = []

    def record(cls):
        seen.append(cls.__name__)
        return cls

    class Decorated(Configured):
        decorators = [record]

    class Inheriting(Decorated):
        pass

    assert seen == ['Decorated']  # listed in its own body only


def test_a_wider_float_input_than_the_parameters_is_refused():
    from blocks.config import config
    linear = Linear(2, 3, name='linear')
    with pytensor.config.change_flags(floatX='float32'):
        linear.allocate()
    assert linear.parameters[0].dtype == 'float32'
    wide_input = pt.matrix('x', dtype='float64')
    with pytest.raises(TypeError,
                       match=r"/linear: the input 'input_' of apply is "
                             r"float64 but the brick's parameters are "
                             r"float32.*allow_input_upcast"):
        linear.apply(wide_input)
    assert linear.apply(pt.matrix('x', dtype='float32')).dtype == 'float32'
    saved = config.allow_input_upcast
    config.allow_input_upcast = True
    try:
        assert linear.apply(wide_input).dtype == 'float64'
    finally:
        config.allow_input_upcast = saved
