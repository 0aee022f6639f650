"""One optimize run: the trained run it starts from, the fine-tuning settings derived from it,
its data, and what it reports (Markdown sections, what the method reached)."""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from maskgate import run_folder
from maskgate import train as training
from maskgate.data.arrays import load_split
from maskgate.errors import DataError, MaskgateError
from maskgate.optimize.options import FINETUNE_EPOCHS, FINETUNE_LR_FACTOR, OptimizeOptions


@dataclass
class Job:
    """Everything one optimize run works with, and what it reports."""
    run_dir: Path
    out_dir: Path
    method: str
    options: OptimizeOptions
    config: dict  # the run record of run_dir
    cfg: training.TrainConfig  # fine-tuning settings
    model: object
    labels: list
    manifest: Path  # the data manifest the run was trained on
    train: dict | None = None
    val: dict | None = None
    test: dict | None = None
    sections: list = field(default_factory=list)  # Markdown blocks for report.md
    details: dict = field(default_factory=dict)  # what the method reached (sparsity, clusters, ...)

    @property
    def arch(self) -> str:
        return self.config["train"]["arch"]

    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.train["y"]) / self.cfg.batch_size)

    def fit(self, model, stage: str, callbacks=(), compile=True, cfg=None):
        """Fine-tune with the training loop and callbacks of `maskgate train`."""
        cfg = cfg or self.cfg
        if compile:
            training.compile_model(model, cfg.num_classes, cfg.learning_rate, cfg.label_smoothing)
        history = training.fit(model, self.train, self.val, cfg, self.out_dir / run_folder.STAGES_DIR / stage,
                               extra_callbacks=callbacks, checkpoint=False)
        return history.history

    def test_accuracy(self, model) -> float:
        from maskgate.optimize.prune import test_figures

        return test_figures(model, self.test["x32"], self.test["y"])[1]

    def run_epochs(self) -> int:
        """The epochs the run itself trained."""
        return self.config.get("epochs_run") or self.config["train"]["epochs"]


def prepare(run_dir, method: str, out_dir, options: OptimizeOptions) -> Job:
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    if run_dir.resolve() == out_dir.resolve():
        raise MaskgateError("OUT must be a new folder, not the run itself")
    config = run_folder.record(run_dir)
    cfg = training.TrainConfig.from_dict(config["train"])
    epochs = options.epochs or FINETUNE_EPOCHS
    cfg = replace(
        cfg,
        epochs=epochs,
        learning_rate=options.learning_rate or cfg.learning_rate * FINETUNE_LR_FACTOR,
        stop_patience=epochs + 1,  # schedules (sparsity, clustering) must run to the end
        batch_size=options.batch_size or cfg.batch_size,
        max_train=options.max_train if options.max_train is not None else cfg.max_train,
        max_val=options.max_val if options.max_val is not None else cfg.max_val,
        seed=options.seed if options.seed is not None else cfg.seed,
    )
    manifest = Path(config["data_manifest"])
    if not manifest.exists():
        raise DataError(f"the run's data manifest {manifest} is gone; re-import it or pass a run trained on this machine")
    model = run_folder.load_model(run_folder.model_file(run_dir))
    return Job(run_dir, out_dir, method, options, config, cfg, model, list(config["labels"]), manifest)


def load_data(job: Job) -> None:
    job.train, job.val = training.load_training_data(job.manifest, job.cfg)
    job.test = load_split(job.manifest, "test", job.labels)
    if len(job.test["y"]) == 0:
        job.test = job.val  # a manifest without a test split: sweep on val, and say so
        job.details["sweep_split"] = "val"


def jsonable(value):
    return json.loads(json.dumps(value, default=lambda v: v.tolist() if hasattr(v, "tolist") else str(v)))


def training_record(job: Job) -> dict:
    """The manifest's "training" entry for an optimized model."""
    return {
        "run": str(job.run_dir.resolve()),
        "seed": job.cfg.seed,
        "data_manifest_sha256": job.config.get("data_manifest_sha256"),
        "optimize": {"method": job.method, "options": jsonable(asdict(job.options)), "details": jsonable(job.details)},
    }


def write_record(job: Job, saved: Path) -> None:
    """OUT/config.json: the run's record, plus the model file and what optimize did."""
    config = dict(job.config)
    config["train"] = {**job.config["train"], "seed": job.cfg.seed}
    config["model_file"] = saved.name
    config["optimize"] = {"method": job.method, "source_run": str(job.run_dir.resolve()),
                          "options": jsonable(asdict(job.options)), "details": jsonable(job.details)}
    run_folder.write_record(job.out_dir, config)
