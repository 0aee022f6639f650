"""The imlib port (maskgate.imlib): how it was checked and what it costs.

1. Haar, window by window: the vectorised port against the scalar transcription of haar.c /
   integral_mw.c (tests/imlib_scalar.py) on real frames (face-mask-12k Test fitted into
   320 x 240, the firmware's grey copy at detect_scale), frontal and eye cascades, at the
   firmware's threshold and at 1.0: windows compared, windows that agree, hits.
2. Speed on one core: find_features on a full 320 x 240 grey frame (frontal cascade), and the
   firmware's whole face stage (face.find: grey copy, frontal, eye fallback) per QVGA frame.
3. The crop: the firmware's to_input on the virtual board against contract.prepare on the same
   frames (should be 0), and how far the old contract (OpenCV INTER_AREA, rounded RGB565) was.
4. The shipped model on 12K Test (centre squares) under the old and the new contract.

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_haar.py [--frames 40] [--out bench/results/imlib-port.md]

HOST FIGURES: the timings are this PC's, one thread; they say nothing about the camera.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "datasets" / "face-mask-12k"
sys.path.insert(0, str(ROOT / "tests"))  # the scalar transcription lives with the tests
sys.path.insert(0, str(ROOT / "bench"))


def frames(count: int, start: int = 0):
    from maskgate.board.virtualboard.frames import fit_frame
    from maskgate.data.images import read_rgb

    half = count // 2
    files = (sorted((DATA / "Test" / "WithMask").glob("*.jpg"))[start:start + half]
             + sorted((DATA / "Test" / "WithoutMask").glob("*.jpg"))[start:start + count - half])
    return [fit_frame(read_rgb(p), 320, 240) for p in files]


def windows_section(count: int) -> list[str]:
    import imlib_scalar as scalar
    from maskgate.firmware import module
    from maskgate.imlib import color, draw, haar

    cfg, face = module("config").DEFAULTS, module("face")
    cascades = {"frontalface": haar.builtin("frontalface").with_stages(cfg["haar_stages"]),
                "eye": haar.builtin("eye").with_stages(face.EYE_STAGES)}
    stats = {}
    for rgb in frames(count, start=200):
        grey = draw.copy(color.rgb888_to_rgb565(rgb), None, cfg["detect_scale"], cfg["detect_scale"], to_gray=True)
        for name, cascade in cascades.items():
            for threshold in sorted({cfg["haar_threshold"], 1.0}):
                ours = haar.scan(grey, cascade, threshold, cfg["haar_scale_factor"])
                depths, hits = scalar.detect_windows(grey, cascade, threshold, cfg["haar_scale_factor"])
                mine = {(int(lv), int(x), int(y)): int(d) for lv, x, y, d in zip(ours.level, ours.x, ours.y, ours.depth)}
                s = stats.setdefault((name, threshold), [0, 0, 0, 0, 0, 0])
                s[0] += len(depths)
                s[1] += sum(mine.get(k) == d for k, d in depths.items())
                s[2] += sum(d >= 0 for d in depths.values())
                s[3] += sum(d >= 1 for d in depths.values())
                s[4] += len(hits)
                s[5] += haar.hit_rects(ours, cascade) == hits
    lines = ["## 1. Haar windows: vectorised port vs scalar transcription of haar.c", "",
             f"{count} frames (12K Test, {count // 2} masked + {count - count // 2} bare, from picture 200), grey copy "
             f"at detect_scale {cfg['detect_scale']}, scale factor {cfg['haar_scale_factor']}.", "",
             "| cascade | threshold | windows | agree | past the variance filter | past stage 1 | hits | frames with equal hit lists |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for (name, threshold), s in stats.items():
        lines.append(f"| {name} | {threshold} | {s[0]} | {s[1]} | {s[2]} | {s[3]} | {s[4]} | {s[5]}/{count} |")
    return lines + [""]


def speed_section(count: int) -> list[str]:
    from maskgate.data import faces
    from maskgate.imlib import color, draw, haar

    pics = frames(count)
    greys = [draw.copy(color.rgb888_to_rgb565(rgb), None, 1.0, 1.0, to_gray=True) for rgb in pics]
    cascade = haar.builtin("frontalface")
    haar.detect(greys[0], cascade, 0.5, 1.25)  # warm-up (cascade plan)
    faces.find_face_or_eyes(pics[0])

    def timed(fn, items):
        # CPU time of this (single-threaded) process: one core's time, whatever else the
        # machine runs meanwhile
        out = []
        for item in items:
            t0 = time.process_time()
            fn(item)
            out.append((time.process_time() - t0) * 1000)
        return out

    d = faces.DEFAULT
    settings = [(25, 0.5, 1.25), (25, 1.0, 1.25), (d.stages, d.threshold, d.scale_factor)]
    full = {(st, t, sf): timed(lambda g: haar.detect(g, cascade.with_stages(st), t, sf), greys)
            for st, t, sf in settings}
    stage = timed(faces.find_face_or_eyes, pics)
    lines = ["## 2. Speed (this PC, one thread, CPU time per frame)", "",
             "| what | frames | mean ms | median ms | max ms |", "|---|---:|---:|---:|---:|"]
    rows = [(f"find_features on a whole 320 x 240 grey frame: frontal, {st} stages, threshold {t}, scale {sf}", v)
            for (st, t, sf), v in full.items()]
    for name, ms in rows + [
            ("firmware face stage (face.find at the config defaults: QVGA frame, grey copy at "
             f"{d.detect_scale}, frontal, eye fallback)", stage)]:
        lines.append(f"| {name} | {len(ms)} | {statistics.mean(ms):.1f} | {statistics.median(ms):.1f} | {max(ms):.1f} |")
    return lines + [""]


def crop_section(count: int) -> list[str]:
    from bench_face_tuning import old_round_trip
    from maskgate import contract
    from maskgate.board.virtualboard import image as vimage
    from maskgate.data import faces
    from maskgate.firmware import module

    face = module("face")
    new, old = [], []
    boxes = 0
    for rgb in frames(count, start=400):
        found = faces.find_face_or_eyes(rgb)
        for box in (found + [None]):
            boxes += box is not None
            roi = face.face_square(box, 320, 240, contract.FACE_MARGIN) if box else face.centre_square(320, 240)
            board = face.to_input(vimage.Image.from_rgb(rgb), roi, contract.INPUT_SIZE, vimage.AREA).rgb888().astype(int)
            new.append(np.abs(board - contract.prepare(rgb, box)))
            x, y, side, _ = roi
            before = cv2.resize(old_round_trip(rgb)[y:y + side, x:x + side], (32, 32), interpolation=cv2.INTER_AREA)
            old.append(np.abs(board - before))
    new, old = np.stack(new), np.stack(old)
    return ["## 3. The 32 x 32 crop: firmware on the virtual board vs the host's contract", "",
            f"{len(new)} crops from {count} QVGA frames ({boxes} face squares, the rest centre squares).", "",
            "| host pixels | mean abs difference | max | crops identical |", "|---|---:|---:|---:|",
            f"| contract.prepare (imlib port) | {new.mean():.3f} | {new.max()} | {int((new.max(axis=(1, 2, 3)) == 0).sum())}/{len(new)} |",
            f"| old contract (OpenCV INTER_AREA, rounded RGB565) | {old.mean():.2f} | {old.max()} | "
            f"{int((old.max(axis=(1, 2, 3)) == 0).sum())}/{len(old)} |", ""]


def shipped_section() -> list[str]:
    import json

    from bench_face_tuning import old_round_trip
    from maskgate import contract
    from maskgate.data.images import read_rgb
    from maskgate import bundle
    from maskgate.runtime import LiteModel, micro_raw

    manifest = bundle.read_manifest(ROOT / "models")
    model_bytes = (ROOT / "models" / manifest["model_file"]).read_bytes()
    threshold = manifest["contract"]["threshold"]
    files, y = [], []
    for folder, label in (("WithMask", 1), ("WithoutMask", 0)):
        got = sorted((DATA / "Test" / folder).glob("*.jpg"))
        files += got
        y += [label] * len(got)
    y = np.array(y)
    pictures = [read_rgb(p) for p in files]

    def old_pixels(rgb, camera):
        h, w = rgb.shape[:2]
        x0, y0, side, _ = contract.centre_square(w, h)
        src = old_round_trip(rgb) if camera else rgb
        return cv2.resize(src[y0:y0 + side, x0:x0 + side], (32, 32), interpolation=cv2.INTER_AREA)

    sets = {"old contract (file pictures: RGB888, INTER_AREA)": np.stack([old_pixels(p, False) for p in pictures]),
            "old contract, camera=True (rounded RGB565, INTER_AREA)": np.stack([old_pixels(p, True) for p in pictures]),
            "new contract (imlib RGB565 AREA, as the camera)": np.stack([contract.prepare(p) for p in pictures])}
    model = LiteModel(model_bytes)
    labels = {k: model.probabilities(v)[:, 1] >= threshold for k, v in sets.items()}
    new_key = list(sets)[-1]
    micro = micro_raw(model_bytes, sets[new_key]).reshape(-1)
    lines = ["## 4. The shipped model on 12K Test (centre squares) under each contract", "",
             f"`models/{manifest['model_file']}`, threshold {threshold}, {len(y)} pictures.", "",
             "| pixels | accuracy | labels that differ from the new contract's |", "|---|---:|---:|"]
    for name, lab in labels.items():
        lines.append(f"| {name} | {100 * np.mean(lab == y):.2f} % | {int((lab != labels[new_key]).sum())} |")
    raw_lite = model.raw(sets[new_key]).reshape(-1)
    lines += ["", f"tflite-micro and LiteRT (built-in kernels) raw outputs on the new pixels: "
              f"{int((micro == raw_lite).sum())}/{len(micro)} equal.", ""]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "imlib-port.md")
    parser.add_argument("--only", choices=("windows", "speed", "crop", "shipped"), help="run one section")
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"{DATA} is absent: this bench needs the shared datasets")
        return 2
    lines = ["# The imlib port: agreement, speed, crops", "",
             f"Command: `OMP_NUM_THREADS=1 .venv/bin/python bench/bench_haar.py --frames {args.frames}"
             f"{' --only ' + args.only if args.only else ''}`", ""]
    sections = {"windows": lambda: windows_section(args.frames), "speed": lambda: speed_section(100),
                "crop": lambda: crop_section(100), "shipped": shipped_section}
    for name, section in sections.items():
        if args.only in (None, name):
            lines += section()
        print("\n".join(lines[-12:]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print(args.out.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
