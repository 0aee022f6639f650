# The card over the serial link: LIST, STAT, GET, PUT, DELETE, RENAME (board-tools commands).
#
# Every path is relative to the card (the working directory: /sdcard on firmware 4.6+, / on
# older ones); "/sdcard/x" is accepted as "x". Anything else absolute (/flash, /rom), "..",
# "." or empty parts are refused, so the PC can never reach outside the card. Requests and
# replies are bounded: a GET returns at most frame.MAX_CHUNK bytes, a PUT carries at most what
# fits in one request frame, a LIST page at most LIST_MAX entries.
#
# Every command is safe to repeat (the PC retries when a reply is lost): PUT writes at an
# offset (0 starts the file again), DELETE of a missing file is not an error, RENAME of a file
# already renamed says so.
#
#   LIST   {"p": dir, "after": name, "n": count} -> {"entries": [[name, size, is_dir], ...], "more": bool}
#   STAT   {"p": path, "hash": bool}             -> {"size": n, "dir": bool, "sha256": hex or null}
#   GET    {"p": path, "o": offset, "n": count}  -> the bytes (fewer at the end of the file)
#   PUT    {"p": path, "o": offset} NUL data     -> {"size": file size after the write}
#   DELETE {"p": path}                           -> {"deleted": bool}
#   RENAME {"from": a, "to": b}                  -> {"renamed": bool}   (replaces b)

import binascii
import json
import os

import frame
from commands import Refused
from infer import file_sha256, hashlib  # one sha256 for the card (infer checks the model with it)

CARD_ID_FILE = "card_id.txt"  # which card this is (HELLO "card"): pulls of two cards never mix
MAX_PATH = 120
LIST_MAX = 64
DIR_FLAG = 0x4000


def sha256_hex(data):
    """Hex sha256 of bytes, or None where the port has no hashlib."""
    if hashlib is None:
        return None
    return binascii.hexlify(hashlib.sha256(data).digest()).decode()


def card_id(path=CARD_ID_FILE):
    """The card's id: random hex written on the card at its first boot, then read back. None
    where the card cannot be written (the PC then tells cards apart by board id only)."""
    try:
        with open(path) as f:
            text = f.read().strip()
        if text:
            return text
    except OSError:
        pass
    try:
        text = binascii.hexlify(os.urandom(8)).decode()
        with open(path, "w") as f:
            f.write(text + "\n")
        return text
    except Exception:
        return None


def card_path(p):
    """The card-relative form of a path from the PC, or Refused."""
    if not isinstance(p, str) or not p or len(p) > MAX_PATH:
        raise Refused(frame.E_BAD_PAYLOAD, "path must be text of 1..%d characters" % MAX_PATH)
    if p.startswith("/sdcard/"):
        p = p[8:]
    elif p.startswith("/"):
        raise Refused(frame.E_BAD_PAYLOAD, "%s: only paths on the card (relative, or /sdcard/...)" % p)
    if "\\" in p or "\x00" in p:
        raise Refused(frame.E_BAD_PAYLOAD, "%s: no backslashes or NUL in paths" % p)
    for part in p.split("/"):
        if part in ("", ".", ".."):
            raise Refused(frame.E_BAD_PAYLOAD, "%s: no empty, '.' or '..' parts in paths" % p)
    return p


def _dir_path(p):
    # LIST takes "" or "." for the card's top folder
    if p in ("", ".", "/sdcard", "/sdcard/"):
        return ""
    return card_path(p)


def request(payload):
    """The JSON object of a request (refused when it is not one)."""
    try:
        req = json.loads(payload.decode() if payload else "{}")
    except Exception:
        raise Refused(frame.E_BAD_PAYLOAD, "payload is not JSON")
    if not isinstance(req, dict):
        raise Refused(frame.E_BAD_PAYLOAD, "payload must be a JSON object")
    return req


def _int(req, key, low, high, default=None):
    v = req.get(key, default)
    if not isinstance(v, int) or isinstance(v, bool) or v < low or v > high:
        raise Refused(frame.E_BAD_PAYLOAD, "%s must be an integer %d..%d" % (key, low, high))
    return v


def _stat(path):
    try:
        return os.stat(path)
    except OSError:
        return None


def _missing(path):
    return Refused(frame.E_NOT_FOUND, "%s: no such file on the card" % path)


