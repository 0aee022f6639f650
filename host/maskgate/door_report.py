"""The door metrics as Markdown tables and a plot (DET curves + rates against the threshold),
shared by `maskgate evaluate`, `maskgate build` and `maskgate ship`."""
from __future__ import annotations

import numpy as np

from maskgate.atomic import save_figure
from maskgate.door_metrics import INTERVAL

# DET axes (normal deviate scale) run between these rates
DET_LIMITS = (1e-4, 0.6)
DET_TICKS = (0.0001, 0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4)


def pct(v, digits: int = 2) -> str:
    return "–" if v is None else f"{v * 100:.{digits}f} %"


def fmt_rate(r: dict | None) -> str:
    """'1.73 % (7 / 405; 0.70–3.53)' with the 95 % interval in percent; '–' when absent."""
    if r is None:
        return "–"
    low, high = r["ci"]
    return f"{r['rate'] * 100:.2f} % ({r['count']:,} / {r['of']:,}; {low * 100:.2f}–{high * 100:.2f})"


def interval_note() -> str:
    return f"Rates: errors / pictures, with the 95 % {INTERVAL} interval in percent."


def door_table(section: dict) -> list[str]:
    """| source | threshold | false opens | false denies | face found | for one evaluated section."""
    door = section["door"]
    found_col = door["face_stage"]
    head = "| source | threshold | false opens (bare → mask) | false denies (mask → not let in) |"
    lines = [head + (" face found |" if found_col else ""), "|---|---|---|---|" + ("---|" if found_col else "")]
    for at in door["at"]:
        rows = list(at["per_source"].items())
        if len(rows) > 1:
            rows.append(("**all**", at["overall"]))
        for source, r in rows:
            cells = [source, f"{at['threshold']:g} ({at['name']})", fmt_rate(r["false_open"]), fmt_rate(r["false_deny"])]
            if found_col:
                cells.append(fmt_rate(r.get("face_found")))
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def group_tables(groups: dict, source: str) -> list[str]:
    """False opens per race, gender and age band (the UTKFace file names)."""
    lines = [f"False opens per group of **{source}** (bare faces, groups from the published file names):", "",
             "| by | group | false opens |", "|---|---|---|"]
    for key, title in (("race", "race"), ("gender", "gender"), ("age_band", "age")):
        for group, r in groups[key].items():
            lines.append(f"| {title} | {group} | {fmt_rate(r)} |")
    lines.append("")
    s, w = groups.get("smallest"), groups.get("largest_rate")
    if s:
        lines.append(f"Smallest group: {s['group']} ({s['by'].replace('_', ' ')}), {s['of']:,} faces, "
                     f"false opens {fmt_rate(s)}. Highest rate: {w['group']} ({w['by'].replace('_', ' ')}), {fmt_rate(w)}.")
    if groups["incomplete_names"]:
        lines.append(f"{len(groups['incomplete_names'])} file names lack a field (counted under 'not in the name' "
                     f"for gender and race, not guessed): " + ", ".join(f"`{n}`" for n in groups["incomplete_names"]) + ".")
    if groups["unparsed_names"]:
        lines.append(f"{len(groups['unparsed_names'])} names are not in UTKFace's form and count under "
                     "'not in the name' for every group.")
    return lines + [""]


