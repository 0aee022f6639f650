"""`maskgate deploy`: the firmware, the model, its labels and config.json onto the camera's card.

Three ways onto the card, one procedure:
- protocol: the maskgate firmware is running and answers on the serial link -> its file
  commands (PUT/STAT/RENAME), with the door loop running until the reset;
- mpremote: MicroPython's REPL is reachable (a fresh camera, main.py not running, or
  `--via mpremote`, which first asks the running firmware to stop for the REPL) -> the real
  mpremote, as a user would run it;
- drive: `--to-drive PATH`, the card mounted as a USB drive on the PC.
With `--via auto` (the default) the board is asked HELLO first: the running firmware answers
and the protocol is used (the REPL cannot be reached while it runs: setinterrupt(-1)); when
nothing answers, the REPL is tried with mpremote.

Before anything is written: the board's firmware version is read (HELLO), and a model the
board cannot hold is refused: planned on that release's memory (maskgate.memory MEMORY, the
same plan quantize and info make: heap blocks, arena rounding, where the model goes), and
checked against the free heap HELLO measures (plus what the running model holds, which a reset
frees). Without a HELLO (a drive, a bare REPL) the plan is made for `--firmware`, else for every
release the firmware supports. Then every file that differs (by
sha256) is written under NAME.part, read back by sha256 on the card, and only when all are
right renamed into place, config.json last. Every file being replaced (firmware .py files,
model, labels, config) moves to rollback/ first, and rollback/rollback.json lists what was
replaced and what was added: `maskgate deploy --rollback` puts back exactly that (and takes
the added files away into rollback/, so a second rollback re-applies the deploy). Stale
NAME.part files an interrupted deploy left are removed by the next deploy (or rollback), and
a deploy that fails after writing them removes them where the card still answers. Finally
the board is reset and must come back running the new model (HELLO: model sha256, no error).

The model is checked first (maskgate.board.model_check: loads in tflite-micro, the input and
output contract, sha256 against its manifest), so nothing reaches the card, not even in a dry
run, for a model the firmware would refuse or run wrongly.
"""
from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from maskgate import budget, bundle, memory
from maskgate.digest import sha256_bytes as sha256
from maskgate.errors import BoardError, BudgetError

from . import board_config, model_check, mpremote_card
from .link import Link, check_protocol, frame
from .remote_card import RemoteCard

PART = ".part"
ROLLBACK = "rollback"
ROLLBACK_INDEX = f"{ROLLBACK}/rollback.json"  # {"replaced": [...], "added": [...]} of the last deploy
LABELS_FILE = bundle.LABELS_FILE  # the bundle's labels.txt goes on the card beside the model
CONFIG = board_config.CONFIG_FILE
HEAP_RESERVE = memory.DOOR_LOOP_HEAP  # what the door loop allocates beside the model (Haar copy, crop)
FIRMWARE_HEAP = memory.FIRMWARE_HEAP  # the firmware's own modules, when only a bare REPL says how much is free


VERSION_FILE = "version.py"  # firmware 0.3.0 on; before it VERSION sat in main.py


def firmware_version(files: dict[str, bytes | None]) -> str | None:
    """VERSION as the firmware among `files` (name -> bytes) declares it, by reading the text:
    importing it would run board code."""
    for name in (VERSION_FILE, "main.py"):
        m = re.search(rb'^VERSION = "([^"]+)"', files.get(name) or b"", re.M)
        if m:
            return m.group(1).decode()
    return None


def card_contents(model_path, manifest: dict | None = None, **overrides) -> tuple[dict[str, bytes], dict]:
    """name -> bytes of everything deploy puts on the card, and the model's manifest; the
    model checked first (model_check), and the config made for it."""
    manifest, data = model_check.check(model_path, manifest)
    files = board_config.card_files(model_path, manifest, **overrides)
    model_check.check_config_sha(json.loads(files[CONFIG]), data, model_path)
    files[LABELS_FILE] = bundle.labels_text(manifest["contract"]["labels"])
    return files, manifest


def write_order(names) -> list[str]:
    """Firmware first, then labels and model, config.json last: a card caught half way has
    a config that does not match its model, and the firmware then keeps the door closed."""
    def rank(name):
        if name == CONFIG:
            return (3, name)
        if name.endswith(".py"):
            return (0, name)
        return (1 if name == LABELS_FILE else 2, name)

    return sorted(names, key=rank)