def make_dirs(path):
    """Create the folders above `path` (a file path) that do not exist yet."""
    parts = path.split("/")[:-1]
    at = ""
    for part in parts:
        at = at + "/" + part if at else part
        st = _stat(at)
        if st is None:
            os.mkdir(at)
        elif not st[0] & DIR_FLAG:
            raise Refused(frame.E_BAD_PAYLOAD, "%s is a file, not a folder" % at)


def list_dir(ctx, payload):
    req = request(payload)
    path = _dir_path(req.get("p", ""))
    after = req.get("after", "")
    count = _int(req, "n", 1, LIST_MAX, LIST_MAX)
    st = _stat(path or ".")
    if st is None:
        raise _missing(path)
    if not st[0] & DIR_FLAG:
        raise Refused(frame.E_BAD_PAYLOAD, "%s is a file, not a folder" % path)
    names = []
    for entry in os.ilistdir(path or "."):
        if entry[0] > after:
            names.append(entry)
    names.sort()
    entries = []
    room = frame.MAX_CHUNK - 64  # a page is one bounded reply, however long the names
    for entry in names[:count]:
        room -= len(entry[0]) + 24
        if room < 0 and entries:
            break
        is_dir = bool(entry[1] & DIR_FLAG)
        size = entry[3] if len(entry) > 3 else 0
        if not is_dir and len(entry) <= 3:
            size = os.stat((path + "/" if path else "") + entry[0])[6]
        entries.append([entry[0], 0 if is_dir else size, is_dir])
    return {"entries": entries, "more": len(names) > len(entries)}


def stat(ctx, payload):
    req = request(payload)
    path = card_path(req.get("p"))
    st = _stat(path)
    if st is None:
        raise _missing(path)
    is_dir = bool(st[0] & DIR_FLAG)
    sha = None
    if req.get("hash") and not is_dir:
        sha = file_sha256(path)
    return {"size": 0 if is_dir else st[6], "dir": is_dir, "sha256": sha}


def get(ctx, payload):
    req = request(payload)
    path = card_path(req.get("p"))
    offset = _int(req, "o", 0, 1 << 30, 0)
    count = _int(req, "n", 1, frame.MAX_CHUNK, frame.MAX_CHUNK)
    try:
        f = open(path, "rb")
    except OSError:
        raise _missing(path)
    try:
        f.seek(offset)
        return f.read(count) or b""
    finally:
        f.close()


def put(ctx, payload):
    head, data = frame.split_data(payload)
    if not isinstance(head, dict):
        raise Refused(frame.E_BAD_PAYLOAD, "PUT takes a JSON head, NUL, then the data")
    path = card_path(head.get("p"))
    offset = _int(head, "o", 0, 1 << 30, 0)
    st = _stat(path)
    if st is not None and st[0] & DIR_FLAG:
        raise Refused(frame.E_BAD_PAYLOAD, "%s is a folder" % path)
    size = 0 if st is None else st[6]
    if offset > size:
        # The PC lost track (a reply went missing, the board restarted): it re-reads the size.
        raise Refused(frame.E_BAD_PAYLOAD, "offset %d is past the end of %s (%d bytes)" % (offset, path, size))
    if offset == 0:
        make_dirs(path)
        f = open(path, "wb")
    else:
        f = open(path, "r+b")
        f.seek(offset)
    try:
        f.write(data)
    finally:
        f.close()
    end = offset + len(data)
    return {"size": end if end > size else size}


def delete(ctx, payload):
    req = request(payload)
    path = card_path(req.get("p"))
    st = _stat(path)
    if st is None:
        return {"deleted": False}
    if st[0] & DIR_FLAG:
        try:
            os.rmdir(path)
        except OSError:
            raise Refused(frame.E_BAD_PAYLOAD, "%s is a folder that is not empty" % path)
    else:
        os.remove(path)
    return {"deleted": True}


def rename(ctx, payload):
    req = request(payload)
    src = card_path(req.get("from"))
    dst = card_path(req.get("to"))
    if _stat(src) is None:
        if _stat(dst) is not None:
            return {"renamed": False}  # done by an earlier try whose reply was lost
        raise _missing(src)
    make_dirs(dst)
    if _stat(dst) is not None:
        # FatFS does not rename onto an existing file: the PC verifies the result by hash.
        os.remove(dst)
    os.rename(src, dst)
    return {"renamed": True}


def write_atomic(path, data):
    """Write a whole file under a temporary name, then rename it into place."""
    make_dirs(path)
    tmp = path + ".part"
    with open(tmp, "wb") as f:
        f.write(data)
    if _stat(path) is not None:
        os.remove(path)
    os.rename(tmp, path)
