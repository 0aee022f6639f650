"""The catalogue of public datasets (datasets/catalogue.toml): where each comes from, how it
is fetched, and what must be inside."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

from maskgate import contract, package_data
from maskgate.errors import FetchError

from .layouts import BUILTIN_LABELS, LAYOUTS, normalise

DEFAULT_CATALOGUE = package_data.catalogue()
# The one default download folder: `maskgate data fetch` and `maskgate build` both use it, so a
# fetch followed by a build downloads nothing twice (relative to the current folder).
DEFAULT_DOWNLOAD_DIR = "data/datasets"
KINDS = ("http", "github", "kaggle")
_REQUIRED = {
    None: ("name", "title", "home", "licence", "kind", "layout"),
    "http": ("url",),
    "github": ("repo", "commit", "pinned", "files_sha256"),
    "kaggle": ("kaggle",),
}
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def load_catalogue(path=None) -> dict[str, dict]:
    """name -> entry: a dict with the catalogue's fields; `archive_root`, `class_folder`,
    `restriction` "" and `expected` {} when absent, and for kind github `url` defaulting to
    GitHub's archive of `commit`. Raises FetchError for a missing or malformed catalogue."""
    path = Path(path) if path else DEFAULT_CATALOGUE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise FetchError(f"{path}: cannot read the dataset catalogue ({e.strerror or e}); pass --catalogue FILE") from e
    except tomllib.TOMLDecodeError as e:
        raise FetchError(f"{path}: not valid TOML ({e})") from e
    entries = {}
    for i, entry in enumerate(data.get("source", [])):
        checked = _check(entry, f"{path}: source #{i + 1} ({entry.get('name', 'no name')})")
        entries[checked["name"]] = checked
    if not entries:
        raise FetchError(f"{path}: no [[source]] entries")
    return entries


def _check(entry: dict, where: str) -> dict:
    missing = [k for k in _REQUIRED[None] if not entry.get(k)]
    if missing:
        raise FetchError(f"{where} lacks {', '.join(missing)}")
    kind = entry["kind"]
    if kind not in KINDS:
        raise FetchError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
    missing = [k for k in _REQUIRED[kind] if not entry.get(k)]
    if missing:
        raise FetchError(f"{where}: kind {kind} needs {', '.join(missing)}")
    if entry["layout"] not in LAYOUTS:
        raise FetchError(f"{where}: layout {entry['layout']!r} is not one of {', '.join(LAYOUTS)}")
    if kind == "github" and not _COMMIT.match(entry["commit"]):
        raise FetchError(f"{where}: commit {entry['commit']!r} is not a full 40-digit commit id (a branch moves)")
    for key in ("files_sha256", "sha256"):
        if entry.get(key) and not _SHA256.match(entry[key].lower()):
            raise FetchError(f"{where}: {key} is not 64 hex digits")
    class_folder = entry.get("class_folder", "")
    if class_folder and normalise(class_folder) not in BUILTIN_LABELS:
        raise FetchError(f"{where}: class_folder {class_folder!r} is not a known class folder name (e.g. with_mask, without_mask)")
    unknown = sorted(set(entry.get("expected", {})) - set(contract.LABELS_THREE))
    if unknown:
        raise FetchError(f"{where}: expected counts for {', '.join(unknown)}: not a label ({', '.join(contract.LABELS_THREE)})")
    out = {"archive_root": "", "class_folder": "", "restriction": "", "expected": {}, **entry}
    if kind == "github" and not out.get("url"):
        out["url"] = f"https://github.com/{entry['repo']}/archive/{entry['commit']}.zip"
    return out


def how_fetched(entry: dict) -> str:
    """A few words for listings and reports: "GitHub archive of owner/name at 7e50074", ..."""
    if entry["kind"] == "github":
        return f"GitHub archive of {entry['repo']} at {entry['commit'][:7]}"
    if entry["kind"] == "kaggle":
        return f"Kaggle {entry['kaggle']} (needs an API token)"
    return f"HTTP {entry['url']}"
