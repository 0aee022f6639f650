"""Import throughput on the real datasets (not a test): pictures per second for
`maskgate data import`, end to end (layout, decode, sha256, pHash, groups, split, files).

    .venv/bin/python bench/bench_import.py [--with-chandrikadeb7] [--crop-faces]
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

from maskgate.data.importer import run_import

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", type=Path, default=SHARED, help="folder holding the public datasets")
    parser.add_argument("--with-chandrikadeb7", action="store_true", help="also import face-mask-chandrikadeb7")
    parser.add_argument("--crop-faces", action="store_true", help="include Haar face detection")
    args = parser.parse_args()

    sources = [args.datasets / "face-mask-12k"]
    if args.with_chandrikadeb7:
        sources.append(args.datasets / "face-mask-chandrikadeb7")
    missing = [s for s in sources if not s.is_dir()]
    if missing:
        print(f"absent: {', '.join(map(str, missing))}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        result = run_import(sources, out, crop_faces=args.crop_faces, progress=False)
        seconds = time.perf_counter() - start
    found = sum(len(layout.entries) for _, layout in result.sources)
    print(f"{found} pictures ({len(result.rows)} kept, {len(result.skipped)} skipped) in {seconds:.1f} s: "
          f"{found / seconds:.0f} pictures/s" + (" with face detection" if args.crop_faces else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
