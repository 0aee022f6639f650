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

A pull folder belongs to one card in one camera: OUT/.maskgate-pull.json records the board id
and the card id HELLO reports (the firmware writes a random card_id.txt on a card at its first
boot), and a pull from another camera, or from the same camera after a card swap, into the
same OUT is refused before anything is written (DataError, exit 3): give each its own --out
(the message suggests OUT-BOARD-CARD). Independently of the ids, a file already in OUT is
never replaced by one that does not continue it: a log CSV or crop whose new content does not
start with what OUT holds (a log restarted on a wiped card, a card from a firmware without
card ids), or a file in OUT that no pull wrote or that was edited since, stops the pull with
the file named, and what was pulled before it stays.

Why not the USB drive? The PC does not see what the camera writes while the card is mounted,
and if both write, the PC's copy wins.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from maskgate import atomic
from maskgate.digest import sha256_bytes as sha256
from maskgate.errors import BoardError, DataError

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


ORIGIN = "origin"  # the state's {"board": id, "card": id} of the card pulled into OUT


def _load_state(out: Path) -> tuple[dict, dict]:
    """(origin, files) of the last pull into OUT (an older state file holds the files alone)."""
    path = out / STATE
    if not path.is_file():
        return {}, {}
    try:
        state = json.loads(path.read_bytes())
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: not readable ({e}); it tells which card OUT holds: move it, or pull into "
                        f"another --out") from None
    if not isinstance(state, dict):
        raise DataError(f"{path}: not a pull state (a JSON object)")
    if "files" in state and isinstance(state["files"], dict):
        return state.get(ORIGIN) or {}, state["files"]
    return {}, state


def _save(out: Path, origin: dict, files: dict) -> None:
    atomic.write_json(out / STATE, {ORIGIN: origin, "files": files})
    lines = [f"{files[p]['sha256']}  {p}\n" for p in sorted(files)]
    atomic.write_text(out / SUMS, "".join(lines))


def origin_of(hello: dict) -> dict:
    return {"board": hello.get("id"), "card": hello.get("card")}


def check_origin(out: Path, had: dict, now: dict, files: dict) -> None:
    """Refuse a pull from another board or card into a folder that holds one already."""
    if not files:
        return
    if not had:
        return  # a pull state from before the ids: the files themselves are checked
    other = [k for k in ("board", "card") if had.get(k) and now.get(k) and had[k] != now[k]]
    if other:
        suggest = f"{out}-{now.get('board') or 'board'}-{now.get('card') or 'card'}"
        raise DataError(f"{out} holds the pull of board {had.get('board')} card {had.get('card')}; this is board "
                        f"{now.get('board')} card {now.get('card')} (another {' and '.join(other)}): pull it into "
                        f"its own folder, e.g. --out {suggest}; nothing was written")


def _conflict(out: Path, path: str, why: str) -> DataError:
    return DataError(f"{out / path}: {why}; not replaced (pull this card into another --out)")


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
    if local.exists() and not local.is_file():
        raise _conflict(out, path, "is a folder, the card has a file there")
    if have is not None and (not known or have != known["size"] or sha256(local.read_bytes()) != known["sha256"]):
        raise _conflict(out, path, "no pull wrote it, or it was changed since the last pull")
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
    if have is not None and path.lower().endswith(APPEND_ONLY) and not data.startswith(local.read_bytes()):
        raise _conflict(out, path, "the card's file of that name does not continue it (another card, or a "
                                   "log started again)")
    return "new", data, sha


def pull(port: str, out, *, link: Link | None = None, progress=None, log=print) -> PullResult:
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".{STATE}.probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise DataError(f"--out {out}: cannot write there ({e.strerror or e})") from None
    result = PullResult(out)
    own = link is None
    link = link or Link(port)
    try:
        if link.hello is None:
            link.connect()
        card = RemoteCard(link)
        had, state = _load_state(out)
        origin = origin_of(link.hello or {})
        check_origin(out, had, origin, state)
        origin = {k: origin.get(k) or had.get(k) for k in ("board", "card")}
        files = remote_files(card)
        before = link.stats["bytes_in"]
        try:
            for path, size in files:
                kind, data, sha = pull_file(card, path, size, out, state.get(path))
                if data is not None:
                    atomic.write_bytes(out / path, data)
                    state[path] = {"size": len(data), "sha256": sha}
                    _save(out, origin, state)
                getattr(result, kind).append(path)
                if progress:
                    progress(1)
        except KeyboardInterrupt:
            result.interrupted = True
        except (BoardError, DataError):
            _save(out, origin, state)
            raise
        result.bytes = link.stats["bytes_in"] - before
        _save(out, origin, state)
        return result
    finally:
        if own:
            link.close()
