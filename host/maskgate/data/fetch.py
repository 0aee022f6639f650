"""`maskgate data fetch`: download a catalogued dataset and unpack it, all or nothing.

The download goes to TO_DIR/.NAME.partial and resumes from there (HTTP Range) after an
interruption; the archive is checked (sha256 when the catalogue has one), unpacked into a
temporary folder inside TO_DIR, its layout checked, and only then moved to TO_DIR/NAME with
os.replace. So TO_DIR/NAME is either absent or complete, and a present one is not fetched again.
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

from maskgate.errors import DataError, FetchError

from .catalogue import load_catalogue
from .hashing import sha256_file
from .layouts import detect_layout

CHUNK = 1 << 20
TIMEOUT_S = 60
console = Console(stderr=True)


def fetch(names, to_dir, catalogue_path=None, progress: bool = True) -> dict[str, Path]:
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


def fetch_one(entry: dict, to_dir: Path, progress: bool = True) -> Path:
    name = entry["name"]
    final = to_dir / name
    if final.exists():
        try:
            detect_layout(final)
        except DataError as e:
            raise FetchError(f"{final} exists but is not a usable copy of {name} ({e}); remove it and run again") from e
        _say(progress, f"{name}: already in {final}, not fetched again")
        return final
    archive = partial_path(to_dir, name)
    if entry["kind"] == "kaggle":
        _download_kaggle(entry, archive, progress)
    else:
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
        if not resuming:
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
    when it has the catalogued layout."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.unpacking-", dir=final.parent))
    try:
        _extract(archive, tmp, entry["name"])
        root = tmp / entry["archive_root"] if entry["archive_root"] else tmp
        if not root.is_dir():
            inside = ", ".join(sorted(p.name for p in tmp.iterdir())[:8]) or "nothing"
            raise FetchError(
                f"{entry['name']}: the archive has no folder {entry['archive_root']!r} (it holds: {inside}); "
                "the catalogue's archive_root is out of date"
            )
        try:
            layout = detect_layout(root)
        except DataError as e:
            raise FetchError(f"{entry['name']}: unpacked, but {e}") from e
        if layout.name != entry["layout"]:
            raise FetchError(f"{entry['name']}: expected layout {entry['layout']}, found {layout.name}")
        for warning in _count_warnings(layout, entry.get("expected", {})):
            console.print(f"[yellow]warning[/]: {entry['name']}: {warning}")
        os.replace(root, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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


def _download_kaggle(entry: dict, archive: Path, progress: bool) -> None:
    """Download a Kaggle dataset's zip to `archive` with the official `kaggle` package."""
    how = (
        f"{entry['name']} is published on Kaggle ({entry['url']}). To fetch it: create an API token "
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
        console.print(message)
