"""Which face stage should the door ship? Every candidate measured the same way, on pictures
no detector was trained or tuned on, in door framing, with the shipped mask classifier.

    nice -n 15 .venv/bin/python bench/bench_face_stage.py --detector runs/facedet/facedet_int8.tflite \
        [--bg-classifier runs/bgcls/bgcls_int8.tflite] [--limit 300] --out bench/results/face_stage

Door framing: each picture fitted into 320 x 240 (tools/virtualboard/frames.py fit_frame), then
the RGB565 round trip of the sensor. Candidates:
- centre: the centre square classified, no detector (config face_detection off).
- facedet (t=alone): our detector (firmware/facedet.py decode) -> its box -> the shipped
  classifier; t is the lowest threshold at which no validation empty frame has a detection.
- haar+eyes: today's firmware, face.find (frontal cascade, eye-pair fallback, detect_scale 0.5)
  on the virtual board's cascades, which are OpenCV's stand-in: OpenMV's real detector finds
  about half as many masked faces (../shared/reference/openmv-fidelity.md), so these rows are
  an UPPER bound for the board. No face: no decision (the door stays closed), as main.py does.
- haar+eyes, else facedet: the detector only when Haar finds nothing.
- with --bg-classifier (candidate 1: a background / no_mask / mask classifier,
  maskgate.detector.background_class), where "background" refuses:
  centre, 3-class; 5 fixed regions, 3-class (the region least likely background decides);
  facedet (t=gated), 3-class, t being the lowest threshold at which no validation empty
  frame's detection reads mask; facedet (t=gated) else centre, 3-class.
A picture is "let in" when the stage gives a region and the classifier reads mask (P >= 0.5).

Sets: face-mask-12k Test and face-utkface test (hash split), whose other splits trained the
detector; face-mask-chandrikadeb7 and face-mask-rwmfd, which no detector saw (never seen);
empty door scenes from background seeds kept for checking (maskgate.data.backgrounds "test");
composed pictures of test faces on test backgrounds (known boxes: recall by face size); and
synthetic walk-ups (a face growing from 40 to 120 px over 2 s at 15 fps, firmware/door.py with
the default k = 3). The detector threshold is chosen on validation backgrounds and faces only.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets"
P_MASK = 0.5


def _ci(k: int, n: int) -> str:
    """Wilson 95 % interval, in percent."""
    if n == 0:
        return "—"
    z, p = 1.96, k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return f"{100 * max(0, centre - half):.1f}–{100 * min(1, centre + half):.1f}"


def pictures(name: str, limit: int | None, seed: int = 0):
    """[(rgb picture, label)] of a held-out set; label 1 masked, 0 bare."""
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
            out.append((read_rgb(path), label))
        except ImageError:
            pass
    return out


class Stages:
    """Every candidate's region for one camera frame, and the classifier's P(mask) on it."""

    def __init__(self, detector_path: Path, bg_path: Path | None):
        from maskgate.board.virtualboard import image as vimage
        from maskgate.detector.stage import HostDetector
        from maskgate.firmware import module
        from maskgate.runtime import LiteModel

        self.vimage = vimage
        self.face = module("face")
        self.cfg = module("config").DEFAULTS
        self.frontal = vimage.HaarCascade("frontalface", stages=self.cfg["haar_stages"])
        self.eyes = vimage.HaarCascade("eye", stages=self.face.EYE_STAGES)
        self.detector = HostDetector(detector_path.read_bytes())
        self.classifier = LiteModel((ROOT / "models" / "maskgate_int8.tflite").read_bytes())
        self.bg = LiteModel(bg_path.read_bytes()) if bg_path else None

    def haar(self, frame):
        img = self.vimage.Image.from_rgb(frame)
        c = self.cfg
        return self.face.find(img, self.frontal, c["detect_scale"], c["haar_threshold"], c["haar_scale_factor"], self.eyes)

    def run(self, frames, with_haar=True) -> dict:
        """Per frame: detector outputs, Haar box, and P(mask) for each candidate's crop."""
        from maskgate.detector.stage import crop_for_classifier

        outs = self.detector.outputs(frames)
        haar = [self.haar(f) if with_haar else None for f in frames]
        return {"outs": outs, "haar": haar, "frames": frames}

    def probabilities(self, crops) -> np.ndarray:
        return self.classifier.probabilities(np.stack(crops))[:, 1] if crops else np.zeros(0)

    def bg_probabilities(self, crops) -> np.ndarray:
        """N x 3 (background, no_mask, mask) from the 3-class classifier."""
        return self.bg.probabilities(np.stack(crops)) if crops else np.zeros((0, 3))


