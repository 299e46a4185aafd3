"""Keeping batch normalization's population statistics exact during
training."""
from blocks.extensions.base import SimpleExtension
from blocks.graph.population_statistics import (
    PopulationStatisticsEstimator)

__all__ = ['EstimatePopulationStatistics']


class EstimatePopulationStatistics(SimpleExtension):
    """Re-estimate the population statistics of batch normalization bricks
    over a data stream, with the weights fixed.

    The moving average kept during training lags behind the weights; this
    extension replaces it with the exact average of the minibatch
    statistics over `data_stream` (see
    :class:`~.population_statistics.PopulationStatisticsEstimator`). Put it
    before the monitoring extensions that evaluate the model in inference
    mode, so that they see the new statistics.

    Parameters
    ----------
    graph : :class:`~blocks.graph.ComputationGraph` or variables
        A graph of the model (inference or training mode).
    data_stream : data stream
        Usually the training stream without shuffling or augmentation.
    unbiased : bool, optional
        Correct each minibatch variance by m / (m - 1).
    max_batches : int, optional
        Use at most this many batches of the stream.
    skip_nonfinite : bool, optional
        Ignore batches whose statistics are not finite.
    \\*\\*kwargs
        Triggers; after every epoch by default.

    Notes
    -----
    The number of batches used is written to the log as
    ``population_statistics_batches``.

    Examples
    --------
    >>> import pytensor.tensor as pt
    >>> from blocks.bricks import BatchNormalization
    >>> bn = BatchNormalization(input_dim=3)
    >>> bn.initialize()
    >>> extension = EstimatePopulationStatistics(
    ...     bn.apply(pt.matrix('features')), data_stream=None,
    ...     after_training=True)

    """
    def __init__(self, graph, data_stream, unbiased=False, max_batches=None,
                 skip_nonfinite=False, **kwargs):
        kwargs.setdefault('after_epoch', True)
        super().__init__(**kwargs)
        self.estimator = PopulationStatisticsEstimator(
            graph, unbiased=unbiased, skip_nonfinite=skip_nonfinite)
        self.data_stream = data_stream
        self.max_batches = max_batches

    def do(self, which_callback, *args):
        result = self.estimator(self.data_stream,
                                max_batches=self.max_batches)
        self.main_loop.log.current_row[
            'population_statistics_batches'] = result['batches']
