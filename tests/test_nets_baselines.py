"""Every registered architecture builds with the contract's input and one sigmoid output,
starts with the pixel scaling, and exports to int8 with the OpenMV input rule; those under
budget pass the gate and the rest (SqueezeNet, as in the paper) are refused by it."""
import numpy as np
import pytest

from maskgate import bundle, contract, nets, quantize
from maskgate.errors import BudgetError
from maskgate.tfenv import keras

BASELINES = ("squeezenet", "squeezenet_modified", "mobilenet_v1", "mobilenet_v2", "mobilenet_v3_small",
             "minixception", "minixception_128_256", "resnet8")
# over the board's 230 KB model limit / 260 KB heap: the paper could not load SqueezeNet either
OVER_BUDGET = {"squeezenet", "squeezenet_modified", "mobilenet_v2", "minixception_128_256"}


def test_baselines_are_registered():
    assert set(BASELINES) <= set(nets.names())


@pytest.mark.slow
@pytest.mark.parametrize("arch", nets.names())
def test_builds_and_exports_with_the_contract(arch, tmp_path):
    model = nets.build(arch)
    assert tuple(model.input_shape) == (None, contract.INPUT_SIZE, contract.INPUT_SIZE, contract.CHANNELS)
    assert tuple(model.output_shape) == (None, 1)
    assert model.layers[-1].activation.__name__ == "sigmoid"
    assert isinstance(model.layers[1], keras.layers.Rescaling)  # pixel scaling first, inside the model
    pixels = np.random.default_rng(0).integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
    int8 = quantize.convert_int8(model, quantize.representative_pixels(pixels, 4))
    quantize.check_input_contract(int8)  # scale 1.0, zero point -128
    if arch in OVER_BUDGET:
        with pytest.raises(BudgetError):
            quantize.write_bundle(tmp_path, int8, None, contract.LABELS_BINARY, arch)
        assert not (tmp_path / bundle.INT8_FILE).exists()
    elif arch in BASELINES:
        manifest = quantize.write_bundle(tmp_path, int8, None, contract.LABELS_BINARY, arch)
        assert manifest["budget"]["ok"]


def test_squeezenet_sizes_match_the_paper():
    # paper: SqueezeNet 780 KB, Modified SqueezeNet 386 KB int8 -> ~0.73 M and ~0.35 M parameters
    assert 0.70e6 < nets.build("squeezenet").count_params() < 0.76e6
    assert 0.33e6 < nets.build("squeezenet_modified").count_params() < 0.37e6


@pytest.mark.parametrize("arch", ["mobilenet_v3_small", "minixception", "resnet8"])
def test_three_classes_get_a_softmax(arch):
    model = nets.build(arch, num_classes=3)
    assert tuple(model.output_shape) == (None, 3)
    assert model.layers[-1].activation.__name__ == "softmax"


def test_weights_option_loads_a_users_backbone_weights(tmp_path):
    donor = nets.build("mobilenet_v1")
    backbone = keras.Model(donor.input, donor.get_layer("gap").input)  # what a no-top weights file holds
    path = tmp_path / "no_top.h5"
    backbone.save_weights(path)
    model = nets.build("mobilenet_v1", weights=str(path))
    for name in ("conv1", "conv_pw_5"):
        assert all(np.array_equal(a, b) for a, b in zip(model.get_layer(name).get_weights(),
                                                        donor.get_layer(name).get_weights()))


@pytest.mark.parametrize("arch", ["maskgate", "mobilenet_v3_small", "resnet8"])
def test_every_batch_norm_layer_takes_the_build_momentum(arch):
    # the Keras applications nest their own layers and default to 0.99 / 0.999
    default, chosen = nets.build(arch), nets.build(arch, bn_momentum=0.97)
    for model, expected in ((default, nets.BN_MOMENTUM), (chosen, 0.97)):
        norms = [layer for layer in model.submodules if isinstance(layer, keras.layers.BatchNormalization)]
        assert norms and {layer.momentum for layer in norms} == {expected}
