"""`maskgate data fetch`: download a catalogued dataset and unpack it, all or nothing.

The download goes to TO_DIR/.NAME.partial and resumes from there (HTTP Range) after an
interruption. The archive is unpacked into a temporary folder inside TO_DIR and checked there:
its sha256 where the catalogue gives one (plain HTTP), the unpacked files' digest where it gives
files_sha256 (GitHub archives, whose bytes GitHub does not promise to keep), the layout and the
counts per label. Only then is it moved to TO_DIR/NAME with os.replace. So TO_DIR/NAME is
either absent or complete, and a present one is not fetched again.
"""
from __future__ import annotations

import http.client
import importlib.util
import os
import re
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from maskgate.digest import sha256_file
from maskgate.errors import DataError, FetchError

from .catalogue import DEFAULT_DOWNLOAD_DIR, load_catalogue
from .layouts import detect_layout
from .tree_digest import blob_lines, digest_lines

CHUNK = 1 << 20
TIMEOUT_S = 60
console = Console(stderr=True)


def fetch(names, to_dir=DEFAULT_DOWNLOAD_DIR, catalogue_path=None, progress: bool = True) -> dict[str, Path]:
    """Fetch each catalogued dataset in `names` into TO_DIR/NAME; returns name -> folder."""
    catalogue = load_catalogue(catalogue_path)
    unknown = [n for n in names if n not in catalogue]
    if unknown:
        raise FetchError(f"not in the catalogue: {', '.join(unknown)} (known: {', '.join(catalogue)})")
    to_dir = Path(to_dir)
    to_dir.mkdir(parents=True, exist_ok=True)
    return {name: fetch_one(catalogue[name], to_dir, progress) for name in names}


def partial_path(to_dir, name: str) -> Path:
    return Path(to_dir) / f".{name}.partial"


def fetch_one(entry: dict, to_dir, progress: bool = True) -> Path:
    """Fetch one catalogue entry into TO_DIR/NAME (see the module's docstring); returns it."""
    name = entry["name"]
    to_dir = Path(to_dir)
    final = to_dir / name
    if final.exists():
        try:
            detect_layout(final)
        except DataError as e:
            raise FetchError(f"{final} exists but is not a usable copy of {name} ({e}); remove it and run again") from e
        _say(progress, f"{name}: already in {final}, not fetched again")
        return final
    to_dir.mkdir(parents=True, exist_ok=True)
    archive = partial_path(to_dir, name)
    if entry["kind"] == "kaggle":
        _download_kaggle(entry, archive, progress)
    else:
        _say(progress, f"{name}: downloading {entry['url']}")
        download(entry["url"], archive, progress, label=name)
    try:
        if entry.get("sha256"):
            got = sha256_file(archive)
            if got != entry["sha256"].lower():
                raise FetchError(
                    f"{name}: the download is damaged or changed upstream (sha256 {got}, "
                    f"catalogue says {entry['sha256']}); it was deleted, run again to download afresh"
                )
        _unpack_checked(archive, entry, final, progress)
    finally:
        # a good archive is unpacked, a bad one must not be resumed: either way it goes
        archive.unlink(missing_ok=True)
    _say(progress, f"{name}: unpacked into {final}")
    return final


