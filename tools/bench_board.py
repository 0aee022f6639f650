"""`maskgate bench --port P`: how the camera itself performs.

Live frames (BENCH): the firmware times every stage of every frame (capture, face detection,
resize, inference, logging) with time.ticks_us; the PC collects --frames of them and reports
p50 / p95 per stage and the frame rate (from the frames' own timestamps). These are board
figures when the board is a camera, host figures on the virtual board.

--images DIR (INFER): a labelled folder (any layout `maskgate data import` reads) is streamed
to the board; each picture goes through the board's own frame path (face detection if
--detect, the face or centre square, 32x32, int8 model). Reported: on-device accuracy per
class, agreement with the PC's int8 model on exactly the pixels the board received
(RGB565, as a camera delivers them, with the crop the board chose), images per second and the
link's throughput (bytes both ways per second).
"""
from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

from maskgate import contract
from maskgate.digest import sha256_bytes
from maskgate.errors import BoardError, DataError

from .link import Link, frame
from .virtualboard.clock import ticks_diff

STAGES = ("capture", "detect", "resize", "infer", "log")
MAX_SIDE = 128  # pictures are sent at most this big (the board takes up to 160 x 160)


def percentiles(values) -> dict:
    if not values:
        return {"p50": None, "p95": None, "mean": None}
    arr = np.asarray(values, dtype=np.float64)
    return {"p50": round(float(np.percentile(arr, 50)), 3), "p95": round(float(np.percentile(arr, 95)), 3),
            "mean": round(float(arr.mean()), 3)}


def bench_live(link: Link, frames: int = 100, timeout: float | None = None) -> dict:
    """Per-stage p50/p95 (ms) and fps over the next `frames` frames the board runs."""
    rows = timed_frames(link, frames, timeout)
    return live_summary(rows, link.hello)


def timed_frames(link: Link, frames: int, timeout: float | None = None) -> list[list[int]]:
    """The BENCH records of the next `frames` frames the board runs, oldest first:
    [frame, ms, capture, detect, resize, infer, log, face] (stage times in microseconds)."""
    hello = link.hello or link.connect()
    if hello.get("error"):
        raise BoardError(f"the board is not running the door loop: {hello['error']}")
    start = link.call(frame.BENCH, {"since": 1 << 29, "n": 1})
    since = start["last"] + 1
    rows = []
    limit = time.monotonic() + (timeout or max(30.0, frames / 2))
    while len(rows) < frames:
        if time.monotonic() > limit:
            raise BoardError(f"only {len(rows)} of {frames} frames timed before the timeout: is the board busy?")
        page = link.call(frame.BENCH, {"since": since, "n": 48})
        if page["frames"]:
            if page["frames"][0][0] > since and rows:
                raise BoardError("frames were missed (the board keeps only the last %d): ask for fewer at a time"
                                 % page.get("kept", 0))
            rows += page["frames"]
            since = page["frames"][-1][0] + 1
        else:
            time.sleep(0.1)
    return rows[:frames]


def live_summary(rows: list[list[int]], hello: dict) -> dict:
    """p50 / p95 / mean per stage and per frame (ms), fps and faces of timed_frames' records."""
    span_ms = ticks_diff(rows[-1][1], rows[0][1])
    stages = {s: percentiles([r[2 + i] / 1000 for r in rows]) for i, s in enumerate(STAGES)}
    totals = [sum(r[2:7]) / 1000 for r in rows]
    return {"frames": len(rows), "fps": round((len(rows) - 1) / (span_ms / 1000), 2) if span_ms > 0 else None,
            "stage_ms": stages, "frame_ms": percentiles(totals), "faces": sum(r[7] for r in rows),
            "board": {k: hello.get(k) for k in ("board", "fw", "omv", "api", "model_sha256")}}


def labelled_images(folder, limit: int | None = None) -> list[tuple[Path, str]]:
    """(path, canonical label) of a labelled folder, classes interleaved when limited."""
    from maskgate.data.layouts import detect_layout

    layout = detect_layout(folder)
    by_label: dict[str, list] = {}
    for entry in layout.entries:
        by_label.setdefault(entry.label, []).append(entry.path)
    out = []
    queues = [list(v) for _, v in sorted(by_label.items())]
    while any(queues) and (limit is None or len(out) < limit):
        for label, queue in zip(sorted(by_label), queues):
            if queue and (limit is None or len(out) < limit):
                out.append((queue.pop(0), label))
    return out


