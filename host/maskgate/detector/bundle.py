"""The face stage in a model bundle: the detector's .tflite beside the classifier, and the
manifest's "face_stage" section that config.json is made from (maskgate.board.board_config).

    "face_stage": {"stage": "haar+facedet",
                   "detector": {"model_file": "facedet_int8.tflite", "sha256": ..., "threshold": 0.8,
                                "bytes": ..., "arena_bytes": ..., "arena_bytes_used_board": ...,
                                "macs": ..., "input": [72, 96, 3]}}

The figures are the detector's own (maskgate.budget), so deploy and the virtual board plan the
two models without measuring again.
"""
from __future__ import annotations

import json
from pathlib import Path

from maskgate import budget
from maskgate.atomic import write_bytes, write_json
from maskgate.digest import sha256_bytes
from maskgate.errors import DataError
from maskgate.firmware import module

fd = module("facedet")
STAGES = module("config").FACE_STAGES
MANIFEST = "manifest.json"


def section(detector_bytes: bytes, stage: str, threshold: float, model_file: str = "facedet_int8.tflite") -> dict:
    """The manifest's face_stage section for a detector .tflite."""
    if stage not in STAGES:
        raise DataError(f"face stage {stage!r} is not one of {', '.join(STAGES)}")
    if not 0.0 < float(threshold) <= 1.0:
        raise DataError(f"detector threshold {threshold} is not in (0, 1]")
    out = {"stage": stage}
    if stage != "haar":
        costs = budget.layer_costs(detector_bytes)
        arena = budget.arena_bytes(detector_bytes)
        out["detector"] = {"model_file": model_file, "sha256": sha256_bytes(detector_bytes),
                           "threshold": float(threshold), "bytes": len(detector_bytes), "arena_bytes": arena,
                           "arena_bytes_used_board": budget.board_arena_used(arena, costs),
                           "macs": sum(r["macs"] for r in costs), "input": [fd.IN_H, fd.IN_W, 3]}
    return out


def attach(bundle_dir, detector_path, stage: str, threshold: float) -> dict:
    """Copy the detector into the bundle folder and write its face_stage into manifest.json
    (atomically; the rest of the manifest is kept). Returns the section."""
    bundle_dir, detector_path = Path(bundle_dir), Path(detector_path)
    manifest_path = bundle_dir / MANIFEST
    if not manifest_path.is_file():
        raise DataError(f"{bundle_dir} has no {MANIFEST}: not a model bundle")
    data = detector_path.read_bytes()
    name = detector_path.name if detector_path.suffix == ".tflite" else "facedet_int8.tflite"
    manifest = json.loads(manifest_path.read_text())
    if name == manifest.get("model_file"):
        raise DataError(f"the detector cannot take the classifier's file name {name}")
    stage_section = section(data, stage, threshold, name)
    if stage != "haar" and detector_path.resolve() != (bundle_dir / name).resolve():
        write_bytes(bundle_dir / name, data)
    manifest["face_stage"] = stage_section
    write_json(manifest_path, manifest)
    return stage_section
