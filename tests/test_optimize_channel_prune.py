"""Structured channel pruning builds a narrower model of the same architecture whose outputs are
exactly those of the original with the removed channels silenced, and which has fewer
parameters and MACs and a smaller int8 file; architectures it cannot narrow are refused."""
import numpy as np
import pytest

from maskgate import budget, nets
from maskgate.nets._blocks import head, pixel_input
from maskgate.optimize import channel_prune
from maskgate.quantize import convert_int8, representative_pixels
from maskgate.tfenv import keras

PIXELS = np.random.default_rng(0).integers(0, 256, (16, 32, 32, 3)).astype(np.float32)


def _randomised(model, seed=0):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.2, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def test_narrow_model_equals_original_with_removed_channels_silenced():
    model = _randomised(nets.build("tinycnn", width=0.25, dropout=0.0))
    keep = channel_prune.plan(model, 0.5)
    assert set(keep) == {"conv1", "conv2", "conv3", "dense"}  # conv -> pool -> conv ... -> flatten -> dense
    narrow = channel_prune.narrow(model, keep)
    silenced = keras.models.clone_model(model)
    silenced.set_weights(model.get_weights())
    for name, kept in keep.items():  # zero kernel and bias of removed channels: ReLU(0) = 0 downstream
        layer = silenced.get_layer(name)
        kernel, bias = layer.get_weights()
        drop = np.setdiff1d(np.arange(kernel.shape[-1]), kept)
        kernel[..., drop], bias[drop] = 0.0, 0.0
        layer.set_weights([kernel, bias])
    np.testing.assert_allclose(narrow.predict(PIXELS, verbose=0), silenced.predict(PIXELS, verbose=0), rtol=1e-4, atol=1e-5)


def test_keeps_the_strongest_channels_by_l1_norm():
    model = _randomised(nets.build("tinycnn", width=0.25))
    keep = channel_prune.plan(model, 0.5)
    scores = channel_prune.channel_scores(model.get_layer("conv2"))
    dropped = np.setdiff1d(np.arange(len(scores)), keep["conv2"])
    assert scores[keep["conv2"]].min() >= scores[dropped].max()


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["tinycnn", "maskgate"])
def test_channel_pruning_lowers_parameters_macs_and_file_size(arch):
    model = nets.build(arch)
    narrow, widths = channel_prune.prune_channels(model, 0.5)
    assert all(after < before for before, after in widths.values())
    rep = representative_pixels(PIXELS.astype(np.uint8), 8)
    before, after = budget.model_figures(convert_int8(model, rep)), budget.model_figures(convert_int8(narrow, rep))
    assert after["params"] < 0.6 * before["params"]
    assert after["macs"] < 0.6 * before["macs"]
    assert after["bytes"] < 0.7 * before["bytes"]
    assert after["arena_bytes"] <= before["arena_bytes"]


def test_residual_outputs_are_left_whole():
    # resnet8: only the first conv of each residual block is narrowed; block outputs meet an Add
    prunable = channel_prune.prunable_layers(nets.build("resnet8"))
    assert prunable == ["stack1_conv1", "stack2_conv1", "stack3_conv1"]
    narrow, _ = channel_prune.prune_channels(nets.build("resnet8"), 0.5)
    assert narrow.output_shape == (None, 1)


def test_unprunable_architecture_is_refused_clearly():
    inputs, x = pixel_input()
    a = keras.layers.Conv2D(8, 3, padding="same", name="a")(x)
    b = keras.layers.Conv2D(8, 1, name="b")(x)
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Add()([a, b]))
    model = keras.Model(inputs, head(x, 2), name="addnet")
    with pytest.raises(channel_prune.ChannelPruningError, match="addnet"):
        channel_prune.plan(model, 0.5)
