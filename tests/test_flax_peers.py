"""The Flax peers of benchmarks/flax_peers.py compute what blocks computes:
from the bricks' weights, one training step on the same batch gives the
same cost, weights and population means as blocks' step."""
import numpy
import pytensor
import pytest

pytest.importorskip('flax')
pytest.importorskip('optax')

from benchmarks import flax_peers, lenet_bricks, mlp_training  # noqa: E402

# The peers are float32 models, as in the benchmarks.
FLOAT32 = dict(rtol=1e-4, atol=1e-6)


def take_one_step(algorithm, batch):
    """Blocks' cost of one step."""
    algorithm.add_outputs([algorithm.cost])
    algorithm.initialize()
    algorithm.process_batch(batch)
    return algorithm.output_values[0]


def assert_same_step(peer, peer_cost, blocks_cost, weights, path,
                     population_mean, bn_name):
    numpy.testing.assert_allclose(peer_cost, blocks_cost, **FLOAT32)
    numpy.testing.assert_allclose(peer.parameter(*path),
                                  weights.get_value(), **FLOAT32)
    # The variances are not compared: blocks averages the stdev, Flax the
    # variance.
    numpy.testing.assert_allclose(
        peer.batch_stats[bn_name]['mean'],
        population_mean.get_value().reshape(-1), **FLOAT32)


def test_bn_mlp_peer_takes_blocks_step():
    spec = mlp_training.MODELS['mnist_bn']
    features, targets = mlp_training.make_data(784, 10, examples=50)
    with pytensor.config.change_flags(floatX='float32'):
        mlp, algorithm = mlp_training.build_blocks(
            spec['dims'], spec['activation'], spec['learning_rate'])
        peer = flax_peers.mlp_peer(mlp, spec['activation'],
                                   spec['learning_rate'], features)
        blocks_cost = take_one_step(
            algorithm, {'features': features, 'targets': targets})
    assert_same_step(peer, peer.step(features, targets), blocks_cost,
                     mlp.linear_transformations[0].W, ('linear_0', 'kernel'),
                     mlp.batch_normalizations[1].population_mean, 'bn_1')


def test_lenet_peer_takes_blocks_step():
    rng = numpy.random.RandomState(1)
    images = rng.uniform(size=(8, 1, 28, 28)).astype('float32')
    targets = rng.randint(0, 10, 8).astype('int32')
    with pytensor.config.change_flags(floatX='float32'):
        convolutions, dense, algorithm = lenet_bricks.build_blocks()
        peer = flax_peers.lenet_peer(convolutions, dense, images)
        blocks_cost = take_one_step(
            algorithm, {'images': images, 'targets': targets})
    # The first dense layer's rows are permuted for Flax (NHWC
    # flattening): the last is compared as is.
    assert_same_step(peer, peer.step(images, targets), blocks_cost,
                     dense.linear_transformations[1].W,
                     ('linear_1', 'kernel'),
                     convolutions.layers[5].population_mean, 'conv_bn_1')


def test_gpu_script_says_when_it_finds_no_gpu(capsys):
    from benchmarks import gpu
    if gpu.gpus():
        pytest.skip('a GPU is visible: the script would time on it')
    assert gpu.main([]) == 1
    assert capsys.readouterr().out.startswith('No GPU: JAX sees only cpu')
