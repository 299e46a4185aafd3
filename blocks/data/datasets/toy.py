"""Small synthetic datasets."""
import numpy

from blocks.config import config
from blocks.data.datasets.base import IndexableDataset

__all__ = ['Spiral']


class Spiral(IndexableDataset):
    """Points on the arms of a spiral, labelled by arm.

    Each example draws a position ``t`` uniformly in [0, 1) and an arm
    ``k`` uniformly among `classes`; its point lies at angle
    ``2 pi (cycles t + k / classes)`` and radius ``(1 + 2 t) / 3``, plus
    Gaussian noise of standard deviation `noise` on each coordinate.

    Parameters
    ----------
    num_examples : int, optional
        The number of points.
    classes : int, optional
        The number of arms.
    cycles : float, optional
        How many turns each arm makes.
    noise : float, optional
        The standard deviation of the noise.
    sources : sequence of str, optional
        Among ``'features'`` (floatX, (n, 2)), ``'position'`` (floatX,
        (n,), ``t``) and ``'label'`` (int64, (n,), the arm).
    seed : int, optional
        ``blocks.config.config.default_seed`` by default.
    **kwargs
        Passed to :class:`IndexableDataset` (``start``, ``stop``...).

    Examples
    --------
    >>> spiral = Spiral(num_examples=5, classes=3)
    >>> features, label = spiral.get_data(request=slice(0, 5))[::2]
    >>> features.shape, label.shape, set(label) <= {0, 1, 2}
    ((5, 2), (5,), True)

    """
    def __init__(self, num_examples=1000, classes=1, cycles=1., noise=0.,
                 sources=('features', 'position', 'label'), seed=None,
                 **kwargs):
        import pytensor
        floatx = pytensor.config.floatX
        rng = numpy.random.RandomState(
            config.default_seed if seed is None else seed)
        position = rng.uniform(0, 1, size=num_examples)
        label = rng.randint(0, classes, size=num_examples).astype('int64')
        angle = 2 * numpy.pi * (cycles * position + label / classes)
        radius = (1 + 2 * position) / 3
        features = numpy.stack([radius * numpy.cos(angle),
                                radius * numpy.sin(angle)], axis=1)
        features += noise * rng.normal(size=features.shape)
        super().__init__(
            {'features': features.astype(floatx),
             'position': position.astype(floatx),
             'label': label},
            sources=sources,
            axis_labels={'features': ('batch', 'feature'),
                         'position': ('batch',), 'label': ('batch',)},
            **kwargs)