def detector_file(cfg: dict) -> str | None:
    """The detector .tflite a config.json (as found on a card) names, if any."""
    det = cfg.get("detector") if isinstance(cfg, dict) else None
    model = det.get("model") if isinstance(det, dict) else None
    return model if isinstance(model, str) and model else None


def detector_model(manifest: dict, files: dict[str, bytes]) -> tuple | None:
    """("the face detector", bytes, arena used) when config.json runs the detector, else None:
    loaded after the classifier, so planned after it."""
    cfg = json.loads(files[CONFIG])
    if not board_config.uses_detector(cfg):
        return None
    data = files[cfg["detector"]["model"]]
    figures = (manifest.get("face_stage") or {}).get("detector") or {}
    if figures.get("sha256") and figures["sha256"] != sha256(data):
        figures = {}  # another detector than the manifest describes: measure this one
    return ("the face detector", len(data), budget.manifest_arena_used(figures, data))


def memory_check(manifest: dict, model_bytes: bytes, hello: dict | None, free: int | None,
                 firmware: str | None = None, detector: tuple | None = None) -> dict:
    """The memory plan(s) for the board's release (HELLO's "omv"; else `firmware`; else every
    supported release) and the measured free heap: {"releases": {r: plan}, "need", "free",
    "problems"}. detector: (what, bytes, arena used) of the face detector loaded after the model."""
    used = budget.manifest_arena_used(manifest, model_bytes)
    on_board = (hello or {}).get("omv")
    try:
        memory.for_release(on_board)
    except ValueError:
        on_board = None  # not a version we can read: plan for what we would plan without a board
    releases = [on_board] if on_board else [firmware] if firmware else list(memory.EMULATED)
    then = [detector] if detector else []
    plans = {r: memory.plan(r, len(model_bytes), used, then=then) for r in releases}
    problems = [f"firmware {r} ({p['release']}): {text}" for r, p in plans.items() for text in p["problems"]]
    arenas = [used] + [t[2] for t in then]

    def on_heap(r):  # what the GC heap must give on r (the plan says where models and arenas go)
        m, p = memory.for_release(r), plans[r]
        return sum((m.model_allocation(e["bytes"]) if e["model_in"] == "heap" else 0)
                   + (m.arena_allocation(a) if p["arena_in"] == "heap" else 0)
                   for e, a in zip(p["models"], arenas))

    need = max(on_heap(r) for r in releases)
    if free is not None and need > free:
        problems.append(f"model + tensor arena need {need / 1024:.1f} KB of heap, the board has "
                        f"{free / 1024:.1f} KB for a model ({HEAP_RESERVE / 1024:.1f} KB kept for the door loop)")
    return {"releases": plans, "need": need, "free": free, "problems": problems, "arena_used": used}


# --- where the files go ---

class ProtocolTarget:
    via = "protocol"

    def __init__(self, link: Link):
        self.link = link
        self.card = RemoteCard(link)

    def hashes(self, names) -> dict:
        out = {}
        for name in names:
            st = self.card.stat(name, hash=True)
            out[name] = st["sha256"] if st and not st["dir"] else None
        return out

    def read(self, name) -> bytes | None:
        return self.card.read(name) if self.card.stat(name) else None

    def put(self, files: dict[str, bytes], progress=None) -> None:
        for name, data in files.items():
            self.card.write(name, data, progress)

    def moves(self, pairs) -> None:
        for src, dst in pairs:
            self.card.rename(src, dst)

    def remove(self, names) -> None:
        for name in names:
            if self.card.stat(name):
                self.card.delete(name)

    def restart(self) -> dict | None:
        self.link.call(frame.RESET)
        time.sleep(0.3)
        return self.link.reconnect()

    def close(self) -> None:
        self.link.close()


