"""What `maskgate build` does on a fresh machine with no account (not a test): wall time and
messages of the no-account build, with a local HTTP server standing in for GitHub.

The public sources (face-mask-chandrikadeb7, face-utkface, face-mask-rwmfd) are packed from
../shared/datasets into archives laid out as GitHub's archives of the catalogue's pinned commits
(REPO-COMMIT/ARCHIVE_ROOT/...), served on 127.0.0.1, and named in a copy of the shipped
catalogue whose files digests are those of these copies (they are re-encoded, so not the
published bytes). The build runs as a user would run it, in an empty folder, with HOME pointing
at an empty folder (no Kaggle token) and no --data:

    .venv/bin/python bench/bench_first_run.py                  # the shipped recipe (configs/default.toml)
    .venv/bin/python bench/bench_first_run.py --quick
    .venv/bin/python bench/bench_first_run.py --config configs/quick.toml
"""
import argparse
import functools
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from maskgate import package_data
from maskgate.data.catalogue import load_catalogue
from maskgate.data.layouts import detect_layout
from maskgate.data.tree_digest import folder_digest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
PUBLIC = ("face-mask-chandrikadeb7", "face-utkface", "face-mask-rwmfd")


def pack(entry: dict, copy: Path, into: Path) -> tuple[Path, str]:
    """A GitHub-like archive of the development copy; returns it and its files digest."""
    folder = copy / entry["class_folder"] if entry["class_folder"] else copy
    top = f"{entry['repo'].split('/')[1]}-{entry['commit']}/{entry['archive_root']}"
    archive = into / f"{entry['name']}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as z:  # JPEGs do not shrink
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            z.write(path, f"{top}/{path.relative_to(folder).as_posix()}")
    return archive, folder_digest(folder)


def toml_value(value) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {v}" for k, v in value.items()) + " }"
    return json.dumps(value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", type=Path, default=SHARED, help="folder holding the development copies")
    parser.add_argument("--config", type=Path, default=package_data.config("default"))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--keep", type=Path, help="copy the build folder here afterwards")
    args = parser.parse_args()
    missing = [n for n in PUBLIC if not (args.datasets / n).is_dir()]
    if missing:
        print(f"absent: {', '.join(str(args.datasets / n) for n in missing)}", file=sys.stderr)
        return 1

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        served, work, home = tmp / "served", tmp / "fresh-clone", tmp / "home"
        for folder in (served, work, home):
            folder.mkdir()
        catalogue = load_catalogue()
        handler = functools.partial(SimpleHTTPRequestHandler, directory=str(served))
        handler.log_message = lambda *a: None
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        lines = []
        for name, entry in catalogue.items():
            entry = dict(entry)
            if name in PUBLIC:
                archive, digest = pack(entry, args.datasets / name, served)
                counts = {}
                for e in detect_layout(args.datasets / name).entries:
                    counts[e.label] = counts.get(e.label, 0) + 1
                entry.update(url=f"http://127.0.0.1:{httpd.server_address[1]}/{archive.name}", files_sha256=digest,
                             expected=counts)
                print(f"serving {name}: {archive.stat().st_size / 1e6:.0f} MB", file=sys.stderr)
            lines += ["[[source]]"] + [f"{k} = {toml_value(v)}" for k, v in entry.items()] + [""]
        (tmp / "catalogue.toml").write_text("\n".join(lines), encoding="utf-8")
        # the same recipe, reading the local catalogue
        text = args.config.read_text(encoding="utf-8")
        config = tmp / args.config.name
        config.write_text(text.replace("[data]\n", f'[data]\ncatalogue = "{tmp / "catalogue.toml"}"\n', 1), encoding="utf-8")

        env = {**os.environ, "HOME": str(home), "no_proxy": "127.0.0.1,localhost"}
        for var in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_CONFIG_DIR"):
            env.pop(var, None)
        command = [sys.executable, "-c", "from maskgate.cli import run; run()", "build", "--config", str(config),
                   "--out", "runs/build"] + (["--quick"] if args.quick else [])
        start = time.perf_counter()
        done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        httpd.shutdown()
        said = [line for line in done.stderr.splitlines()
                if line.startswith(("skipped", "note", "licence", "warning", "error", "face-"))]
        print("\n".join(said))
        cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
        print(f"exit code {done.returncode}, wall time {seconds:.0f} s ({seconds / 60:.1f} min) on {os.cpu_count()} cores; "
              f"CPU time {cpu.ru_utime + cpu.ru_stime:.0f} s; load average now {os.getloadavg()[0]:.1f}")
        build = work / "runs" / "build"
        if (build / "build.json").exists():
            summary = json.loads((build / "build.json").read_text())
            print("timings:", summary["timings"])
            print("trained on:", [(s["name"], s["pictures"]) for s in summary["data"]["trained_on"]])
            print("skipped:", [s["name"] for s in summary["data"]["skipped"]],
                  "never seen:", [s["name"] for s in summary["data"]["never_seen"]])
        else:
            print(done.stderr[-3000:], file=sys.stderr)
        if args.keep and build.exists():
            shutil.copytree(build, args.keep, dirs_exist_ok=True)
        return done.returncode


if __name__ == "__main__":
    sys.exit(main())
