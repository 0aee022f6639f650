"""KEY=VALUE settings from the command line, read one way: `--set door.k=2` (simulate, deploy),
`--arch-option width=0.5` (train), and the ARCH:key=value,... specs of `--teacher` (optimize)
and `--archs` (compare).

A value is JSON where it reads as JSON (2 -> int, 0.5 -> float, true -> bool, null, [1, 2],
"quoted text"), else the text itself; a key ending in sha256 stays text even when all digits.
Where the command knows its keys, an unknown one is refused with the closest known key named.
Both mistakes are usage errors (exit 2); a value the stage then refuses is a data problem
(exit 3), as the stage says.
"""
from __future__ import annotations

import difflib
import json

from maskgate.errors import OptionError


def value_of(key: str, text: str):
    if key.endswith("sha256"):
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def check_keys(keys, known, option: str, what: str = "key") -> None:
    """OptionError naming the first of `keys` not in `known`, and the closest known one."""
    known = sorted(known)
    for key in keys:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean {close[0]}?" if close else f"known: {', '.join(known)}"
            raise OptionError(f"{option}: unknown {what} {key!r} ({hint})")


def parse(pairs, option: str, known=None) -> dict:
    """["door.k=2", "face_detection=false"] -> {"door.k": 2, "face_detection": False}."""
    out = {}
    for pair in pairs or ():
        key, sep, text = str(pair).partition("=")
        key = key.strip()
        if not sep or not key:
            raise OptionError(f"{option} takes KEY=VALUE, not {pair!r}")
        out[key] = value_of(key, text)
    if known is not None:
        check_keys(out, known, option)
    return out


def parse_spec(spec: str, option: str) -> tuple[str, dict]:
    """"ARCH" or "ARCH:key=value,key=value" (";" between options works too) -> (ARCH, options)."""
    name, _, rest = spec.partition(":")
    if not name.strip():
        raise OptionError(f"{option}: {spec!r} names nothing before its options")
    return name.strip(), parse([p for p in rest.replace(";", ",").split(",") if p.strip()], option)


def split_specs(text: str) -> list[str]:
    """"tinycnn,mobilenet_v2:alpha=0.35;dropout=0.3" -> one spec per comma. A piece that is only
    key=value continues the spec before it (so "a:x=1,y=2" is one spec with two options)."""
    specs = []
    for piece in (p.strip() for p in text.split(",")):
        if not piece:
            continue
        if specs and "=" in piece and ":" not in piece:
            specs[-1] += ("," if ":" in specs[-1] else ":") + piece
        else:
            specs.append(piece)
    return specs
