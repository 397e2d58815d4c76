"""Batch-norm statistics of a taught model measured afresh on chosen images (its moving means and variances set to
theirs), so that the layers normalise what the taught weights now produce rather than what the original ones did."""

from __future__ import annotations

import keras
import numpy as np


def batch_norm_layers(model) -> list:
    """Every BatchNormalization layer of ``model``, nested models included, in order."""
    found = []
    for layer in getattr(model, "layers", []):
        if isinstance(layer, keras.layers.BatchNormalization):
            found.append(layer)
        found.extend(batch_norm_layers(layer))
    return found


def refresh_batch_norm(model: keras.Model, batch: np.ndarray) -> int:
    """Set every trainable BatchNormalization layer's moving mean and variance to those of ``batch`` (the model's
    prepared input) in one pass, each layer measured on what the layers before it, already refreshed, produce.
    Returns how many layers were refreshed; a model without trainable ones is left as it is."""
    layers = [layer for layer in batch_norm_layers(model) if layer.trainable]
    if not layers or len(batch) < 2:
        return 0
    momenta = [layer.momentum for layer in layers]
    try:
        for layer in layers:
            layer.momentum = 0.0  # the moving statistics become the batch's own
        model(np.asarray(batch, np.float32), training=True)
    finally:
        for layer, momentum in zip(layers, momenta, strict=True):
            layer.momentum = momentum
    return len(layers)
