"""`maskgate capture`: the camera takes pictures for a training set.

The pictures land in a dataset folder in the OpenMV IDE layout -- NAME.class/00000.jpg, ...,
labels.txt -- with provenance.json at the root (board id, firmware, time, settings of every
session), which `maskgate data import` recognises as the "maskgate-capture" layout.

- Numbering resumes after the highest number already in NAME.class/.
- A picture is requested again until its bytes match the sha256 the board computed, and is
  written under a temporary name then renamed: a garbled or dropped frame is never saved,
  and no file is ever half written. The board keeps the shot until the next one is asked
  for, so after a reconnect (reset, pulled cable) the same shot is fetched again -- or, when
  the board restarted and lost it, taken again.
- Ctrl-C stops after the pictures received so far; provenance.json records them.
- --to-sd: the board saves captures/NAME.class/NNNNN.jpg on its own card instead (the
  paper's way), for `maskgate pull` later; nothing is streamed.
"""
from __future__ import annotations

import datetime
import json
import random
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from maskgate import atomic
from maskgate.data.layouts import BUILTIN_LABELS, normalise
from maskgate.digest import sha256_bytes
from maskgate.errors import BoardError, DataError

from .link import Link, RemoteError, frame
from .remote_card import RemoteCard

PROVENANCE = "provenance.json"
LABELS = "labels.txt"
SD_FOLDER = "captures"
_NUMBERED = re.compile(r"^(\d{5,})\.jpg$", re.IGNORECASE)
_LABEL = re.compile(r"^[A-Za-z0-9_\-]{1,40}$")


@dataclass
class CaptureResult:
    saved: list = field(default_factory=list)  # local paths (or card paths with --to-sd)
    first: int = 0
    interrupted: bool = False
    retries: int = 0  # shots asked for again (damaged, lost)
    seconds: float = 0.0
    bytes: int = 0

    @property
    def fps(self) -> float:
        return len(self.saved) / self.seconds if self.seconds else 0.0


def parse_size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", str(text))
    if not m:
        raise DataError(f"--size takes WIDTHxHEIGHT (e.g. 200x200), not {text!r}")
    w, h = int(m.group(1)), int(m.group(2))
    if not (16 <= w <= 320 and 16 <= h <= 320):
        raise DataError(f"--size {w}x{h}: each side must be 16..320 pixels")
    return w, h


def check_label(label: str) -> str | None:
    """Refuses names that cannot be folder names; returns a warning when `maskgate data
    import` will not know which canonical label the name means."""
    if not _LABEL.match(label or ""):
        raise DataError(f"--label {label!r}: use letters, digits, _ or - (it becomes the folder {label}.class)")
    if normalise(label) not in BUILTIN_LABELS:
        return (f"'{label}' is not a label `maskgate data import` knows (e.g. mask, no_mask): "
                f"import with --label-map {label}=mask (or no_mask, incorrect)")
    return None


def next_number(names) -> int:
    numbers = [int(m.group(1)) for n in names if (m := _NUMBERED.match(n))]
    return max(numbers) + 1 if numbers else 0


def _labels_text(existing: str, label: str) -> str:
    labels = [ln.strip() for ln in existing.splitlines() if ln.strip()]
    if label not in labels:
        labels.append(label)
    return "\n".join(labels) + "\n"


def _provenance(old: dict, hello: dict, session: dict) -> dict:
    out = dict(old) if isinstance(old, dict) else {}
    out.update({"tool": "maskgate capture", "layout": "openmv-ide (NAME.class/NNNNN.jpg, labels.txt)",
                "board": hello.get("board"), "board_id": hello.get("id"), "firmware": hello.get("fw"),
                "openmv": hello.get("omv"), "updated": session["time"]})
    out["sessions"] = list(out.get("sessions", [])) + [session]
    return out


def take_shot(link: Link, shot_id: int, w: int, h: int, quality: int, sd_path: str | None = None,
              deadline: float = 60.0) -> tuple[dict, bytes, int]:
    """(head, jpeg bytes (empty with sd_path), retries) of one shot, checked by sha256."""
    want = {"id": shot_id, "w": w, "h": h, "q": quality}
    if sd_path:
        want["sd"] = sd_path
    end = time.monotonic() + deadline
    retries = 0
    while time.monotonic() < end:
        head, data = _ask(link, want, 0)
        if head.get("pending"):
            time.sleep(0.01)  # the board takes it at its next frame
            continue
        if sd_path or head.get("saved"):
            return head, b"", retries
        total = head["bytes"]
        buf = bytearray(data)
        while len(buf) < total:
            head2, more = _ask(link, want, len(buf))
            if head2.get("pending") or head2.get("id") != shot_id or head2.get("o") != len(buf):
                break  # the board restarted and lost the shot: it is being taken again
            buf += more
        if len(buf) == total and (head["sha256"] is None or sha256_bytes(bytes(buf)) == head["sha256"]):
            return head, bytes(buf), retries
        retries += 1
        shot_id += 1 << 20  # a fresh shot: this one never arrived whole
        want["id"] = shot_id
    raise BoardError(f"no whole picture from the board within {deadline:.0f} s")


