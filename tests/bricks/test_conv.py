"""Tests of blocks.bricks.conv against NumPy references.

Compiling is the slow part, so each group of checks builds its bricks once
and compiles one function for all of them (module-scoped fixtures); the
parametrized tests then only compare arrays.
"""
import pickle

import numpy
import pytest
import pytensor
import pytensor.tensor as pt
from pytensor.gradient import verify_grad
from pytensor.graph.replace import graph_replace

from blocks.bricks import (BatchNormalization, Linear, Rectifier,
                           SpatialBatchNormalization, Tanh)
from blocks.bricks.conv import (AveragePooling, Convolutional,
                                ConvolutionalSequence,
                                ConvolutionalTranspose, Flattener,
                                MaxPooling)
from blocks.graph.bn import batch_normalization
from blocks.initialization import Constant, IsotropicGaussian
from blocks.roles import BIAS, FILTER, has_roles

from tests.tolerances import TOLERANCE

floatX = pytensor.config.floatX
RTOL = TOLERANCE.rtol
rng = numpy.random.RandomState(1234)


def random(*shape):
    return rng.normal(size=shape).astype(floatX)


def image_batch(name='x', shape=(None,) * 4):
    return pt.tensor4(name, dtype=floatX, shape=shape)


# NumPy references (plain loops over output positions)