class MpremoteTarget(mpremote_card.MpremoteCard):
    via = "mpremote"

    def read(self, name) -> bytes | None:
        import tempfile

        if self.hashes([name])[name] is None:
            return None
        with tempfile.TemporaryDirectory() as tmp:
            mpremote_card.run(self.port, "fs", "cp", f":{name}", f"{tmp}/x")
            return Path(tmp, "x").read_bytes()

    def put(self, files: dict[str, bytes], progress=None) -> None:
        super().put(files)
        if progress:
            progress(sum(len(d) for d in files.values()))

    def remove(self, names) -> None:
        if names:
            mpremote_card.run(self.port, "exec", f"NAMES = {list(names)!r}\n" + mpremote_card.REMOVE_SCRIPT)

    def restart(self) -> dict | None:
        self.reset()
        time.sleep(0.3)
        link = Link(self.port, reconnect_s=30)
        try:
            return link.reconnect()
        finally:
            link.close()

    def close(self) -> None:
        pass  # every mpremote run opens and closes the port itself


class DriveTarget:
    via = "drive"

    def __init__(self, root):
        self.root = Path(root)
        if not self.root.is_dir():
            raise BoardError(f"{root}: no such folder (is the camera's drive mounted there?)")

    def _path(self, name) -> Path:
        return self.root / name

    def hashes(self, names) -> dict:
        return {n: sha256(self._path(n).read_bytes()) if self._path(n).is_file() else None for n in names}

    def read(self, name) -> bytes | None:
        path = self._path(name)
        return path.read_bytes() if path.is_file() else None

    def put(self, files: dict[str, bytes], progress=None) -> None:
        for name, data in files.items():
            path = self._path(name)
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            if progress:
                progress(len(data))

    def moves(self, pairs) -> None:
        for src, dst in pairs:
            self._path(dst).parent.mkdir(parents=True, exist_ok=True)
            os.replace(self._path(src), self._path(dst))

    def remove(self, names) -> None:
        for name in names:
            self._path(name).unlink(missing_ok=True)

    def restart(self) -> dict | None:
        os.sync()
        return None  # the camera sees the files after the drive is ejected and the board reset

    def close(self) -> None:
        pass  # each file was closed as it was written


# --- choosing the way ---

def open_target(port=None, to_drive=None, via="auto", log=print, read_only=False):
    """(target, hello or None, how much heap is free for a model or None). read_only (a dry
    run): a running firmware is read over the protocol, never stopped for the REPL."""
    if to_drive:
        return DriveTarget(to_drive), None, None
    if not port:
        raise BoardError("give --port (the camera's serial port) or --to-drive (its mounted USB drive)")
    link = Link(port, check_version=False, reconnect_s=30)
    link.open()  # a missing or busy port is reported as such, not as "not answering"
    try:
        hello = link.connect(deadline=8)
    except BoardError:
        hello = None
    if hello is not None:
        free = hello.get("heap_free", 0) + hello.get("model_heap", 0) - HEAP_RESERVE
        speaks = hello.get("proto", 0) == frame.PROTOCOL
        if via == "protocol" or (via == "auto" and speaks) or (read_only and speaks):
            check_protocol(hello, port)
            return ProtocolTarget(link), hello, free
        # mpremote: ask the firmware to leave main.py so the REPL can be reached
        try:
            link.call(frame.REPL, deadline=10)
        except BoardError as e:
            link.close()
            raise BoardError(f"firmware {hello.get('fw')} on {port} cannot be stopped over USB ({e}): "
                             f"copy the files with --to-drive (the camera's USB drive) or the OpenMV IDE") from e
        link.close()
        time.sleep(0.5)
        if not mpremote_card.reachable(port):
            raise BoardError(f"the firmware on {port} stopped but the MicroPython REPL did not answer")
        return MpremoteTarget(port), hello, free
    link.close()
    if via == "protocol":
        raise BoardError(f"the board on {port} does not answer the maskgate protocol{link._shows()}")
    log(f"no maskgate firmware answers on {port}: trying the MicroPython REPL (mpremote)")
    if not mpremote_card.reachable(port):
        raise BoardError(f"the board on {port} answers neither the maskgate protocol nor the MicroPython REPL: "
                         f"is it an OpenMV Cam, and is the OpenMV IDE disconnected?{link._shows()}")
    target = MpremoteTarget(port)
    free = target.mem_free() - FIRMWARE_HEAP - HEAP_RESERVE  # an estimate: the firmware is not loaded
    return target, None, free


