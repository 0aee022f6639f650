"""The catalogue of public datasets (datasets/catalogue.toml): what to download and what
must be inside."""
from __future__ import annotations

import tomllib
from pathlib import Path

from maskgate import package_data
from maskgate.errors import FetchError

from .layouts import LAYOUTS

DEFAULT_CATALOGUE = package_data.catalogue()
KINDS = ("http", "kaggle")
_REQUIRED = ("name", "title", "url", "licence", "kind", "layout")


def load_catalogue(path=None) -> dict[str, dict]:
    """name -> entry (a dict with the catalogue's fields, `archive_root` "" and `expected`
    {} when absent). Raises FetchError for a missing or malformed catalogue."""
    path = Path(path) if path else DEFAULT_CATALOGUE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise FetchError(f"{path}: cannot read the dataset catalogue ({e.strerror or e}); pass --catalogue FILE") from e
    except tomllib.TOMLDecodeError as e:
        raise FetchError(f"{path}: not valid TOML ({e})") from e
    entries = {}
    for i, entry in enumerate(data.get("source", [])):
        where = f"{path}: source #{i + 1}"
        missing = [k for k in _REQUIRED if not entry.get(k)]
        if missing:
            raise FetchError(f"{where} lacks {', '.join(missing)}")
        if entry["kind"] not in KINDS:
            raise FetchError(f"{where}: kind {entry['kind']!r} is not one of {', '.join(KINDS)}")
        if entry["kind"] == "kaggle" and not entry.get("kaggle"):
            raise FetchError(f"{where}: kind kaggle needs kaggle = \"owner/dataset\"")
        if entry["layout"] not in LAYOUTS:
            raise FetchError(f"{where}: layout {entry['layout']!r} is not one of {', '.join(LAYOUTS)}")
        entries[entry["name"]] = {"archive_root": "", "expected": {}, **entry}
    if not entries:
        raise FetchError(f"{path}: no [[source]] entries")
    return entries
