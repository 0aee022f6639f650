"""The serial link against the virtual board's H7 USB VCP (tools/virtualboard/vcp.py: 512-byte
rings, RTS flow control, USB full speed at most 1.216 MB/s both ways together), with the door
loop running on real faces throughout.

Issue 13's targets: a HELLO round trip under 0.2 s; GET and PUT at 100 KB/s or more each
(beside USB full speed's ~1 MB/s); the door loop's frame rate while a transfer runs at 80 %
of idle or more. Every figure is measured on one of two clocks, and says which:

- "virtual" (board time): the board on the virtual clock, the PC an in-process host
  (MemoryPort.agent) that sends each request the instant the reply to the last one is
  complete. Board time passes only at camera frames (a fixed 1/fps) and where the firmware
  or the VCP waits (poll steps, the bus). The PC and the board's computing take no time. So
  these are the firmware's and the VCP's own limits at that frame rate: an upper bound for
  an H7, whose frames take their real compute time and whose PC answers over USB in a
  millisecond or so.
- "wall" (host seconds): the board on the real clock (`maskgate simulate --pty`, its own
  process), the PC the real tools/link.py over pyserial in this one. The VCP's limits apply
  in wall-clock time; the frame rate is this PC running the firmware in Python (Haar,
  tflite-micro), not an H7, and moves with the machine's load (printed with the report).
  Says that the tools work within the VCP's limits, not what an H7 does.

    .venv/bin/python bench/bench_link.py [--model RUN/maskgate_int8.tflite] [--fps 15] [--kb 256]
        [--clock both|virtual|wall] [--out bench/results/link.json]
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
USB_FS_KB_S = 1216  # 19 bulk packets of 64 bytes per 1 ms frame (USB 2.0 specification 5.8.4)
HELLO = {"brief": True}  # what the tools' connect() asks


def fps_between(rows, a_ms, b_ms):
    """Frames per second of the door loop between two board times, from its own log rows."""
    t = [r["time_ms"] for r in rows if a_ms <= r["time_ms"] <= b_ms]
    return round((len(t) - 1) / ((t[-1] - t[0]) / 1000), 2) if len(t) > 2 and t[-1] > t[0] else None


def summary(values):
    a = np.asarray(values, float)
    return {"p50": round(float(np.percentile(a, 50)), 4), "p95": round(float(np.percentile(a, 95)), 4),
            "max": round(float(a.max()), 4), "n": len(a)}


# --- virtual clock: a PC that answers at once, in board time ---

class InstantPC:
    """The host side of a MemoryPort, acting whenever the board looks at its port: runs a
    list of phases; each sends its requests one at a time, the next the instant the reply
    to the last is complete (or after `gap_ms` of board time)."""

    def __init__(self, clock, frame, phases):
        self.clock, self.frame = clock, frame
        self.parser = frame.Parser(frame.LIMIT_PAYLOAD)
        self.phases = list(phases)  # (name, iterator of (mtype, payload, gap_ms after its reply))
        self.seq = 0
        self.waiting = None  # (seq, sent_us)
        self.next_at = 0
        self.last_reply = 0
        self.log = {}  # name -> [(sent_us, got_us, request bytes, reply payload)]
        self.started = {}
        self.done = False

    def __call__(self, port):
        data = port.host_read()
        while data:
            taken = self.parser.feed(data)
            data = data[taken:]
            while (ev := self.parser.next()) is not None:
                if self.waiting and ev[0] == self.frame.FRAME and ev[2] == self.waiting[0]:
                    name, req = self.waiting[2], self.waiting[3]
                    self.last_reply = self.clock.us()
                    self.log.setdefault(name, []).append((self.waiting[1], self.last_reply, len(req), ev[3]))
                    self.next_at = self.last_reply + self.waiting[4] * 1000
                    self.waiting = None
        if self.waiting or self.done or self.clock.us() < self.next_at:
            return
        # the request left the PC at next_at (after a gap) or now, when the reply came in; the
        # board sees it at its next look (a poll, or the camera's next frame)
        sent = max(self.next_at, self.last_reply)
        while self.phases:
            name, requests = self.phases[0]
            self.started.setdefault(name, self.clock.us())
            item = next(requests, None)
            if item is None:
                self.phases.pop(0)
                continue
            self.seq = (self.seq + 1) & 0xFF
            req = self.frame.encode(item[0], self.seq, item[1])
            port.host_write(req)
            self.waiting = (self.seq, sent, name, req, item[2])
            return
        self.done = True


def virtual_figures(board_model, frames, fps, kb):
    from maskgate.board.virtualboard import VirtualBoard
    from maskgate.firmware import module

    frame = module("frame")
    blob = os.urandom(kb * 1024)
    chunk_out = frame.MAX_PAYLOAD - 40

    rng = np.random.default_rng(0)

    def hellos():  # at every point of the door loop's frame: random gaps of up to 1.5 frames
        for _ in range(30):
            yield frame.HELLO, json.dumps(HELLO).encode(), float(rng.uniform(0, 1500 / fps))

    def gets():
        for o in range(0, len(blob), frame.MAX_CHUNK):
            yield frame.GET, json.dumps({"p": "bench/blob.bin", "o": o, "n": frame.MAX_CHUNK}).encode(), 0

    def puts():
        for o in range(0, len(blob), chunk_out):
            yield frame.PUT, frame.with_data({"p": "bench/up.bin", "o": o}, blob[o:o + chunk_out]), 0

    def idle(ms):  # one tiny request, then ms of nothing
        yield frame.HELLO, json.dumps({"min": True}).encode(), ms

    with VirtualBoard(frames, clock="virtual", fps=fps, loop=True, max_frames=100_000) as board:
        board.install(board_model["path"], board_model["manifest"])
        board.card.write_bytes("bench/blob.bin", blob)
        pc = InstantPC(board.clock, frame, [("idle", idle(3000)), ("hello", hellos()), ("get", gets()),
                                            ("put", puts()), ("after", idle(1000))])
        board.port.agent = pc

        def stop_when_done(b, _):
            if pc.done:
                b.request_stop()

        board.on_frame = stop_when_done
        t0 = time.perf_counter()
        result = board.run()
        wall = time.perf_counter() - t0
        assert result.crash is None, result.crash
        rows = board.decisions()
        assert (board.card.root / "bench/up.bin").read_bytes() == blob
        got = b"".join(p for _, _, _, p in pc.log["get"])
        assert got == blob
    out = {"clock": "virtual (board time)", "fps_camera": fps, "wall_seconds_to_run": round(wall, 1)}
    out["idle_fps"] = fps_between(rows, pc.log["idle"][0][1] / 1000, pc.started["hello"] / 1000)
    rtt = [(b - a) / 1e6 for a, b, _, _ in pc.log["hello"]]
    out["hello_rtt_s"] = summary(rtt)
    for name in ("get", "put"):
        log = pc.log[name]
        a, b = log[0][0], log[-1][1]
        moved = len(blob)
        out[name] = {"kB_per_s": round(moved / 1000 / ((b - a) / 1e6), 1), "bytes": moved,
                     "seconds": round((b - a) / 1e6, 3), "fps_during": fps_between(rows, a / 1000, b / 1000)}
    return out


# --- wall clock: the real link over a pty, the board in its own process ---

def board_time(link, frame):
    """The board's ticks_ms now (HELLO {"min": true} says uptime_ms)."""
    return link.call(frame.HELLO, {"min": True})["uptime_ms"]