def picture_for_board(path: Path, max_side: int = MAX_SIDE) -> np.ndarray:
    """The picture as the board will get it: at most max_side, RGB565 (H x W uint16)."""
    from maskgate.data.images import read_rgb

    rgb = read_rgb(path)
    h, w = rgb.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    if scale < 1.0:
        rgb = cv2.resize(rgb, (max(8, round(w * scale)), max(8, round(h * scale))), interpolation=cv2.INTER_AREA)
    return contract.rgb888_to_rgb565(rgb)


def infer_on_board(link: Link, pic_id: int, rgb565: np.ndarray, detect: bool) -> dict:
    """Send one picture in chunks (INFER), return the board's result."""
    h, w = rgb565.shape
    data = rgb565.astype("<u2").tobytes()
    at = 0

    def piece():  # made again on every try, with the link's chunk size of the moment
        room = max(16, link.chunk_out - 80)
        return frame.with_data({"id": pic_id, "w": w, "h": h, "o": at, "detect": detect}, data[at : at + room])

    while True:
        head, _ = frame.split_data(link.request(frame.INFER, piece))
        if "label" in head:
            return head
        at = head.get("have", 0)  # in step, or the board says where to go on from


def bench_images(link: Link, folder, *, model=None, detect: bool = False, limit: int | None = None,
                 max_side: int = MAX_SIDE, progress=None) -> dict:
    from maskgate.evaluate import board_agreement
    from maskgate.runtime import LiteModel

    hello = link.hello or link.connect()
    if hello.get("error"):
        raise BoardError(f"the board has no model running: {hello['error']}")
    cfg = link.call(frame.HELLO).get("config") or {}  # the full HELLO: labels, threshold, margin
    items = labelled_images(folder, limit)
    if not items:
        raise DataError(f"{folder}: no labelled pictures")
    before = (link.stats["bytes_in"], link.stats["bytes_out"])
    base = int(time.time() * 1000) % (1 << 28)
    results, host_pixels = [], []
    started = time.monotonic()
    for i, (path, label) in enumerate(items):
        rgb565 = picture_for_board(path, max_side)
        res = infer_on_board(link, base + i, rgb565, detect)
        res["truth"], res["path"] = label, str(path)
        results.append(res)
        if res["prob"] is not None:  # judged (with --detect, a picture without a face is not)
            # exactly what the board saw: its RGB565 pixels, its face box (or centre square)
            host_pixels.append(contract.prepare(contract.rgb565_to_rgb888(rgb565), res["box"] or None,
                                                margin=cfg.get("face_margin", contract.FACE_MARGIN)))
        if progress:
            progress(1)
    seconds = time.monotonic() - started
    moved = link.stats["bytes_in"] - before[0] + link.stats["bytes_out"] - before[1]
    cfg_labels = sorted({r["label"] for r in results} | {r["truth"] for r in results})
    per_class = {}
    for label in sorted({r["truth"] for r in results}):
        mine = [r for r in results if r["truth"] == label]
        per_class[label] = {"images": len(mine), "correct": sum(r["label"] == label for r in mine),
                            "accuracy": round(sum(r["label"] == label for r in mine) / len(mine), 4)}
    report = {"images": len(results), "seconds": round(seconds, 3),
              "images_per_s": round(len(results) / seconds, 2) if seconds else None,
              "link_bytes": moved, "link_kB_per_s": round(moved / seconds / 1000, 1) if seconds else None,
              "accuracy": round(sum(r["label"] == r["truth"] for r in results) / len(results), 4),
              "per_class": per_class, "board_labels": dict(Counter(r["label"] for r in results)),
              "faces": sum(1 for r in results if r["box"]), "detect": detect,
              "no_face": sum(1 for r in results if r["prob"] is None),
              "board_ms": {k: percentiles([r["us"][i] / 1000 for r in results])
                           for i, k in enumerate(("detect", "resize", "infer"))},
              "labels": cfg_labels}
    model_path = Path(model) if model else None
    judged = [r for r in results if r["prob"] is not None]
    if model_path and model_path.is_file() and judged:
        data = model_path.read_bytes()
        probs = LiteModel(data).probabilities(np.stack(host_pixels))
        labels = cfg.get("labels") or list(contract.labels_for(probs.shape[1]))
        report["agreement"] = {
            "model": str(model_path), "model_sha256": sha256_bytes(data),
            "same_model_as_board": sha256_bytes(data) == hello.get("model_sha256"),
            **board_agreement(probs, labels, cfg.get("threshold", contract.THRESHOLD),
                              [r["label"] for r in judged], [r["prob"] for r in judged])}
    else:
        report["agreement"] = {"skipped": "no --model given: pass the .tflite the board runs"}
    report["results"] = [{k: r[k] for k in ("path", "truth", "label", "prob", "box")} for r in results]
    return report
