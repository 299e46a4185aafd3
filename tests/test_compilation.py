import json
import os
import pathlib
import socket
import subprocess
import sys
import warnings

import numpy
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.compile.mode import get_mode
from pytensor.graph.fg import FunctionGraph
from pytensor.scan.op import Scan

from blocks.bricks import Rectifier
from blocks.bricks.conv import (Convolutional, ConvolutionalSequence,
                                MaxPooling)
from blocks.compilation import (DeviceResidentUpdates, ScanInnerClients,
                                SourceFunction, auto_mode,
                                compile_function, compile_tiered_function,
                                default_mode, pytensor_flags)
from blocks.config import Configuration, config
from blocks.initialization import Constant
from blocks.ops.vectorized import VectorizedUnary
from blocks.utils.random_streams import RandomStream
from tests.training_helpers import tiering_held


@pytest.fixture
def compile_mode():
    """Restore the compile_mode setting after a test changes it."""
    saved = config.compile_mode
    yield
    config.compile_mode = saved


def softmax_regression_step():
    """A softmax-regression SGD step: inputs, outputs, updates, data and the
    weight shared variable."""
    rng = numpy.random.RandomState(1)
    floatx = pytensor.config.floatX
    weights = pytensor.shared(rng.normal(size=(5, 3)).astype(floatx),
                              name='W')
    x = pt.matrix('x')
    y = pt.ivector('y')
    probabilities = pt.special.softmax(x @ weights, axis=-1)
    cost = -pt.log(probabilities[pt.arange(y.shape[0]), y]).mean()
    gradient = pytensor.grad(cost, weights)
    data = [rng.normal(size=(4, 5)).astype(floatx),
            numpy.array([0, 2, 1, 2], dtype='int32')]
    return ([x, y], [cost, probabilities],
            [(weights, weights - 0.5 * gradient)], data, weights)


def run_twice(compile_):
    inputs, outputs, updates, data, weights = softmax_regression_step()
    function = compile_(inputs, outputs, updates=updates)
    first = function(*data)
    second = function(*data)
    return first + second + [weights.get_value()]


def numpy_step(data, weights):
    x, y = data
    logits = x @ weights
    exp = numpy.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities = exp / exp.sum(axis=1, keepdims=True)
    cost = -numpy.log(probabilities[numpy.arange(len(y)), y]).mean()
    one_hot = numpy.eye(3)[y]
    gradient = x.T @ (probabilities - one_hot) / len(y)
    return cost, probabilities, weights - 0.5 * gradient


def test_auto_mode_gives_pytensor_numbers():
    *_, data, weights = softmax_regression_step()
    initial = weights.get_value()
    ours = run_twice(compile_function)
    # The same graph with PyTensor's own C mode.
    c_mode = run_twice(lambda *a, **k: pytensor.function(*a, mode='CVM', **k))
    for value, reference in zip(ours, c_mode):
        numpy.testing.assert_allclose(value, reference, rtol=1e-6, atol=1e-7)
    cost, probabilities, after_one = numpy_step(data, initial)
    after_two = numpy_step(data, after_one)[2]
    numpy.testing.assert_allclose(ours[0], cost, rtol=1e-5)
    numpy.testing.assert_allclose(ours[1], probabilities, rtol=1e-5)
    numpy.testing.assert_allclose(ours[4], after_two, rtol=1e-5, atol=1e-6)


def test_named_mode_is_pytensors_mode(compile_mode):
    config.compile_mode = 'FAST_COMPILE'
    assert default_mode() is get_mode('FAST_COMPILE')
    ours = run_twice(compile_function)
    plain = run_twice(
        lambda *a, **k: pytensor.function(*a, mode='FAST_COMPILE', **k))
    for value, reference in zip(ours, plain):
        numpy.testing.assert_array_equal(value, reference)


def test_compile_function_honours_the_setting(compile_mode):
    x = pt.vector('x')
    config.compile_mode = 'FAST_COMPILE'
    function = compile_function([x], 2 * x)
    assert function.maker.mode is get_mode('FAST_COMPILE')
    config.compile_mode = 'auto'
    function = compile_function([x], 2 * x)
    assert function.maker.mode is default_mode()
    assert type(function.maker.linker).__name__ == 'VMLinker'


def test_explicit_mode_wins_over_the_setting(compile_mode):
    x = pt.vector('x')
    config.compile_mode = 'auto'
    function = compile_function([x], 2 * x, mode='FAST_COMPILE')
    assert function.maker.mode is get_mode('FAST_COMPILE')


