"""Stochastic weight averaging (Izmailov et al., 2018, "Averaging Weights Leads to Wider Optima
and Better Generalization"): the mean of the weights a constant-learning-rate run passes through
in its last epochs, with batch-norm statistics recomputed for the averaged weights.

Why here: maskgate's recipe keeps Adam at 1e-3 for most of the run (validation accuracy keeps
creeping up, so the plateau rule rarely fires), which is the regime SWA was made for. The paper
finds the average in a flatter region than any one epoch's weights, and that it generalises
better. It costs nothing on the board: the averaged model has the same layers.
"""
from __future__ import annotations

import numpy as np

from maskgate.tfenv import keras


class WeightAverage(keras.callbacks.Callback):
    """Running mean of the model's weights at the end of each epoch from `start_epoch` (1-based)."""

    def __init__(self, start_epoch: int):
        super().__init__()
        self.start_epoch = start_epoch
        self.count = 0
        self._sum = None

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 < self.start_epoch:
            return
        weights = self.model.get_weights()
        if self._sum is None:
            self._sum = [np.array(w, np.float64) for w in weights]
        else:
            for total, w in zip(self._sum, weights):
                total += w
        self.count += 1

    def averaged(self) -> list:
        if not self.count:
            raise ValueError(f"no epoch reached {self.start_epoch}: nothing was averaged")
        return [(total / self.count).astype(np.float32) for total in self._sum]


def recompute_batch_norm(model, batches) -> int:
    """Set every BatchNormalization layer's moving mean and variance to their mean over `batches`
    (an iterable of (x, y)): averaged weights make the stored statistics stale. Dropout is
    switched off meanwhile, since inference sees no dropout. Returns the number of batches used."""
    norms = [layer for layer in model.submodules if isinstance(layer, keras.layers.BatchNormalization)]
    drops = [layer for layer in model.submodules if isinstance(layer, keras.layers.Dropout)]
    momenta, rates = [layer.momentum for layer in norms], [layer.rate for layer in drops]
    for layer in drops:
        layer.rate = 0.0
    for layer in norms:
        layer.moving_mean.assign(np.zeros(layer.moving_mean.shape, np.float32))
        layer.moving_variance.assign(np.ones(layer.moving_variance.shape, np.float32))
    used = 0
    try:
        for used, (x, _) in enumerate(batches, start=1):
            # Keras keeps moving = m * moving + (1 - m) * batch; m = (n - 1) / n at the n-th batch
            # makes that the plain mean of the batches seen so far
            for layer in norms:
                layer.momentum = (used - 1) / used
            model(x, training=True)
    finally:
        for layer, momentum in zip(norms, momenta):
            layer.momentum = momentum
        for layer, rate in zip(drops, rates):
            layer.rate = rate
    return used