def evaluate(stages: Stages, frames, thresholds, with_haar=True) -> dict:
    """For each candidate: (found, let_in), one bool per frame. `thresholds` is the detector's
    (alone, gated): alone when the shipped 2-class classifier follows, gated when the 3-class
    classifier can still refuse a region."""
    from maskgate import contract
    from maskgate.detector.background_class import fixed_regions
    from maskgate.detector.stage import crop_for_classifier, find_in

    t_alone, t_gated = thresholds
    h, w = frames[0].shape[:2]
    n = len(frames)
    outs = stages.detector.outputs(frames)
    centre = [crop_for_classifier(f, None) for f in frames]

    def det_crops(t):
        found = [find_in(o, w, h, t) for o in outs]
        return np.array([d is not None for d in found]), [crop_for_classifier(f, d[1]) if d else c
                                                           for f, d, c in zip(frames, found, centre)]

    found_det, det = det_crops(t_alone)
    p_centre, p_det = stages.probabilities(centre), stages.probabilities(det)
    result = {"centre": (np.ones(n, bool), p_centre >= P_MASK),
              f"facedet (t={t_alone})": (found_det, found_det & (p_det >= P_MASK))}
    if with_haar:
        haar = [stages.haar(f) for f in frames]
        found_haar = np.array([b is not None for b in haar])
        p_haar = stages.probabilities([contract.prepare(f, b, camera=False) if b else c
                                       for f, b, c in zip(frames, haar, centre)])
        result["haar+eyes (today's firmware)"] = (found_haar, found_haar & (p_haar >= P_MASK))
        either = found_haar | found_det
        result[f"haar+eyes, else facedet (t={t_alone})"] = (either, either & (np.where(found_haar, p_haar, p_det) >= P_MASK))
    if stages.bg is not None:
        def reads(q):  # (a face is there, it reads mask) from 3-class outputs
            return q.argmax(axis=1) != 0, (q.argmax(axis=1) == 2) & (q[:, 2] >= P_MASK)

        q_centre = stages.bg_probabilities(centre)
        result["centre, 3-class"] = reads(q_centre)
        regions = fixed_regions(w, h)
        q_regions = np.stack([stages.bg_probabilities([contract.resize_to_input(contract.crop(f, r)) for f in frames])
                              for r in regions], axis=1)  # n x regions x 3
        best = (1.0 - q_regions[..., 0]).argmax(axis=1)  # the region most likely to hold a face
        result[f"{len(regions)} fixed regions, 3-class"] = reads(q_regions[np.arange(n), best])
        found_g, det_g = det_crops(t_gated)
        q_det = stages.bg_probabilities(det_g)
        face_d, mask_d = reads(q_det)
        result[f"facedet (t={t_gated}), 3-class"] = (found_g & face_d, found_g & mask_d)
        face_c, mask_c = reads(q_centre)
        result[f"facedet (t={t_gated}) else centre, 3-class"] = (np.where(found_g, face_d, face_c),
                                                                 np.where(found_g, mask_d, mask_c))
    return result


def empty_frames(split: str, count: int, seed: int):
    from maskgate.data import backgrounds, compose

    rng = np.random.default_rng([seed, 77])
    cfg = compose.ComposeConfig(empty_p=1.0)
    empty = compose.Faces(np.zeros((0, 8, 8, 3), np.uint8), np.zeros(0, np.int64), [])
    return [compose.compose(rng, empty, bg, cfg)[0] for bg in backgrounds.backgrounds(split, count)]


def choose_thresholds(stages: Stages, frames) -> tuple[float, float | None, list]:
    """Detector thresholds from validation empty frames only (0.05 grid): alone = the lowest at
    which no frame has a face; gated = the lowest at which no frame's detector box reads mask to
    the 3-class classifier (None without one). And the sweep (frames with a face, with a mask read)."""
    from maskgate.detector.stage import crop_for_classifier, find_in

    outs = stages.detector.outputs(frames)
    h, w = frames[0].shape[:2]
    sweep, alone, gated = [], None, None
    for t in np.round(np.arange(0.2, 0.96, 0.05), 2):
        found = [find_in(o, w, h, float(t)) for o in outs]
        fires = sum(d is not None for d in found)
        reads = None
        if stages.bg is not None:
            crops = [crop_for_classifier(f, d[1]) for f, d in zip(frames, found) if d]
            q = stages.bg_probabilities(crops)
            reads = int(((q.argmax(axis=1) == 2) & (q[:, 2] >= P_MASK)).sum()) if len(crops) else 0
            if gated is None and reads == 0:
                gated = float(t)
        sweep.append((float(t), fires, reads))
        if alone is None and fires == 0:
            alone = float(t)
    return (alone if alone is not None else 0.95), gated, sweep