def download(url: str, dest: Path, progress: bool = True, label: str = "") -> Path:
    """Download `url` into `dest`, continuing an existing partial `dest` with a Range request.
    A server that ignores Range (200) or rejects it (416) makes it start again."""
    start = dest.stat().st_size if dest.exists() else 0
    headers = {"User-Agent": "maskgate-fetch"}
    if start:
        headers["Range"] = f"bytes={start}-"
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=TIMEOUT_S)
    except urllib.error.HTTPError as e:
        if e.code == 416 and start:
            dest.unlink()
            return download(url, dest, progress, label)
        raise FetchError(f"{url}: HTTP {e.code} {e.reason}") from e
    except (urllib.error.URLError, OSError) as e:
        raise FetchError(f"{url}: cannot download ({getattr(e, 'reason', e)})") from e

    with response:
        resuming = bool(start) and response.status == 206
        if resuming and _range_start(response) != start:  # not the part asked for: start afresh
            response.close()
            dest.unlink()
            return download(url, dest, progress, label)
        if resuming:
            _say(progress, f"{label or url}: resuming after {start:,} bytes")
        else:
            start = 0
        length = response.headers.get("Content-Length")
        total = start + int(length) if length else None
        done = start
        with open(dest, "ab" if resuming else "wb") as out, _download_bar(progress) as bar:
            task = bar.add_task(label or url, total=total, completed=start)
            try:
                while block := response.read(CHUNK):
                    out.write(block)
                    done += len(block)
                    bar.update(task, completed=done)
            except (OSError, http.client.HTTPException) as e:
                raise FetchError(f"{url}: download interrupted at {done} bytes ({e}); run again to resume") from e
    if total is not None and done < total:
        raise FetchError(f"{url}: download stopped at {done} of {total} bytes; run again to resume")
    return dest


def _range_start(response) -> int | None:
    match = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
    return int(match[1]) if match else None