def wall_figures(board_model, frames, fps, kb):
    import shutil
    import subprocess
    import tempfile

    from maskgate.board.link import Link
    from maskgate.board.remote_card import RemoteCard
    from maskgate.board.virtualboard.board import LogTail
    from maskgate.board.virtualboard.card import Card
    from maskgate.firmware import module

    frame = module("frame")
    blob = os.urandom(kb * 1024)
    out = {"clock": "wall (host seconds; the board on the real clock, in its own process)", "fps_camera": fps}
    with tempfile.TemporaryDirectory(prefix="maskgate-bench-link-") as tmp:
        folder, card_dir = Path(tmp) / "frames", Path(tmp) / "card"
        folder.mkdir()
        for i, path in enumerate(frames):
            shutil.copy(path, folder / f"{i:03d}.jpg")
        # `maskgate simulate --pty`, as a user runs it: the board is one process, this PC another
        board = subprocess.Popen([str(Path(sys.executable).parent / "maskgate"), "simulate", "--frames", str(folder),
                                  "--model", str(board_model["path"]), "--pty", "--fps", str(fps), "--card", str(card_dir),
                                  "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            pty = board.stdout.readline().strip()
            (card_dir / "bench").mkdir(parents=True, exist_ok=True)
            (card_dir / "bench" / "blob.bin").write_bytes(blob)
            decisions = LogTail(Card(card_dir, 4 * 1024**3), "log")
            rows = []
            with Link(pty) as link:
                link.connect()
                card = RemoteCard(link)
                time.sleep(2.0)  # the camera settles (skip_frames)
                a = board_time(link, frame)
                time.sleep(4.0)
                b = board_time(link, frame)
                rows += decisions.read_new()
                out["idle_fps"] = fps_between(rows, a, b)
                rtt = []
                before = link.stats.copy()
                rng = np.random.default_rng(0)
                for _ in range(30):
                    time.sleep(float(rng.uniform(0, 0.1)))  # at every point of the door loop's frame
                    t0 = time.perf_counter()
                    link.call(frame.HELLO, HELLO)
                    rtt.append(time.perf_counter() - t0)
                out["hello_rtt_s"] = summary(rtt)
                out["hello_link_stats"] = dict(link.stats - before)
                for name in ("get", "put"):
                    before = link.stats.copy()
                    a = board_time(link, frame)
                    t0 = time.perf_counter()
                    if name == "get":
                        assert card.read("bench/blob.bin") == blob
                    else:
                        card.write("bench/up.bin", blob, resume=False)
                    seconds = time.perf_counter() - t0
                    b = board_time(link, frame)
                    rows += decisions.read_new()
                    out[name] = {"kB_per_s": round(len(blob) / 1000 / seconds, 1), "bytes": len(blob),
                                 "seconds": round(seconds, 3), "fps_during": fps_between(rows, a, b),
                                 "link_stats": dict(link.stats - before)}
                assert (card_dir / "bench" / "up.bin").read_bytes() == blob
        finally:
            board.terminate()
            board.wait(30)
    return out


def verdict(fig):
    idle = fig["idle_fps"] or 0
    return {"hello_rtt_p95_under_0.2_s": fig["hello_rtt_s"]["p95"] < 0.2,
            "get_at_least_100_kB_s": fig["get"]["kB_per_s"] >= 100,
            "put_at_least_100_kB_s": fig["put"]["kB_per_s"] >= 100,
            "fps_during_get_at_least_80_pct": bool(idle) and (fig["get"]["fps_during"] or 0) >= 0.8 * idle,
            "fps_during_put_at_least_80_pct": bool(idle) and (fig["put"]["fps_during"] or 0) >= 0.8 * idle}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, help="int8 .tflite (default: the shipped model in models/)")
    ap.add_argument("--fps", type=float, default=15.0, help="camera frame rate of the virtual board")
    ap.add_argument("--kb", type=int, default=256, help="KB moved by each GET and PUT figure")
    ap.add_argument("--clock", choices=("both", "virtual", "wall"), default="both")
    ap.add_argument("--out", type=Path, help="also write the report here (JSON)")
    args = ap.parse_args()
    from maskgate import package_data
    from maskgate.bundle import describe

    model = args.model or package_data.shipped_model()
    board_model = {"path": Path(model), "manifest": describe(model)}
    faces = ROOT.parent / "shared" / "datasets" / "face-mask-12k" / "Test"
    frames = sorted((faces / "WithMask").glob("*.jpg"))[:4] + sorted((faces / "WithoutMask").glob("*.jpg"))[:4]
    if not frames:
        raise SystemExit(f"no pictures in {faces}: the door loop needs real faces")
    report = {"model": str(model), "usb_full_speed_kB_per_s": USB_FS_KB_S,
              "targets": {"hello_rtt_s": "< 0.2", "get_put_kB_per_s": ">= 100",
                          "fps_during_transfer": ">= 80 % of idle"}}
    if args.clock in ("both", "virtual"):
        report["virtual"] = virtual_figures(board_model, frames, args.fps, args.kb)
        report["virtual"]["meets"] = verdict(report["virtual"])
    if args.clock in ("both", "wall"):
        report["wall"] = wall_figures(board_model, frames, args.fps, args.kb)
        report["wall"]["meets"] = verdict(report["wall"])
    report["command"] = " ".join(["bench/bench_link.py"] + sys.argv[1:])
    report["load_average_1min"] = round(os.getloadavg()[0], 2)  # wall figures move with it
    print(json.dumps(report, indent=2))
    if args.out:
        from maskgate import atomic

        atomic.write_json(args.out, report)
    for key in ("virtual", "wall"):
        if key in report:
            f = report[key]
            print(f"[{f['clock']}] HELLO round trip p50 {f['hello_rtt_s']['p50']} s p95 {f['hello_rtt_s']['p95']} s; "
                  f"GET {f['get']['kB_per_s']} kB/s, PUT {f['put']['kB_per_s']} kB/s (USB FS {USB_FS_KB_S} kB/s); "
                  f"door fps idle {f['idle_fps']}, during GET {f['get']['fps_during']}, "
                  f"during PUT {f['put']['fps_during']}",
                  file=sys.stderr)


if __name__ == "__main__":
    main()