# --- deploy ---

@dataclass
class Plan:
    via: str
    files: dict[str, bytes]
    status: dict[str, str]  # name -> "new" | "changed" | "unchanged"
    keep: list[tuple[str, str]] = field(default_factory=list)  # current -> rollback/
    added: list[str] = field(default_factory=list)  # new on the card: a rollback takes them away
    stale: list[str] = field(default_factory=list)  # NAME.part left by an interrupted deploy
    firmware: tuple = (None, None)  # (on the board, deploying)
    heap: dict = field(default_factory=dict)

    @property
    def changed(self) -> list[str]:
        return [n for n in write_order(self.files) if self.status[n] != "unchanged"]

    def lines(self) -> list[str]:
        out = [f"via {self.via}; firmware {self.firmware[0] or '?'} -> {self.firmware[1]}"]
        if self.heap:
            h = self.heap
            out.append(f"heap: model + arena {h['need'] / 1024:.1f} KB, free for a model "
                       f"{h['free'] / 1024:.1f} KB" if h.get("free") is not None else
                       f"heap: model + arena {h['need'] / 1024:.1f} KB (free heap not known here)")
            for release, p in h.get("releases", {}).items():
                where = "; ".join(f"{'detector' if i else 'model'} in {e['model_in']}, arena "
                                  f"{e['arena_bytes'] / 1024:.1f} KB in {p['arena_in']}"
                                  for i, e in enumerate(p.get("models") or [p]))
                out.append(f"  OpenMV {release}: {'fits' if p['ok'] else 'DOES NOT FIT'} ({where}; "
                           f"{p['largest_free_after'] / 1024:.1f} KB left in one block)")
        for name in write_order(self.files):
            out.append(f"  {self.status[name]:9} {name} ({len(self.files[name])} bytes)")
        for src, dst in self.keep:
            out.append(f"  keep      {src} -> {dst}")
        for name in self.stale:
            out.append(f"  remove    {name} (left by an interrupted deploy)")
        return out


def make_plan(target, files: dict[str, bytes], hello: dict | None, memory: dict, force: bool = False) -> Plan:
    parts = [f"{n}{PART}" for n in list(files) + [ROLLBACK_INDEX]]
    current = target.hashes(list(files) + [f"{ROLLBACK}/{CONFIG}"] + parts)
    status = {}
    for name, data in files.items():
        have = current.get(name)
        status[name] = "new" if have is None else ("unchanged" if have == sha256(data) else "changed")
    on_board = hello.get("fw") if hello else None
    if on_board is None and target.via != "protocol":
        on_board = firmware_version({n: target.read(n) for n in (VERSION_FILE, "main.py") if current.get(n)})
    plan = Plan(target.via, files, status, firmware=(on_board, firmware_version(files)),
                heap=memory, stale=[n for n in parts if current.get(n)])
    if memory["problems"] and not force:
        raise BudgetError("the board cannot hold this model: " + "; ".join(memory["problems"]) +
                          "; quantize a smaller model, or --force to try anyway")
    # the model and config being replaced (with the labels) go to rollback/
    new_cfg = json.loads(files[CONFIG])
    old_cfg_raw = target.read(CONFIG) if current.get(CONFIG) else None
    if old_cfg_raw and (status.get(new_cfg["model"]) != "unchanged" or status[CONFIG] != "unchanged"):
        try:
            old_cfg = json.loads(old_cfg_raw)
        except ValueError:
            old_cfg = {}
        model = old_cfg.get("model") if isinstance(old_cfg, dict) else None
        # every file this deploy replaces, and the set the old model ran with (config,
        # labels, model) even where one of them is unchanged
        keep = [n for n in files if status[n] == "changed"] + [CONFIG, LABELS_FILE, model, detector_file(old_cfg)]
        keep = [n for n in dict.fromkeys(keep) if isinstance(n, str) and n]
        have = target.hashes(keep)
        plan.keep = [(n, f"{ROLLBACK}/{n}") for n in keep if have.get(n)]
        for name, _ in plan.keep:
            if status.get(name) == "unchanged":
                status[name] = "rewritten"  # moved to rollback/, so written again from here
        plan.added = [n for n in write_order(files) if status[n] == "new"]
    return plan


