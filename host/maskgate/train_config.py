"""What `maskgate train` can be told ([train] of a build config): the fields, their defaults.
No TensorFlow here, so the CLI and maskgate.config check a config before TensorFlow loads."""
from __future__ import annotations

from dataclasses import dataclass, field

from maskgate.errors import DataError

LR_SCHEDULES = ("plateau", "cosine")


@dataclass
class TrainConfig:
    arch: str = "tinycnn"
    arch_options: dict = field(default_factory=dict)
    num_classes: int = 2
    epochs: int = 30
    batch_size: int = 64
    learning_rate: float = 1e-3
    label_smoothing: float = 0.0
    # "plateau": the paper's ReduceLROnPlateau; "cosine": decay to ~0 by the last epoch, for runs
    # whose validation accuracy keeps creeping up so the plateau rule never fires
    lr_schedule: str = "plateau"
    # stochastic weight averaging: model.keras becomes the mean of the weights at the end of
    # epochs swa_start..last (1-based), batch norm recomputed; the best checkpoint is kept beside it
    swa_start: int | None = None
    lr_patience: int = 5
    stop_patience: int = 10
    augment: bool = True
    augment_options: dict = field(default_factory=dict)
    max_train: int | None = None  # seeded subset, for quick builds and tests
    max_val: int | None = None
    seed: int = 0

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        known = {k: v for k, v in values.items() if k in cls.__dataclass_fields__}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise DataError(f"unknown [train] settings: {', '.join(unknown)}")
        return cls(**known)

    def __post_init__(self):
        from maskgate.config import check_table

        check_table("train", {k: getattr(self, k) for k in self.__dataclass_fields__}, "[train]")
        if self.swa_start is not None and not 1 <= self.swa_start <= self.epochs:
            raise DataError(f"[train] swa_start {self.swa_start} is not an epoch of 1..{self.epochs} "
                            "(a quick build needs its own swa_start under [quick])")
