"""`maskgate compare`: architectures x compression methods, one table and one plot.

Every architecture is trained (or its run reloaded) on the same manifest, exported through the
same int8 path, budget gate and evaluation as a shipped model (models over budget are still
measured, and marked), and every method runs on the chosen architectures with
`optimize.methods`. The table gives float / int8 / gzip size, parameters, MACs, the
instructions one inference executes on the emulated Cortex-M7 (maskgate.m7, when the toolchain
and a libtflm are there; --libtflm or $MASKGATE_LIBTFLM), board arena, estimated M7 latency
(from the instructions, else from MACs, marked) and float / int8 accuracy on the test split and
on an unseen source; the plot is int8 accuracy against int8 size with the Pareto front
(smallest model for its accuracy) marked, and instructions against MACs.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from maskgate import budget
from maskgate import evaluate as evaluation
from maskgate.atomic import save_figure, write_json, write_text
from maskgate.errors import DataError, MaskgateError
from maskgate.optimize.methods import METHODS, OptimizeOptions, baseline, optimize_run, parse_arch_spec, table
from maskgate.train import TrainConfig, file_sha256, train

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
    arch, options = parse_arch_spec(arch_spec)
    train_cfg = TrainConfig(arch=arch, arch_options=options, epochs=cfg.epochs, max_train=cfg.max_train,
                            max_val=cfg.max_val, seed=cfg.seed)
    run_dir = runs_dir / _slug(arch_spec)
    config_path = run_dir / "config.json"
    if config_path.exists() and (run_dir / "model.keras").exists():
        old = json.loads(config_path.read_text())
        if old.get("train") == asdict(train_cfg) and old.get("data_manifest_sha256") == file_sha256(manifest):
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
        score = lambda a: json.loads((others[a] / "config.json").read_text()).get("best_val_accuracy", 0.0)  # noqa: E731
        return str(others[max(others, key=score)])
    return str(runs[teacher]) if teacher in runs else teacher


def m7_of(summary: dict) -> dict:
    """The emulated-M7 count of a compared model: from its manifest (quantize counted it), else
    counted now (models over budget have no manifest), or why there is none."""
    out = Path(summary["out"])
    manifest = out / "manifest.json"
    if manifest.exists():
        m7 = json.loads(manifest.read_text()).get("m7")
        if m7:
            return m7
    for model in (out / "maskgate_int8.tflite", out / "over_budget" / "maskgate_int8.tflite"):
        if model.exists():
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


def pareto(rows: list[dict], key: str = "test_int8") -> list[dict]:
    """Int8 models no other int8 model beats on both size (smaller) and accuracy (higher).
    Dynamic-range models are left out: they are not int8 models and cannot run on the board."""
    points = [r for r in rows if r.get(key) is not None and r.get("int8_bytes") and r["method"] != "dynamic"]
    front = []
    for r in points:
        dominated = any(o is not r and o["int8_bytes"] <= r["int8_bytes"] and o[key] >= r[key]
                        and (o["int8_bytes"] < r["int8_bytes"] or o[key] > r[key]) for o in points)
        if not dominated:
            front.append(r)
    return sorted(front, key=lambda r: r["int8_bytes"])


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
        "command": command, "wall_seconds": round(time.time() - started, 1), "config": asdict(cfg),
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


# ------------------------------------------------------------------ outputs
def _kb(v) -> str:
    return "–" if v is None else f"{v / 1024:.1f}"


def _pct(v) -> str:
    return "–" if v is None else f"{v * 100:.2f}"


def _m7_cells(r: dict) -> list[str]:
    n = r.get("instructions")
    if n is None:
        return ["–", "–", "–"]
    share = r.get("no_mac_share")
    return [f"{n / 1e6:.2f} M", f"{n / r['macs']:.2f}" if r["macs"] else "–", "–" if share is None else f"{share * 100:.1f}"]


def _ms(r: dict) -> str:
    """Counted rows: the band from instructions (floor–high); others: the MACs estimate, marked."""
    if r.get("m7_ms"):
        return f"{r['m7_ms']['floor']:.1f}–{r['m7_ms']['high']:.1f}"
    return f"{r['latency_ms']:.1f}ᴹ"


def m7_note(rows: list[dict]) -> str:
    counted = [r for r in rows if r.get("instructions") is not None]
    mac_note = ("ᴹ: MACs × 2.0 cycles / 480 MHz, the weaker estimate (no instruction count"
                + (f": {next(r['m7_reason'] for r in rows if r.get('m7_reason'))}" if any(r.get("m7_reason") for r in rows) else "") + ").")
    if not counted:
        return "M7 instructions not counted. M7 ms: " + mac_note
    lib = counted[0]["m7_library"]
    checks = [r["m7_check"] for r in counted]
    cpi = budget.CYCLES_PER_INSTRUCTION
    note = (f"M7 instr.: instructions per inference counted on the emulated Cortex-M7 (QEMU mps2-an500, -icount) "
            f"in TFLM + CMSIS-NN from openmv/libtflm {(lib['revision'] or 'unknown revision')[:12]} "
            f"(`{lib['archive']}`, sha256 {lib['sha256'][:12]}); outputs identical to tflite-micro on the PC on "
            f"{sum(c['identical'] for c in checks)} of {sum(c['inputs'] for c in checks)} inputs "
            f"({checks[0]['inputs']} per model). No-MAC %: share of the instructions in layers without MACs. "
            f"M7 ms: an estimate, instructions × {cpi['floor']}–{cpi['high']} cycles/instruction / 480 MHz "
            f"({cpi['floor']} is the M7's two-per-cycle floor).")
    if len(counted) < len(rows):
        note += " " + mac_note
    return note


METHOD_NOTES = {
    "none": "int8 post-training quantization of the trained model",
    "prune": "unstructured magnitude pruning (tfmot, polynomial schedule): zeros compress (gzip), the .tflite keeps its size",
    "channel_prune": "L1 channel pruning: a narrower model, so parameters, MACs, arena and the .tflite shrink",
    "cluster": "weight clustering (tfmot): few distinct values per kernel compress (gzip), same .tflite size",
    "qat": "quantization-aware training",
    "pqat": "pruning, then sparsity-preserving QAT",
    "cqat": "clustering, then cluster-preserving QAT",
    "pcqat": "pruning, sparsity-preserving clustering, then sparsity- and cluster-preserving QAT",
    "distill": "knowledge distillation (KL, T and α of seed 002) from a teacher trained here: by default the most "
               "accurate other architecture of the comparison; the student is trained from scratch",
    "dynamic": "dynamic-range quantization (int8 weights, float activations): not runnable on the board",
}


def markdown(result: dict) -> str:
    rows = result["rows"]
    front = {tuple(p) for p in result["pareto_test"]}
    cfg = result["config"]
    lines = [
        "# Architectures × compression methods", "",
        f"Command: `{result['command'] or 'maskgate compare'}`  ",
        f"Wall time: {result['wall_seconds'] / 60:.1f} min on this machine (2 CPU cores, shared).  ",
        f"Data: `{result['data']}`; training: {cfg['epochs']} epochs on "
        f"{'all' if cfg['max_train'] is None else cfg['max_train']} training images per architecture, "
        f"{cfg['finetune_epochs']} fine-tuning epochs per optimize stage, seed {cfg['seed']}.  ",
        f"Accuracy on the `{result['test']}` split and on `{Path(result['unseen_source']).name if result['unseen_source'] else '–'}` "
        "(an unseen source, never trained on, imported whole); threshold 0.5 on P(mask).", "",
        "Sizes in KB. Arena: tflite-micro arena as the board allocates it. " + m7_note(rows) +
        " Gate: int8 ≤ 230 KB and model + arena ≤ 260 KB. ★: on the Pareto front of test accuracy vs int8 size.", "",
    ]
    header = ["arch", "method", "float", "int8", "gzip", "params", "MACs", "M7 instr.", "instr./MAC", "no-MAC %",
              "arena", "M7 ms", "test float %", "test int8 %", "unseen float %", "unseen int8 %", "gate", ""]
    body = []
    for r in rows:
        gate = "ok" if r["budget_ok"] else ("n/a" if r["method"] == "dynamic" else "refused")
        body.append([r["arch"], r["method"], _kb(r["float_bytes"]), _kb(r["int8_bytes"]), _kb(r["gzip_bytes"]),
                     f"{r['params']:,}", f"{r['macs'] / 1e6:.2f} M", *_m7_cells(r), _kb(r["arena_board"]), _ms(r),
                     _pct(r["test_float"]), _pct(r["test_int8"]), _pct(r["unseen_float"]), _pct(r["unseen_int8"]),
                     gate, "★" if (r["arch"], r["method"]) in front else ""])
    lines += [table(header, body), ""]
    lines += ["![accuracy vs size, instructions vs MACs](compare.png)", ""]
    by_arch = {}
    for r in rows:
        by_arch.setdefault(r["arch"], {})[r["method"]] = r
    buys = []
    for arch, methods in by_arch.items():
        base = methods.get("none")
        for method, r in methods.items():
            if method == "none" or base is None:
                continue
            extra = []
            if r["weights"] and r["weights"]["zero_fraction"] >= 0.01:
                extra.append(f"{r['weights']['zero_fraction'] * 100:.0f} % zero int8 weights")
            if r["weights"] and r["weights"]["max_distinct_per_channel"] <= 64:
                extra.append(f"≤ {r['weights']['max_distinct_per_channel']} values per output channel")
            if r["method"] == "distill":
                extra.append(f"teacher {Path(str(r['details'].get('teacher', '?'))).name}")
            buys.append([arch, method, f"{(r['int8_bytes'] / base['int8_bytes'] - 1) * 100:+.0f} %",
                         f"{(r['gzip_bytes'] / base['gzip_bytes'] - 1) * 100:+.0f} %",
                         f"{(r['macs'] / base['macs'] - 1) * 100:+.0f} %" if base["macs"] else "–",
                         f"{(r['instructions'] / base['instructions'] - 1) * 100:+.0f} %"
                         if r.get("instructions") and base.get("instructions") else "–",
                         _delta(r["test_int8"], base["test_int8"]), _delta(r["unseen_int8"], base["unseen_int8"]),
                         "; ".join(extra) or "–"])
    if buys:
        lines += ["## What each method buys (against the same architecture's int8 baseline)", "",
                  table(["arch", "method", "int8 size", "gzip size", "MACs", "M7 instr.", "test int8", "unseen int8",
                         "weights"], buys), ""]
    lines += sweep_tables(rows)
    lines += ["## Methods", ""] + [f"- `{m}`: {note}" for m, note in METHOD_NOTES.items()
                                    if any(r["method"] == m for r in rows)] + [""]
    refused = [r for r in rows if r["refused"] and r["method"] != "dynamic"]
    if refused:
        lines += ["## Refused by the budget gate (measured anyway)", ""]
        lines += [f"- {r['arch']} / {r['method']}: {r['refused']}" for r in refused] + [""]
    if result["failures"]:
        lines += ["## Not run", ""] + [f"- {f['arch']} / {f['method']}: {f['error']}" for f in result["failures"]] + [""]
    return "\n".join(lines)


def sweep_tables(rows: list[dict]) -> list[str]:
    """Seed 002's Tables 1-2 for each pruned architecture: one-shot L1 pruning of the trained
    model at each ratio, before any fine-tuning (float model, test split)."""
    lines = []
    for r in rows:
        sweep = r["details"].get("sweep") if r["method"] in ("prune", "channel_prune") else None
        if not sweep:
            continue
        if r["method"] == "prune":
            title = f"L1 unstructured pruning of `{r['arch']}`, one shot (seed 002 Table 1)"
            body = [[f"{s['ratio']:.2f}", f"{s['sparsity'] * 100:.1f} %", f"{s['test_loss']:.4f}", _pct(s["test_accuracy"])]
                    for s in sweep]
            header = ["pruning ratio", "sparsity", "test loss", "test accuracy %"]
        else:
            title = f"L1 structured (channel) pruning of `{r['arch']}`, one shot (seed 002 Table 2)"
            body = [[f"{s['ratio']:.2f}", f"{s['params']:,}", f"{s['macs'] / 1e6:.2f} M", f"{s['test_loss']:.4f}",
                     _pct(s["test_accuracy"])] for s in sweep]
            header = ["channels removed", "params", "MACs", "test loss", "test accuracy %"]
        target = r["details"].get("sparsity_target", r["details"].get("channels_removed"))
        lines += [f"## {title}", "", f"Before any fine-tuning. The `{r['method']}` row of the main table is the model "
                  f"pruned at {target} and then fine-tuned.", "", table(header, body), ""]
    return lines


def _delta(value, base) -> str:
    return "–" if value is None or base is None else f"{(value - base) * 100:+.2f} pp"


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker  # noqa: F401  (matplotlib.ticker below)

    rows = result["rows"]
    panels = [("test_int8", f"{result['test']} (test split)")]
    if result["unseen"]:
        panels.append(("unseen_int8", f"{Path(result['unseen_source']).name} (unseen source)"))
    counted = [r for r in rows if r.get("instructions")]
    fig, axes = plt.subplots(1, len(panels) + bool(counted), figsize=(7.5 * (len(panels) + bool(counted)), 6), squeeze=False)
    methods = sorted({r["method"] for r in rows}, key=lambda m: (m != "none", m))
    colours = {m: plt.cm.tab10(i % 10) for i, m in enumerate(methods)}
    if counted:
        _plot_instructions(axes[0][-1], counted, colours)
    for ax, (key, title) in zip(axes[0], panels):
        pts = [r for r in rows if r[key] is not None]
        for r in pts:
            ax.scatter(r["int8_bytes"] / 1024, r[key] * 100, s=45, color=colours[r["method"]],
                       facecolors=colours[r["method"]] if r["budget_ok"] else "none", linewidths=1.5,
                       label=r["method"])
            ax.annotate(r["arch"] if r["method"] == "none" else f"{r['arch']}/{r['method']}",
                        (r["int8_bytes"] / 1024, r[key] * 100), fontsize=6.5, xytext=(3, 3), textcoords="offset points")
        front = pareto(rows, key)
        if front:
            ax.step([r["int8_bytes"] / 1024 for r in front], [r[key] * 100 for r in front], where="post",
                    color="black", lw=1.2, ls="--", label="Pareto front")
            ax.scatter([r["int8_bytes"] / 1024 for r in front], [r[key] * 100 for r in front], s=140,
                       facecolors="none", edgecolors="black", linewidths=1.0)
        ax.axvline(budget.MODEL_MAX_BYTES / 1024, color="red", lw=0.8, ls=":", label="230 KB model limit")
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}" if str(v)[0] in "2345" else ""))
        ax.set_xlabel("int8 .tflite size (KB, log scale)")
        ax.set_ylabel("int8 accuracy (%)")
        ax.set_title(title)
        ax.grid(alpha=0.3, which="both")
        handles, labels = ax.get_legend_handles_labels()
        unique = dict(zip(labels, handles))
        ax.legend(unique.values(), unique.keys(), fontsize=7, loc="lower right")
    fig.suptitle("int8 accuracy vs size" + (", M7 instructions vs MACs" if counted else "")
                 + " (hollow: refused by the budget gate)")
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def _plot_instructions(ax, rows: list[dict], colours: dict) -> None:
    """Counted M7 instructions against MACs, with lines of constant instructions per MAC."""
    import numpy as np

    for r in rows:
        ax.scatter(r["macs"] / 1e6, r["instructions"] / 1e6, s=45, color=colours[r["method"]],
                   facecolors=colours[r["method"]] if r["budget_ok"] else "none", linewidths=1.5, label=r["method"])
        ax.annotate(r["arch"] if r["method"] == "none" else f"{r['arch']}/{r['method']}",
                    (r["macs"] / 1e6, r["instructions"] / 1e6), fontsize=6.5, xytext=(3, 3), textcoords="offset points")
    macs = np.array([r["macs"] for r in rows if r["macs"]], dtype=float) / 1e6
    if len(macs):
        span = np.geomspace(macs.min() / 1.5, macs.max() * 1.5, 20)
        for k in (2, 4, 8):
            ax.plot(span, span * k, color="grey", lw=0.7, ls=":")
            ax.annotate(f"{k} / MAC", (span[-1], span[-1] * k), fontsize=6.5, color="grey")
    import matplotlib.ticker

    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):  # after set_*scale, which resets them
        axis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        axis.set_minor_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}" if str(v)[0] in "25" else ""))
    ax.set_xlabel("MACs per inference (M, log scale)")
    ax.set_ylabel("M7 instructions per inference (M, counted, log scale)")
    ax.set_title("emulated Cortex-M7 (TFLM + CMSIS-NN, libtflm)")
    ax.grid(alpha=0.3, which="both")
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    ax.legend(unique.values(), unique.keys(), fontsize=7, loc="lower right")
