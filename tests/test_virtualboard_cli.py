"""`maskgate simulate`: one JSON object per frame with exactly the agreed keys, the door as the
firmware drove it, and clear errors."""
import json

import cv2
import numpy as np
from click.testing import CliRunner

from maskgate.cli import main
from maskgate_cli import maskgate
from maskgate.board.virtualboard import simulate as simulate_mod

KEYS = {"frame", "face", "prob", "label", "door"}


def frames_folder(tmp_path, paths, empties=0):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, path in enumerate(paths):
        (folder / f"{i:03d}.jpg").write_bytes(path.read_bytes())
    for j in range(empties):
        cv2.imwrite(str(folder / f"{len(paths) + j:03d}.png"), np.full((240, 320, 3), 90 + j, np.uint8))
    return folder


def test_simulate_json_one_object_per_frame(board_model, scored_faces, tmp_path):
    masked = [p for p, prob in scored_faces["mask"] if prob >= 0.85][:4]
    folder = frames_folder(tmp_path, masked, empties=3)
    result = CliRunner().invoke(main, ["simulate", "--frames", str(folder), "--model", str(board_model["path"]),
                                       "--json", "--quiet", "--set", "door.k=2", "--card", str(tmp_path / "card")])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["frame"] for r in records] == list(range(7))
    assert all(set(r) == KEYS for r in records)
    assert [r["door"] for r in records] == ["closed", "open", "open", "open", "open", "open", "open"]
    assert all(isinstance(r["face"], list) and len(r["face"]) == 4 and r["label"] == "mask" for r in records[:4])
    assert records[-1] == {"frame": 6, "face": None, "prob": None, "label": "no_face", "door": "open"}
    # and the SD card the run used holds the same decisions
    rows = (tmp_path / "card" / "log" / "0000" / "00.csv").read_text().splitlines()
    assert len(rows) == 1 + len(records)


def test_simulate_summary_and_error_frames(board_model, tmp_path):
    folder = frames_folder(tmp_path, [], empties=4)
    result = CliRunner().invoke(main, ["simulate", "--frames", str(folder), "--model", str(board_model["path"]), "--quiet"])
    assert result.exit_code == 0 and "4 frames (no_face 4); door opened 0 time(s)" in result.output
    # a card whose config.json no longer matches its model: the firmware refuses it, every
    # frame is an error record, and the run exits 5 (nothing valid ran), the reason on stderr
    card = tmp_path / "card"
    assert CliRunner().invoke(main, ["simulate", "--frames", str(folder), "--model", str(board_model["path"]),
                                     "--quiet", "--card", str(card)]).exit_code == 0
    cfg = json.loads((card / "config.json").read_text())
    (card / "config.json").write_text(json.dumps({**cfg, "model_sha256": "0" * 64}))
    result = maskgate("simulate", "--frames", folder, "--quiet", "--card", card, "--json")
    assert result.exit_code == 5, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records == [{"frame": i, "face": None, "prob": None, "label": "error", "door": "closed"} for i in range(4)]
    assert "never ran the door" in result.stderr and "does not match config.json" in result.stderr


def test_simulate_without_a_model_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setattr(simulate_mod, "DEFAULT_MODEL", tmp_path / "models" / "maskgate_int8.tflite")
    folder = frames_folder(tmp_path, [], empties=1)
    result = CliRunner().invoke(main, ["simulate", "--frames", str(folder)])
    assert result.exit_code != 0
    assert "pass --model" in str(result.exception) or "pass --model" in result.output


def test_simulate_bad_frames_argument(board_model, tmp_path):
    result = CliRunner().invoke(main, ["simulate", "--frames", str(tmp_path / "nope"), "--model", str(board_model["path"])])
    assert result.exit_code != 0
    assert "neither a folder" in str(result.exception) or "neither a folder" in result.output


def test_simulate_emulates_the_release_it_is_asked_for(board_model, tmp_path):
    folder = frames_folder(tmp_path, [], empties=2)
    for release in ("4.5.5", "5.0.0"):
        result = CliRunner().invoke(main, ["simulate", "--frames", str(folder), "--model", str(board_model["path"]),
                                           "--quiet", "--firmware", release])
        assert result.exit_code == 0, result.output
        assert f"[OpenMV {release}]" in result.output
    result = CliRunner().invoke(main, ["simulate", "--frames", str(folder), "--firmware", "4.6.0"])
    assert result.exit_code == 2 and "4.5.5" in result.output  # the choices are named
