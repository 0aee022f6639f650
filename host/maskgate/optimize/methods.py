"""`maskgate optimize RUN --method M`: one compression technique applied to a trained run, with
the result written as a new run-like folder OUT and put through the same int8 export, budget
gate and evaluation as a normal model.

    prune          tfmot magnitude pruning to --sparsity on a polynomial schedule (+ seed 002 Table 1 sweep)
    channel_prune  L1 channel pruning that removes --sparsity of the channels (+ Table 2 sweep)
    cluster        tfmot weight clustering to --clusters values per kernel (reported with gzip size)
    qat            quantization-aware training
    pqat           prune, then sparsity-preserving QAT
    cqat           cluster, then cluster-preserving QAT
    pcqat          prune, sparsity-preserving clustering, then sparsity- and cluster-preserving QAT
    distill        a student of the run's architecture taught by a teacher trained here
    dynamic        post-training dynamic-range quantization (not runnable on the board; for comparison)

OUT holds model.keras (model.h5 for QAT models), config.json (the run's, plus what was done),
stages/*/history.csv, the model bundle (maskgate_int8.tflite, maskgate_float.tflite, labels.txt,
manifest.json), eval/ (evaluate's report) and report.md (per-step tables and the figures).
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from maskgate import budget, nets
from maskgate import evaluate as evaluation
from maskgate import train as training
from maskgate.atomic import write_bytes, write_json, write_text
from maskgate.data.arrays import load_split
from maskgate.errors import BudgetError, DataError, MaskgateError
from maskgate.optimize import quantize
from maskgate.tfenv import keras, seed_everything

from maskgate.optimize import METHODS, SWEEP  # noqa: F401  (names live where the CLI can read them cheaply)

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


def normalise_method(method: str) -> str:
    name = method.replace("-", "_").lower()
    if name not in METHODS:
        raise MaskgateError(f"unknown method {method!r}; known: {', '.join(METHODS)}")
    return name


def parse_arch_spec(spec: str) -> tuple[str, dict]:
    """"ARCH" or "ARCH:key=value,key=value" (or ";" between options) -> (arch, options); values
    parsed as JSON when they can be."""
    arch, _, rest = spec.partition(":")
    options = {}
    for pair in filter(None, rest.replace(";", ",").split(",")):
        key, sep, value = pair.partition("=")
        if not sep:
            raise MaskgateError(f"{spec!r}: architecture options are key=value")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return arch, options


# ------------------------------------------------------------------ loading
def model_file(run_dir: Path) -> Path:
    for name in ("model.keras", "model.h5"):
        if (run_dir / name).exists():
            return run_dir / name
    raise DataError(f"{run_dir} has no model.keras: train first (maskgate train --out {run_dir})")


def load_model(path):
    from maskgate.optimize.qat import scope

    with scope():
        return keras.models.load_model(path)


def save_model(model, out_dir: Path) -> Path:
    """model.keras, or model.h5 for QAT models (tfmot's quantize layers do not reload from .keras)."""
    is_qat = any(type(layer).__name__.startswith("Quantize") for layer in model.layers)
    path = out_dir / ("model.h5" if is_qat else "model.keras")
    for stale in ("model.keras", "model.h5"):
        if (out_dir / stale).exists() and out_dir / stale != path:
            (out_dir / stale).unlink()
    model.save(path)
    return path


@dataclass
class Job:
    """Everything one optimize run works with, and what it reports."""
    run_dir: Path
    out_dir: Path
    method: str
    options: OptimizeOptions
    config: dict
    cfg: training.TrainConfig  # fine-tuning settings
    model: object
    labels: list
    manifest: Path
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
        history = training.fit(model, self.train, self.val, cfg, self.out_dir / "stages" / stage,
                               extra_callbacks=callbacks, checkpoint=False)
        return history.history

    def test_accuracy(self, model) -> float:
        from maskgate.optimize.prune import test_figures

        return test_figures(model, self.test["x32"], self.test["y"])[1]


def prepare(run_dir, method: str, out_dir, options: OptimizeOptions) -> Job:
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    if run_dir.resolve() == out_dir.resolve():
        raise MaskgateError("OUT must be a new folder, not the run itself")
    config_path = run_dir / "config.json"
    if not config_path.exists():
        raise DataError(f"{run_dir} is not a run folder (no config.json)")
    config = json.loads(config_path.read_text())
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
    model = load_model(model_file(run_dir))
    return Job(run_dir, out_dir, method, options, config, cfg, model, list(config["labels"]), manifest)


def load_data(job: Job) -> None:
    job.train, job.val = training.load_training_data(job.manifest, job.cfg)
    job.test = load_split(job.manifest, "test", job.labels)
    if len(job.test["y"]) == 0:
        job.test = job.val  # a manifest without a test split: sweep on val, and say so
        job.details["sweep_split"] = "val"


# ------------------------------------------------------------------ markdown
def _pct(v) -> str:
    return "–" if v is None else f"{v * 100:.2f} %"


def table(header: list, rows: list) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _val_rows(history: dict) -> list:
    return [[i + 1, f"{loss:.4f}", _pct(acc)] for i, (loss, acc) in
            enumerate(zip(history.get("val_loss", []), history.get("val_accuracy", [])))]


# ------------------------------------------------------------------ the methods
def prune_stage(job: Job, model, title="Fine-tuning with magnitude pruning"):
    from maskgate.optimize import prune

    epochs = job.cfg.epochs
    # reach the target one epoch before the end, so the last epoch recovers at full sparsity
    total = job.steps_per_epoch() * max(1, epochs - 1)
    wrapped = prune.wrap_for_pruning(model, job.options.sparsity, total)
    cbs = prune.callbacks()
    job.fit(wrapped, "prune", callbacks=cbs)
    stripped = prune.strip(wrapped)
    reached = prune.sparsity(stripped)
    job.details.update(sparsity_target=job.options.sparsity, sparsity_reached=reached)
    log = cbs[-1].rows
    job.sections.append(
        f"## {title}\n\nPolynomial (cubic) schedule 0 → {job.options.sparsity:.2f} over {total} steps "
        f"({epochs} epochs of {job.steps_per_epoch()} steps), unstructured, every Conv2D / SeparableConv2D / "
        f"Dense kernel but the output head. Reached sparsity {reached * 100:.2f} %.\n\n"
        + table(["epoch", "sparsity", "val loss", "val accuracy"],
                [[r["epoch"], f"{r['sparsity'] * 100:.1f} %", f"{r['val_loss']:.4f}", _pct(r["val_accuracy"])] for r in log])
    )
    return stripped


def method_prune(job: Job):
    from maskgate.optimize import prune

    rows = prune.one_shot_sweep(job.model, job.test["x32"], job.test["y"], job.options.sweep)
    job.details["sweep"] = rows
    job.sections.append(
        "## L1 unstructured pruning, one shot (seed 002 Table 1)\n\nThe trained model with the smallest "
        "weights of each kernel zeroed, no fine-tuning; float model on the test split.\n\n"
        + table(["pruning ratio", "sparsity", "test loss", "test accuracy"],
                [[f"{r['ratio']:.2f}", f"{r['sparsity'] * 100:.1f} %", f"{r['test_loss']:.4f}", _pct(r["test_accuracy"])] for r in rows])
    )
    return prune_stage(job, job.model)


def method_channel_prune(job: Job):
    from maskgate.optimize import channel_prune

    rows = channel_prune.one_shot_sweep(job.model, job.test["x32"], job.test["y"], job.options.sweep)
    job.details["sweep"] = rows
    job.sections.append(
        "## L1 structured (channel) pruning, one shot (seed 002 Table 2)\n\nThe weakest output channels "
        "(L1 norm) of every prunable layer removed, no fine-tuning; float model on the test split.\n\n"
        + table(["channels removed", "parameters", "MACs", "test loss", "test accuracy"],
                [[f"{r['ratio']:.2f}", f"{r['params']:,}", f"{r['macs']:,}", f"{r['test_loss']:.4f}", _pct(r["test_accuracy"])] for r in rows])
    )
    narrowed, widths = channel_prune.prune_channels(job.model, job.options.sparsity)
    job.details.update(channels_removed=job.options.sparsity, widths=widths,
                       params_before=int(job.model.count_params()), params_after=int(narrowed.count_params()))
    history = job.fit(narrowed, "channel_prune")
    job.sections.append(
        f"## Fine-tuning the narrowed model\n\n{job.options.sparsity:.2f} of the channels removed: parameters "
        f"{job.model.count_params():,} → {narrowed.count_params():,}.\n\n"
        + table(["layer", "channels before", "after"], [[k, a, b] for k, (a, b) in widths.items()])
        + "\n\n" + table(["epoch", "val loss", "val accuracy"], _val_rows(history))
    )
    return narrowed


def cluster_stage(job: Job, model, preserve_sparsity=False):
    from maskgate.optimize import cluster, prune

    wrapped = cluster.wrap_for_clustering(model, job.options.clusters, preserve_sparsity)
    history = job.fit(wrapped, "cluster")
    stripped = cluster.strip(wrapped)
    distinct = cluster.distinct_values(stripped)
    job.details.update(clusters=job.options.clusters, max_distinct_per_kernel=max(distinct.values()))
    if preserve_sparsity:
        job.details["sparsity_after_clustering"] = prune.sparsity(stripped)
    job.sections.append(
        f"## Fine-tuning with weight clustering ({job.options.clusters} clusters"
        + (", sparsity preserved" if preserve_sparsity else "") + ")\n\nk-means++ centroids per kernel. "
        f"Distinct values per kernel after stripping: at most {max(distinct.values())}.\n\n"
        + table(["epoch", "val loss", "val accuracy"], _val_rows(history))
    )
    return stripped


def method_cluster(job: Job):
    return cluster_stage(job, job.model)


def method_qat(job: Job):
    from maskgate.optimize import qat

    kind = job.method
    model = job.model
    if kind in ("pqat", "pcqat"):
        model = prune_stage(job, model)
    if kind in ("cqat", "pcqat"):
        model = cluster_stage(job, model, preserve_sparsity=kind == "pcqat")
    quantized = qat.quantize_aware(model, kind)
    history = job.fit(quantized, "qat")
    quantized = qat.strip(quantized, kind)
    job.sections.append(
        f"## Quantization-aware training ({kind})\n\nEvery layer but the input Rescaling annotated; scheme "
        f"{type(qat.scheme(kind)).__name__}" + (" (preserve_sparsity)" if kind == "pcqat" else "") + ".\n\n"
        + table(["epoch", "val loss", "val accuracy"], _val_rows(history))
    )
    return quantized


def _run_epochs(job: Job) -> int:
    return job.config.get("epochs_run") or job.config["train"]["epochs"]


def _teacher(job: Job):
    spec = job.options.teacher
    if Path(spec).is_dir():
        teacher = load_model(model_file(Path(spec)))
        job.details["teacher"] = str(Path(spec).resolve())
        return teacher
    arch, options = parse_arch_spec(spec)
    if job.options.teacher_weights:
        options["weights"] = job.options.teacher_weights
    teacher = nets.build(arch, num_classes=job.cfg.num_classes, **options)
    # like the student, a teacher trained here gets the run's epochs unless told otherwise (not
    # the 3 fine-tuning epochs of the other methods: a half-trained teacher teaches little)
    epochs = job.options.teacher_epochs or job.options.epochs or _run_epochs(job)
    cfg = replace(job.cfg, epochs=epochs,
                  learning_rate=job.options.learning_rate or job.config["train"]["learning_rate"])
    cfg = replace(cfg, stop_patience=cfg.epochs + 1)
    history = job.fit(teacher, "teacher", cfg=cfg)
    teacher.save(job.out_dir / "stages" / "teacher" / "model.keras")
    accuracy = job.test_accuracy(teacher)
    job.details.update(teacher=spec, teacher_params=int(teacher.count_params()), teacher_test_accuracy=accuracy)
    job.sections.append(
        f"## Teacher: `{spec}` trained here" + (f" from `{job.options.teacher_weights}`" if job.options.teacher_weights else "")
        + f"\n\n{teacher.count_params():,} parameters, test accuracy {_pct(accuracy)} (float).\n\n"
        + table(["epoch", "val loss", "val accuracy"], _val_rows(history))
    )
    return teacher


def method_distill(job: Job):
    from maskgate.optimize import distill

    teacher = _teacher(job)
    train_cfg = job.config["train"]
    if job.options.student == "run":
        student = keras.models.clone_model(job.model)
        student.set_weights(job.model.get_weights())
        lr = job.cfg.learning_rate
    elif job.options.student == "scratch":
        student = nets.build(train_cfg["arch"], num_classes=job.cfg.num_classes, **train_cfg.get("arch_options", {}))
        lr = job.options.learning_rate or train_cfg["learning_rate"]
    else:
        raise MaskgateError(f"--student is 'scratch' or 'run', not {job.options.student!r}")
    epochs = job.options.epochs or _run_epochs(job)
    cfg = replace(job.cfg, epochs=epochs, learning_rate=lr, stop_patience=max(train_cfg["stop_patience"], 1))
    distiller = distill.compile_distiller(distill.Distiller(student, teacher, job.options.temperature, job.options.alpha), lr)
    history = job.fit(distiller, "distill", compile=False, cfg=cfg)
    student_acc, run_acc = job.test_accuracy(student), job.test_accuracy(job.model)
    job.details.update(temperature=job.options.temperature, alpha=job.options.alpha, student_init=job.options.student,
                       student_test_accuracy=student_acc, run_test_accuracy=run_acc)
    job.sections.append(
        f"## Student: `{train_cfg['arch']}` ({job.options.student}), T = {job.options.temperature:g}, "
        f"α = {job.options.alpha:g}\n\nloss = α·CE(labels, student) + (1 − α)·T²·KL(teacher_T ‖ student_T). "
        f"Student test accuracy {_pct(student_acc)} (float) vs the run's {_pct(run_acc)}.\n\n"
        + table(["epoch", "val loss (labels)", "val accuracy"], _val_rows(history))
    )
    return student


METHOD_FUNCTIONS = {
    "prune": method_prune, "channel_prune": method_channel_prune, "cluster": method_cluster,
    "qat": method_qat, "pqat": method_qat, "cqat": method_qat, "pcqat": method_qat, "distill": method_distill,
}


# ------------------------------------------------------------------ export, gate, evaluation
def calibration_pixels(job: Job) -> np.ndarray:
    calib = load_split(job.manifest, "train", job.labels, limit=job.options.calibration_images, seed=job.cfg.seed)
    return quantize.representative_pixels(calib["x32"], job.options.calibration_images, job.cfg.seed)


def eval_specs(job: Job) -> list[str]:
    return [f"{job.manifest}:test", *job.options.eval]


def training_record(job: Job) -> dict:
    return {
        "run": str(job.run_dir.resolve()),
        "seed": job.cfg.seed,
        "data_manifest_sha256": job.config.get("data_manifest_sha256"),
        "optimize": {"method": job.method, "options": _jsonable(asdict(job.options)), "details": _jsonable(job.details)},
    }


def _jsonable(value):
    return json.loads(json.dumps(value, default=lambda v: v.tolist() if hasattr(v, "tolist") else str(v)))


def export(job: Job, model, allow_over_budget: bool) -> dict:
    """int8 + float export, the budget gate, evaluation. Over budget: BudgetError, unless
    `allow_over_budget` (compare), which keeps the files under OUT/over_budget/ and goes on."""
    from maskgate.optimize import weights

    int8 = quantize.convert_int8(model, calibration_pixels(job))
    float_bytes = quantize.convert_float(model)
    result = {"weights": weights.weight_stats(int8), "float_bytes": len(float_bytes)}
    try:
        manifest = quantize.write_bundle(job.out_dir, int8, float_bytes, job.labels, job.arch, training_record(job))
        result.update(figures={k: manifest[k] for k in ("bytes", "gzip_bytes", "params", "macs", "arena_bytes", "arena_bytes_board")},
                      budget=manifest["budget"], estimate=manifest["estimate"], refused=None)
        target = job.out_dir
    except BudgetError as e:
        if not allow_over_budget:
            job.sections.append(f"## Budget gate\n\nRefused: {e}")
            raise
        over = job.out_dir / "over_budget"
        write_bytes(over / quantize.INT8_FILE, int8)
        write_bytes(over / quantize.FLOAT_FILE, float_bytes)
        figures = budget.model_figures(int8)
        result.update(figures={k: figures[k] for k in ("bytes", "gzip_bytes", "params", "macs", "arena_bytes", "arena_bytes_board")},
                      budget=figures["budget"], estimate=figures["estimate"], refused=str(e))
        target = over / quantize.INT8_FILE
    result["evaluation"] = evaluation.evaluate(target, eval_specs(job), job.out_dir / "eval", job.options.micro_sample)
    return result


def export_dynamic(job: Job) -> dict:
    from maskgate.optimize import dynamic

    tflite = dynamic.convert_dynamic(job.model)
    float_bytes = quantize.convert_float(job.model)
    path = write_bytes(job.out_dir / "maskgate_dynamic.tflite", tflite)
    write_bytes(job.out_dir / quantize.FLOAT_FILE, float_bytes)
    figures = dynamic.figures(tflite)
    job.sections.append(f"## Dynamic-range quantization\n\nNot deployable: {dynamic.REASON}.")
    return {
        "weights": None, "float_bytes": len(float_bytes),
        "figures": {k: figures[k] for k in ("bytes", "gzip_bytes", "params", "macs", "arena_bytes", "arena_bytes_board")},
        "budget": figures["budget"], "estimate": figures["estimate"], "refused": dynamic.REASON,
        # tflite-micro cannot run it, so no micro agreement check
        "evaluation": evaluation.evaluate(path, eval_specs(job), job.out_dir / "eval", micro_sample=0),
    }


# ------------------------------------------------------------------ report
def summary_of(job: Job, result: dict, seconds: float) -> dict:
    # in the order of eval_specs: the run's test split first, then any --eval data
    datasets = [{"name": s["name"], "images": s["images"], "float_accuracy": s["float"]["accuracy"],
                 "int8_accuracy": s["int8"]["accuracy"]} for s in result["evaluation"]["datasets"]]
    return {
        "method": job.method, "run": str(job.run_dir), "out": str(job.out_dir), "arch": job.arch,
        "figures": result["figures"], "float_bytes": result["float_bytes"], "weights": result["weights"],
        "budget_ok": bool(result["budget"].get("ok")) and not result["refused"], "refused": result["refused"],
        "latency_ms": result["estimate"]["latency_ms"], "datasets": datasets, "details": _jsonable(job.details),
        "seconds": round(seconds, 1),
    }


# the options each method uses (for the report), then those every method uses
METHOD_OPTIONS = {
    "prune": ("epochs", "learning_rate", "sparsity"), "channel_prune": ("epochs", "learning_rate", "sparsity"),
    "cluster": ("epochs", "learning_rate", "clusters"), "qat": ("epochs", "learning_rate"),
    "pqat": ("epochs", "learning_rate", "sparsity"), "cqat": ("epochs", "learning_rate", "clusters"),
    "pcqat": ("epochs", "learning_rate", "sparsity", "clusters"),
    "distill": ("epochs", "learning_rate", "temperature", "alpha", "teacher", "teacher_weights", "teacher_epochs", "student"),
}
COMMON_OPTIONS = ("max_train", "seed", "calibration_images", "eval")


def report_markdown(job: Job, summary: dict) -> str:
    f = summary["figures"]
    kb = lambda v: "–" if v is None else f"{v / 1024:.1f} KB"  # noqa: E731
    given = asdict(job.options)
    shown = ", ".join(f"{k}={given[k]}" for k in METHOD_OPTIONS.get(job.method, ()) + COMMON_OPTIONS if given[k] not in (None, ()))
    lines = [f"# `{job.method}` of `{job.run_dir}`", "",
             f"Architecture `{job.arch}`; {summary['seconds']:.0f} s on this machine. Options: {shown or 'defaults'}.", ""]
    for section in job.sections:
        lines += [section, ""]
    status = "passes" if summary["budget_ok"] else f"refused ({summary['refused']})"
    lines += ["## Export", "", table(
        ["float .tflite", "int8 .tflite", "int8 gzip", "params", "MACs", "board arena", "est. M7 latency (typical)", "budget gate"],
        [[kb(summary["float_bytes"]), kb(f["bytes"]), kb(f["gzip_bytes"]), f"{f['params']:,}", f"{f['macs']:,}",
          kb(f["arena_bytes_board"]), f"{summary['latency_ms']['typical']:.2f} ms (estimate)", status]]), ""]
    if summary["weights"]:
        w = summary["weights"]
        lines += [f"int8 weights: {w['zero_fraction'] * 100:.1f} % zeros; at most {w['max_distinct_per_channel']} "
                  "distinct values in one output channel (output head excluded).", ""]
    lines += ["## Evaluation", "", table(["data", "images", "float accuracy", "int8 accuracy"],
                                         [[d["name"], d["images"], _pct(d["float_accuracy"]), _pct(d["int8_accuracy"])]
                                          for d in summary["datasets"]]),
              "", "Full report: [eval/report.md](eval/report.md).", ""]
    return "\n".join(lines)


def write_run_config(job: Job, saved: Path) -> None:
    config = dict(job.config)
    config["train"] = {**job.config["train"], "seed": job.cfg.seed}
    config["model_file"] = saved.name
    config["optimize"] = {"method": job.method, "source_run": str(job.run_dir.resolve()),
                          "options": _jsonable(asdict(job.options)), "details": _jsonable(job.details)}
    write_json(job.out_dir / "config.json", config)


def optimize_run(run_dir, method: str, out_dir, options: OptimizeOptions | None = None,
                 allow_over_budget: bool = False) -> dict:
    """Apply `method` to RUN, write OUT (see the module doc) and return the summary that
    OUT/optimize.json holds. Raises BudgetError (after writing the model and report) when the
    result does not fit the board, unless `allow_over_budget`."""
    started = time.time()
    method = normalise_method(method)
    options = options or OptimizeOptions()
    job = prepare(run_dir, method, out_dir, options)
    job.out_dir.mkdir(parents=True, exist_ok=True)
    seed_everything(job.cfg.seed)
    if method == "dynamic":
        saved = save_model(job.model, job.out_dir)
        result = export_dynamic(job)
    else:
        load_data(job)
        model = METHOD_FUNCTIONS[method](job)
        saved = save_model(model, job.out_dir)
        write_run_config(job, saved)
        try:
            result = export(job, model, allow_over_budget)
        except BudgetError:
            write_text(job.out_dir / "report.md", "\n\n".join([f"# `{method}` of `{job.run_dir}`", *job.sections]) + "\n")
            raise
    write_run_config(job, saved)
    summary = summary_of(job, result, time.time() - started)
    write_json(job.out_dir / "optimize.json", summary)
    write_text(job.out_dir / "report.md", report_markdown(job, summary))
    return summary


def baseline(run_dir, out_dir, options: OptimizeOptions | None = None, allow_over_budget: bool = True) -> dict:
    """The run itself through the same export, gate and evaluation (compare's "none" row)."""
    started = time.time()
    options = options or OptimizeOptions()
    job = prepare(run_dir, "none", out_dir, options)
    job.out_dir.mkdir(parents=True, exist_ok=True)
    result = export(job, job.model, allow_over_budget)
    summary = summary_of(job, result, time.time() - started)
    write_json(job.out_dir / "optimize.json", summary)
    write_text(job.out_dir / "report.md", report_markdown(job, summary))
    return summary