def test_setting_from_the_environment():
    configuration = Configuration(
        environ={'BLOCKS_COMPILE_MODE': 'NUMBA'}, user_file='/nonexistent')
    assert configuration.compile_mode == 'NUMBA'
    assert Configuration(environ={}, user_file='/nonexistent'
                         ).compile_mode == 'auto'


def test_auto_mode_compiles_softmax_with_the_c_linker():
    x = pt.matrix('x')
    function = compile_function([x], pt.special.log_softmax(x, axis=-1))
    names = [type(node.op).__name__
             for node in function.maker.fgraph.apply_nodes]
    assert 'LogSoftmax' not in names and 'Softmax' not in names
    value = numpy.array([[1.0, 2.0, 3.0]], dtype=x.dtype)
    expected = value - numpy.log(numpy.exp(value).sum())
    numpy.testing.assert_allclose(function(value), expected, rtol=1e-6)


def test_auto_mode_updates_large_parameters_in_place():
    rng = numpy.random.RandomState(2)
    floatx = pytensor.config.floatX
    large = pytensor.shared(rng.normal(size=(256, 256)).astype(floatx))
    small = pytensor.shared(rng.normal(size=(256, 1)).astype(floatx))
    x = pt.matrix('x')
    cost = ((x @ large @ small) ** 2).mean()
    # The forward and backward products read both parameters, which
    # PyTensor's fast cycle detection alone would refuse to overwrite.
    updates = [(parameter, parameter - 0.1 * gradient) for parameter, gradient
               in zip((large, small), pytensor.grad(cost, [large, small]))]
    step = compile_function([x], [], updates=updates)
    buffers = [parameter.get_value(borrow=True) for parameter in (large,
                                                                  small)]
    expected = [buffer - 0.1 * gradient for buffer, gradient in zip(
        buffers, pytensor.function([x], pytensor.grad(cost, [large, small]),
                                   mode='FAST_COMPILE')(
            numpy.ones((2, 256), dtype=floatx)))]
    step(numpy.ones((2, 256), dtype=floatx))
    assert large.get_value(borrow=True) is buffers[0]
    assert small.get_value(borrow=True) is not buffers[1]
    for parameter, value in zip((large, small), expected):
        numpy.testing.assert_allclose(parameter.get_value(), value,
                                      rtol=1e-4)


def test_source_function_feeds_each_input_from_its_source():
    x, y = pt.vector('x'), pt.vector('y')
    difference = SourceFunction([x, y], x - y,
                                missing_message='{missing} of {needed}')
    floatx = pytensor.config.floatX
    batch = {'y': numpy.array([1, 2], floatx), 'x': numpy.array([5, 5],
                                                                floatx),
             'unused': None}
    assert difference.input_names == ('x', 'y')
    numpy.testing.assert_array_equal(difference(batch), [4, 3])
    with pytest.raises(ValueError, match=r"^\['y'\] of \['x', 'y'\]$"):
        difference({'x': batch['x']})


def test_source_function_needs_named_inputs():
    with pytest.raises(ValueError, match='have no name; name each input'):
        SourceFunction([pt.vector()], pt.vector().sum())


def test_every_auto_mode_compiles_with_its_own_flags(monkeypatch):
    # The flags come with the mode, not with the one default_mode caches.
    seen = []

    def spy(*args, **kwargs):
        seen.append(pytensor.config.cycle_detection)
    monkeypatch.setattr(pytensor, 'function', spy)
    x = pt.vector('x')
    compile_function([x], 2 * x, mode=auto_mode())
    compile_function([x], 2 * x, mode=auto_mode().excluding('fusion'))
    compile_function([x], 2 * x, mode=get_mode('FAST_RUN'))
    assert seen == ['fast', 'fast', pytensor.config.cycle_detection]


def test_scans_compile_their_step_with_the_auto_mode_too():
    # A tanh recurrence and its gradient: two scans built without a mode.
    floatx = pytensor.config.floatX
    weight = pytensor.shared(numpy.asarray(0.5, dtype=floatx), name='w')
    x = pt.matrix('x')
    states = pytensor.scan(lambda x_t, h: pt.tanh(x_t + weight * h),
                           sequences=[x], outputs_info=[pt.zeros_like(x[0])],
                           return_updates=False)
    gradient = pytensor.grad(states.sum(), weight)
    function = compile_function([x], [states, gradient])
    scans = [node.op for node in function.maker.fgraph.toposort()
             if isinstance(node.op, Scan)]
    assert len(scans) == 2
    assert all(op.mode is default_mode() for op in scans)
    assert states.owner.inputs[0].owner.op.mode is None  # graph untouched
    inner = scans[0].fn.maker.fgraph.toposort()
    assert any(isinstance(node.op, VectorizedUnary) for node in inner)

    data = numpy.random.RandomState(0).normal(size=(4, 3)).astype(floatx)
    h, reference = numpy.zeros(3), []
    for row in data:
        h = numpy.tanh(row + 0.5 * h)
        reference.append(h)
    ours, _ = function(data)
    numpy.testing.assert_allclose(ours, reference, rtol=1e-5)


