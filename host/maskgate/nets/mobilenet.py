"""MobileNet V1 / V2 / V3-Small (seed 000's family) at 32 x 32 with small width multipliers,
built from tf_keras.applications without their top, from scratch (weights=None).

The backbone is grown on the output of `pixel_input()`, so the model's first layers are the
contract's pixel input and its [-1, 1] scaling (what the MobileNets expect) and every layer sits
in one flat functional graph (pruning, clustering and QAT wrap layers of a flat graph only).
`weights=FILE` loads backbone weights a user has (e.g. ImageNet no-top .h5 files for the same
alpha); nothing is downloaded here. Batch-norm momentum is set by `nets.build`.

At 32 x 32 the backbones reduce the map to 1 x 1. The default widths are the largest that pass
the board's budget where one does: mobilenet_v1 alpha 0.2 (~0.14 M parameters, int8 ~200 KB;
the published 0.25 is ~286 KB) and mobilenet_v3_small alpha 0.4 minimalistic (~0.10 M, ~172 KB).
MobileNetV2 does not fit at any width: its last 1x1 conv is 1280 wide whatever alpha is, and
even alpha 0.1 needs ~261 KB of the 260 KB heap with its arena, so it keeps the published
smallest width, 0.35 (~0.41 M, ~580 KB int8), and the budget gate refuses it like SqueezeNet.
"""
from maskgate.tfenv import keras

from . import register
from ._blocks import head, pixel_input

layers = keras.layers


def _with_head(backbone_fn, name: str, num_classes: int, dropout: float, weights, **options):
    inputs, x = pixel_input()
    backbone = backbone_fn(input_tensor=x, include_top=False, weights=weights or None, **options)
    x = layers.GlobalAveragePooling2D(name="gap")(backbone.output)
    x = layers.Dropout(dropout, name="drop")(x)
    return keras.Model(inputs, head(x, num_classes), name=name)


@register("mobilenet_v1")
def mobilenet_v1(num_classes: int = 2, alpha: float = 0.2, dropout: float = 0.2, weights=None):
    return _with_head(keras.applications.MobileNet, "mobilenet_v1", num_classes, dropout, weights, alpha=alpha)


@register("mobilenet_v2")
def mobilenet_v2(num_classes: int = 2, alpha: float = 0.35, dropout: float = 0.2, weights=None):
    return _with_head(keras.applications.MobileNetV2, "mobilenet_v2", num_classes, dropout, weights, alpha=alpha)


@register("mobilenet_v3_small")
def mobilenet_v3_small(num_classes: int = 2, alpha: float = 0.4, minimalistic: bool = True,
                       dropout: float = 0.2, weights=None):
    # include_preprocessing=False: pixel_input already scales; a second Rescaling would be wrong.
    # minimalistic: ReLU and no squeeze-excite, the variant meant for small integer targets.
    return _with_head(keras.applications.MobileNetV3Small, "mobilenet_v3_small", num_classes, dropout, weights,
                      alpha=alpha, minimalistic=minimalistic, include_preprocessing=False)
