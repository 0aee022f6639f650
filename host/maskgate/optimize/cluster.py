"""Weight clustering (tfmot): every kernel is fine-tuned with its weights tied to N shared
values (centroids, k-means++ initialised), then the wrappers are stripped.

Like zeros, N distinct values do not shrink an int8 .tflite (each weight is still one byte);
they make it compress, so seed 001 reports clustered models by their gzip size, and so does the
report here. `preserve_sparsity` keeps the zeros of a pruned model zero (the first half of
PCQAT).
"""
from __future__ import annotations

import numpy as np

from maskgate.optimize.wrap import clone_wrapping, wrappable
from maskgate.tfenv import keras


def _tfmot():
    import tensorflow_model_optimization as tfmot

    return tfmot


def wrap_for_clustering(model, clusters: int, preserve_sparsity: bool = False):
    from tensorflow_model_optimization.python.core.clustering.keras.experimental import cluster as experimental

    init = _tfmot().clustering.keras.CentroidInitialization.KMEANS_PLUS_PLUS

    def wrap(layer):
        return experimental.cluster_weights(layer, number_of_clusters=clusters, cluster_centroids_init=init,
                                            preserve_sparsity=preserve_sparsity)

    return clone_wrapping(model, wrap)


def strip(model):
    return _tfmot().clustering.keras.strip_clustering(model)


def clustered_kernels(model) -> dict:
    """name -> the kernel tfmot clusters in each wrappable layer of a stripped model (its
    ClusteringRegistry: Conv2D and Dense kernels, SeparableConv2D pointwise kernels; depthwise
    kernels are not clustered)."""
    out = {}
    for layer in model.layers:
        if not wrappable(model, layer) or isinstance(layer, keras.layers.DepthwiseConv2D):
            continue
        if isinstance(layer, keras.layers.SeparableConv2D):
            out[layer.name] = layer.pointwise_kernel.numpy()
        else:
            out[layer.name] = layer.kernel.numpy()
    return out


def distinct_values(model) -> dict:
    """name -> number of distinct values in each clustered kernel."""
    return {name: int(np.unique(k).size) for name, k in clustered_kernels(model).items()}

