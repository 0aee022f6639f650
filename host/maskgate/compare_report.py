"""compare.md and compare.png: the table of `maskgate compare` (architectures x compression
methods, M7 instructions beside MACs, the Pareto front marked) and its accuracy-vs-size and
instructions-vs-MACs plot."""
from __future__ import annotations

from pathlib import Path

from maskgate import budget, contract
from maskgate.atomic import save_figure
from maskgate.markdown import percent, table


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


def _kb(v) -> str:
    return "–" if v is None else f"{v / 1024:.1f}"


def _pct(v) -> str:
    return percent(v, unit="")


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
        f"Wall time: {result['wall_seconds'] / 60:.1f} min on this machine "
        f"({result.get('cpu_cores', 'an unrecorded number of')} CPU cores).  ",
        f"Data: `{result['data']}`; training: {cfg['epochs']} epochs on "
        f"{'all' if cfg['max_train'] is None else cfg['max_train']} training images per architecture, "
        f"{cfg['finetune_epochs']} fine-tuning epochs per optimize stage, seed {cfg['seed']}.  ",
        f"Accuracy on the `{result['test']}` split and on `{Path(result['unseen_source']).name if result['unseen_source'] else '–'}` "
        f"(an unseen source, never trained on, imported whole); threshold {contract.THRESHOLD} on P({contract.POSITIVE_LABEL}).", "",
        "Sizes in KB. Arena: tflite-micro arena as the board allocates it. " + m7_note(rows) +
        f" Gate: int8 ≤ {budget.MODEL_MAX_BYTES // 1024} KB, and model + arena fit the memory of every supported "
        "OpenMV release. ★: on the Pareto front of test accuracy vs int8 size.", "",
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
        ax.axvline(budget.MODEL_MAX_BYTES / 1024, color="red", lw=0.8, ls=":", label=f"{budget.MODEL_MAX_BYTES // 1024} KB model limit")
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