def rollback_index(plan: Plan) -> bytes:
    return (json.dumps({"replaced": [n for n, _ in plan.keep], "added": plan.added}, indent=2) + "\n").encode()


def apply(target, plan: Plan, progress=None, log=print) -> dict | None:
    """Write, verify, rename, restart. Returns the board's HELLO after the restart."""
    names = plan.changed
    if plan.stale:
        target.remove(plan.stale)
    if not names:
        log("the card already holds these files")
        return None
    parts = {f"{n}{PART}": plan.files[n] for n in names}
    if plan.keep:
        parts[f"{ROLLBACK_INDEX}{PART}"] = rollback_index(plan)
    written = list(parts)
    try:
        for attempt in range(3):
            target.put(parts, progress)
            got = target.hashes(list(parts))
            bad = [n for n, data in parts.items() if got.get(n) != sha256(data)]
            if not bad:
                break
            log(f"sha256 read-back differs for {', '.join(bad)}: writing again")
            parts = {n: parts[n] for n in bad}
        else:
            raise BoardError(f"the card's copies of {', '.join(bad)} never matched (sha256 read-back); "
                             f"nothing was replaced")
    except BaseException:
        _remove_quietly(target, written, log)
        raise
    moves = list(plan.keep) + [(f"{n}{PART}", n) for n in names]
    if plan.keep:
        moves.insert(len(plan.keep), (f"{ROLLBACK_INDEX}{PART}", ROLLBACK_INDEX))
    target.moves(moves)
    return target.restart()


def _remove_quietly(target, names, log) -> None:
    """The NAME.part files of a deploy that failed before any was renamed: nothing on the
    card uses them. Where the card no longer answers they stay, and the next deploy removes them."""
    try:
        target.remove(names)
    except Exception as e:  # noqa: BLE001 - the first error is the one to report
        log(f"could not remove {len(names)} .part file(s) ({e}); the next deploy removes them")


def check_running(hello: dict | None, files: dict[str, bytes]) -> list[str]:
    """What is wrong with the board after the restart (empty when it runs the new model)."""
    if hello is None:
        return []
    cfg = json.loads(files[CONFIG])
    problems = []
    if hello.get("error"):
        problems.append(f"the board reports: {hello['error']}")
    if hello.get("model_sha256") != cfg.get("model_sha256"):
        problems.append(f"the board runs model {str(hello.get('model_sha256'))[:12]}..., "
                        f"not the deployed {str(cfg.get('model_sha256'))[:12]}...")
    want_det = cfg["detector"].get("model_sha256") if board_config.uses_detector(cfg) else None
    if want_det and hello.get("detector_sha256") != want_det:
        problems.append(f"the board runs detector {str(hello.get('detector_sha256'))[:12]}..., "
                        f"not the deployed {str(cfg['detector'].get('model_sha256'))[:12]}...")
    want = firmware_version(files)
    if want and hello.get("fw") != want:
        problems.append(f"the board runs firmware {hello.get('fw')}, not {want}")
    return problems


def deploy(model_path, *, port=None, to_drive=None, via="auto", manifest=None, overrides=None,
           dry_run=False, force=False, firmware=None, progress=None, log=print) -> dict:
    """firmware: the OpenMV release to plan the memory for when the board does not say (a
    drive, a bare REPL); a board that answers HELLO is planned for the release it runs."""
    files, manifest = card_contents(model_path, manifest, **(overrides or {}))
    model_bytes = files[json.loads(files[CONFIG])["model"]]
    target, hello, free = open_target(port, to_drive, via, log, read_only=dry_run)
    try:
        if firmware and hello and hello.get("omv") and hello["omv"] != firmware:
            log(f"the board runs OpenMV {hello['omv']}: planning for that, not --firmware {firmware}")
        memory = memory_check(manifest, model_bytes, hello, free, firmware, detector_model(manifest, files))
        plan = make_plan(target, files, hello, memory, force)
        for line in plan.lines():
            log(line)
        if dry_run:
            return {"plan": plan, "hello": hello, "dry_run": True}
        after = apply(target, plan, progress, log)
        problems = check_running(after, files)
        if problems:
            raise BoardError("deployed, but " + "; ".join(problems) +
                             f" (maskgate deploy --port {port} --rollback puts the previous model back)")
        if target.via == "drive":
            log("written to the drive: eject it, then reset the camera (it reads the card at boot)")
        return {"plan": plan, "hello": after, "dry_run": False}
    finally:
        target.close()


