"""`maskgate compare`: architectures x compression methods, one table and one plot.

Every architecture is trained (or its run reloaded) on the same manifest, exported through the
same int8 path, budget gate and evaluation as a shipped model (models over budget are still
measured, and marked), and every method runs on the chosen architectures with
`maskgate.optimize`. The table gives float / int8 / gzip size, parameters, MACs, the
instructions one inference executes on the emulated Cortex-M7 (maskgate.m7, when the toolchain
and a libtflm are there; --libtflm or $MASKGATE_LIBTFLM), board arena, estimated M7 latency
(from the instructions, else from MACs, marked) and float / int8 accuracy on the test split and
on an unseen source; the plot is int8 accuracy against int8 size with the Pareto front
(smallest model for its accuracy) marked, and instructions against MACs (compare_report).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from maskgate import budget, bundle, host_cpu, keyvalue, run_folder
from maskgate import evaluate as evaluation
from maskgate.atomic import write_json, write_text
from maskgate.compare_report import markdown, pareto, plot
from maskgate.digest import sha256_file
from maskgate.errors import DataError, MaskgateError
from maskgate.optimize import METHODS
from maskgate.optimize.export import OVER_BUDGET_DIR
from maskgate.optimize.options import OptimizeOptions
from maskgate.optimize.run import baseline, optimize_run
from maskgate.train import TrainConfig, train

ARCHS = ("tinycnn", "maskgate", "squeezenet", "squeezenet_modified", "mobilenet_v1", "mobilenet_v2",
         "mobilenet_v3_small", "minixception", "minixception_128_256", "resnet8")
UNSEEN = "../shared/datasets/face-mask-chandrikadeb7"
QUICK = {"archs": ("tinycnn", "maskgate"), "methods": ("prune", "channel_prune", "cluster", "qat", "distill", "dynamic"),
         "epochs": 1, "finetune_epochs": 1, "max_train": 256, "max_val": 128, "micro_sample": 20,
         "teacher": "tinycnn:width=2"}


@dataclass
class CompareConfig:
    archs: tuple = ARCHS  # names or ARCH:key=value,... specs
    methods: tuple = METHODS
    method_archs: tuple | None = None  # architectures the methods run on (default: the first one)
    epochs: int = 8  # training epochs per architecture
    finetune_epochs: int = 2  # per optimize stage
    max_train: int | None = 3000
    max_val: int | None = None
    seed: int = 0
    unseen: str | None = UNSEEN  # a source never trained on (a dataset folder or manifest)
    micro_sample: int = 100
    sweep: tuple = (0.0, 0.2, 0.4, 0.6, 0.8)
    teacher: str = "best"  # see pick_teacher
    extra: dict = field(default_factory=dict)

    @classmethod
    def quick(cls, **overrides) -> "CompareConfig":
        return cls(**{**QUICK, "sweep": (0.0, 0.5), **overrides})


def _slug(spec: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in spec)


def run_for(arch_spec: str, manifest: Path, runs_dir: Path, cfg: CompareConfig) -> Path:
    """Train `arch_spec`, or reuse its run when one with the same settings and data is there."""
    arch, options = keyvalue.parse_spec(arch_spec, "--archs")
    train_cfg = TrainConfig(arch=arch, arch_options=options, epochs=cfg.epochs, max_train=cfg.max_train,
                            max_val=cfg.max_val, seed=cfg.seed)
    run_dir = runs_dir / _slug(arch_spec)
    old = run_folder.record_or_empty(run_dir)
    if old and (run_dir / run_folder.MODEL_FILE).exists():
        if old.get("train") == asdict(train_cfg) and old.get("data_manifest_sha256") == sha256_file(manifest):
            return run_dir
    return train(manifest, run_dir, train_cfg)


def pick_teacher(teacher: str, student: str, runs: dict) -> str:
    """The distillation teacher for `student`: "best" is the compared run (not the student's)
    with the highest validation accuracy; a compared architecture's name is its run (neither is
    trained twice); anything else (ARCH[:k=v] or a RUN folder) goes to optimize as it is."""
    if teacher == "best":
        others = {a: r for a, r in runs.items() if a != student}
        if not others:
            raise MaskgateError("--teacher best needs another architecture in the comparison")
        score = lambda a: run_folder.record(others[a]).get("best_val_accuracy", 0.0)  # noqa: E731
        return str(others[max(others, key=score)])
    return str(runs[teacher]) if teacher in runs else teacher


def m7_of(summary: dict) -> dict:
    """The emulated-M7 count of a compared model: from its manifest (quantize counted it), else
    counted now (models over budget have no manifest), or why there is none."""
    out = Path(summary["out"])
    m7 = (bundle.read_manifest(out) or {}).get("m7")
    if m7:
        return m7
    for model in (bundle.int8_of(out), bundle.int8_of(out / OVER_BUDGET_DIR)):
        if model:
            return budget.m7_figures(model.read_bytes())
    return {"kind": "unavailable", "reason": "no int8 model to run (dynamic range)"}


def _m7_columns(m7: dict) -> dict:
    measured = m7.get("kind") == "measured"
    return {
        "instructions": m7["instructions"] if measured else None,
        "m7_ms": m7["latency"]["latency_ms"] if measured else None,
        "no_mac_share": m7.get("no_mac_share") if measured else None,
        "m7_check": m7.get("check") if measured else None,
        "m7_library": m7.get("library") if measured else None,
        "m7_reason": None if measured else m7.get("reason"),
    }


def _row(arch_spec: str, method: str, summary: dict) -> dict:
    f = summary["figures"]
    # evaluations come in the order of the specs: the test split, then the unseen source
    test, unseen = (summary["datasets"] + [{}, {}])[:2]
    return {
        "arch": arch_spec, "method": method, "float_bytes": summary["float_bytes"], "int8_bytes": f["bytes"],
        "gzip_bytes": f["gzip_bytes"], "params": f["params"], "macs": f["macs"], "arena_board": f["arena_bytes_board"],
        "latency_ms": summary["latency_ms"]["typical"], "budget_ok": summary["budget_ok"], "refused": summary["refused"],
        "test_name": test.get("name"), "unseen_name": unseen.get("name"),
        "test_float": test.get("float_accuracy"), "test_int8": test.get("int8_accuracy"),
        "unseen_float": unseen.get("float_accuracy"), "unseen_int8": unseen.get("int8_accuracy"),
        "weights": summary["weights"], "details": summary["details"], "seconds": summary["seconds"], "out": summary["out"],
        **_m7_columns(m7_of(summary) if method != "dynamic" else {"reason": "dynamic range: not an int8 model"}),
    }


def compare(data, out_dir, results_dir, cfg: CompareConfig | None = None, command: str = "") -> dict:
    """Run the grid; write results_dir/compare.md, compare.png and compare.json. Runs, models
    and evaluations go under out_dir (large; not for committing)."""
    cfg = cfg or CompareConfig()
    started = time.time()
    data = Path(data)
    manifest = data / "manifest.csv" if data.is_dir() else data
    if not manifest.exists():
        raise DataError(f"{data}: no manifest.csv (import the data first: maskgate data import ...)")
    out_dir, results_dir = Path(out_dir), Path(results_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    unseen_spec = None
    if cfg.unseen:
        if not Path(cfg.unseen).exists():
            raise DataError(f"unseen source {cfg.unseen} not found (pass --unseen '' to skip it)")
        name, unseen_manifest, split = evaluation.resolve_data(cfg.unseen, out_dir / "data")
        unseen_spec = f"{unseen_manifest}:{split}" if split else str(unseen_manifest)
    options = OptimizeOptions(epochs=cfg.finetune_epochs, max_train=cfg.max_train, max_val=cfg.max_val, seed=cfg.seed,
                              eval=(unseen_spec,) if unseen_spec else (), micro_sample=cfg.micro_sample,
                              sweep=tuple(cfg.sweep), teacher=cfg.teacher, teacher_epochs=cfg.epochs, **cfg.extra)
    method_archs = cfg.method_archs or cfg.archs[:1]
    rows, failures, runs = [], [], {}
    for arch_spec in cfg.archs:
        arch_started = time.time()
        runs[arch_spec] = run_for(arch_spec, manifest, out_dir / "runs", cfg)
        train_seconds = time.time() - arch_started
        summary = baseline(runs[arch_spec], out_dir / "models" / _slug(arch_spec) / "none", options)
        rows.append({**_row(arch_spec, "none", summary), "train_seconds": round(train_seconds, 1)})
    teachers = {}
    for arch_spec in method_archs:
        run_dir = runs.get(arch_spec) or run_for(arch_spec, manifest, out_dir / "runs", cfg)
        for method in cfg.methods:
            method_options = options
            try:
                if method == "distill":
                    # a student trained for as long as the architecture itself was, by a teacher
                    teacher = teachers[arch_spec] = pick_teacher(cfg.teacher, arch_spec, runs)
                    method_options = replace(options, teacher=teacher, epochs=cfg.epochs)
                summary = optimize_run(run_dir, method, out_dir / "models" / _slug(arch_spec) / method, method_options,
                                       allow_over_budget=True)
            except MaskgateError as e:  # e.g. an architecture channel pruning cannot narrow
                failures.append({"arch": arch_spec, "method": method, "error": str(e)})
                continue
            rows.append(_row(arch_spec, method, summary))
    result = {
        "command": command, "wall_seconds": round(time.time() - started, 1), "cpu_cores": host_cpu.cores(),
        "config": asdict(cfg),
        "data": str(manifest.resolve()), "test": rows[0]["test_name"] if rows else None,
        "unseen": rows[0]["unseen_name"] if rows else None, "unseen_source": str(cfg.unseen) if cfg.unseen else None,
        "teachers": teachers, "rows": rows, "failures": failures,
        "pareto_test": [(r["arch"], r["method"]) for r in pareto(rows, "test_int8")],
        "pareto_unseen": [(r["arch"], r["method"]) for r in pareto(rows, "unseen_int8")],
    }
    results_dir.mkdir(parents=True, exist_ok=True)
    write_json(results_dir / "compare.json", result)
    plot(result, results_dir / "compare.png")
    write_text(results_dir / "compare.md", markdown(result))
    return result