def composed_recall(stages: Stages, thresholds, count: int, seed: int):
    """Detector and Haar recall (IoU >= 0.5 with the pasted box) by face side, on test faces
    over test backgrounds; one face per picture, fully inside the frame."""
    from maskgate.data import backgrounds, compose
    from maskgate.detector.stage import find_in

    faces = compose.Faces.join([compose.load_faces(SHARED, s, "test", cache_dir=ROOT / "data" / "cache")
                                for s in ("face-mask-12k", "face-utkface", "utk-synth-mask")])
    rng = np.random.default_rng([seed, 99])
    cfg = compose.ComposeConfig(empty_p=0.0, door_framing_p=0.0, extra_faces_p=0.0, edge=0.0)
    bins = [(26, 40), (40, 60), (60, 90), (90, 130), (130, 240)]
    rows = {b: {"n": 0, "det": 0, "haar": 0, "masked": 0, "det_masked": 0, "haar_masked": 0, "det_g": 0, "det_g_masked": 0}
            for b in bins}
    frames, truth = [], []
    for bg in backgrounds.backgrounds("test", count, start=10_000):
        frame, boxes, labels = compose.compose(rng, faces, bg, cfg)
        if len(boxes) == 1:
            frames.append(frame)
            truth.append((boxes[0], int(labels[0])))
    outs = stages.detector.outputs(frames)
    for frame, out, (box, label) in zip(frames, outs, truth):
        side = box[2]
        b = next((b for b in bins if b[0] <= side < b[1]), None)
        if b is None:
            continue
        d = find_in(out, 320, 240, thresholds[0])
        dg = find_in(out, 320, 240, thresholds[1])
        hb = stages.haar(frame)
        r = rows[b]
        r["n"] += 1
        r["masked"] += label
        ok_d = d is not None and iou(d[1], box) >= 0.5
        ok_h = hb is not None and iou(hb, box) >= 0.3  # Haar's box is tighter than the pasted crop
        ok_g = dg is not None and iou(dg[1], box) >= 0.5
        r["det_g"] += ok_g
        r["det_g_masked"] += ok_g and label
        r["det"] += ok_d
        r["haar"] += ok_h
        r["det_masked"] += ok_d and label
        r["haar_masked"] += ok_h and label
    return rows


def iou(a, b) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    return inter / max(aw * ah + bw * bh - inter, 1e-6)


def walkups(stages: Stages, thresholds, visits: int, seed: int, with_haar: bool):
    """Synthetic walk-ups through firmware/door.py: per class, did the door open within 2 s
    (30 frames at 15 fps), per candidate; plus empty sequences (frames that opened it)."""
    from maskgate.data import backgrounds, compose
    from maskgate.detector.stage import crop_for_classifier, find_in
    from maskgate.firmware import module

    door = module("door")
    dcfg = module("config").DEFAULTS["door"]
    faces = compose.Faces.join([compose.load_faces(SHARED, s, "test", cache_dir=ROOT / "data" / "cache")
                                for s in ("face-mask-12k", "face-utkface", "utk-synth-mask")])
    rng = np.random.default_rng([seed, 123])
    cands, opened = None, {}  # (candidate, k) -> first frame the door was open; k: 0 bare, 1 masked, 2 empty
    for v in range(visits):
        for kind in (0, 1, 2):
            bg = backgrounds.background(backgrounds.SPLIT_SEEDS["test"], 20_000 + v * 3 + kind)
            pick = np.flatnonzero(faces.labels == kind) if kind < 2 else None
            i = int(pick[rng.integers(len(pick))]) if kind < 2 else None
            x0, y0 = rng.uniform(60, 200), rng.uniform(20, 80)
            dx, dy = rng.uniform(-20, 20), rng.uniform(-10, 10)
            light = rng.uniform(0.8, 1.2)
            frames = []
            for t in range(30):
                s = 40 + (120 - 40) * t / 29
                canvas = bg.astype(np.float32) * (light + 0.05 * np.sin(t / 3))
                if kind < 2:
                    tile = cv2.resize(faces.pixels[i], (int(s), int(s)), interpolation=cv2.INTER_LINEAR)
                    x = int(x0 + dx * t / 29 - s / 2 + 40)
                    y = int(y0 + dy * t / 29)
                    compose._body(canvas, tile, x, y, int(s), rng)
                    compose._paste(canvas, tile, x, y, compose._oval_alpha(int(s)))
                out = np.clip(canvas + rng.normal(0, 2, canvas.shape), 0, 255).astype(np.uint8)
                if rng.random() < 0.2:
                    out = cv2.GaussianBlur(out, (0, 0), 1.0)
                frames.append(compose.contract.rgb565_round_trip(out))
            res = evaluate(stages, frames, thresholds, with_haar)
            cands = cands or list(res)
            for c in cands:
                found, let_in = res[c]
                # the door gets the stage's decision: no region -> None, mask -> 1, else 0
                gate = door.Door(dcfg["k"], int(dcfg["hold_s"] * 1000), P_MASK, dcfg["hysteresis"])
                first = None
                for t in range(30):
                    p = None if not found[t] else (1.0 if let_in[t] else 0.0)
                    gate.update(t * 67, p)
                    if gate.state == door.OPEN and first is None:
                        first = t
                opened.setdefault((c, kind), []).append(first)
    return cands, opened


