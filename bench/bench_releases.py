"""The release table: what the door does on each OpenMV release the virtual board emulates.

For every release (4.5.5, 4.5.9, 4.8.1, 5.0.0): the firmware (this checkout's, or another
tree's with --firmware-dir, e.g. an older commit) runs on masked and on bare faces from
face-mask-12k Test, one picture per frame; reported are how often the door opened, how many
frames found a face and were judged, what HELLO says (error, api, features) and the memory the
release leaves for model + arena (maskgate.memory, the table quantize and deploy use).

VIRTUAL BOARD FIGURES: the virtual board follows the OpenMV source per release (its API,
its memory); its face detector is the host's stand-in (see tools/virtualboard/image.py), so
face counts are not the camera's. Nothing here ran on a physical board.

    .venv/bin/python bench/bench_releases.py [--pictures 60] [--model M] [--firmware-dir DIR] [--json]
"""
import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST = ROOT.parent / "shared" / "datasets" / "face-mask-12k" / "Test"


def hello_of(board) -> dict:
    from maskgate.firmware import module

    frame = module("frame")
    parser = frame.Parser(frame.LIMIT_PAYLOAD)
    parser.feed(board.port.host_read())
    while (ev := parser.next()) is not None:
        if ev[0] == frame.FRAME and ev[1] == frame.HELLO | frame.REPLY:
            return json.loads(ev[3])
    return {}


def run(release: str, model: Path, pictures: list[Path], firmware_dir: Path | None) -> dict:
    from maskgate.bundle import describe
    from maskgate.board.virtualboard import VirtualBoard
    from maskgate.firmware import module

    frame = module("frame")
    with tempfile.TemporaryDirectory() as card:
        board = VirtualBoard(pictures, card, firmware=release)
        board.install(model, describe(model))
        if firmware_dir:
            for path in Path(firmware_dir).glob("*.py"):
                if path.name != "__init__.py":
                    board.card.write_bytes(path.name, path.read_bytes())
        board.port.host_write(frame.encode(frame.HELLO, 1, b'{"brief": true}'))
        result = board.run()
        rows = board.decisions()
        events = board.door_events()
        hello = hello_of(board)
        errors = sorted({line.split(":", 2)[-1].strip()[:90] for line in board.console
                         if "ERROR" in line or "error" in line.lower()})
    openings = sum(1 for (_, a), (_, b) in zip([(0, "closed")] + events, events) if a == "closed" and b == "open")
    return {"frames": result.frames, "ended": result.ended, "crash": (result.crash or "").strip().splitlines()[-1:],
            "judged": sum(1 for r in rows if r["prob"] is not None), "faces": sum(1 for r in rows if r["face"]),
            "read_mask": sum(1 for r in rows if r["label"] == "mask"), "door_openings": openings,
            "open_frames": sum(1 for r in rows if r["door"] == "open"),
            "frame_errors": sum(1 for r in rows if r["label"] == "error"),
            "hello": {k: hello.get(k) for k in ("omv", "api", "error", "features", "heap_free", "model_heap")},
            "console_errors": errors[:3]}


def main():
    from maskgate import budget, memory, package_data
    from maskgate.bundle import describe

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pictures", type=int, default=60, help="masked and bare pictures each (first N by name)")
    ap.add_argument("--model", type=Path, default=package_data.shipped_model())
    ap.add_argument("--firmware-dir", type=Path, help="run these firmware files instead of this checkout's")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    masked = sorted((TEST / "WithMask").glob("*.jpg"))[:args.pictures]
    bare = sorted((TEST / "WithoutMask").glob("*.jpg"))[:args.pictures]
    if not masked or not bare:
        sys.exit(f"no pictures in {TEST}")
    data = args.model.read_bytes()
    manifest = describe(args.model)
    used = budget.manifest_arena_used(manifest, data)
    table = {}
    for release in memory.EMULATED:
        room = memory.room(release)
        table[release] = {"masked": run(release, args.model, masked, args.firmware_dir),
                          "bare": run(release, args.model, bare, args.firmware_dir),
                          "memory": {"room_model_plus_arena": room["model_plus_arena"], "arena_in": room["arena_in"],
                                     "framebuffer_for_arena": room["framebuffer_for_arena"],
                                     "heap_pools": room["heap_pools"],
                                     "this_model": memory.plan(release, len(data), used)}}
    if args.json:
        print(json.dumps(table, indent=2, default=str))
        return
    print(f"{args.pictures} masked + {args.pictures} bare face-mask-12k Test pictures, model {args.model.name}; "
          f"firmware {args.firmware_dir or 'this checkout'}")
    for release, t in table.items():
        m, b, mem = t["masked"], t["bare"], t["memory"]
        h = m["hello"]
        f = h.get("features") or {}
        print(f"\nOpenMV {release}: masked -> door opened {m['door_openings']}x, open {m['open_frames']}/{m['frames']} "
              f"frames ({m['faces']} faces, {m['judged']} judged, {m['read_mask']} read mask, {m['frame_errors']} frame "
              f"errors); bare -> door opened {b['door_openings']}x ({b['faces']} faces, {b['read_mask']} read mask)")
        print(f"  HELLO: api {h.get('api')}, error {h.get('error')!r}")
        if f:
            print(f"  features: " + ", ".join(f"{k}={v}" for k, v in f.items() if k != "errors") +
                  (f"; missing: {f['errors']}" if f.get("errors") else ""))
        if m["crash"]:
            print(f"  crash: {m['crash']}")
        if m["console_errors"]:
            print(f"  console: {m['console_errors']}")
        fb = mem["framebuffer_for_arena"]
        where = (f"{mem['room_model_plus_arena'] / 1024:.1f} KB of heap in one block for the model, arena in the frame "
                 f"buffer ({fb / 1024:.1f} KB at QVGA)" if fb else
                 f"{mem['room_model_plus_arena'] / 1024:.1f} KB in one heap block for model + arena")
        print(f"  memory: {where}; this model: {'fits' if mem['this_model']['ok'] else 'does not fit'}, "
              f"heap free after load {mem['this_model']['heap_free_after'] / 1024:.1f} KB")


if __name__ == "__main__":
    main()