def _json_on_card(raw: bytes | None, name: str):
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise BoardError(f"{name} on the card is not valid JSON: cannot tell what to roll back") from None


def rollback_moves(index: dict, here: dict) -> tuple[list[tuple[str, str]], dict]:
    """The renames that undo the last deploy, and the index that undoes this rollback.
    here: name -> sha256 (None: absent) on the card for every name the index lists."""
    replaced, added = list(index.get("replaced", [])), list(index.get("added", []))
    # config.json comes back last: a card caught half way has a config that does not match
    # its model, and the firmware keeps the door closed
    replaced.sort(key=lambda n: n == CONFIG)
    moves = [(n, f"{n}.swap") for n in replaced if here.get(n)]
    moves += [(n, f"{ROLLBACK}/{n}") for n in added if here.get(n)]
    moves += [(f"{ROLLBACK}/{n}", n) for n in replaced]
    moves += [(f"{n}.swap", f"{ROLLBACK}/{n}") for n in replaced if here.get(n)]
    undo = {"replaced": [n for n in replaced if here.get(n)] + [n for n in added if here.get(n)],
            "added": [n for n in replaced if not here.get(n)]}
    return moves, undo


def rollback(*, port=None, to_drive=None, via="auto", log=print) -> dict:
    """Put back every file the last deploy replaced (rollback/rollback.json lists them; the
    files it added go into rollback/), and restart. A card from before rollback.json: the
    model, config and labels kept in rollback/."""
    target, hello, _ = open_target(port, to_drive, via, log)
    try:
        index = _json_on_card(target.read(ROLLBACK_INDEX), ROLLBACK_INDEX)
        if not isinstance(index, dict):
            old_cfg = _json_on_card(target.read(f"{ROLLBACK}/{CONFIG}"), f"{ROLLBACK}/{CONFIG}")
            if not isinstance(old_cfg, dict):
                raise BoardError("nothing to roll back to: the card has no rollback/rollback.json or "
                                 "rollback/config.json (deploy keeps there what it replaces)")
            cur_cfg = _json_on_card(target.read(CONFIG), CONFIG)
            cur_model = cur_cfg.get("model") if isinstance(cur_cfg, dict) else None
            names = sorted({CONFIG, LABELS_FILE, old_cfg.get("model"), detector_file(old_cfg), cur_model,
                            detector_file(cur_cfg)} - {None})
            kept = target.hashes([f"{ROLLBACK}/{n}" for n in names])
            index = {"replaced": [n for n in names if kept.get(f"{ROLLBACK}/{n}")], "added": []}
        names = list(index.get("replaced", [])) + list(index.get("added", []))
        here = target.hashes(names)
        kept = target.hashes([f"{ROLLBACK}/{n}" for n in index.get("replaced", [])])
        missing = [n for n in index.get("replaced", []) if not kept.get(f"{ROLLBACK}/{n}")]
        if missing:
            raise BoardError(f"rollback/ lacks {', '.join(missing)}: cannot roll back; nothing was changed")
        moves, undo = rollback_moves(index, here)
        target.put({f"{ROLLBACK_INDEX}{PART}": (json.dumps(undo, indent=2) + "\n").encode()})
        moves.append((f"{ROLLBACK_INDEX}{PART}", ROLLBACK_INDEX))
        for src, dst in moves:
            log(f"  {src} -> {dst}")
        target.moves(moves)
        now_cfg = _json_on_card(target.read(CONFIG), CONFIG) or {}
        want = now_cfg.get("model_sha256") if isinstance(now_cfg, dict) else None
        after = target.restart()
        if after is not None and (after.get("error") or (want and after.get("model_sha256") != want)):
            raise BoardError(f"rolled back, but the board reports model {after.get('model_sha256')} "
                             f"and error {after.get('error')!r}")
        return {"hello": after, "model_sha256": want, "moves": moves}
    finally:
        target.close()