def test_scan_steps_get_clients_for_the_inputs_they_never_read():
    x = pt.matrix('x')
    # The step ignores the previous value of its second state.
    states, doubled = pytensor.scan(
        lambda x_t, h, ignored: (h + x_t, 2 * x_t), sequences=[x],
        outputs_info=[pt.zeros_like(x[0])] * 2, return_updates=False)
    graph = FunctionGraph([x], [states, doubled], clone=False)
    node, = [node for node in graph.apply_nodes
             if isinstance(node.op, Scan)]
    step = node.op.fgraph
    missing = [var for var in step.inputs if var not in step.clients]
    assert ScanInnerClients().apply(graph) == len(missing)
    assert all(step.clients[var] == [] for var in missing)
    assert all(var in step.clients for var in step.inputs)


def test_jax_mode_gives_numpy_values(compile_mode):
    pytest.importorskip('jax')
    config.compile_mode = 'jax'
    inputs, outputs, updates, data, weights = softmax_regression_step()
    initial = weights.get_value()
    step = compile_function(inputs, outputs, updates=updates)
    cost, probabilities = step(*data)
    step(*data)
    trained = weights.get_value(borrow=True)
    for value in (cost, probabilities, trained):
        assert type(value) is numpy.ndarray
    expected_cost, _, after_one = numpy_step(data, initial)
    numpy.testing.assert_allclose(cost, expected_cost, rtol=1e-5)
    numpy.testing.assert_allclose(trained, numpy_step(data, after_one)[2],
                                  rtol=1e-5, atol=1e-6)
    # Writable: the C mode may update it in place.
    assert trained.flags.writeable
    config.compile_mode = 'auto'
    numpy.testing.assert_allclose((2 * weights).eval(), 2 * trained)


def test_jax_mode_keeps_updated_parameters_on_device(compile_mode):
    pytest.importorskip('jax')
    config.compile_mode = 'jax'
    x = pt.matrix('x')
    start = numpy.arange(6, dtype=x.dtype).reshape(3, 2)
    w = pytensor.shared(start.copy(), name='w')
    step = compile_function([x], [], updates=[(w, 2 * w + x)])
    ones = numpy.ones_like(start)
    step(ones)
    held = w.get_value(borrow=True)
    step(ones)
    # The variable keeps its own writeable array, JAX the same memory.
    assert w.get_value(borrow=True) is held and held.flags.writeable
    numpy.testing.assert_allclose(held, 4 * start + 3)
    held[0] = -1  # as the C mode's in-place updates would
    step(ones)
    numpy.testing.assert_allclose(w.get_value()[0], [-1, -1])
    w.set_value(start)
    step(ones)
    numpy.testing.assert_allclose(w.get_value(), 2 * start + 1)


def test_device_copies_are_not_kept_where_jax_copies():
    jax = pytest.importorskip('jax')
    placed = []

    def copying_device_put(value):  # as onto a GPU: other memory
        placed.append(value)
        return jax.device_put(numpy.array(value) + 0)
    resident = DeviceResidentUpdates({0: 1}, copying_device_put)
    for step in range(2):
        value = resident.new_value(0, jax.numpy.full(3, step, 'float32'))
        numpy.testing.assert_allclose(value, [step] * 3)
    assert len(placed) == 1 and resident.copied == {1}
    inputs = ['batch', value]
    assert resident.inputs(inputs) is inputs
    assert resident.new_value(1, value) is None  # not an update output


def test_jax_mode_checks_the_class_labels(compile_mode):
    jax = pytest.importorskip('jax')
    from blocks.bricks.cost import CategoricalCrossEntropy
    config.compile_mode = 'jax'
    y, y_hat = pt.lvector('y'), pt.matrix('y_hat')
    cost = compile_function([y, y_hat], CategoricalCrossEntropy(
        name='cost').apply(y, y_hat))
    probabilities = numpy.full((2, 3), 1 / 3, dtype=y_hat.dtype)
    numpy.testing.assert_allclose(cost([0, 2], probabilities), numpy.log(3),
                                  rtol=1e-5)
    for labels in ([0, 3], [-1, 0]):
        with pytest.raises(jax.errors.JaxRuntimeError,
                           match='/cost: class labels must lie in'):
            cost(labels, probabilities)