# Instructions per MAC the emulated Cortex-M7 executed for the shipped classifier's ops (issue 20,
# TFLM + CMSIS-NN, older libtf): a first 3x3 convolution on 3 channels, 1x1 convolutions,
# depthwise 3x3. Applied to another net's ops they give an ESTIMATE, not a measurement.
INSTRUCTIONS_PER_MAC = {"first": 4.71, "CONV_2D": 2.43, "DEPTHWISE_CONV_2D": 9.77, "FULLY_CONNECTED": 2.43}


def instructions_estimate(layers) -> int:
    total, first = 0.0, True
    for row in layers:
        rate = INSTRUCTIONS_PER_MAC.get(row["op"], 0.0)
        if row["op"] == "CONV_2D" and first:
            rate, first = INSTRUCTIONS_PER_MAC["first"], False
        total += rate * row["macs"]
    return int(total)


def memory_rows(detector_path: Path):
    """Per firmware release: does the detector (model + board arena) fit a heap block, and
    do classifier and detector fit together in the big block."""
    from maskgate import budget

    det = budget.model_figures(detector_path.read_bytes())
    cls = budget.model_figures((ROOT / "models" / "maskgate_int8.tflite").read_bytes())
    d = det["bytes"] + det["arena_bytes_board"]
    c = cls["bytes"] + cls["arena_bytes_board"]
    releases = [("4.5.5", (228,), True), ("4.5.6–4.7", (26, 267), False), ("4.8.1", (64, 267), False),
                ("5.0", (64, 264), False)]
    rows = []
    for name, blocks, arena_in_fb in releases:
        kb = [b * 1024 for b in blocks]
        if arena_in_fb:  # 4.5.5: arenas come from the frame buffer, only the models are on the heap
            need = det["bytes"] + cls["bytes"]
            rows.append((name, "+".join(f"{b} K" for b in blocks), f"models {need / 1024:.1f} K on the heap, arenas in the frame buffer",
                         need <= kb[0]))
            continue
        small, big = kb[0], kb[-1]
        if d <= small:
            where = f"detector {d / 1024:.1f} K in the {blocks[0]} K block; classifier {c / 1024:.1f} K in the {blocks[-1]} K block"
            ok, left = c <= big, big - c
        else:
            where = f"both in the {blocks[-1]} K block: {c / 1024:.1f} K + {d / 1024:.1f} K = {(c + d) / 1024:.1f} K"
            ok, left = c + d <= big, big - c - d
        # per frame the stage also allocates the 96x72 RGB565 copy (13.5 K) and the 32x32 crop (2 K)
        where += f"; {left / 1024:.0f} K of that block left for MicroPython, the firmware and per-frame copies"
        rows.append((name, "+".join(f"{b} K" for b in blocks), where, ok))
    return det, cls, rows


