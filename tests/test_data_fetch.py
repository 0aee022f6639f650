"""maskgate data fetch against a local HTTP server: download, resume, verify, unpack, refuse."""
import hashlib
import io
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import pytest

from maskgate.data import fetch as fetch_module
from maskgate.data.catalogue import load_catalogue
from maskgate.data.fetch import fetch, partial_path
from maskgate.errors import FetchError

ROOT = "Face-Mask-Detection-master/dataset"


def dataset_files(per_class: int = 3) -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    files = {}
    for folder in ("with_mask", "without_mask"):
        for i in range(per_class):
            ok, buf = cv2.imencode(".jpg", rng.integers(0, 256, (24, 24, 3), dtype=np.uint8))
            files[f"{ROOT}/{folder}/{i}.jpg"] = buf.tobytes()
    files["Face-Mask-Detection-master/README.md"] = b"# not part of the dataset\n" * 200
    return files


def make_zip(files) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def make_tar(files) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class Server:
    """A local HTTP server for `files` {url path: bytes} that honours Range requests
    (unless ignore_range), and can cut its first response short (cut_first)."""

    def __init__(self):
        self.files, self.requests = {}, []
        self.ignore_range = False
        self.cut_first = False
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests.append((self.path, self.headers.get("Range")))
                data = server.files.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                start = 0
                wanted = self.headers.get("Range")
                if wanted and not server.ignore_range:
                    start = int(wanted.split("=")[1].split("-")[0])
                    if start >= len(data):
                        self.send_error(416)
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.cut_first:
                    server.cut_first = False
                    self.wfile.write(body[: len(body) // 2])
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    s = Server()
    yield s
    s.close()


def write_catalogue(path: Path, url: str, sha256: str | None = None, root: str = ROOT, layout: str = "class-folders",
                    expected: str = "{ mask = 3, no_mask = 3 }") -> Path:
    lines = [
        "[[source]]", 'name = "demo"', 'title = "Demo masks"', f'url = "{url}"', 'licence = "MIT"',
        'kind = "http"', f'archive_root = "{root}"', f'layout = "{layout}"', f"expected = {expected}",
    ]
    if sha256:
        lines.append(f'sha256 = "{sha256}"')
    lines += [
        "", "[[source]]", 'name = "kaggle-demo"', 'title = "On Kaggle"', 'url = "https://www.kaggle.com/x/y"',
        'licence = "CC0"', 'kind = "kaggle"', 'kaggle = "x/y"', 'archive_root = "Face Mask Dataset"',
        'layout = "kaggle-12k"',
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def leftovers(to_dir: Path) -> list[str]:
    """Anything but finished dataset folders: partial downloads, temporary unpack folders."""
    return sorted(p.name for p in to_dir.iterdir() if p.name.startswith("."))


def test_download_and_unpack(tmp_path, server):
    archive = make_zip(dataset_files())
    server.files["/demo.zip"] = archive
    cat = write_catalogue(tmp_path / "cat.toml", server.url + "/demo.zip", hashlib.sha256(archive).hexdigest())
    to = tmp_path / "sources"
    got = fetch(["demo"], to, cat, progress=False)
    assert got == {"demo": to / "demo"}
    assert sorted(p.name for p in (to / "demo").iterdir()) == ["with_mask", "without_mask"]
    assert len(list((to / "demo").rglob("*.jpg"))) == 6
    assert leftovers(to) == []
    # already there: not fetched again
    server.requests.clear()
    assert fetch(["demo"], to, cat, progress=False) == {"demo": to / "demo"}
    assert server.requests == []
    # something else in the way: refused, not overwritten
    (to / "other").mkdir()
    (to / "other" / "x.txt").write_text("x")
    cat2 = tmp_path / "cat2.toml"
    cat2.write_text(cat.read_text().replace('name = "demo"', 'name = "other"'))
    with pytest.raises(FetchError, match="remove it and run again"):
        fetch(["other"], to, cat2, progress=False)
    assert (to / "other" / "x.txt").exists()


def test_tar_archive(tmp_path, server):
    server.files["/demo.tar.gz"] = make_tar(dataset_files())
    cat = write_catalogue(tmp_path / "cat.toml", server.url + "/demo.tar.gz")
    got = fetch(["demo"], tmp_path / "to", cat, progress=False)
    assert len(list(got["demo"].rglob("*.jpg"))) == 6


def test_resume_from_a_partial_download(tmp_path, server):
    archive = make_zip(dataset_files())
    half = len(archive) // 2
    server.files["/demo.zip"] = archive
    cat = write_catalogue(tmp_path / "cat.toml", server.url + "/demo.zip", hashlib.sha256(archive).hexdigest())
    to = tmp_path / "to"
    to.mkdir()
    partial_path(to, "demo").write_bytes(archive[:half])
    fetch(["demo"], to, cat, progress=False)
    assert server.requests == [("/demo.zip", f"bytes={half}-")]
    assert len(list((to / "demo").rglob("*.jpg"))) == 6 and leftovers(to) == []


def test_interrupted_download_resumes_on_the_next_run(tmp_path, server):
    archive = make_zip(dataset_files())
    server.files["/demo.zip"] = archive
    server.cut_first = True
    cat = write_catalogue(tmp_path / "cat.toml", server.url + "/demo.zip", hashlib.sha256(archive).hexdigest())
    to = tmp_path / "to"
    with pytest.raises(FetchError, match="run again to resume"):
        fetch(["demo"], to, cat, progress=False)
    assert not (to / "demo").exists()
    kept = partial_path(to, "demo").stat().st_size
    assert 0 < kept < len(archive)
    fetch(["demo"], to, cat, progress=False)
    assert server.requests[-1] == ("/demo.zip", f"bytes={kept}-")
    assert (to / "demo" / "with_mask").is_dir()


def test_server_ignoring_range_restarts(tmp_path, server):
    archive = make_zip(dataset_files())
    server.files["/demo.zip"] = archive
    server.ignore_range = True
    cat = write_catalogue(tmp_path / "cat.toml", server.url + "/demo.zip", hashlib.sha256(archive).hexdigest())
    to = tmp_path / "to"
    to.mkdir()
    partial_path(to, "demo").write_bytes(b"stale bytes that must not be kept")
    fetch(["demo"], to, cat, progress=False)
    assert (to / "demo" / "without_mask").is_dir()


def test_corrupted_archive_leaves_nothing(tmp_path, server):
    archive = make_zip(dataset_files())
    server.files["/demo.zip"] = archive[:100] + bytes([archive[100] ^ 0xFF]) + archive[101:]
    cat = write_catalogue(tmp_path / "cat.toml", server.url + "/demo.zip", hashlib.sha256(archive).hexdigest())
    to = tmp_path / "to"
    with pytest.raises(FetchError, match="sha256"):
        fetch(["demo"], to, cat, progress=False)
    assert not (to / "demo").exists() and leftovers(to) == []


def test_damaged_or_unexpected_archives_leave_nothing(tmp_path, server):
    server.files["/junk.zip"] = b"this is no archive" * 100
    server.files["/demo.zip"] = make_zip(dataset_files())
    to = tmp_path / "to"
    cases = [
        (write_catalogue(tmp_path / "a.toml", server.url + "/junk.zip"), "neither a zip nor a tar"),
        (write_catalogue(tmp_path / "b.toml", server.url + "/demo.zip", root="wrong/folder"), "no folder 'wrong/folder'"),
        (write_catalogue(tmp_path / "c.toml", server.url + "/demo.zip", layout="openmv-ide"), "expected layout openmv-ide"),
        (write_catalogue(tmp_path / "d.toml", server.url + "/missing.zip"), "HTTP 404"),
    ]
    for cat, message in cases:
        with pytest.raises(FetchError, match=message):
            fetch(["demo"], to, cat, progress=False)
        assert not (to / "demo").exists() and leftovers(to) == []


def test_count_mismatch_is_only_a_warning(tmp_path, server, capsys):
    server.files["/demo.zip"] = make_zip(dataset_files())
    cat = write_catalogue(tmp_path / "cat.toml", server.url + "/demo.zip", expected="{ mask = 5, no_mask = 3 }")
    got = fetch(["demo"], tmp_path / "to", cat, progress=False)
    assert got["demo"].is_dir()
    assert "3 mask pictures, the catalogue expects 5" in capsys.readouterr().err.replace("\n", " ")


def test_unknown_name(tmp_path):
    cat = write_catalogue(tmp_path / "cat.toml", "http://127.0.0.1:1/x.zip")
    with pytest.raises(FetchError, match="not in the catalogue: nope .*known: demo, kaggle-demo"):
        fetch(["nope"], tmp_path / "to", cat, progress=False)


def test_kaggle_without_credentials_says_how(tmp_path, monkeypatch):
    for var in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_CONFIG_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    cat = write_catalogue(tmp_path / "cat.toml", "http://127.0.0.1:1/x.zip")
    for installed, first_words in ((False, "`kaggle` package is not installed"), (True, "no Kaggle API credentials")):
        monkeypatch.setattr(fetch_module, "_kaggle_installed", lambda: installed)
        with pytest.raises(FetchError) as e:
            fetch(["kaggle-demo"], tmp_path / "to", cat, progress=False)
        message = str(e.value)
        assert first_words in message
        assert "kaggle.json" in message and "KAGGLE_USERNAME" in message and "maskgate data import" in message
        assert "Face Mask Dataset" in message
    assert not (tmp_path / "to" / "kaggle-demo").exists()


def test_the_shipped_catalogue():
    cat = load_catalogue()
    k12 = cat["face-mask-12k"]
    assert k12["kind"] == "kaggle" and k12["kaggle"] == "ashishjangra27/face-mask-12k-images-dataset"
    assert k12["archive_root"] == "Face Mask Dataset" and k12["layout"] == "kaggle-12k"
    gh = cat["face-mask-chandrikadeb7"]
    assert gh["kind"] == "http" and gh["licence"] == "MIT" and gh["layout"] == "class-folders"
    assert gh["url"] == "https://github.com/chandrikadeb7/Face-Mask-Detection/archive/refs/heads/master.zip"
    assert gh["archive_root"] == "Face-Mask-Detection-master/dataset"
    assert set(gh["expected"]) == {"mask", "no_mask"}


def test_catalogue_counts_match_the_real_copies(shared_datasets):
    from collections import Counter

    from maskgate.data.layouts import detect_layout

    for name, entry in load_catalogue().items():
        layout = detect_layout(shared_datasets / name)
        assert layout.name == entry["layout"]
        assert Counter(e.label for e in layout.entries) == entry["expected"]


def test_cli_fetch_lists_and_fetches(tmp_path, server):
    from click.testing import CliRunner

    from maskgate.cli import main

    server.files["/demo.zip"] = make_zip(dataset_files())
    cat = write_catalogue(tmp_path / "cat.toml", server.url + "/demo.zip")
    listing = CliRunner().invoke(main, ["data", "fetch", "--catalogue", str(cat)])
    assert listing.exit_code == 0 and "demo" in listing.output and "kaggle-demo" in listing.output
    to = tmp_path / "to"
    result = CliRunner().invoke(main, ["data", "fetch", "demo", "--to", str(to), "--catalogue", str(cat)])
    assert result.exit_code == 0, result.output
    assert f"demo: {to / 'demo'}" in result.output and (to / "demo" / "with_mask").is_dir()
