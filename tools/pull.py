"""`maskgate pull`: the camera's SD log (decision CSVs, saved crops, events), its captures,
config.json and model, copied to the PC over the serial link -- incrementally, with checksums.

Only what is new moves: a crop (never rewritten) or a CSV (only ever appended) whose size is
what the last pull saw is skipped; a CSV that grew gets only its new tail, and the whole file
must then hash to what the board computes; anything else is compared by sha256. Every file
is written under a temporary name and renamed, after its sha256 matched the board's: an
interrupted pull (Ctrl-C, a pulled cable that does not come back) leaves whole files only,
and the next pull carries on. OUT/SHA256SUMS lists every file pulled (`sha256sum -c`);
OUT/.maskgate-pull.json is what the next pull compares against. Files the card has deleted
since (it drops the oldest crops when short of space) stay on the PC.

Why not the USB drive? The PC does not see what the camera writes while the card is mounted,
and if both write, the PC's copy wins.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from maskgate import atomic
from maskgate.digest import sha256_bytes as sha256
from maskgate.errors import BoardError

from .link import Link
from .remote_card import RemoteCard

STATE = ".maskgate-pull.json"
SUMS = "SHA256SUMS"
CONFIG = "config.json"
CAPTURES = "captures"
APPEND_ONLY = (".csv", ".jpg", ".jpeg")  # the log's crops and rows: sizes tell what is new


@dataclass
class PullResult:
    out: Path
    new: list = field(default_factory=list)
    grown: list = field(default_factory=list)
    unchanged: list = field(default_factory=list)
    bytes: int = 0  # file bytes moved over the link
    interrupted: bool = False


def _load_state(out: Path) -> dict:
    try:
        return json.loads((out / STATE).read_text())
    except (OSError, ValueError):
        return {}


def _save(out: Path, state: dict) -> None:
    atomic.write_json(out / STATE, state)
    lines = [f"{state[p]['sha256']}  {p}\n" for p in sorted(state)]
    atomic.write_text(out / SUMS, "".join(lines))


def remote_files(card: RemoteCard) -> list[tuple[str, int]]:
    """(card path, size) of what pull copies: config.json, the model it names, the log
    folder it names, captures/."""
    files = []
    log_dir, model = "log", None
    st = card.stat(CONFIG)
    if st:
        files.append((CONFIG, st["size"]))
        try:
            cfg = json.loads(card.read(CONFIG))
            log_dir = cfg.get("log", {}).get("dir", log_dir)
            model = cfg.get("model")
        except ValueError:
            pass
    if model:
        mst = card.stat(model)
        if mst and not mst["dir"]:
            files.append((model, mst["size"]))
    for folder in (log_dir, CAPTURES):
        files += card.walk(folder)
    return files


def pull_file(card: RemoteCard, path: str, size: int, out: Path, known: dict | None) -> tuple[str, bytes | None, str]:
    """("unchanged" | "grown" | "new", data or None, sha256)."""
    local = out / path
    have = local.stat().st_size if local.is_file() else None
    if known and have == known["size"]:
        if size == known["size"] and path.lower().endswith(APPEND_ONLY):
            return "unchanged", None, known["sha256"]
        if path.lower().endswith(".csv") and size > known["size"]:
            st = card.stat(path, hash=True)  # the whole file as it is now, hashed by the board
            tail = card.read(path, known["size"], st["size"])
            data = local.read_bytes() + tail
            if len(data) == st["size"] and st["sha256"] in (sha256(data), None):
                return "grown", data, sha256(data)
        elif not path.lower().endswith(APPEND_ONLY):
            st = card.stat(path, hash=True)
            if st and st["size"] == known["size"] and st["sha256"] == known["sha256"]:
                return "unchanged", None, known["sha256"]
    data, sha = card.read_verified(path)
    return "new", data, sha


def pull(port: str, out, *, link: Link | None = None, progress=None, log=print) -> PullResult:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    result = PullResult(out)
    own = link is None
    link = link or Link(port)
    try:
        if link.hello is None:
            link.connect()
        card = RemoteCard(link)
        state = _load_state(out)
        files = remote_files(card)
        before = link.stats["bytes_in"]
        try:
            for path, size in files:
                kind, data, sha = pull_file(card, path, size, out, state.get(path))
                if data is not None:
                    atomic.write_bytes(out / path, data)
                    state[path] = {"size": len(data), "sha256": sha}
                    _save(out, state)
                getattr(result, kind).append(path)
                if progress:
                    progress(1)
        except KeyboardInterrupt:
            result.interrupted = True
        except BoardError:
            _save(out, state)
            raise
        result.bytes = link.stats["bytes_in"] - before
        _save(out, state)
        return result
    finally:
        if own:
            link.close()