def door_framing_table(stages, results, thresholds, with_haar, lines, args):
    empty = empty_frames("test", args.empty, args.seed)
    empty_res = evaluate(stages, empty, thresholds, with_haar)
    cands = list(empty_res)
    lines += ["## Door framing: masked let in / bare let in (false opens) / empty frames that read mask", "",
              "found = the stage gave a region; let in = the classifier read mask on it. 12K and UTKFace: the "
              "detector trained on their other splits; chandrikadeb7 and RWMFD: never seen by any detector.", ""]
    head = "| candidate | " + " | ".join(
        [f"{s} masked let in" for s in ("12K", "chandrikadeb7", "RWMFD")]
        + [f"{s} bare let in" for s in ("12K", "UTKFace", "chandrikadeb7")]) + f" | empty frames read mask (of {len(empty)}) |"
    lines += [head, "|---" * (head.count("|") - 1) + "|"]
    table = {}
    for c in cands:
        cells = []
        for name, want in (("face-mask-12k", 1), ("face-mask-chandrikadeb7", 1), ("face-mask-rwmfd", 1),
                           ("face-mask-12k", 0), ("face-utkface", 0), ("face-mask-chandrikadeb7", 0)):
            labels, res = results[name]
            found, let_in = res[c]
            sel = labels == want
            k, n = int(let_in[sel].sum()), int(sel.sum())
            f = int(found[sel].sum())
            table[(c, name, want)] = (k, f, n)
            cells.append(f"{100 * k / max(n, 1):.1f} % ({k}/{n}; found {100 * f / max(n, 1):.0f} %)")
        k = int(empty_res[c][1].sum())
        f = int(empty_res[c][0].sum())
        cells.append(f"{k} (found {f})")
        lines.append(f"| {c} | " + " | ".join(cells) + " |")
    return table, empty_res


