"""Which face stage should the door ship? Each candidate measured the same way: pictures in door
framing, the stage's region, the classifier's reading; empty scenes; the detector threshold
chosen on validation empty scenes only.

    nice -n 15 .venv/bin/python bench/bench_face_stage.py --detector runs/fd4-no-rwmfd/facedet_int8.tflite \\
        --classifier3 runs/bgcls/bgcls_int8.tflite --sets face-mask-rwmfd --out bench/results/face_stage_x

Door framing: each picture fitted into 320 x 240 (maskgate.data.framing fit_frame, as the virtual
camera shows it), RGB565. Candidates (the firmware's face_stage values, firmware/face_stage.py):
- centre, 2-class: the centre square, the shipped classifier (face_detection off);
- haar, 2-class: today's firmware: OpenMV's Haar detector (maskgate.imlib.haar, the port the
  virtual board runs) with the eye-pair fallback, the shipped classifier (models/);
- facedet, 3-class: our detector (its box, no margin) and the 3-class classifier (background /
  no_mask / mask), whose background refuses the region;
- haar+facedet, 3-class: Haar first, the detector when Haar finds nothing, 3-class.
"let in" = the stage gave a region and the classifier reads mask there (2-class: P(mask) >= 0.5;
3-class: argmax mask and P(mask) >= 0.5); "found" = the stage gave a region (3-class: not read
as background). The detector's threshold per candidate is the lowest (0.05 grid) at which no
validation empty scene (background seeds "val" and face-free windows of the validation photos
of the sources the detector trained on) reads mask; the test empties are other seeds ("test")
and face-free windows of the held-out sets' own photos.

Instructions: the detector counted on the emulated Cortex-M7 (maskgate.m7, MASKGATE_LIBTFLM) when
the toolchain is there, with --m7.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets"
P_MASK = 0.5
SETS = ("face-mask-12k", "face-utkface", "face-mask-chandrikadeb7", "face-mask-rwmfd")
GRID = np.round(np.arange(0.2, 0.96, 0.05), 2)


def wilson(k: int, n: int) -> str:
    """Wilson 95 % interval, in percent."""
    if n == 0:
        return "—"
    z, p = 1.96, k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return f"{100 * max(0, centre - half):.1f}–{100 * min(1, centre + half):.1f}"


def pictures(name: str, limit: int | None, seed: int = 0):
    """[(rgb picture, label, path)] of a set; label 1 masked, 0 bare. 12K and UTKFace: their test
    splits; chandrikadeb7 and RWMFD: every picture (they are measured where left out)."""
    from maskgate.data import compose
    from maskgate.data.images import ImageError, read_rgb

    if name == "face-mask-rwmfd":
        files = [(p, 1) for p in sorted((SHARED / name / "with_mask").rglob("*.jpg"))]
    elif name == "face-mask-chandrikadeb7":
        files = [(p, lab) for sub, lab in (("with_mask", 1), ("without_mask", 0))
                 for p in sorted((SHARED / name / sub).glob("*.jpg"))]
    else:
        files = [(p, int(lab)) for p, lab in compose._files(SHARED, name, "test")]
    if limit and limit < len(files):
        pick = np.sort(np.random.default_rng(seed).choice(len(files), size=limit, replace=False))
        files = [files[i] for i in pick]
    out = []
    for path, label in files:
        try:
            out.append((read_rgb(path), label, path.relative_to(SHARED).as_posix()))
        except ImageError:
            pass
    return out


class Readings:
    """Per frame: Haar's box (or None), the detector's raw outputs, and the classifiers' readings
    of the centre square, Haar's square and the detector's best box at every grid threshold."""

    def __init__(self, detector: Path, classifier3: Path, classifier2: Path):
        from maskgate.data import faces
        from maskgate.detector.stage import HostDetector
        from maskgate.runtime import LiteModel

        self.faces = faces
        self.haar_stage = faces.Detector(stage="haar").face_stage()
        self.detector = HostDetector(detector.read_bytes())
        self.c3 = LiteModel(classifier3.read_bytes())
        self.c2 = LiteModel(classifier2.read_bytes())

    def run(self, frames) -> dict:
        from maskgate import contract
        from maskgate.detector.stage import crop_for_classifier, find_in

        n = len(frames)
        rgb565 = [contract.rgb888_to_rgb565(f) for f in frames]
        haar = [self.haar_stage.find(self.faces._Frame(px)) for px in rgb565]
        outs = self.detector.outputs(frames)
        h, w = frames[0].shape[:2]
        centre = [crop_for_classifier(f, None) for f in frames]
        haar_crops = [crop_for_classifier(f, b[0], b[1]) if b else c for f, b, c in zip(frames, haar, centre)]
        # the detector's box at each threshold: decode once at the lowest, the best cell wins at any
        best = [find_in(o, w, h, float(GRID[0])) for o in outs]
        det_crops = [crop_for_classifier(f, d[1]) if d else c for f, d, c in zip(frames, best, centre)]
        return {"n": n, "haar": np.array([b is not None for b in haar]),
                "score": np.array([d[0] if d else 0.0 for d in best]),
                "p2_centre": self.c2.probabilities(np.stack(centre))[:, 1],
                "p2_haar": self.c2.probabilities(np.stack(haar_crops))[:, 1],
                "q3_haar": self.c3.probabilities(np.stack(haar_crops)),
                "q3_det": self.c3.probabilities(np.stack(det_crops))}


def reads(q):
    """(a face is there, it reads mask) from 3-class (background, no_mask, mask) outputs."""
    return q.argmax(axis=1) != 0, (q.argmax(axis=1) == 2) & (q[:, 2] >= P_MASK)


def candidates(r: dict, t: dict) -> dict:
    """candidate -> (found, let in), one bool per frame; t: the detector threshold per candidate."""
    n = r["n"]
    face_h, mask_h = reads(r["q3_haar"])
    face_d, mask_d = reads(r["q3_det"])
    det_fd = r["score"] >= t["facedet"]
    det_both = r["score"] >= t["haar+facedet"]
    both_face = np.where(r["haar"], face_h, det_both & face_d)
    both_mask = np.where(r["haar"], mask_h, det_both & mask_d)
    return {"centre, 2-class": (np.ones(n, bool), r["p2_centre"] >= P_MASK),
            "haar, 2-class (today)": (r["haar"], r["haar"] & (r["p2_haar"] >= P_MASK)),
            "facedet, 3-class": (det_fd & face_d, det_fd & mask_d),
            "haar+facedet, 3-class": (both_face, both_mask)}


def choose(r_val: dict) -> tuple[dict, list]:
    """The lowest grid threshold per detector candidate at which no validation empty frame reads
    mask (haar+facedet: no more than Haar's own boxes read, which no detector threshold changes),
    and the sweep (threshold, frames with a detection, read as mask: facedet, haar+facedet)."""
    sweep, t = [], {}
    face_h, mask_h = reads(r_val["q3_haar"])
    haar_alone = int((r_val["haar"] & mask_h).sum())
    for g in GRID:
        res = candidates(r_val, {"facedet": g, "haar+facedet": g})
        fires = int((r_val["score"] >= g).sum())
        sweep.append((float(g), fires, int(res["facedet, 3-class"][1].sum()), int(res["haar+facedet, 3-class"][1].sum())))
        if "facedet" not in t and res["facedet, 3-class"][1].sum() == 0:
            t["facedet"] = float(g)
        if "haar+facedet" not in t and res["haar+facedet, 3-class"][1].sum() <= haar_alone:
            t["haar+facedet"] = float(g)
    for c in ("facedet", "haar+facedet"):
        t.setdefault(c, float(GRID[-1]))
    t["haar_alone_reads_mask"] = haar_alone
    return t, sweep


def empty_frames(split: str, count: int, seed: int):
    """Procedural door scenes with nobody in them (compose's light, noise and RGB565)."""
    from maskgate.data import backgrounds, compose

    rng = np.random.default_rng([seed, 77])
    cfg = compose.ComposeConfig(empty_p=1.0)
    empty = compose.Faces(np.zeros((0, 8, 8, 3), np.uint8), np.zeros(0, np.int64), [])
    return [compose.compose(rng, empty, bg, cfg)[0] for bg in backgrounds.backgrounds(split, count)]


def photo_empties(sources, split: str, count: int, seed: int):
    """Face-free windows of photos (maskgate.detector.photos.free_windows) filling the frame."""
    from maskgate import contract
    from maskgate.detector import photos

    if not sources:
        return []
    ph = photos.load(SHARED, tuple(sources), split)
    return [contract.rgb565_round_trip(w) for w in photos.free_windows(np.random.default_rng([seed, 88]), ph, count, 320, 240)]


def row(name, res, labels_by_set, empties) -> str:
    cells = []
    for set_name, want, labels in labels_by_set:
        found, let_in = res[set_name][name]
        sel = labels == want
        k, n, f = int(let_in[sel].sum()), int(sel.sum()), int(found[sel].sum())
        cells.append(f"{100 * k / max(n, 1):.1f} % ({k}/{n}; {wilson(k, n)}; found {100 * f / max(n, 1):.0f} %)")
    for label, r in empties:
        cells.append(f"{int(r[name][1].sum())} / {len(r[name][1])}")
    return f"| {name} | " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--detector", type=Path, required=True)
    parser.add_argument("--classifier3", type=Path, required=True, help="3-class (background, no_mask, mask) int8")
    parser.add_argument("--classifier2", type=Path, default=ROOT / "models" / "maskgate_int8.tflite")
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=SETS)
    parser.add_argument("--trained-photos", nargs="*", default=None,
                        help="photo sources the detector trained on (validation empties); default: from its detector.json")
    parser.add_argument("--limit", type=int, default=None, help="pictures per set (seeded subset)")
    parser.add_argument("--empty", type=int, default=2000, help="empty test scenes")
    parser.add_argument("--val-empty", type=int, default=1000)
    parser.add_argument("--photo-empty", type=int, default=500, help="face-free photo windows, each way")
    parser.add_argument("--label", default="", help="what this run is (e.g. 'fold: RWMFD left out')")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from maskgate import contract
    from maskgate.data import compose

    started = time.time()
    report = args.detector.parent / "detector.json"
    trained = args.trained_photos
    if trained is None:
        trained = json.loads(report.read_text())["config"].get("photo_sources", []) if report.exists() else []
    readings = Readings(args.detector, args.classifier3, args.classifier2)
    val_photos = photo_empties(trained, "val", args.photo_empty, args.seed)
    val = readings.run(empty_frames("val", args.val_empty, args.seed) + val_photos)
    thresholds, sweep = choose(val)
    print(f"thresholds {thresholds} ({time.time() - started:.0f} s)", flush=True)

    res, labels_by_set, per_picture = {}, [], {}
    for name in args.sets:
        pics = pictures(name, args.limit, args.seed)
        frames = [contract.rgb565_round_trip(compose.door_framing(p)[0]) for p, _, _ in pics]
        r = readings.run(frames)
        res[name] = candidates(r, thresholds)
        labels = np.array([lab for _, lab, _ in pics])
        for want in (1, 0):
            if (labels == want).any():
                labels_by_set.append((name, want, labels))
        per_picture[name] = {"paths": [p for _, _, p in pics], "labels": labels.tolist(), "score": r["score"].round(3).tolist(),
                             "haar": r["haar"].tolist(), "q3_det": r["q3_det"].round(3).tolist(),
                             "q3_haar": r["q3_haar"].round(3).tolist()}
        print(f"{name}: {len(frames)} pictures ({time.time() - started:.0f} s)", flush=True)
    empties = [("procedural", candidates(readings.run(empty_frames("test", args.empty, args.seed)), thresholds))]
    held_photos = [s for s in args.sets if s in ("face-mask-chandrikadeb7", "face-mask-rwmfd") and s not in trained]
    if held_photos:
        empties.append(("photo windows", candidates(readings.run(photo_empties(held_photos, "all", args.photo_empty, args.seed)),
                                                    thresholds)))

    short = {"face-mask-12k": "12K", "face-utkface": "UTKFace", "face-mask-chandrikadeb7": "chandrikadeb7",
             "face-mask-rwmfd": "RWMFD"}
    head = ["candidate"] + [f"{short[s]} {'masked' if want else 'bare'} let in" for s, want, _ in labels_by_set]
    head += [f"empty {label} that read mask" for label, _ in empties]
    lines = [f"# Face stage measured{': ' + args.label if args.label else ''}", "",
             "Command: `nice -n 15 .venv/bin/python bench/bench_face_stage.py --detector " + str(args.detector)
             + f" --classifier3 {args.classifier3} --sets {' '.join(args.sets)}"
             + (f" --limit {args.limit}" if args.limit else "") + f" --empty {args.empty}"
             + (f" --label '{args.label}'" if args.label else "") + f" --out {args.out}`", "",
             f"Detector trained on photos of: {', '.join(trained) or 'none'}. Thresholds chosen on "
             f"{args.val_empty} validation scenes + {len(val_photos)} validation photo windows: {thresholds}. "
             f"Classifiers: 2-class {args.classifier2.name}, 3-class {args.classifier3}.", "",
             "Cells: let in % (k/n; Wilson 95 % interval; found = the stage gave a region the classifier did not "
             "call background). Empty columns: frames that read mask / frames.", "",
             "| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for name in res[args.sets[0]]:
        lines.append(row(name, res, labels_by_set, empties))
    lines += ["", "Validation sweep (threshold: frames with a detection / read mask, facedet / read mask, haar+facedet): "
              + ", ".join(f"{t:.2f}: {n}/{a}/{b}" for t, n, a, b in sweep), "",
              f"Run time {time.time() - started:.0f} s on this machine (host wall clock; says nothing about the board).", ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    Path(str(args.out) + ".md").write_text("\n".join(lines))
    table = {c: {f"{s}|{want}": [int(res[s][c][1][labels == want].sum()), int(res[s][c][0][labels == want].sum()),
                                  int((labels == want).sum())] for s, want, labels in labels_by_set}
             for c in res[args.sets[0]]}
    for label, r in empties:
        for c in table:
            table[c][f"empty|{label}"] = [int(r[c][1].sum()), int(r[c][0].sum()), len(r[c][1])]
    Path(str(args.out) + ".json").write_text(json.dumps({"thresholds": thresholds, "sweep": sweep, "table": table,
                                                         "trained_photos": trained, "detector": str(args.detector)}, indent=1))
    Path(str(args.out) + ".pictures.json").write_text(json.dumps(per_picture))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
