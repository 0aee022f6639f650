"""`maskgate deploy` against the virtual board: over the protocol (with a pulled cable and
damaged bytes mid-transfer), through the real mpremote onto a fresh camera, onto a mounted
drive; dry run, rollback, and a model too big for the heap refused."""
import json
import os
import subprocess
import sys

import pytest

from boards import running_board, sha256
from maskgate.errors import BudgetError
from maskgate.board import deploy
from maskgate.board.link import Link
from maskgate.board.virtualboard.faults import Faults

MASKGATE = os.path.join(os.path.dirname(sys.executable), "maskgate")


def card_state(root):
    return {str(p.relative_to(root)): sha256(p.read_bytes()) for p in sorted(root.rglob("*"))
            if p.is_file() and not str(p.relative_to(root)).startswith("log")
            and p.name != "card_id.txt"}  # the firmware writes it at its first boot


def expected(board_model, **overrides):
    files, _ = deploy.card_contents(board_model["path"], board_model["manifest"], **overrides)
    return files


def test_dry_run_then_deploy_through_a_bad_cable_then_rollback(board_model, tmp_path):
    with running_board(board_model, tmp_path, **{"door.k": 5}) as board:
        root = board.card.root
        (root / "door.py").write_bytes((root / "door.py").read_bytes() + b"\n# an older build\n")
        before = card_state(root)
        lines = []
        result = deploy.deploy(board_model["path"], port=board.pty_path, manifest=board_model["manifest"],
                               overrides={"door.k": 2}, dry_run=True, log=lines.append)
        assert result["dry_run"] and card_state(root) == before  # nothing written
        text = "\n".join(lines)
        assert "changed   config.json" in text and "changed   door.py" in text and "new       labels.txt" in text
        assert "unchanged main.py" in text and "keep      config.json -> rollback/config.json" in text

        # the cable goes half way through what the PUTs upload (the files the plan writes):
        # counted on the host's bytes, so the point does not move with how fast the board runs
        # on a busy machine
        upload = sum(len(result["plan"].files[name]) for name in result["plan"].changed)
        board.port.faults = Faults(corrupt=0.002, seed=7, unplug_after=upload // 2, unplug_direction="to_board")
        result = deploy.deploy(board_model["path"], port=board.pty_path, manifest=board_model["manifest"],
                               overrides={"door.k": 2}, log=lambda *_: None)
        counts = board.port.faults.counts
        board.port.faults = None
        assert counts["unplugs"] == 1 and counts["corrupted"] > 0
        want = expected(board_model, **{"door.k": 2})
        now = card_state(root)
        for name, data in want.items():
            assert now[name] == sha256(data), name
        assert not [n for n in now if n.endswith(".part")]
        assert json.loads((root / "rollback" / "config.json").read_text())["door"]["k"] == 5
        assert result["hello"]["model_sha256"] == board_model["manifest"]["sha256"]
        assert result["hello"]["error"] is None and board.boots == 2

        deploy.rollback(port=board.pty_path, log=lambda *_: None)
        assert json.loads((root / "config.json").read_text())["door"]["k"] == 5
        assert json.loads((root / "rollback" / "config.json").read_text())["door"]["k"] == 2
        with Link(board.pty_path) as link:
            assert link.connect()["error"] is None


def test_a_model_the_heap_cannot_hold_is_refused(board_model, tmp_path):
    with running_board(board_model, tmp_path) as board:
        # the next boot sees a small heap: the model loads, little is left (on the tf API, <= 4.5.5,
        # the firmware puts a model that crowds the heap in the frame buffer, the arena too)
        board.heap.sizes = [(60 if board.release.inference == "tf" else 90) * 1024]
        with Link(board.pty_path) as link:
            link.connect()
            link.call(0x21)  # RESET
            hello = link.reconnect()
        assert hello["error"] is None and hello["heap_free"] < 32 * 1024
        done = subprocess.run([MASKGATE, "deploy", "--port", board.pty_path, "--model", str(board_model["path"]),
                               "--dry-run"], capture_output=True, text=True, timeout=120)
        assert done.returncode == 4, done.stderr
        assert "cannot hold this model" in done.stderr and "KB" in done.stderr
        with pytest.raises(BudgetError):
            deploy.deploy(board_model["path"], port=board.pty_path, manifest=board_model["manifest"], log=lambda *_: None)


def test_first_deploy_onto_a_fresh_camera_goes_through_mpremote(board_model, tmp_path):
    with running_board(board_model, tmp_path, install=False) as board:  # no main.py: only the REPL
        lines = []
        result = deploy.deploy(board_model["path"], port=board.pty_path, manifest=board_model["manifest"],
                               log=lines.append)
        assert result["plan"].via == "mpremote" and "trying the MicroPython REPL" in lines[0]
        now = card_state(board.card.root)
        for name, data in expected(board_model).items():
            assert now[name] == sha256(data), name
        assert result["hello"]["error"] is None  # reset by mpremote, main.py runs the new firmware
        assert result["hello"]["model_sha256"] == board_model["manifest"]["sha256"]


def test_deploy_to_the_mounted_drive(board_model, tmp_path):
    drive = tmp_path / "OPENMV"
    drive.mkdir()
    deploy.deploy(board_model["path"], to_drive=drive, manifest=board_model["manifest"], log=lambda *_: None)
    for name, data in expected(board_model).items():
        assert (drive / name).read_bytes() == data
    deploy.deploy(board_model["path"], to_drive=drive, manifest=board_model["manifest"],
                  overrides={"door.hold_s": 1.0}, log=lambda *_: None)
    assert json.loads((drive / "config.json").read_text())["door"]["hold_s"] == 1.0
    assert (drive / "rollback" / "config.json").is_file() and not list(drive.rglob("*.part"))


def test_dry_run_onto_a_drive_plans_the_memory_of_the_release_given(board_model, tmp_path):
    from click.testing import CliRunner

    from maskgate.cli import main

    drive = tmp_path / "OPENMV"
    drive.mkdir()
    result = CliRunner().invoke(main, ["deploy", "--to-drive", str(drive), "--model", str(board_model["path"]),
                                       "--dry-run", "--firmware", "4.5.5"])
    assert result.exit_code == 0, result.output
    assert "OpenMV 4.5.5: fits (model in heap" in result.output and "in framebuffer" in result.output
    assert "OpenMV 5.0.0" not in result.output and not list(drive.iterdir())
    result = CliRunner().invoke(main, ["deploy", "--to-drive", str(drive), "--model", str(board_model["path"]),
                                       "--dry-run"])
    assert all(f"OpenMV {r}: fits" in result.output for r in ("4.5.5", "4.5.9", "4.8.1", "5.0.0"))