def composed_table(stages, thresholds, args, lines):
    rows = composed_recall(stages, thresholds, args.composed, args.seed)
    lines += ["## Composed pictures (test faces on test backgrounds): found by face side", "",
              "facedet: box IoU >= 0.5 with the pasted square; Haar: IoU >= 0.3 (its box is tighter).", "",
              f"| face side (px in 320x240) | pictures | masked | facedet t={thresholds[0]} found (masked) | "
              f"facedet t={thresholds[1]} found (masked) | haar+eyes found (masked) |",
              "|---|---|---|---|---|---|"]
    for (lo, hi), r in rows.items():
        n, m = r["n"], r["masked"]
        pc = lambda k, d: f"{100 * k / max(d, 1):.1f} %"  # noqa: E731
        lines.append(f"| {lo}–{hi} | {n} | {m} | {pc(r['det'], n)} ({pc(r['det_masked'], m)}) | "
                     f"{pc(r['det_g'], n)} ({pc(r['det_g_masked'], m)}) | {pc(r['haar'], n)} ({pc(r['haar_masked'], m)}) |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--detector", type=Path, required=True)
    parser.add_argument("--bg-classifier", type=Path)
    parser.add_argument("--limit", type=int, default=None, help="pictures per set (seeded subset)")
    parser.add_argument("--empty", type=int, default=2000, help="empty test frames")
    parser.add_argument("--composed", type=int, default=1500)
    parser.add_argument("--walkups", type=int, default=100, help="visits per class")
    parser.add_argument("--no-haar", action="store_true", help="skip the Haar rows (faster)")
    parser.add_argument("--walkups-only", action="store_true",
                        help="only the walk-ups and the cost table (run beside a --walkups 0 run on a shared machine)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "face_stage")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from maskgate.tfenv import tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    from maskgate.data import compose

    started = time.time()
    stages = Stages(args.detector, args.bg_classifier)
    with_haar = not args.no_haar
    t_alone, t_gated, sweep = choose_thresholds(stages, empty_frames("val", 1000, args.seed))
    thresholds = (t_alone, t_gated if t_gated is not None else t_alone)
    print(f"detector thresholds: alone {t_alone}, gated {t_gated}", flush=True)
    lines = ["# Face stage candidates, measured", "",
             f"Command: `.venv/bin/python bench/bench_face_stage.py --detector {args.detector}"
             + (f" --bg-classifier {args.bg_classifier}" if args.bg_classifier else "")
             + (f" --limit {args.limit}" if args.limit else "") + (" --no-haar" if args.no_haar else "")
             + f" --empty {args.empty} --composed {args.composed} --walkups {args.walkups}"
             + (" --walkups-only" if args.walkups_only else "") + "`", "",
             f"Detector thresholds, from 1,000 validation empty frames only: {t_alone} with the shipped classifier "
             "(the lowest, 0.05 grid, at which no frame has a detection), "
             f"{t_gated} with the 3-class classifier (the lowest at which no detection reads mask). "
             "Shipped classifier: models/maskgate_int8.tflite, P(mask) >= 0.5; 3-class: argmax mask and P(mask) >= 0.5. "
             "Haar rows use the virtual board's OpenCV stand-in: an UPPER bound for the board.", ""]
    results = {}
    sets = [] if args.walkups_only else ["face-mask-12k", "face-utkface", "face-mask-chandrikadeb7", "face-mask-rwmfd"]
    for name in sets:
        pics = pictures(name, args.limit, args.seed)
        frames = [compose.contract.rgb565_round_trip(compose.door_framing(p)[0]) for p, _ in pics]
        labels = np.array([lab for _, lab in pics])
        res = evaluate(stages, frames, thresholds, with_haar)
        results[name] = (labels, res)
        print(f"{name}: {len(frames)} pictures ({time.time() - started:.0f} s)", flush=True)
    table, empty_res = {}, {}
    if not args.walkups_only:
        table, empty_res = door_framing_table(stages, results, thresholds, with_haar, lines, args)
        lines += ["", "Threshold sweep on the 1,000 validation empty frames (threshold: frames with a detection"
                  " / of those, read mask by the 3-class classifier): "
                  + ", ".join(f"{t:.2f}: {n}" + (f"/{r}" if r is not None else "") for t, n, r in sweep), ""]
        composed_table(stages, thresholds, args, lines)

    if args.walkups:
        wc, opened = walkups(stages, thresholds, args.walkups, args.seed, with_haar)
        lines += ["", f"## Synthetic walk-ups ({args.walkups} visits per class, firmware/door.py k = 3)", "",
                  "A face (test split of 12K, UTKFace, masks drawn on UTKFace) grows from 40 to 120 px over 30 frames "
                  "(2 s at 15 fps) over a test background, drifting, light flickering; empty visits are the same "
                  "without a face. SYNTHETIC, drawn by this bench's own composer (not issue 15's harness).", "",
                  "| candidate | masked visitor in within 2 s | bare visitor in | empty visits that opened |", "|---|---|---|---|"]
        for c in wc:
            m = opened[(c, 1)]
            b = opened[(c, 0)]
            e = opened[(c, 2)]
            km, kb, ke = sum(x is not None for x in m), sum(x is not None for x in b), sum(x is not None for x in e)
            lines.append(f"| {c} | {100 * km / len(m):.1f} % ({km}/{len(m)}; 95 % CI {_ci(km, len(m))}) | "
                         f"{100 * kb / len(b):.1f} % ({kb}/{len(b)}) | {ke}/{len(e)} |")

    det, cls, mem = memory_rows(args.detector)
    lines += ["", "## Cost and fit", "",
              "Instructions: ESTIMATE from the per-op instructions/MAC issue 20 measured on the shipped classifier "
              "(emulated M7, TFLM + CMSIS-NN); ops without MACs not counted. At 480 MHz and 1-2 instructions per "
              "cycle, 1 M instructions is 1.0-2.1 ms.", "",
              "| model | .tflite | tflite-micro arena (host / board) | MACs | instructions (estimate) |", "|---|---|---|---|---|",
              f"| facedet | {det['bytes']:,} B | {det['arena_bytes']:,} / {det['arena_bytes_board']:,} B | {det['macs']:,} | "
              f"{instructions_estimate(det['layers']) / 1e6:.1f} M |",
              f"| classifier (shipped) | {cls['bytes']:,} B | {cls['arena_bytes']:,} / {cls['arena_bytes_board']:,} B | {cls['macs']:,} | "
              f"{instructions_estimate(cls['layers']) / 1e6:.1f} M (measured: 7.63 M) |",
              "", "| release | GC heap blocks | where the models go | fits |", "|---|---|---|---|"]
    for name, blocks, where, ok in mem:
        lines.append(f"| {name} | {blocks} | {where} | {'yes' if ok else 'NO'} |")
    lines += ["", f"Run time {time.time() - started:.0f} s on this machine (host wall clock; says nothing about the board).", ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    Path(str(args.out) + ".md").write_text("\n".join(lines))
    Path(str(args.out) + ".json").write_text(json.dumps(
        {"thresholds": thresholds, "sweep": sweep,
         "table": {f"{c}|{n}|{w}": v for (c, n, w), v in table.items()},
         "empty": {c: [int(v[1].sum()), int(v[0].sum()), len(v[0])] for c, v in empty_res.items()}}, indent=1))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
