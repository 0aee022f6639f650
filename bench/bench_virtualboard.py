"""Virtual board throughput: frames per second of the unmodified firmware on the PC and the
share of each stage (capture, detect, resize, infer, log), next to the manifest's estimated
inference latency on the camera.

HOST FIGURES: the virtual board runs on the PC's CPU (OpenCV Haar, LiteRT builtin kernels,
the PC's file system); they say how fast the simulation is, not how fast the camera is. The
camera's inference latency is only known as an estimate (manifest.json, MACs x cycles/MAC),
and its Haar detection and SD writes are not estimated at all.

    .venv/bin/python bench/bench_virtualboard.py [--model models/maskgate_int8.tflite] [--frames N]
"""
import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

STAGES = ("capture", "detect", "resize", "infer", "log")


def pictures(count: int) -> list[Path]:
    base = ROOT.parent / "shared" / "datasets" / "face-mask-12k" / "Test"
    half = count // 2
    return sorted((base / "WithMask").glob("*.jpg"))[:half] + sorted((base / "WithoutMask").glob("*.jpg"))[:count - half]


def bench(model: Path, frames: list[Path], face_detection: bool) -> dict:
    from maskgate.bundle import describe
    from maskgate.board.virtualboard import VirtualBoard

    manifest = describe(model)
    with tempfile.TemporaryDirectory() as card:
        board = VirtualBoard(frames, card, clock="real", fps=0)  # fps 0: no pacing, as fast as the host goes
        board.install(model, manifest, face_detection=face_detection)
        t0 = time.perf_counter()
        result = board.run()
        wall = time.perf_counter() - t0
        if result.crash:
            raise SystemExit(result.crash)
        rows = board.decisions()
    # the first row waits for boot (skip_frames 2 s); time the loop from the first frame on
    span_ms = rows[-1]["time_ms"] - rows[0]["time_ms"]
    mean = {s: statistics.fmean(r["ms"][s] or 0.0 for r in rows[1:]) for s in STAGES}
    total = sum(mean.values())
    return {
        "face_detection": face_detection,
        "frames": len(rows),
        "faces_found": sum(1 for r in rows if r["face"]),
        "host_fps": round((len(rows) - 1) / (span_ms / 1000), 1) if span_ms else None,
        "host_stage_ms": {s: round(v, 3) for s, v in mean.items()},
        "host_stage_share": {s: round(v / total, 3) for s, v in mean.items()} if total else {},
        "host_wall_seconds": round(wall, 2),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "maskgate_int8.tflite")
    ap.add_argument("--frames", type=int, default=200, help="face-mask-12k Test pictures, half of each class")
    args = ap.parse_args()
    if not args.model.is_file():
        raise SystemExit(f"{args.model} does not exist: pass --model RUN/maskgate_int8.tflite")
    frames = pictures(args.frames)
    from maskgate.bundle import describe

    estimate = describe(args.model).get("estimate")
    report = {"note": "host figures (PC CPU), not the camera; board latency is the manifest's estimate",
              "model": str(args.model),
              "runs": [bench(args.model, frames, True), bench(args.model, frames, False)],
              "board_inference_estimate": estimate or "no estimate: the model has no manifest.json from maskgate quantize"}
    print(json.dumps(report, indent=2))
    for run in report["runs"]:
        shares = ", ".join(f"{s} {100 * run['host_stage_share'].get(s, 0):.0f}%" for s in STAGES)
        print(f"[host] face detection {'on ' if run['face_detection'] else 'off'}: {run['host_fps']} fps "
              f"({shares})", file=sys.stderr)
    est = report["board_inference_estimate"]
    if isinstance(est, dict):
        lat = est["latency_ms"]
        print(f"[board, estimate] inference {lat['typical']} ms (range {lat['low']}-{lat['high']} ms) at "
              f"{est['clock_hz'] / 1e6:.0f} MHz", file=sys.stderr)


if __name__ == "__main__":
    main()
