"""Quantization-aware training (tfmot) and its collaborative-optimization variants:

    qat    default 8-bit scheme
    pqat   sparsity-preserving  (Default8BitPrunePreserveQuantizeScheme): a pruned model stays sparse
    cqat   cluster-preserving   (Default8BitClusterPreserveQuantizeScheme): a clustered model keeps N values
    pcqat  both                 (Default8BitClusterPreserveQuantizeScheme(preserve_sparsity=True))

Every layer is annotated except the pixel_input Rescaling: tfmot has no quantize config for it,
and left as it is the converter calibrates the model input from the representative pictures
(which include all-black and all-white ones), so the int8 input keeps scale 1.0 / zero point
-128, the OpenMV `pixel - 128` rule. quantize.convert_int8 checks that on every export.

QAT models hold tfmot layers that the .keras format cannot reload, so they are saved as .h5 and
loaded inside `scope()`.
"""
from __future__ import annotations

from contextlib import ExitStack, contextmanager

from maskgate.optimize.wrap import fresh_copy, output_layer_names
from maskgate.tfenv import keras

SCHEMES = ("qat", "pqat", "cqat", "pcqat")


def _qk():
    import tensorflow_model_optimization as tfmot

    return tfmot.quantization.keras


def _leaving_rescaling_alone(scheme_class):
    """`scheme_class` whose registry does not claim the Rescaling layer. The collaborative
    registries say they support every layer without trainable weights, so quantize_apply asks
    them to quantize the Rescaling output and they fail on it; the default one says no."""

    class Scheme(scheme_class):
        def get_quantize_registry(self):
            registry = super().get_quantize_registry()
            claims = registry.supports
            registry.supports = lambda layer: not isinstance(layer, keras.layers.Rescaling) and claims(layer)
            return registry

    Scheme.__name__ = scheme_class.__name__
    return Scheme


def scheme(kind: str):
    from tensorflow_model_optimization.python.core.api.experimental import combine

    if kind == "qat":
        return _leaving_rescaling_alone(_qk().default_8bit.Default8BitQuantizeScheme)()
    if kind == "pqat":
        return _leaving_rescaling_alone(combine.Default8BitPrunePreserveQuantizeScheme)()
    if kind in ("cqat", "pcqat"):
        return _leaving_rescaling_alone(combine.Default8BitClusterPreserveQuantizeScheme)(preserve_sparsity=kind == "pcqat")
    raise ValueError(f"unknown QAT scheme {kind!r}; known: {', '.join(SCHEMES)}")


def annotate(model):
    """A copy of `model` with every layer but the input Rescaling annotated for quantization.
    The output head, which pruning and clustering leave whole, gets plain 8-bit QAT: under the
    collaborative schemes tfmot would otherwise find no zeros in it and switch sparsity
    preservation off for the other Dense layers too (their quantizer state is shared)."""
    qk = _qk()
    heads = output_layer_names(model)
    plain = qk.default_8bit.Default8BitQuantizeRegistry()

    def clone(layer):
        copy = fresh_copy(layer)
        if isinstance(layer, keras.layers.Rescaling):
            return copy
        if layer.name in heads and plain.supports(copy):
            return qk.quantize_annotate_layer(copy, quantize_config=plain.get_quantize_config(copy))
        return qk.quantize_annotate_layer(copy)

    return keras.models.clone_model(model, clone_function=clone)


def _custom_objects() -> dict:
    from tensorflow_model_optimization.python.core.quantization.keras.default_8bit.default_8bit_quantize_registry import (
        Default8BitQuantizeConfig,
    )

    return {"Default8BitQuantizeConfig": Default8BitQuantizeConfig}


def quantize_aware(model, kind: str = "qat"):
    """The QAT model (fake-quantized, trainable) for a trained float model."""
    with _qk().quantize_scope(_custom_objects()):
        return _qk().quantize_apply(annotate(model), scheme(kind))


def strip(model, kind: str):
    """The trained QAT model ready to save: the cluster-preserving schemes keep centroid
    variables in their wrappers that a saved model cannot be reloaded with; tfmot's
    strip_clustering_cqat folds them back (same outputs, same int8 export)."""
    if kind in ("cqat", "pcqat"):
        from tensorflow_model_optimization.python.core.api.experimental import combine

        return combine.strip_clustering_cqat(model)
    return model


@contextmanager
def scope():
    """Custom objects needed to load models saved by any optimize method."""
    import tensorflow_model_optimization as tfmot

    with ExitStack() as stack:
        stack.enter_context(tfmot.quantization.keras.quantize_scope(_custom_objects()))
        stack.enter_context(tfmot.sparsity.keras.prune_scope())
        stack.enter_context(tfmot.clustering.keras.cluster_scope())
        yield
