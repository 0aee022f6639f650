"""How host/maskgate/walkup/scene_regions.json was made: face-free regions of the shared scene
pictures (face-mask-rwmfd), used as walk-up backgrounds. Run once, before any tuning; the list
it led to is committed and never changed to suit a model.

1. Every RWMFD picture is searched with lenient OpenCV cascades (frontal faces default and alt2,
   profile faces both ways round, eyes, upper and full bodies, minNeighbors 1: many false hits,
   which only cost candidate area). Face and eye boxes block a region three boxes wide and five
   tall around them (the body below a face); body boxes block themselves plus 15 %.
2. The largest 4:3 window of at least MIN_WIDTH px wide that touches no blocked pixel is the
   picture's candidate.
3. Candidates are drawn on contact sheets (--sheets DIR) and checked by eye; any showing a
   person, a face, a mannequin or a face-like picture is rejected. The accepted ones (with the
   picture's path relative to the datasets folder) are scene_regions.json.

    .venv/bin/python bench/walkup_scene_regions.py --datasets ../shared/datasets --out candidates.json --sheets /tmp/sheets
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

MIN_WIDTH = 96
ASPECT = 4 / 3
FACE_CASCADES = ("haarcascade_frontalface_default.xml", "haarcascade_frontalface_alt2.xml", "haarcascade_profileface.xml")
BODY_CASCADES = ("haarcascade_upperbody.xml", "haarcascade_fullbody.xml")


def _cascade(name: str) -> cv2.CascadeClassifier:
    return cv2.CascadeClassifier(cv2.data.haarcascades + name)


def blocked_mask(gray: np.ndarray, cascades: dict) -> np.ndarray:
    h, w = gray.shape
    blocked = np.zeros((h, w), bool)
    flipped = gray[:, ::-1]

    def block(x0, y0, x1, y1):
        blocked[max(0, int(y0)):min(h, int(y1)), max(0, int(x0)):min(w, int(x1))] = True

    for name in FACE_CASCADES + ("haarcascade_eye.xml",):
        for img, mirrored in ((gray, False), (flipped, True)):
            for x, y, bw, bh in cascades[name].detectMultiScale(img, 1.1, 1, minSize=(8, 8)):
                if mirrored:
                    x = w - x - bw
                block(x - bw, y - bh, x + 2 * bw, y + 4 * bh)
    for name in BODY_CASCADES:
        for x, y, bw, bh in cascades[name].detectMultiScale(gray, 1.05, 1, minSize=(16, 16)):
            block(x - 0.15 * bw, y - 0.15 * bh, x + 1.15 * bw, y + 1.15 * bh)
    return blocked


def largest_free_window(blocked: np.ndarray) -> tuple[int, int, int, int] | None:
    h, w = blocked.shape
    integral = np.pad(blocked.astype(np.int32).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    width = int(min(w, h * ASPECT))
    while width >= MIN_WIDTH:
        height = int(round(width / ASPECT))
        for y in range(0, h - height + 1, 4):
            for x in range(0, w - width + 1, 4):
                inside = integral[y + height, x + width] - integral[y, x + width] - integral[y + height, x] + integral[y, x]
                if inside == 0:
                    return (x, y, width, height)
        width -= 8
    return None


def candidates(datasets: Path) -> list[dict]:
    cascades = {n: _cascade(n) for n in FACE_CASCADES + BODY_CASCADES + ("haarcascade_eye.xml",)}
    out = []
    for path in sorted((datasets / "face-mask-rwmfd").rglob("*.jpg")):
        gray = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2GRAY)
        window = largest_free_window(blocked_mask(gray, cascades))
        if window:
            out.append({"path": str(path.relative_to(datasets)), "region": list(window)})
    return out


def contact_sheets(datasets: Path, items: list[dict], out_dir: Path, per_sheet: int = 30) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for start in range(0, len(items), per_sheet):
        tiles = []
        for i, item in enumerate(items[start:start + per_sheet], start):
            x, y, w, h = item["region"]
            rgb = cv2.imread(str(datasets / item["path"]))[y:y + h, x:x + w]
            tile = cv2.resize(rgb, (192, 144), interpolation=cv2.INTER_LINEAR)
            cv2.putText(tile, str(i), (4, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 255), 2)
            tiles.append(tile)
        while len(tiles) % 6:
            tiles.append(np.zeros_like(tiles[0]))
        sheet = np.vstack([np.hstack(tiles[r:r + 6]) for r in range(0, len(tiles), 6)])
        cv2.imwrite(str(out_dir / f"sheet-{start // per_sheet:02d}.png"), sheet)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "datasets")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sheets", type=Path)
    args = parser.parse_args()
    items = candidates(args.datasets)
    args.out.write_text(json.dumps(items, indent=1) + "\n")
    print(f"{len(items)} candidate regions -> {args.out}")
    if args.sheets:
        contact_sheets(args.datasets, items, args.sheets)


if __name__ == "__main__":
    main()