def _unpack_checked(archive: Path, entry: dict, final: Path, progress: bool) -> None:
    """Unpack into a temporary folder beside `final`; move the dataset folder into place only
    when its files, layout and counts are what the catalogue says."""
    name = entry["name"]
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.unpacking-", dir=final.parent))
    try:
        _extract(archive, tmp, name)
        root = _dataset_root(tmp, entry)
        if entry.get("files_sha256"):
            _verify_files(root, entry, progress)
        if entry["class_folder"]:
            # a one-class archive (bare faces, masked scenes) becomes a class-folders dataset
            wrapper = tmp / ".dataset"
            wrapper.mkdir()
            os.replace(root, wrapper / entry["class_folder"])
            root = wrapper
        try:
            layout = detect_layout(root)
        except DataError as e:
            raise FetchError(f"{name}: unpacked, but {e}") from e
        if layout.name != entry["layout"]:
            raise FetchError(f"{name}: expected layout {entry['layout']}, found {layout.name}")
        for warning in _count_warnings(layout, entry.get("expected", {})):
            console.print(f"[yellow]warning[/]: {name}: {warning}")
        os.replace(root, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _dataset_root(tmp: Path, entry: dict) -> Path:
    """The dataset folder inside the unpacked archive. A GitHub archive wraps the repository in
    one folder (REPO-COMMIT/): archive_root is taken inside it, whatever its name."""
    base = tmp
    if entry["kind"] == "github":
        tops = [p for p in tmp.iterdir() if not p.name.startswith(".")]
        if len(tops) != 1 or not tops[0].is_dir():
            raise FetchError(f"{entry['name']}: not a GitHub archive (it holds {_listing(tmp)}, not one REPO-COMMIT folder)")
        base = tops[0]
    root = base / entry["archive_root"] if entry["archive_root"] else base
    if not root.is_dir():
        raise FetchError(
            f"{entry['name']}: the archive has no folder {entry['archive_root']!r} (it holds: {_listing(base)}); "
            "the catalogue's archive_root is out of date"
        )
    return root


def _listing(folder: Path) -> str:
    return ", ".join(sorted(p.name for p in folder.iterdir())[:8]) or "nothing"


def _verify_files(root: Path, entry: dict, progress: bool) -> None:
    """The unpacked files must be those of the pinned commit (their git blob ids and paths)."""
    _say(progress, f"{entry['name']}: checking the unpacked files against the catalogue")
    lines = blob_lines(root)
    got = digest_lines(lines)
    if got != entry["files_sha256"].lower():
        found = Counter(line.split(" ", 1)[1].split("/")[0] for line in lines if "/" in line)
        where = f" at commit {entry['commit']}" if entry.get("commit") else ""
        raise FetchError(
            f"{entry['name']}: the unpacked files are not those the catalogue pins{where} "
            f"(files digest {got}, catalogue says {entry['files_sha256']}; {len(lines)} files"
            + (f", by top folder: {dict(sorted(found.items())[:6])}" if found else "")
            + "); the download was deleted: run again, and if it persists the catalogue entry is out of date"
        )


def _extract(archive: Path, into: Path, name: str) -> None:
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as z:
                z.extractall(into)  # zipfile strips absolute paths and ".." itself
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as t:
                t.extractall(into, filter="data")  # refuses links and paths leaving `into`
        else:
            raise FetchError(f"{name}: the download is neither a zip nor a tar archive")
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as e:
        raise FetchError(f"{name}: damaged archive ({e})") from e


def _count_warnings(layout, expected: dict) -> list[str]:
    found = Counter(entry.label for entry in layout.entries)
    return [
        f"{found[label]} {label} pictures, the catalogue expects {count}"
        for label, count in expected.items()
        if found[label] != count
    ]


def missing_account(entry: dict) -> str | None:
    """Why `entry` cannot be fetched on this machine for want of an account ("it is on Kaggle
    and ..."), in one line that says how to add it; None when nothing is missing (every kind
    but kaggle needs no account)."""
    if entry["kind"] != "kaggle":
        return None
    installed, token = _kaggle_installed(), _kaggle_credentials()
    if installed and token:
        return None
    lacking = {(False, False): "neither the `kaggle` package nor a Kaggle API token",
               (False, True): "a Kaggle API token but not the `kaggle` package",
               (True, False): "no Kaggle API token"}[(installed, token)]
    return (
        f"it is on Kaggle and this machine has {lacking}; to add it, `pip install kaggle` and save a "
        "token (kaggle.com > Settings > API > Create New Token) as ~/.kaggle/kaggle.json, or pass --data pointing "
        f"at a downloaded copy (its {entry['archive_root'] or 'dataset'!r} folder, from {entry['home']})"
    )


def _download_kaggle(entry: dict, archive: Path, progress: bool) -> None:
    """Download a Kaggle dataset's zip to `archive` with the official `kaggle` package."""
    how = (
        f"{entry['name']} is published on Kaggle ({entry['home']}). To fetch it: create an API token "
        "at https://www.kaggle.com/settings (API > Create New Token), save it as ~/.kaggle/kaggle.json "
        "(or set KAGGLE_USERNAME and KAGGLE_KEY) and `pip install kaggle`. Or download the zip by hand "
        f"from that page, unpack it and pass its {entry['archive_root'] or 'dataset'!r} folder to "
        "`maskgate data import` (or `maskgate build --data`)."
    )
    if not _kaggle_installed():
        raise FetchError(f"the `kaggle` package is not installed. {how}")
    if not _kaggle_credentials():
        raise FetchError(f"no Kaggle API credentials found. {how}")
    # imported only now: `import kaggle` authenticates at import time and exits without a token
    from kaggle.api.kaggle_api_extended import KaggleApi

    tmp = Path(tempfile.mkdtemp(prefix=".kaggle-", dir=archive.parent))
    try:
        api = KaggleApi()
        api.authenticate()
        _say(progress, f"{entry['name']}: downloading {entry['kaggle']} from Kaggle")
        api.dataset_download_files(entry["kaggle"], path=str(tmp), unzip=False, quiet=not progress)
        zips = sorted(tmp.glob("*.zip"))
        if not zips:
            raise FetchError(f"{entry['name']}: Kaggle gave no zip file")
        os.replace(zips[0], archive)
    except FetchError:
        raise
    except Exception as e:  # the kaggle client raises its own assorted errors
        raise FetchError(f"{entry['name']}: Kaggle download failed ({e}). {how}") from e
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _kaggle_installed() -> bool:
    return importlib.util.find_spec("kaggle") is not None


def _kaggle_credentials() -> bool:
    if os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY"):
        return True
    config_dir = Path(os.environ.get("KAGGLE_CONFIG_DIR") or Path.home() / ".kaggle")
    return (config_dir / "kaggle.json").is_file()


def _download_bar(progress: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
        TimeRemainingColumn(), console=console, disable=not progress,
    )


def _say(progress: bool, message: str) -> None:
    if progress:
        console.print(message, soft_wrap=True, highlight=False, markup=False)