def operating_point_lines(op: dict, shipped: bool = True) -> list[str]:
    v = op["validation"]
    what = "travels in manifest.json (contract.threshold, operating_point)" if shipped else \
        "was chosen here for the report; the model's manifest still holds its own threshold"
    lines = [
        f"Operating point: `max_false_open = {op['max_false_open']:g}` picks **threshold {op['threshold']:g}** "
        f"on the {op['chosen_on']} split ({op.get('data', {}).get('images', '?')} pictures; {what}); "
        f"hysteresis {op['hysteresis']:g} assumed, so the target is met at {op['threshold'] - op['hysteresis']:.3f}, "
        f"the level at which firmware/door.py continues a streak.",
        "",
        "| on validation | at the chosen threshold | at the base threshold " + f"({op['base_threshold']:g}) |",
        "|---|---|---|",
        f"| false opens, first frame of a streak (P ≥ threshold) | {fmt_rate(v['false_open_at_threshold'])} | "
        f"{fmt_rate(v['at_base_threshold']['false_open'])} |",
        f"| false opens, streak continues (P ≥ threshold − hysteresis) | {fmt_rate(v['false_open_at_continuation'])} | – |",
        f"| false denies (its cost) | {fmt_rate(v['at_threshold']['false_deny'])} | {fmt_rate(v['at_base_threshold']['false_deny'])} |",
    ]
    per = v.get("per_source")
    if per:
        for src, r in per["at_threshold"].items():
            base = per["at_base_threshold"][src]
            if r["false_deny"] is not None:
                lines.append(f"| false denies, {src} | {fmt_rate(r['false_deny'])} | {fmt_rate(base['false_deny'])} |")
    return lines + [""]


# ---------------------------------------------------------------- plot
def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_door(curves: dict, points: list[tuple[str, float]], path, title: str):
    """Left: DET (false denies against false opens, normal-deviate axes) for each curve with
    both classes; right: both rates against the threshold for every curve. `curves`:
    name -> door_metrics.error_curves(); `points`: (name, threshold) operating points."""
    from scipy.stats import norm

    plt = _plt()
    both = any(c["false_open"] is not None and c["false_deny"] is not None for c in curves.values())
    if both:
        fig, (det, thr) = plt.subplots(1, 2, figsize=(11, 4.8))
    else:  # single-class sources only (UTKFace, RWMFD): no DET, the rate against the threshold
        fig, thr = plt.subplots(1, 1, figsize=(6, 4.8))
        det = None
    lo, hi = DET_LIMITS

    def probit(v):
        return norm.ppf(np.clip(v, lo, hi))

    markers = ("o", "s", "^", "D")
    for i, (name, c) in enumerate(curves.items()):
        colour = f"C{i % 10}"
        if det is not None and c["false_open"] is not None and c["false_deny"] is not None:
            det.plot(probit(c["false_open"]), probit(c["false_deny"]), color=colour, label=name)
            for j, (pname, t) in enumerate(points):
                k = min(np.searchsorted(c["threshold"], t, side="left"), len(c["threshold"]) - 1)
                det.plot(probit(c["false_open"][k]), probit(c["false_deny"][k]), markers[j % 4], color=colour,
                         mfc="none" if j else colour, ms=7, label=f"{pname} {t:g}" if i == 0 else None)
        if c["false_open"] is not None:
            # a rate holds from one threshold up to the next: steps, not lines between them
            thr.plot(c["threshold"], np.clip(c["false_open"], lo, 1), color=colour, drawstyle="steps-pre",
                     label=f"{name}: false opens")
        if c["false_deny"] is not None:
            thr.plot(c["threshold"], np.clip(c["false_deny"], lo, 1), "--", color=colour, drawstyle="steps-pre",
                     label=f"{name}: false denies")
    if det is not None:
        ticks = probit(np.array(DET_TICKS))
        labels = [f"{t * 100:g} %" for t in DET_TICKS]
        det.set_xticks(ticks, labels, rotation=45)
        det.set_yticks(ticks, labels)
        det.set_xlim(probit(lo), probit(hi))
        det.set_ylim(probit(lo), probit(hi))
        det.set_xlabel("false opens (bare faces read as masked)")
        det.set_ylabel("false denies (masked faces not let in)")
        det.set_title("DET (normal-deviate axes)")
        det.grid(alpha=0.3)
        det.legend(loc="upper right", fontsize=7)
    for j, (pname, t) in enumerate(points):
        thr.axvline(t, color="k", ls=":" if j else "-", lw=0.8, label=f"{pname} {t:g}")
    thr.set_yscale("log")
    thr.set_ylim(lo, 1.05)
    thr.set_xlim(0, 1)
    thr.set_xlabel("threshold on P(mask)")
    thr.set_ylabel("rate")
    thr.set_title("rates against the threshold")
    thr.grid(alpha=0.3, which="both")
    thr.legend(loc="lower center", fontsize=6, ncol=2)
    fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
