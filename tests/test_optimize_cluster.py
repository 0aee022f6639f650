"""Weight clustering ties every clustered kernel to at most N values, in Keras and in the int8
file (per output channel, after per-channel quantization)."""
import numpy as np
import pytest

from maskgate import nets
from maskgate.optimize import cluster
from maskgate.quantize import convert_int8, representative_pixels
from maskgate.optimize.weights import weight_stats
from maskgate.tfenv import keras


@pytest.mark.slow
def test_clustered_kernels_have_at_most_n_values():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (48, 32, 32, 3)).astype(np.float32)
    y = (x.mean(axis=(1, 2, 3)) > 127).astype(np.float32)
    model = nets.build("maskgate", width=0.5)
    wrapped = cluster.wrap_for_clustering(model, clusters=8)
    wrapped.compile(keras.optimizers.Adam(1e-3), "binary_crossentropy")
    wrapped.fit(x, y, epochs=1, batch_size=16, verbose=0)
    stripped = cluster.strip(wrapped)
    distinct = cluster.distinct_values(stripped)
    assert distinct and max(distinct.values()) <= 8
    assert "prob" not in distinct  # the one-unit head stays dense
    assert min(cluster.distinct_values(model).values()) > 8  # the source model is untouched
    stats = weight_stats(convert_int8(stripped, representative_pixels(x.astype(np.uint8), 8)))
    assert stats["max_distinct_per_channel"] <= 8
