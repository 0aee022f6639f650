"""What the walk-ups show: per visitor label and source, did the door open and after how long;
per empty scene, the frames that opened it. Markdown table and an example sheet."""
from __future__ import annotations

import numpy as np

from maskgate.door_metrics import rate
from maskgate.door_report import fmt_rate, interval_note

from . import visits as visits_mod


def _visitors(records: list[dict]) -> dict:
    ok = [r for r in records if "error" not in r]
    times = sorted(r["open_s"] for r in ok if r["opened"])
    return {
        "visits": len(records),
        "errors": len(records) - len(ok),
        "opened": rate(sum(r["opened"] for r in ok), len(ok)),
        "face_found": rate(sum(r["faces"] > 0 for r in ok), len(ok)),
        "open_s": {"median": float(np.median(times)), "p90": float(np.percentile(times, 90)),
                   "max": float(times[-1])} if times else None,
    }


def summarise(records: list[dict]) -> dict:
    out = {"visitors": {}, "empty": None}
    for label in ("mask", "no_mask"):
        mine = [r for r in records if r["kind"] == label]
        if not mine:
            continue
        by_source = {s: _visitors([r for r in mine if r["source"] == s]) for s in sorted({r["source"] for r in mine})}
        by_background = {k: _visitors([r for r in mine if r["background"].startswith(k + ":")])
                         for k in ("procedural", "scene") if any(r["background"].startswith(k + ":") for r in mine)}
        out["visitors"][label] = {"all": _visitors(mine), "per_source": by_source, "per_background": by_background}
    empty = [r for r in records if r["kind"] == "empty" and "error" not in r]
    if empty:
        frames = sum(r["frames"] for r in empty)
        out["empty"] = {
            "sequences": len(empty),
            "errors": sum(1 for r in records if r["kind"] == "empty") - len(empty),
            "frames": frames,
            "frames_that_opened": rate(sum(r["openings"] for r in empty), frames),
            "sequences_opened": rate(sum(r["opened"] for r in empty), len(empty)),
            "frames_with_a_face": rate(sum(r["faces"] for r in empty), frames),
            "opened_backgrounds": sorted({r["background"] for r in empty if r["opened"]}),
        }
    return out


def _time(v: dict) -> str:
    t = v["open_s"]
    return "–" if t is None else f"{t['median']:.2f} s / {t['p90']:.2f} s"


def markdown(walk: dict) -> list[str]:
    s, setup = walk["summary"], walk["setup"]
    lines = [
        "## Walk-up sequences through the firmware (synthetic)",
        "",
        f"**Synthetic figures.** {setup['visits']:,} visits per label and {setup['empty_frames']:,} empty-scene frames "
        f"(seed {setup['seed']}), each a fresh boot of the unmodified firmware on the virtual board "
        f"(`{setup['board']}`), config.json from the model's manifest: threshold {setup['config']['threshold']:g}, "
        f"door.k {setup['config']['door']['k']}, hysteresis {setup['config']['door']['hysteresis']:g}, "
        f"hold {setup['config']['door']['hold_s']:g} s, face detection "
        f"{'on' if setup['config']['face_detection'] else 'off'}"
        f"{' with the eye fallback' if setup['config']['eye_fallback'] else ''}. "
        f"A visit is {visits_mod.FRAMES} frames at {visits_mod.FPS} fps (2 s); a masked visitor who gets in, gets in within 2 s. "
        f"Ran in {walk['wall_s'] / 60:.1f} min on {setup['workers']} worker process(es). " + interval_note(),
        "",
        "| visitors | source | visits | door opened | face found in some frame | time to open, median / 90th pct |",
        "|---|---|---|---|---|---|",
    ]
    for label, title in (("mask", "masked (should get in)"), ("no_mask", "bare (a false open)")):
        v = s["visitors"].get(label)
        if not v:
            continue
        rows = list(v["per_source"].items()) + [("**all**", v["all"])]
        for source, r in rows:
            lines.append(f"| {title} | {source} | {r['visits']:,} | {fmt_rate(r['opened'])} | {fmt_rate(r['face_found'])} | "
                         f"{_time(r)} |")
        for kind, r in v["per_background"].items():
            lines.append(f"| {title} | on {kind} backgrounds | {r['visits']:,} | {fmt_rate(r['opened'])} | "
                         f"{fmt_rate(r['face_found'])} | {_time(r)} |")
    e = s["empty"]
    if e:
        lines += ["", f"Empty scenes: {e['sequences']:,} sequences, {e['frames']:,} frames; frames that opened the door: "
                  f"{fmt_rate(e['frames_that_opened'])}; sequences in which it opened: {fmt_rate(e['sequences_opened'])}; "
                  f"frames where the face stage found a face: {fmt_rate(e['frames_with_a_face'])}"
                  + (f"; backgrounds that opened it: {', '.join(e['opened_backgrounds'])}" if e["opened_backgrounds"] else "")
                  + "."]
    errors = sum(v["all"]["errors"] for v in s["visitors"].values()) + (e["errors"] if e else 0)
    if errors:
        lines += ["", f"**{errors} sequences failed** (an unreadable picture or a firmware crash): see walkup.json."]
    lines += ["", f"Backgrounds: {setup['backgrounds']['procedural']} procedural walls and doorways and "
              f"{setup['backgrounds']['scene']} face-free regions of shared scene pictures "
              "(maskgate/walkup/backgrounds.py, scene_regions.json). Method: maskgate/walkup/visits.py. "
              "Visitors' heads are the centre squares of the held-out pictures named in walkup.json.", "",
              f"![walk-up examples]({walk['examples_png']})", ""]
    return lines


def example_sheet(plan: list, seed: int, datasets, path, per_kind: int = 2) -> None:
    """A few visits (frames 0, 10, 20, 29) and one empty scene, one row each. It shows faces
    from the datasets: keep it beside the evaluation, never in a committed folder."""
    import cv2

    from maskgate.atomic import write_bytes

    picked = []
    for kind in ("mask", "no_mask", "empty"):
        picked += [v for v in plan if v.kind == kind][: (1 if kind == "empty" else per_kind)]
    rows = []
    for v in picked:
        frames = visits_mod.frames_of(v, seed, datasets)
        rows.append(np.hstack([frames[i] for i in (0, 10, 20, visits_mod.FRAMES - 1)]))
    sheet = cv2.resize(np.vstack(rows), None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".png", cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    write_bytes(path, data.tobytes())
