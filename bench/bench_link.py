"""Serial link throughput and capture rate against the virtual board, on a pty.

- raw pty: bytes per second a pseudo-terminal moves one way with pyserial on the host side
  (the ceiling any protocol on this pty can reach), measured in the same run;
- link: GET (board -> PC) and PUT (PC -> board) of a file through the maskgate protocol
  (frames, CRC, one request per chunk, the board's poll loop between camera frames), as a
  ratio of the raw figure;
- noisy link: the same GET with 0.1 % and 1 % of the bytes corrupted both ways (the link
  shrinks its chunks and retries);
- capture: pictures per second streamed by `maskgate capture` (64x64 and 200x200), with the
  camera paced at 30 fps and unpaced.

HOST FIGURES: everything runs on this PC (board and host in one process, sharing its CPU);
a real OpenMV Cam on USB full speed (12 Mbit/s) moves at most ~1 MB/s and runs its loop far
slower. The ratio to the raw pty is the meaningful number: what the protocol costs.

    .venv/bin/python bench/bench_link.py [--model RUN/maskgate_int8.tflite] [--mb 2]
"""
import argparse
import json
import os
import sys
import tempfile
import threading
import time
import tty
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def raw_pty(nbytes: int) -> dict:
    """Bytes/s through a pty, board -> PC and PC -> board, with pyserial on the PC side."""
    import serial

    out = {}
    for direction in ("to_host", "to_board"):
        master, slave = os.openpty()
        tty.setraw(slave)
        port = serial.Serial(os.ttyname(slave), 115200, timeout=1)
        block = os.urandom(4096)
        done = threading.Event()

        def pump():
            moved = 0
            while moved < nbytes:
                if direction == "to_host":
                    moved += os.write(master, block)
                else:
                    moved += len(os.read(master, 65536))
            done.set()

        worker = threading.Thread(target=pump, daemon=True)
        t0 = time.perf_counter()
        worker.start()
        if direction == "to_host":
            got = 0
            while got < nbytes:
                got += len(port.read(max(1, min(port.in_waiting, 65536))))
        else:
            sent = 0
            while sent < nbytes:
                sent += port.write(block)
        done.wait(30)
        seconds = time.perf_counter() - t0
        out[direction] = round(nbytes / seconds / 1e6, 2)
        port.close()
        os.close(master)
        os.close(slave)
    return {"MB_per_s": out}


def link_figures(board, nbytes: int) -> dict:
    from maskgate.board.link import Link
    from maskgate.board.remote_card import RemoteCard
    from maskgate.board.virtualboard.faults import Faults

    blob = os.urandom(nbytes)
    board.card.write_bytes("bench/blob.bin", blob)
    out = {}
    with Link(board.pty_path) as link:
        link.connect()
        card = RemoteCard(link)
        t0 = time.perf_counter()
        assert card.read("bench/blob.bin") == blob
        out["get_MB_per_s"] = round(nbytes / (time.perf_counter() - t0) / 1e6, 2)
        up = blob[: nbytes // 2]
        t0 = time.perf_counter()
        card.write("bench/up.bin", up, resume=False)
        out["put_MB_per_s"] = round(len(up) / (time.perf_counter() - t0) / 1e6, 2)
        assert (board.card.root / "bench/up.bin").read_bytes() == up
        noisy = {}
        for rate, size in ((0.001, 64 * 1024), (0.01, 8 * 1024)):
            board.port.faults = Faults(corrupt=rate, seed=1)
            t0 = time.perf_counter()
            assert card.read("bench/blob.bin", 0, size) == blob[:size]
            noisy[f"{rate:.1%}"] = round(size / (time.perf_counter() - t0) / 1e3, 2)
            board.port.faults = None
        out["noisy_get_kB_per_s"] = noisy
    return out


def capture_figures(board, count: int) -> dict:
    from maskgate.board.capture import capture
    from maskgate.board.link import Link

    out = {}
    with tempfile.TemporaryDirectory() as tmp, Link(board.pty_path) as link:
        link.connect()
        for size in ((64, 64), (200, 200)):
            result = capture(board.pty_path, "mask", count, tmp, size=size, link=link)
            out[f"{size[0]}x{size[1]}"] = {"pictures_per_s": round(result.fps, 1),
                                          "kB_per_picture": round(result.bytes / len(result.saved) / 1024, 1)}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, help="int8 .tflite (default: models/, else the test fixture's cache)")
    ap.add_argument("--mb", type=float, default=2.0, help="MB moved per throughput figure")
    ap.add_argument("--pictures", type=int, default=30)
    args = ap.parse_args()
    model = args.model or ROOT / "models" / "maskgate_int8.tflite"
    if not model.is_file():
        cached = sorted((ROOT / ".pytest_cache" / "d" / "maskgate-board-model").glob("*/maskgate_int8.tflite"))
        if not cached:
            raise SystemExit("no model: pass --model RUN/maskgate_int8.tflite (or run the tests once)")
        model = cached[-1]
    sys.path.insert(0, str(ROOT / "tests"))
    from boards import running_board  # the tests' virtual board on a pty

    from maskgate.board.board_config import manifest_for_model

    board_model = {"path": model, "manifest": manifest_for_model(model)}
    nbytes = int(args.mb * 1e6)
    report = {"note": "host figures: board and host share this PC; see the docstring", "model": str(model)}
    report["raw_pty"] = raw_pty(nbytes)
    with running_board(board_model, fps=30) as board:
        report["link"] = link_figures(board, nbytes)
        report["capture_30fps"] = capture_figures(board, args.pictures)
    with running_board(board_model, fps=0) as board:
        report["capture_unpaced"] = capture_figures(board, args.pictures)
    raw = report["raw_pty"]["MB_per_s"]
    report["ratio_to_raw"] = {"get": round(report["link"]["get_MB_per_s"] / raw["to_host"], 3),
                              "put": round(report["link"]["put_MB_per_s"] / raw["to_board"], 3)}
    print(json.dumps(report, indent=2))
    r = report["ratio_to_raw"]
    print(f"[host] raw pty {raw['to_host']} MB/s to the PC, {raw['to_board']} MB/s to the board; "
          f"GET {report['link']['get_MB_per_s']} MB/s ({r['get']:.0%} of raw), "
          f"PUT {report['link']['put_MB_per_s']} MB/s ({r['put']:.0%} of raw); noisy GET "
          f"{report['link']['noisy_get_kB_per_s']} kB/s; capture at 30 fps "
          f"{ {k: v['pictures_per_s'] for k, v in report['capture_30fps'].items()} } pictures/s, unpaced "
          f"{ {k: v['pictures_per_s'] for k, v in report['capture_unpaced'].items()} }", file=sys.stderr)


if __name__ == "__main__":
    main()