def test_jax_mode_draws_random_numbers_quietly(compile_mode):
    pytest.importorskip('jax')
    config.compile_mode = 'jax'
    sample = RandomStream(1).uniform(size=(3,))
    with warnings.catch_warnings():
        warnings.simplefilter('error', UserWarning)
        draw = compile_function([], sample)
    first, second = draw(), draw()
    assert not numpy.array_equal(first, second)
    assert ((first >= 0) & (first < 1)).all()


# Bad input refused before it reaches a compiled function

def test_uninitialized_bricks_are_refused_before_compiling():
    from blocks.bricks import MLP, Tanh
    from blocks.graph import ComputationGraph
    from blocks.initialization import Constant
    mlp = MLP([Tanh(), Tanh()], [2, 3, 1], name='mlp',
              weights_init=Constant(1), biases_init=Constant(0))
    x = pt.matrix('x')
    y = mlp.apply(x)  # allocates, never initializes
    graph = ComputationGraph(y)
    with pytest.raises(ValueError,
                       match=r'never initialized.*: /mlp/linear_0 \(W, b\), '
                             r'/mlp/linear_1 \(W, b\); call initialize'):
        graph.get_function()
    # A brick whose values were set by hand is not refused, even when
    # another one of the graph still is.
    for parameter in mlp.linear_transformations[0].parameters:
        parameter.set_value(numpy.zeros_like(parameter.get_value()))
    with pytest.raises(ValueError, match=r'NaN: /mlp/linear_1 \(W, b\);'):
        graph.get_function()
    mlp.initialize()
    assert graph.get_function()(numpy.ones((1, 2), dtype=x.dtype))[0].shape \
        == (1, 1)


def test_sources_with_different_numbers_of_rows_are_refused(set_checks):
    x, y = pt.matrix('x'), pt.matrix('y')
    function = SourceFunction([x, y], x.sum() + y.sum())
    floatx = pytensor.config.floatX
    batch = {'x': numpy.ones((8, 2), floatx), 'y': numpy.ones((5, 1), floatx)}
    with pytest.raises(ValueError,
                       match=r'different numbers of rows: x has 8, y has 5'):
        function(batch)
    set_checks(check_batch_rows=False)
    assert float(function(batch)) == 21.0  # on purpose: allowed


@pytest.fixture
def set_checks():
    saved = {}

    def set_(**settings):
        for name, value in settings.items():
            saved.setdefault(name, getattr(config, name))
            setattr(config, name, value)
    yield set_
    for name, value in saved.items():
        setattr(config, name, value)


def test_a_failing_function_names_the_brick_and_the_shapes():
    from blocks.bricks import MLP, Tanh
    from blocks.initialization import Constant
    mlp = MLP([Tanh(), Tanh()], [6, 5, 3], name='mlp',
              weights_init=Constant(0.1), biases_init=Constant(0))
    mlp.initialize()
    x = pt.matrix('x')
    function = SourceFunction([x], mlp.apply(x).sum())
    with pytest.raises(ValueError,
                       match=r'not aligned.*built by /mlp/linear_0 .*'
                             r'input shapes \(8, 7\), \(6, 5\)'):
        function({'x': numpy.ones((8, 7), dtype=x.dtype)})


def test_a_failing_convolution_names_its_brick_and_the_shapes():
    # The convolution checks its image's channels in an operation of no
    # annotation of its own (rewrites keep only the parameters'); the
    # filters it consumes next name the brick.
    net = ConvolutionalSequence(
        [Convolutional((3, 3), 4, name='conv'), Rectifier(),
         MaxPooling((2, 2))], num_channels=3, name='net',
        weights_init=Constant(0.1), biases_init=Constant(0))
    net.initialize()
    x = pt.tensor4('features')
    function = SourceFunction([x], net.apply(x).sum())
    images = numpy.ones((2, 2, 8, 8), dtype=x.dtype)
    with pytest.raises(AssertionError,
                       match=r'^SpecifyShape: dim 1 of input has shape 2, '
                             r'expected 3.*built by /net/conv .*input '
                             r'shapes \(2, 2, 8, 8\)'):
        function({'features': images})