def padding_of(border_mode, filter_size):
    if border_mode == 'valid':
        return (0, 0)
    if border_mode == 'full':
        return tuple(k - 1 for k in filter_size)
    if border_mode == 'half':
        return tuple(k // 2 for k in filter_size)
    if isinstance(border_mode, int):
        return (border_mode, border_mode)
    return tuple(border_mode)


def numpy_conv(x, W, step=(1, 1), border_mode='valid'):
    """True convolution (flipped filters), as Theano's conv2d."""
    (pr, pc), (sr, sc) = padding_of(border_mode, W.shape[2:]), step
    x = numpy.pad(x, ((0, 0), (0, 0), (pr, pr), (pc, pc)))
    kr, kc = W.shape[2:]
    flipped = W[:, :, ::-1, ::-1]
    rows = (x.shape[2] - kr) // sr + 1
    cols = (x.shape[3] - kc) // sc + 1
    out = numpy.zeros((x.shape[0], W.shape[0], rows, cols))
    for i in range(rows):
        for j in range(cols):
            window = x[:, :, i * sr:i * sr + kr, j * sc:j * sc + kc]
            out[:, :, i, j] = numpy.tensordot(window, flipped,
                                              axes=([1, 2, 3], [1, 2, 3]))
    return out


def numpy_pool(x, ws, step=None, padding=(0, 0), ignore_border=True,
               mode='max'):
    step = ws if step is None else step
    rows, cols = x.shape[-2:]
    sizes = []
    for size, w, s, p in zip((rows, cols), ws, step, padding):
        if ignore_border:
            sizes.append((size + 2 * p - w) // s + 1)
        else:
            sizes.append(max(0, (size - w + s - 1) // s) + 1)
    out = numpy.zeros(x.shape[:-2] + tuple(sizes))
    for i in range(sizes[0]):
        for j in range(sizes[1]):
            # Window in padded coordinates, clipped to the padded image.
            r0, c0 = i * step[0], j * step[1]
            r1 = min(r0 + ws[0], rows + 2 * padding[0])
            c1 = min(c0 + ws[1], cols + 2 * padding[1])
            inside = x[..., max(r0 - padding[0], 0):r1 - padding[0],
                       max(c0 - padding[1], 0):c1 - padding[1]]
            if mode == 'max':
                value = inside.max(axis=(-2, -1))
            elif mode == 'average_exc_pad':
                value = inside.mean(axis=(-2, -1))
            else:
                value = inside.sum(axis=(-2, -1)) / ((r1 - r0) * (c1 - c0))
            out[..., i, j] = value
    return out


def numpy_normalize(x, axes, epsilon=1e-4):
    mean = x.mean(axis=axes, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    return (x - mean) / numpy.sqrt(variance + epsilon)


def initialized(brick):
    brick.initialize()
    return brick


# Convolutional: values, shapes and biases in one compiled function

X_SHAPE = (2, 3, 7, 6)
CONV_CASES = [  # filter_size, step, border_mode, tied_biases, known sizes
    ((3, 2), (1, 1), 'valid', True, True),
    ((3, 2), (2, 1), 'valid', True, False),
    ((3, 3), (1, 1), 'full', True, True),
    ((2, 3), (2, 3), 'full', False, True),
    ((3, 3), (1, 1), 'half', True, False),
    ((2, 2), (2, 2), 'half', False, True),
    ((3, 2), (1, 2), (1, 2), True, True),
    ((1, 1), (3, 2), 1, True, False),
]


@pytest.fixture(scope='module')
def conv_input():
    return rng.normal(size=X_SHAPE).astype(floatX)


@pytest.fixture(scope='module')
def conv_cases(conv_input):
    x = image_batch()
    cases = []
    for filter_size, step, border_mode, tied, known in CONV_CASES:
        brick = Convolutional(
            filter_size, 4, 3, step=step, border_mode=border_mode,
            tied_biases=tied, batch_size=X_SHAPE[0] if known else None,
            image_size=X_SHAPE[2:] if known else (None, None),
            weights_init=IsotropicGaussian(1.),
            biases_init=IsotropicGaussian(1.))
        brick.initialize()
        cases.append((brick, brick.apply(x)))
    values = pytensor.function([x], [output for _, output in cases])(
        conv_input)
    return [(brick, output, value)
            for (brick, output), value in zip(cases, values)]


@pytest.mark.parametrize('case', range(len(CONV_CASES)))
def test_convolutional_matches_numpy(case, conv_cases, conv_input):
    brick, _, value = conv_cases[case]
    expected = numpy_conv(conv_input, brick.W.get_value(), brick.step,
                          brick.border_mode)
    b = brick.b.get_value()
    expected += b[None, :, None, None] if brick.tied_biases else b[None]
    numpy.testing.assert_allclose(value, expected, rtol=RTOL, atol=RTOL)


@pytest.mark.parametrize('case', range(len(CONV_CASES)))
def test_convolutional_shapes(case, conv_cases):
    brick, output, value = conv_cases[case]
    known = CONV_CASES[case][-1]
    assert brick.get_dim('input_') == (3,) + (X_SHAPE[2:] if known
                                              else (None, None))
    if known:
        assert brick.get_dim('output') == value.shape[1:]
        # batch_size and image_size give a fully static output shape
        assert output.type.shape == value.shape
    else:
        assert brick.get_dim('output') == (4, None, None)
        assert output.type.shape == (None, 4, None, None)
    assert brick.num_output_channels == 4
    expected_b = (4,) if brick.tied_biases else value.shape[1:]
    assert brick.b.get_value().shape == expected_b


def test_convolutional_lifecycle():
    conv = Convolutional(name='conv')
    with pytest.raises(ValueError, match='/conv: allocation config not set: '
                                         'filter_size, num_filters, '
                                         'num_channels'):
        conv.allocate()
    conv.filter_size, conv.num_filters, conv.num_channels = (3, 2), 5, 4
    conv.allocate()
    assert conv.W.get_value().shape == (5, 4, 3, 2)
    assert numpy.all(numpy.isnan(conv.W.get_value()))
    assert has_roles(conv.W, [FILTER]) and has_roles(conv.b, [BIAS])
    assert conv.b.get_value().shape == (5,)
    assert [var.name for var in conv.auxiliary_variables] == ['W_norm',
                                                              'b_norm']
    conv.weights_init, conv.biases_init = Constant(1), Constant(2)
    conv.initialize()
    assert numpy.all(conv.W.get_value() == 1)
    assert numpy.all(conv.b.get_value() == 2)

    no_bias = Convolutional((3, 3), 2, 1, use_bias=False, name='nobias')
    no_bias.allocate()
    assert no_bias.parameters == [no_bias.W]
    with pytest.raises(AttributeError, match='no biases'):
        no_bias.b


def test_convolutional_configuration_errors():
    with pytest.raises(ValueError, match='/conv: untied biases need the '
                                         'output size.*image_size'):
        Convolutional((3, 3), 2, 1, tied_biases=False,
                      name='conv').allocate()
    with pytest.raises(ValueError, match=r'/conv: filter_size must be a '
                                         r'pair of positive ints, got \(3,\)'):
        Convolutional((3,), 2, 1, name='conv').allocate()
    with pytest.raises(ValueError, match="/conv: border_mode must be.*"
                                         "'same'"):
        Convolutional((3, 3), 2, 1, border_mode='same',
                      name='conv').allocate()
    with pytest.raises(ValueError, match='/conv: num_channels must be a '
                                         'positive int'):
        Convolutional((3, 3), 2, 0, name='conv').allocate()


def test_convolutional_bad_input():
    conv = Convolutional((3, 3), 2, 3, image_size=(8, None), name='conv')
    with pytest.raises(ValueError, match=r'/conv: input_ expected a float '
                                         r'tensor with ndim 4.*got float.* '
                                         r'tensor x of shape \(None, 3, 8\)'):
        conv.apply(pt.tensor3('x', dtype=floatX, shape=(None, 3, 8)))
    with pytest.raises(ValueError, match=r'/conv: input_ expected .*shape '
                                         r'\(\?, 3, 8, \?\).*\(None, 4, 8, '
                                         r'8\)'):
        conv.apply(image_batch(shape=(None, 4, 8, 8)))
    with pytest.raises(ValueError, match=r'/conv: .*\(None, 3, 9, 8\)'):
        conv.apply(image_batch(shape=(None, 3, 9, 8)))
    with pytest.raises(TypeError, match='/conv: input_ expected a float'):
        conv.apply(pt.tensor4('x', dtype='int32'))


# ConvolutionalTranspose

TRANSPOSE_CASES = [  # filter_size, step, border_mode, image_size, kwargs
    ((3, 3), (1, 1), 'valid', (4, 5), {}),
    ((3, 2), (2, 2), 'valid', (3, 4), {}),
    ((3, 2), (2, 3), 'valid', (3, 4), {'unused_edge': (1, 2)}),
    ((3, 3), (2, 1), 'full', (5, 4), {}),
    ((3, 3), (2, 2), 'half', (4, 4), {'original_image_size': (8, 8)}),
    ((2, 3), (1, 2), (1, 1), (4, 3), {'tied_biases': False}),
]
TRANSPOSE_ORIGINAL_SIZES = [(6, 7), (7, 8), (8, 13), (7, 2), (8, 8), (3, 5)]


@pytest.fixture(scope='module')
def transpose_cases():
    """For each case: the transpose brick, a Convolutional whose filters are
    the transposed ones, an input of each and their outputs (one compiled
    function for all cases)."""
    cases, inputs, outputs, values = [], [], [], []
    for i, (filter_size, step, border_mode, image_size, kwargs) in \
            enumerate(TRANSPOSE_CASES):
        deconv = ConvolutionalTranspose(
            filter_size, 2, 3, step=step, border_mode=border_mode,
            image_size=image_size, weights_init=IsotropicGaussian(1.),
            biases_init=IsotropicGaussian(1.), **kwargs)
        deconv.initialize()
        conv = Convolutional(filter_size, 3, 2, step=step,
                             border_mode=border_mode, use_bias=False,
                             weights_init=Constant(0))
        conv.initialize()
        conv.W.set_value(deconv.W.get_value().transpose(1, 0, 2, 3))
        x, g = image_batch('x{}'.format(i)), image_batch('g{}'.format(i))
        inputs += [x, g]
        outputs += [deconv.apply(g), conv.apply(x)]
        x_value = random(2, 2, *TRANSPOSE_ORIGINAL_SIZES[i])
        g_value = random(2, 3, *image_size)
        values += [x_value, g_value]
        cases.append((deconv, x_value, g_value))
    computed = pytensor.function(inputs, outputs)(*values)
    return [case + (computed[2 * i], computed[2 * i + 1])
            for i, case in enumerate(cases)]


@pytest.mark.parametrize('case', range(len(TRANSPOSE_CASES)))
def test_convolutional_transpose_shapes(case, transpose_cases):
    deconv, _, g_value, deconv_out, conv_out = transpose_cases[case]
    original = TRANSPOSE_ORIGINAL_SIZES[case]
    assert deconv.original_image_size == original
    assert deconv.get_dim('output') == (2,) + original
    assert deconv_out.shape == (2, 2) + original
    # The corresponding convolution maps the original size back.
    assert conv_out.shape == g_value.shape
    assert deconv.W.get_value().shape == (2, 3) + TRANSPOSE_CASES[case][0]
    if not deconv.tied_biases:
        assert deconv.b.get_value().shape == (2,) + original


@pytest.mark.parametrize('case', range(len(TRANSPOSE_CASES)))
def test_convolutional_transpose_is_the_adjoint(case, transpose_cases):
    # <conv(x), g> == <x, deconv(g) - b> for the transposed filters
    deconv, x_value, g_value, deconv_out, conv_out = transpose_cases[case]
    b = deconv.b.get_value()
    without_bias = deconv_out - (b[None, :, None, None] if deconv.tied_biases
                                 else b[None])
    numpy.testing.assert_allclose(numpy.vdot(conv_out, g_value),
                                  numpy.vdot(x_value, without_bias),
                                  rtol=1e-8 if floatX == 'float64' else 1e-4)


def test_convolutional_transpose_gradients():
    deconv = ConvolutionalTranspose((2, 2), 2, 1, image_size=(2, 3),
                                    step=(2, 1), tied_biases=False,
                                    weights_init=IsotropicGaussian(1.),
                                    biases_init=Constant(0.5))
    deconv.initialize()
    g = image_batch('g')
    output = deconv.apply(g)
    assert output.type.shape == (None, 2, 4, 4)
    cost = (output ** 2).sum()
    gradients = pytensor.grad(cost, [deconv.W, deconv.b])
    assert [grad.type.ndim for grad in gradients] == [4, 3]

    def fun(W, b, g_):
        return graph_replace(cost, {deconv.W: W, deconv.b: b, g: g_})
    verify_grad(fun, [deconv.W.get_value(), deconv.b.get_value(),
                      random(2, 1, 2, 3)], rng=numpy.random.RandomState(1),
                abs_tol=1e-5, rel_tol=1e-5)


def dilated(W, dilation):
    """Filters with ``dilation - 1`` zeros between taps: a convolution
    with them is the dilated convolution with `W`."""
    spans = [(k - 1) * d + 1 for k, d in zip(W.shape[2:], dilation)]
    spread = numpy.zeros(W.shape[:2] + tuple(spans), dtype=W.dtype)
    spread[:, :, ::dilation[0], ::dilation[1]] = W
    return spread


@pytest.mark.parametrize('border_mode', ['full', 'valid', (1, 2)])
def test_dilated_convolutional_transpose(border_mode):
    filter_size, step, dilation, image_size = (3, 2), (2, 1), (2, 3), (6, 5)
    deconv = ConvolutionalTranspose(
        filter_size, 2, 3, step=step, border_mode=border_mode,
        image_size=image_size, filter_dilation=dilation,
        weights_init=IsotropicGaussian(1.), biases_init=Constant(0.))
    deconv.initialize()
    filters = dilated(deconv.W.get_value().transpose(1, 0, 2, 3), dilation)

    def convolved_size(size, axis):
        """The size on `axis` of the corresponding convolution's output
        for an input of `size` there (and 20 on the other axis)."""
        shape = [1, 2, 20, 20]
        shape[2 + axis] = size
        try:
            output = numpy_conv(numpy.zeros(shape), filters, step,
                                border_mode)
        except ValueError:  # the image is smaller than the filter
            return None
        return output.shape[2 + axis]

    # The smallest image the corresponding (dilated) convolution maps to
    # image_size.
    original = tuple(next(size for size in range(1, 40)
                          if convolved_size(size, axis) == image_size[axis])
                     for axis in range(2))
    assert deconv.get_dim('output') == (2,) + original
    g = image_batch('g')
    g_value = random(2, 3, *image_size)
    output = deconv.apply(g)
    assert output.type.shape == (None, 2) + original
    deconv_out = output.eval({g: g_value})
    assert deconv_out.shape == (2, 2) + original
    # <conv(x), g> == <x, deconv(g)>: the brick is the adjoint
    x_value = random(2, 2, *original)
    numpy.testing.assert_allclose(
        numpy.vdot(numpy_conv(x_value, filters, step, border_mode),
                   g_value),
        numpy.vdot(x_value, deconv_out), rtol=RTOL * 100)


def test_dilated_convolutional_output_and_errors():
    conv = Convolutional((3, 3), 2, 1, image_size=(9, 8), border_mode='half',
                         filter_dilation=(2, 1), name='conv')
    assert conv.get_dim('output') == (2, 9, 8)
    with pytest.raises(ValueError, match=r'/conv: filter_dilation must be a '
                                         r'pair of positive ints, got '
                                         r'\(0, 1\)'):
        Convolutional((3, 3), 2, 1, filter_dilation=(0, 1),
                      name='conv').allocate()


def test_convolutional_transpose_errors():
    with pytest.raises(ValueError, match='/deconv: cannot infer '
                                         'original_image_size without '
                                         'image_size'):
        ConvolutionalTranspose((3, 3), 2, 1, name='deconv').allocate()
    assert ConvolutionalTranspose((3, 3), 2, 1).get_dim('output') == \
        (2, None, None)
    with pytest.raises(ValueError, match=r'/deconv: image_size \(4, 4\) '
                                         r'does not match '
                                         r'original_image_size \(8, 8\).*'
                                         r'maps it to \(6, 6\)'):
        ConvolutionalTranspose((3, 3), 2, 1, image_size=(4, 4),
                               original_image_size=(8, 8),
                               name='deconv').allocate()
    deconv = ConvolutionalTranspose((3, 3), 2, 1,
                                    original_image_size=(8, 8),
                                    name='deconv')
    with pytest.raises(ValueError, match=r'/deconv: input_ expected .*'
                                         r'\(\?, 1, 6, 6\).*'
                                         r'\(None, 1, 5, 6\)'):
        deconv.apply(image_batch(shape=(None, 1, 5, 6)))


# Pooling

POOL_INPUT = (2, 3, 7, 6)
POOL_CASES = [  # brick class, pooling_size, kwargs
    (MaxPooling, (2, 2), {}),
    (MaxPooling, (3, 2), {'step': (1, 1)}),
    (MaxPooling, (2, 2), {'ignore_border': False}),
    (MaxPooling, (3, 3), {'step': (2, 1), 'ignore_border': False}),
    (MaxPooling, (2, 3), {'padding': (1, 2)}),
    (AveragePooling, (2, 2), {}),
    (AveragePooling, (3, 2), {'step': (2, 1), 'ignore_border': False}),
    (AveragePooling, (2, 2), {'padding': (1, 1)}),
    (AveragePooling, (3, 3), {'padding': (1, 2), 'step': (2, 2),
                              'include_padding': True}),
]


@pytest.fixture(scope='module')
def pool_cases():
    x = image_batch()
    x_value = random(*POOL_INPUT)
    bricks = [cls(size, input_dim=POOL_INPUT[1:], **kwargs)
              for cls, size, kwargs in POOL_CASES]
    outputs = [brick.apply(x) for brick in bricks]
    values = pytensor.function([x], outputs)(x_value)
    return x_value, list(zip(bricks, values))


@pytest.mark.parametrize('case', range(len(POOL_CASES)))
def test_pooling_matches_numpy(case, pool_cases):
    x_value, results = pool_cases
    brick, value = results[case]
    expected = numpy_pool(x_value, brick.pooling_size, brick.step,
                          brick.padding, brick.ignore_border, brick.mode)
    numpy.testing.assert_allclose(value, expected, rtol=RTOL, atol=RTOL)
    assert brick.get_dim('input_') == POOL_INPUT[1:]
    assert brick.get_dim('output') == value.shape[1:]
    assert brick.num_output_channels == 3


def test_pooling_configuration():
    pool = MaxPooling(name='pool')
    with pytest.raises(ValueError, match='/pool: allocation config not set: '
                                         'pooling_size'):
        pool.allocate()
    pool.pooling_size = (2, 2)
    assert pool.get_dim('output') == (None, None, None)
    pool.image_size = (5, 7)
    pool.num_channels = 4
    assert pool.input_dim == (4, 5, 7)
    assert pool.get_dim('output') == (4, 2, 3)
    assert AveragePooling((2, 2)).mode == 'average_exc_pad'
    assert AveragePooling((2, 2), include_padding=True).mode == \
        'average_inc_pad'
    with pytest.raises(ValueError, match='/pool: pad must be smaller than '
                                         'the window'):
        MaxPooling((2, 2), padding=(2, 0), name='pool').allocate()
    with pytest.raises(ValueError, match=r'/pool: input_ expected .*ndim >= '
                                         r'2.*\(None,\)'):
        MaxPooling((2, 2), name='pool').apply(pt.vector('x'))
    with pytest.raises(ValueError, match=r'/pool: input_ expected .*'
                                         r'\(\?, 4, \.\.\., 5, 7\).*\(None, '
                                         r'3, 5, 7\)'):
        pool.apply(image_batch(shape=(None, 3, 5, 7)))


# Flattener

def test_flattener():
    static, dynamic = image_batch('s', (None, 2, 3, 4)), image_batch('d')
    matrix_input = pt.matrix('m', dtype=floatX)
    flattener = Flattener()
    outputs = [flattener.apply(static), flattener.apply(dynamic),
               flattener.apply(matrix_input)]
    assert [output.type.shape for output in outputs] == [
        (None, 24), (None, None), (None, None)]
    value = random(5, 2, 3, 4)
    matrix = random(5, 3)
    results = pytensor.function([static, dynamic, matrix_input],
                                outputs)(value, value, matrix)
    for result in results[:2]:
        numpy.testing.assert_array_equal(result, value.reshape(5, 24))
    numpy.testing.assert_array_equal(results[2], matrix)
    with pytest.raises(ValueError, match='/flattener: input_ expected a '
                                         'tensor with ndim >= 2'):
        flattener.apply(pt.vector('v'))


# ConvolutionalSequence: configuration

def test_sequence_pushes_configuration():
    conv1 = Convolutional((3, 3), 4, name='conv1')
    conv2 = Convolutional((2, 2), 5, step=(2, 2), border_mode='full',
                          name='conv2')
    pool = MaxPooling((2, 2), name='pool')
    sequence = ConvolutionalSequence(
        [conv1, Rectifier(), pool, conv2, Tanh()], num_channels=3,
        image_size=(12, 11), batch_size=7, tied_biases=False,
        use_bias=False, name='seq')
    sequence.push_allocation_config()
    assert (conv1.num_channels, conv1.image_size) == (3, (12, 11))
    assert pool.input_dim == (4, 10, 9)
    assert (conv2.num_channels, conv2.image_size) == (4, (5, 4))
    assert conv2.border_mode == 'full'  # border_mode=None pushes nothing
    assert conv1.batch_size == conv2.batch_size == 7
    assert not conv1.tied_biases and not conv2.tied_biases
    assert not conv1.use_bias and not conv2.use_bias
    assert sequence.get_dim('input_') == (3, 12, 11)
    assert sequence.get_dim('output') == conv2.get_dim('output') == (5, 3, 3)
    assert sequence.num_output_channels == 5

    sequence.border_mode = 'half'
    sequence.push_allocation_config()
    assert conv1.border_mode == conv2.border_mode == 'half'
    assert sequence.get_dim('output') == (5, 4, 3)
    assert pool.get_dim('output') == (4, 6, 5)


def test_sequence_lifecycle_and_static_shapes():
    sequence = ConvolutionalSequence(
        [Convolutional((3, 3), 4), MaxPooling((2, 2)),
         Convolutional((2, 2), 2, border_mode='full'), Flattener()],
        num_channels=1, name='seq')
    with pytest.raises(ValueError, match='/seq: allocation config not set: '
                                         'num_channels'):
        ConvolutionalSequence([Tanh()], name='seq').allocate()
    with pytest.raises(ValueError, match='/seq: layer /seq/flattener is '
                                         'neither convolutional nor an '
                                         'activation'):
        sequence.allocate()
    with pytest.raises(ValueError, match='/seq/conv: allocation config not '
                                         'set: filter_size'):
        ConvolutionalSequence([Convolutional(num_filters=2, name='conv')],
                              num_channels=1, name='seq').allocate()
    with pytest.raises(ValueError, match='/seq: layer /seq/linear'):
        ConvolutionalSequence([Linear(2, 3)], num_channels=1,
                              name='seq').allocate()

    sequence = ConvolutionalSequence(
        [Convolutional((3, 3), 4), MaxPooling((2, 2)),
         Convolutional((2, 2), 2, border_mode='full')],
        num_channels=1, batch_size=5, image_size=(9, 8),
        weights_init=Constant(1), biases_init=Constant(0), name='seq')
    sequence.initialize()
    conv1, _, conv2 = sequence.layers
    assert conv1.initialized and conv2.initialized
    assert numpy.all(conv2.W.get_value() == 1)
    output = sequence.apply(image_batch())
    assert output.type.shape == (5,) + sequence.get_dim('output') == \
        (5, 2, 4, 4)

    unknown = ConvolutionalSequence(
        [Convolutional((3, 3), 4), MaxPooling((2, 2))], num_channels=2)
    assert unknown.get_dim('output') == (4, None, None)
    only_activations = ConvolutionalSequence([Tanh()], num_channels=2,
                                             image_size=(3, 4))
    assert only_activations.get_dim('output') == (2, 3, 4)
    assert only_activations.num_output_channels == 2


def test_nested_sequences_and_transpose():
    # conv with step 2 then its transpose recovers the image size
    inner = ConvolutionalSequence(
        [Convolutional((3, 3), 4, step=(2, 2)), Rectifier()],
        num_channels=1, name='inner')
    outer = ConvolutionalSequence(
        [inner, ConvolutionalTranspose((3, 3), 1, step=(2, 2),
                                       unused_edge=(1, 0))],
        num_channels=3, image_size=(10, 9), name='outer')
    outer.push_allocation_config()
    assert inner.layers[0].num_channels == 3
    assert inner.get_dim('output') == (4, 4, 4)
    assert outer.get_dim('output') == (1, 10, 9)


def test_sequence_pickles():
    sequence = ConvolutionalSequence(
        [Convolutional((3, 3), 2), SpatialBatchNormalization(),
         MaxPooling((2, 2))], num_channels=1, image_size=(6, 6),
        weights_init=Constant(1), biases_init=Constant(0))
    sequence.initialize()
    copy = pickle.loads(pickle.dumps(sequence))
    assert copy.get_dim('output') == (2, 2, 2)
    assert copy.layers[0].image_size == (6, 6)
    numpy.testing.assert_array_equal(copy.layers[0].W.get_value(),
                                     sequence.layers[0].W.get_value())


def test_sequence_bad_input_names_the_layer():
    sequence = ConvolutionalSequence([Convolutional((3, 3), 4, name='conv')],
                                     num_channels=3, name='seq')
    with pytest.raises(ValueError, match=r'/seq/conv: input_ expected .*'
                                         r'\(\?, 3, \?, \?\).*\(None, 2, '
                                         r'None, None\)'):
        sequence.apply(image_batch(shape=(None, 2, None, None)))


# ConvolutionalSequence with batch normalization (the issue's key test)

def bn_sequences():
    def conv():
        return Convolutional((3, 3), 4)
    with_bn = ConvolutionalSequence(
        [conv(), SpatialBatchNormalization(name='spatial'),
         AveragePooling((2, 2)),
         BatchNormalization(broadcastable=(False, False, False),
                            name='per_position'),
         MaxPooling((2, 2), step=(1, 1))],
        num_channels=9, image_size=(10, 8), weights_init=Constant(1),
        biases_init=Constant(2), name='with_bn')
    without_bn = ConvolutionalSequence(
        [conv(), AveragePooling((2, 2)), MaxPooling((2, 2), step=(1, 1))],
        num_channels=9, image_size=(10, 8), weights_init=Constant(1),
        biases_init=Constant(2), name='without_bn')
    with_bn.initialize()
    without_bn.initialize()
    return with_bn, without_bn


@pytest.fixture(scope='module')
def bn_sequence_results():
    with_bn, without_bn = bn_sequences()
    spatial = with_bn.layers[1]
    x = image_batch()
    outputs = [with_bn.apply(x), without_bn.apply(x)]
    with batch_normalization(spatial):
        outputs.append(with_bn.apply(x))
    with batch_normalization(with_bn):
        outputs.append(with_bn.apply(x))
    function = pytensor.function([x], outputs)
    return with_bn, function, random(3, 9, 10, 8)


def test_bn_sequence_configuration(bn_sequence_results):
    with_bn = bn_sequence_results[0]
    spatial, per_position = with_bn.layers[1], with_bn.layers[3]
    assert spatial.input_dim == (4, 8, 6)
    assert per_position.input_dim == (4, 4, 3)
    assert spatial.population_stdev.get_value().shape == (4, 1, 1)
    assert per_position.population_stdev.get_value().shape == (4, 4, 3)
    assert with_bn.get_dim('output') == (4, 3, 2)


def test_bn_sequence_inference(bn_sequence_results):
    with_bn, function, x_value = bn_sequence_results
    normalized, plain = function(x_value)[:2]
    assert plain.shape == (3, 4, 3, 2)
    # Fresh BN bricks compute (x - 0) * (1 / 1) + 0: exactly the identity.
    numpy.testing.assert_array_equal(normalized, plain)
    for bn in (with_bn.layers[1], with_bn.layers[3]):
        stdev = bn.population_stdev.get_value()
        bn.population_stdev.set_value(3 * stdev)
        try:
            numpy.testing.assert_allclose(function(x_value)[0], plain / 3,
                                          rtol=RTOL)
        finally:
            bn.population_stdev.set_value(stdev)


def test_bn_sequence_training(bn_sequence_results):
    _, function, x_value = bn_sequence_results
    spatial_training, all_training = function(x_value)[2:]
    convolved = numpy_conv(x_value, numpy.ones((4, 9, 3, 3))) + 2
    pooled = numpy_pool(numpy_normalize(convolved, (0, 2, 3)), (2, 2),
                        mode='average_exc_pad')
    numpy.testing.assert_allclose(
        spatial_training, numpy_pool(pooled, (2, 2), (1, 1)),
        rtol=1e-6, atol=1e-6)
    numpy.testing.assert_allclose(
        all_training, numpy_pool(numpy_normalize(pooled, (0,)), (2, 2),
                                 (1, 1)),
        rtol=1e-5, atol=1e-5)


def test_pooling_unpickled_without_newer_settings_gets_old_defaults():
    pool = MaxPooling((2, 2), name='pool')
    for name in ('ignore_border', 'padding', 'step', '_input_dim'):
        del pool.__dict__[name]  # as pickled before these settings existed
    loaded = pickle.loads(pickle.dumps(pool))
    assert loaded.mode == 'max'
    assert loaded.ignore_border is False and loaded.padding == (0, 0)
    assert loaded.step is None and loaded.input_dim == (None,) * 3
    x = pt.matrix('x')
    # partial windows kept, as Blocks' old pooling did
    assert loaded.apply(x).eval({x: numpy.ones((3, 3))}).shape == (2, 2)


def test_sequence_takes_applications_and_pushes_border_mode_early():
    pool = MaxPooling((2, 2))
    layers = [Convolutional(border_mode='full'), Convolutional(),
              Rectifier(), pool.apply]
    sequence = ConvolutionalSequence(layers)
    assert sequence.layers[-1] is pool and pool in sequence.children
    sequence.push_allocation_config()  # no num_channels, no filter sizes
    assert [sequence.layers[i].border_mode for i in (0, 1)] == ['full',
                                                               'valid']
    everywhere = ConvolutionalSequence(layers, border_mode='half')
    everywhere.push_allocation_config()
    assert [everywhere.layers[i].border_mode for i in (0, 1)] == ['half',
                                                                 'half']
    with pytest.raises(ValueError, match='allocation config not set: '
                                         'num_channels'):
        everywhere.get_dim('output')


def test_untied_biases_without_image_size_use_blocks_phrase():
    conv = Convolutional((3, 3), 2, num_channels=1, tied_biases=False)
    with pytest.raises(ValueError, match='Cannot infer bias size'):
        conv.allocate()
