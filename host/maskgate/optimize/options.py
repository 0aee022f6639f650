"""What `maskgate optimize` can be told: the options of every method, their defaults, and which
of them each method uses (for the report). No TensorFlow here: the CLI and the config read it."""
from __future__ import annotations

from dataclasses import dataclass, fields

from maskgate.errors import DataError, MaskgateError
from maskgate.optimize import METHODS, SWEEP

FINETUNE_EPOCHS = 3
FINETUNE_LR_FACTOR = 0.1  # fine-tuning starts from trained weights: a tenth of the training rate


@dataclass
class OptimizeOptions:
    epochs: int | None = None  # fine-tuning epochs per stage (distill: student epochs, default the run's)
    learning_rate: float | None = None
    batch_size: int | None = None
    max_train: int | None = None
    max_val: int | None = None
    seed: int | None = None
    sparsity: float = 0.5  # prune / pqat / pcqat: weights zeroed; channel_prune: channels removed
    clusters: int = 16  # seed 001 used 16
    temperature: float = 5.0  # seed 002: 5 or 10
    alpha: float = 0.1  # seed 002: weight of the label loss
    teacher: str = "tinycnn:width=2"  # a RUN folder, or ARCH[:key=value,...] to train here
    teacher_weights: str | None = None  # weights file for the teacher (e.g. ImageNet no-top .h5)
    teacher_epochs: int | None = None
    student: str = "scratch"  # distill: "scratch" (seed 002) or "run" (start from the run's weights)
    sweep: tuple = SWEEP
    calibration_images: int = 300
    eval: tuple = ()  # extra DATA specs for evaluate (the run's test split is always evaluated)
    micro_sample: int = 200

    @classmethod
    def from_dict(cls, values: dict) -> "OptimizeOptions":
        """From [optimize] settings (maskgate.config.settings); lists become tuples."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise DataError(f"unknown [optimize] settings: {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def normalise_method(method: str) -> str:
    name = method.replace("-", "_").lower()
    if name not in METHODS:
        raise MaskgateError(f"unknown method {method!r}; known: {', '.join(METHODS)}")
    return name


# the options each method uses (for the report), then those every method uses
METHOD_OPTIONS = {
    "prune": ("epochs", "learning_rate", "sparsity"), "channel_prune": ("epochs", "learning_rate", "sparsity"),
    "cluster": ("epochs", "learning_rate", "clusters"), "qat": ("epochs", "learning_rate"),
    "pqat": ("epochs", "learning_rate", "sparsity"), "cqat": ("epochs", "learning_rate", "clusters"),
    "pcqat": ("epochs", "learning_rate", "sparsity", "clusters"),
    "distill": ("epochs", "learning_rate", "temperature", "alpha", "teacher", "teacher_weights", "teacher_epochs", "student"),
}
COMMON_OPTIONS = ("max_train", "seed", "calibration_images", "eval")