def test_data_parallel_training_matches_one_device():
    # A BN-MLP and a LeNet with spatial BN, trained on 1 and on 4
    # simulated devices, and per-device statistics against NumPy's
    # (tests/data_parallel_training.py).
    pytest.importorskip('jax')
    root = pathlib.Path(__file__).resolve().parent.parent
    environment = dict(
        os.environ, PYTHONPATH=str(root), BLOCKS_FLOATX='float64',
        XLA_FLAGS='--xla_force_host_platform_device_count=4')
    finished = subprocess.run(
        [sys.executable, '-m', 'tests.data_parallel_training'], cwd=root,
        env=environment, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr[-3000:]
    result = json.loads(finished.stdout.splitlines()[-1])
    assert result['devices'] == 4
    # Sums in another order: float64 rounding, nothing more.
    assert result['bn_mlp'] < 1e-10
    assert result['bn_lenet'] < 1e-10
    # Per-device ("ghost") statistics: each shard's own, as NumPy's.
    assert result['ghost_bn'] < 1e-10
    assert result['ghost_spatial_bn'] < 1e-10


def free_port():
    with socket.socket() as probe:
        probe.bind(('localhost', 0))
        return probe.getsockname()[1]


def test_data_parallel_training_over_two_processes():
    # jax.distributed on localhost, one CPU device per process, JAX's gloo
    # collectives (tests/multi_host_training.py): the same parameters as
    # one process alone.
    pytest.importorskip('jax')
    root = pathlib.Path(__file__).resolve().parent.parent
    environment = dict(os.environ, PYTHONPATH=str(root),
                       BLOCKS_FLOATX='float64')
    environment.pop('XLA_FLAGS', None)
    port = str(free_port())
    workers = [subprocess.Popen(
        [sys.executable, '-m', 'tests.multi_host_training', port, rank],
        cwd=root, env=environment, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True) for rank in ('0', '1')]
    for worker in workers:
        output, errors = worker.communicate(timeout=600)
        assert worker.returncode == 0, errors[-3000:]
        result = json.loads(output.splitlines()[-1])
        assert result['devices'] == 2
        assert result['bn_mlp'] < 1e-10


@pytest.fixture
def tiering():
    with tiering_held() as release:
        yield release


def _has_c_thunks(function):
    return any(hasattr(thunk, 'cthunk') for thunk in function.vm.thunks)


def test_tiered_function_steps_alike_in_both_tiers(tiering):
    inputs, outputs, updates, data, weights = softmax_regression_step()
    initial = weights.get_value()
    function = compile_tiered_function(inputs, outputs, updates=updates)
    assert function.tier == 'first'
    assert not _has_c_thunks(function)
    first = function(*data)
    tiering.set()
    assert function.wait() == 'final'
    assert function.maker.mode is default_mode()
    assert _has_c_thunks(function)
    second = function(*data)
    cost, probabilities, after_one = numpy_step(data, initial)
    again_cost, _, after_two = numpy_step(data, after_one)
    numpy.testing.assert_allclose(first[0], cost, rtol=1e-5)
    numpy.testing.assert_allclose(first[1], probabilities, rtol=1e-5)
    numpy.testing.assert_allclose(second[0], again_cost, rtol=1e-5)
    numpy.testing.assert_allclose(weights.get_value(), after_two, rtol=1e-5,
                                  atol=1e-6)


def test_tiering_off_or_another_mode_compiles_one_function(
        tiering, compile_mode):
    tiering.set()
    inputs, outputs, updates, *_ = softmax_regression_step()
    config.tiered_compilation = False
    assert isinstance(compile_tiered_function(inputs, outputs, updates),
                      pytensor.compile.Function)
    config.tiered_compilation = True
    explicit = compile_tiered_function(inputs, outputs, updates,
                                       mode='FAST_COMPILE')
    assert explicit.maker.mode is get_mode('FAST_COMPILE')
    config.compile_mode = 'FAST_COMPILE'
    assert isinstance(compile_tiered_function(inputs, outputs, updates),
                      pytensor.compile.Function)


def test_tiering_setting_from_the_environment():
    assert Configuration(environ={'BLOCKS_TIERED_COMPILATION': 'false'},
                         user_file='/nonexistent').tiered_compilation is False
    assert Configuration(environ={},
                         user_file='/nonexistent').tiered_compilation


def test_flags_hold_until_the_last_compiling_thread_is_done():
    before = pytensor.config.cycle_detection
    other = 'fast' if before == 'regular' else 'regular'
    first = pytensor_flags({'cycle_detection': other})
    second = pytensor_flags({'cycle_detection': other})
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert pytensor.config.cycle_detection == other
    second.__exit__(None, None, None)
    assert pytensor.config.cycle_detection == before
