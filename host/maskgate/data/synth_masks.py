"""`maskgate data synth-masks`: masks drawn on the bare faces of a dataset, as a new source.

For each "no_mask" row of a dataset manifest the face is located (its manifest face box, else
the Haar detector the camera uses, else an eye pair in a tight crop), a mask is drawn worn
correctly (label "mask") and, with `incorrect=True`, one worn below the nose or on the chin
(label "incorrect"). The pictures go to OUT/mask/ and OUT/incorrect/ (a class-folder layout
the importer reads) and OUT/manifest.csv holds the input rows plus one row per new picture.
A synthetic picture keeps the group and split of the face it was drawn on, so a face in test
never has a masked twin in train. Everything is drawn from (seed, the face's sha256): the same
seed gives the same pictures whatever the order or the subset of faces.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import cv2
import numpy as np

from maskgate import atomic
from maskgate.digest import sha256_bytes
from maskgate.errors import DataError
from maskgate.markdown import table

from . import faces, mask_render
from .hashing import phash, phash_hex
from .images import ImageError, read_rgb
from .manifest import SPLITS, read_manifest, write_csv, write_manifest
from .mask_render import FaceFrame

SOURCE_NAME = "synth-masks"
JPEG_QUALITY = 92  # the shared datasets are JPEG 92 too: same compression artefacts on both classes
PROVENANCE_COLUMNS = ("path", "from_path", "label", "style", "placement", "geometry", "group", "split")


def face_frame(rgb: np.ndarray, box=None) -> tuple[FaceFrame | None, str]:
    """Face geometry of a picture -> (frame or None, how it was found).

    "eyes": an eye pair inside the face box; "box": face-box proportions (no eye pair);
    "eyes-no-box": no face box but an eye pair that fits a tight face crop; None: nothing
    trustworthy (a scene with no detectable face), so no mask is drawn rather than guessed.
    """
    if box is None:
        found = faces.find_faces(rgb)
        box = found[0] if found else None
    if box is not None:
        pair = faces.eye_pair(faces.find_eyes(rgb, box), box)
        if pair is not None:
            return FaceFrame.from_eyes(*pair), "eyes"
        return FaceFrame.from_eyes(*faces.box_eyes(box)), "box"
    height, width = rgb.shape[:2]
    whole = (0, 0, width, height)
    pair = faces.eye_pair(faces.find_eyes(rgb, None), whole)
    if pair is not None:
        return FaceFrame.from_eyes(*pair), "eyes-no-box"
    return None, "no face or eyes found"


# A mask must be this much inside the picture: tight crops often end at the chin, and a
# "chin" mask drawn below the edge would be a bare face labelled "incorrect".
MIN_VISIBLE = 0.6


def _plan(rng, placement, styles, frame, width, height) -> mask_render.MaskSpec | None:
    """A random mask for this face that is visible enough; placement None means one of the
    incorrect placements (the other is tried when the first falls outside the picture)."""
    if placement is None:
        options = list(mask_render.INCORRECT_PLACEMENTS)
        if rng.random() < 0.5:
            options.reverse()
    else:
        options = [placement]
    style = styles[rng.integers(len(styles))]
    for option in options:
        spec = mask_render.random_spec(rng, option, style)
        if mask_render.visible_fraction(frame, spec, width, height) >= MIN_VISIBLE:
            return spec
    return None


def _face_rng(seed: int, sha256: str, k: int) -> np.random.Generator:
    return np.random.default_rng([seed, int(sha256[:15], 16), k])


def synth_masks(manifest_in, out_dir, incorrect: bool = False, seed: int = 0, limit: int | None = None,
                splits=SPLITS, sources=None, styles=mask_render.STYLES, per_face: int = 1,
                source_name: str = SOURCE_NAME, progress: bool = True) -> Path:
    """Draw masks on the "no_mask" faces of `manifest_in`; write OUT_DIR/{mask,incorrect}/*.jpg,
    OUT_DIR/manifest.csv (input rows + synthetic rows), OUT_DIR/synth.csv (what was drawn on
    which face) and OUT_DIR/synth-report.md. Returns the new manifest's path.

    `limit` draws on a seeded subset of that many faces; `splits` / `sources` restrict which
    faces are used; `per_face` correctly worn masks per face (plus one incorrect with
    `incorrect=True`)."""
    manifest_in, out_dir = Path(manifest_in), Path(out_dir)
    if out_dir.resolve() == manifest_in.parent.resolve():
        raise DataError(f"{out_dir}: write the synthetic source to a new folder, not beside {manifest_in}")
    bad = [s for s in styles if s not in mask_render.STYLES]
    if bad or not styles:
        raise DataError(f"unknown mask style(s) {', '.join(bad) or '(none given)'}; use {', '.join(mask_render.STYLES)}")
    if per_face < 1:
        raise DataError("--per-face must be at least 1")
    rows = read_manifest(manifest_in)
    if any(r["source"] == source_name for r in rows):
        raise DataError(f"{manifest_in} already holds a source named {source_name!r}; pick another --name")
    bare = [r for r in rows if r["label"] == "no_mask" and r["split"] in splits
            and (not sources or r["source"] in sources)]
    if not bare:
        raise DataError(f"{manifest_in} has no no_mask faces to draw masks on (splits {', '.join(splits)})")
    if limit is not None and limit < len(bare):
        pick = np.sort(np.random.default_rng(seed).choice(len(bare), size=limit, replace=False))
        bare = [bare[i] for i in pick]

    new_rows, provenance, skipped = [], [], []
    items = bare
    bar = None
    if progress:
        from maskgate.progress import progress_bar

        bar = progress_bar()
        bar.start()
        items = bar.track(bare, description="drawing masks")
    try:
        for row in items:
            try:
                rgb = read_rgb(row["path"])
            except ImageError as e:
                skipped.append((row["path"], e.reason))
                continue
            frame, how = face_frame(rgb, row["face"])
            if frame is None:
                skipped.append((row["path"], how))
                continue
            plans = [("correct", k) for k in range(per_face)]
            if incorrect:
                plans.append((None, per_face))
            for placement, k in plans:
                spec = _plan(rng=_face_rng(seed, row["sha256"], k), placement=placement, styles=styles,
                             frame=frame, width=rgb.shape[1], height=rgb.shape[0])
                if spec is None:
                    skipped.append((row["path"], f"{placement or 'incorrect'} mask would fall mostly outside the picture"))
                    continue
                style, placement = spec.style, spec.placement
                out = mask_render.draw_mask(rgb, frame, spec)
                ok, data = cv2.imencode(".jpg", cv2.cvtColor(out, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
                if not ok:
                    raise DataError(f"cannot encode a synthetic picture for {row['path']}")
                data = data.tobytes()
                target = out_dir / spec.label / f"{row['sha256'][:16]}_{k}_{style}_{placement}.jpg"
                atomic.write_bytes(target, data)
                new_rows.append({
                    "path": str(target.absolute()), "source": source_name, "label": spec.label,
                    "width": out.shape[1], "height": out.shape[0], "sha256": sha256_bytes(data),
                    # the pHash of the picture as written (decoded back), as the importer would
                    "phash": phash_hex(phash(cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB))),
                    "group": row["group"], "split": row["split"], "face": row["face"],
                })
                provenance.append({"path": str(target.absolute()), "from_path": row["path"], "label": spec.label,
                                   "style": style, "placement": placement, "geometry": how,
                                   "group": row["group"], "split": row["split"]})
    finally:
        if bar is not None:
            bar.stop()
    if not new_rows:
        raise DataError(f"no mask could be drawn: no face geometry in any of {len(bare)} pictures")

    _write_labels(out_dir, new_rows)
    write_csv(out_dir / "synth.csv", PROVENANCE_COLUMNS, provenance)
    manifest_out = write_manifest(out_dir / "manifest.csv", rows + new_rows)
    atomic.write_text(out_dir / "synth-report.md", _report(manifest_in, out_dir, seed, len(bare), provenance, skipped))
    return manifest_out


def _write_labels(out_dir: Path, new_rows) -> None:
    labels = [lab for lab in ("mask", "incorrect") if any(r["label"] == lab for r in new_rows)]
    atomic.write_text(out_dir / "labels.txt", "\n".join(labels) + "\n")


def _report(manifest_in, out_dir, seed, faces_used, provenance, skipped) -> str:
    by = Counter((p["label"], p["split"]) for p in provenance)
    lines = [
        "# Synthetic masks", "",
        f"From the no_mask faces of `{manifest_in}` (seed {seed}): {faces_used} faces tried, "
        f"{len(provenance)} pictures drawn, {len(skipped)} faces skipped. "
        f"`{out_dir / 'manifest.csv'}` is the input manifest plus the new rows; each new picture "
        "keeps the group and split of its face. Re-importing the folder with `maskgate data import` "
        "would lose that link: train on this manifest instead.", "",
        table(["label", *SPLITS], [[label, *(by[(label, s)] for s in SPLITS)] for label in ("mask", "incorrect")
                                   if any(k[0] == label for k in by)], "l" + "r" * len(SPLITS)),
    ]
    for title, key in (("Styles", "style"), ("Placements", "placement"), ("Face geometry from", "geometry")):
        counts = Counter(p[key] for p in provenance)
        lines += ["", f"{title}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))]
    lines += ["", f"## Faces skipped: {len(skipped)}", ""]
    lines += [f"- `{path}`: {why}" for path, why in skipped[:30]]
    if len(skipped) > 30:
        lines.append(f"- ... and {len(skipped) - 30} more")
    return "\n".join(lines) + "\n"