def _ask(link: Link, want: dict, offset: int) -> tuple[dict, bytes]:
    payload = link.request(frame.CAPTURE, lambda: json.dumps({**want, "o": offset, "n": link.chunk_in}).encode())
    head, data = frame.split_data(payload)
    if not isinstance(head, dict):
        raise BoardError("the board's CAPTURE reply is not understood")
    return head, data


def capture(port: str, label: str, count: int, out=None, *, interval_ms: int = 0, size=(200, 200),
            quality: int = 90, to_sd: bool = False, link: Link | None = None, progress=None,
            log=print) -> CaptureResult:
    warning = check_label(label)
    if warning:
        log(f"note: {warning}")
    if count < 1:
        raise DataError("--count must be at least 1")
    if not to_sd and out is None:
        raise DataError("give --out DIR (the dataset folder), or --to-sd to keep the pictures on the card")
    if not to_sd:
        _check_out(Path(out), label)  # before the board is asked for anything
    own = link is None
    link = link or Link(port)
    result = CaptureResult()
    try:
        hello = link.hello or link.connect()  # a link already connected is used as it is
        w, h = size
        card = RemoteCard(link)
        if to_sd:
            folder = f"{SD_FOLDER}/{label}.class"
            first = next_number(n for n, _, _ in card.listdir(folder))
        else:
            root = Path(out)
            folder_path = root / f"{label}.class"
            folder_path.mkdir(parents=True, exist_ok=True)
            first = next_number(p.name for p in folder_path.iterdir())
        result.first = first
        session = {"label": label, "first": first, "count": 0, "requested": count,
                   "time": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
                   "size": [w, h], "quality": quality, "interval_ms": interval_ms, "port": str(port),
                   "to_sd": to_sd}
        base = random.randrange(1 << 28)  # shot ids no earlier session used on this boot
        started = time.monotonic()
        last = None
        try:
            for i in range(count):
                if last is not None and interval_ms:
                    wait = interval_ms / 1000 - (time.monotonic() - last)
                    if wait > 0:
                        time.sleep(wait)
                last = time.monotonic()
                number = first + i
                name = f"{number:05d}.jpg"
                if to_sd:
                    card_path = f"{folder}/{name}"
                    head, _, retries = take_shot(link, base + i, w, h, quality, card_path)
                    result.saved.append(card_path)
                else:
                    head, data, retries = take_shot(link, base + i, w, h, quality)
                    atomic.write_bytes(folder_path / name, data)
                    result.saved.append(folder_path / name)
                result.bytes += head.get("bytes", 0)
                result.retries += retries
                if progress:
                    progress(1)
        except KeyboardInterrupt:
            result.interrupted = True
        finally:
            result.seconds = time.monotonic() - started
            session["count"] = len(result.saved)
            session["interrupted"] = result.interrupted
            if result.saved or not result.interrupted:
                _record(card if to_sd else None, None if to_sd else root, label, hello, session)
        return result
    finally:
        if own:
            link.close()


def _check_out(root: Path, label: str) -> None:
    """The dataset folder can take the pictures, and what it holds already (labels.txt,
    provenance.json) can be read, so it is added to rather than replaced. DataError otherwise."""
    folder = root / f"{label}.class"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".maskgate-write-probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise DataError(f"--out {root}: cannot write {folder} ({e.strerror or e})") from None
    for name in (LABELS, PROVENANCE):
        path = root / name
        if not path.exists():
            continue
        try:
            text = path.read_text(encoding="utf-8")
            if name == PROVENANCE and not isinstance(json.loads(text), dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as e:  # UnicodeDecodeError is a ValueError
            raise DataError(f"{path}: cannot be read ({e}); capture adds to it and will not replace it") from None


def _record(card: RemoteCard | None, root: Path | None, label: str, hello: dict, session: dict) -> None:
    """labels.txt and provenance.json at the dataset root (on the card with --to-sd)."""
    if root is not None:
        labels = (root / LABELS).read_text() if (root / LABELS).is_file() else ""
        atomic.write_text(root / LABELS, _labels_text(labels, label))
        old = json.loads((root / PROVENANCE).read_text()) if (root / PROVENANCE).is_file() else {}  # _check_out read it
        atomic.write_json(root / PROVENANCE, _provenance(old, hello, session))
        return
    try:
        labels = card.read(f"{SD_FOLDER}/{LABELS}").decode() if card.stat(f"{SD_FOLDER}/{LABELS}") else ""
        raw = card.read(f"{SD_FOLDER}/{PROVENANCE}") if card.stat(f"{SD_FOLDER}/{PROVENANCE}") else b"{}"
        old = json.loads(raw or b"{}")
    except (RemoteError, ValueError):
        labels, old = "", {}
    for name, data in ((LABELS, _labels_text(labels, label).encode()),
                       (PROVENANCE, (json.dumps(_provenance(old, hello, session), indent=2) + "\n").encode())):
        card.write_verified(f"{SD_FOLDER}/{name}.part", data)
        card.rename(f"{SD_FOLDER}/{name}.part", f"{SD_FOLDER}/{name}")
