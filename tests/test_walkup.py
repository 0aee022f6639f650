"""Walk-up sequences: the generator is seeded and does what its docstring says (a head growing
from about 40 to about 120 px over 2 s at 15 fps, visits spread over sources, fixed backgrounds),
and the unmodified firmware on the virtual board says whether and when the door opened."""
import json

import numpy as np
import pytest

from maskgate import walkup
from maskgate.walkup import backgrounds, firmware_run, summary, visits


def _pictures(n=6):
    return {"no_mask": [(f"/bare/{i}.jpg", "a" if i % 2 else "b") for i in range(n)],
            "mask": [(f"/mask/{i}.jpg", "c") for i in range(n)]}


def test_a_plan_spreads_visits_over_sources_and_is_the_same_for_the_same_seed():
    names = backgrounds.names(None)
    plan = visits.plan(_pictures(), 10, 95, seed=0, background_names=names)
    kinds = [v.kind for v in plan]
    assert kinds.count("no_mask") == 10 and kinds.count("mask") == 10 and kinds.count("empty") == 4  # ceil(95 / 30)
    bare_sources = [v.source for v in plan if v.kind == "no_mask"]
    assert bare_sources.count("a") == bare_sources.count("b") == 5
    first = [v.picture for v in plan if v.kind == "no_mask"][:6]
    assert len(set(first)) == 6  # without replacement while the pictures last
    assert plan == visits.plan(_pictures(), 10, 95, seed=0, background_names=names)
    assert plan != visits.plan(_pictures(), 10, 95, seed=1, background_names=names)
    assert all(v.background in names for v in plan)


def test_the_head_grows_from_about_40_to_about_120_px_over_two_seconds():
    assert visits.FRAMES / visits.FPS == 2.0
    for seed in range(20):
        path = visits.walk_path(np.random.default_rng(seed))
        sides = [side for side, _, _ in path]
        assert len(sides) == visits.FRAMES and sides == sorted(sides)
        assert 36 <= sides[0] <= 44 and 108 <= sides[-1] <= 132
        for side, cx, cy in path:  # the head stays in the frame
            assert side / 2 <= cx <= backgrounds.WIDTH - side / 2 and side / 2 <= cy <= backgrounds.HEIGHT - side / 2


def test_frames_are_seeded_qvga_pictures(tmp_path):
    import cv2

    face = np.full((100, 100, 3), 180, np.uint8)
    cv2.circle(face, (50, 50), 30, (90, 60, 40), -1)
    path = tmp_path / "face.jpg"
    cv2.imwrite(str(path), face)
    visit = visits.Visit("mask", 0, "procedural:3", str(path), "x")
    a, b = visits.frames_of(visit, 0, None), visits.frames_of(visit, 0, None)
    assert len(a) == visits.FRAMES and a[0].shape == (240, 320, 3) and a[0].dtype == np.uint8
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], visits.frames_of(visit, 1, None)[0])
    assert not np.array_equal(a[0], a[-1])  # someone is moving
    empty = visits.frames_of(visits.Visit("empty", 0, "procedural:3"), 0, None)
    assert len(empty) == visits.FRAMES and np.abs(empty[0].astype(int) - backgrounds.procedural(3)).mean() < 40


def test_the_backgrounds_are_fixed(shared_datasets):
    assert np.array_equal(backgrounds.procedural(5), backgrounds.procedural(5))
    names = backgrounds.names(shared_datasets)
    regions = json.loads(backgrounds.REGIONS_FILE.read_text())["regions"]
    assert len(names) == backgrounds.PROCEDURAL + len(regions)
    from maskgate.data.images import read_rgb

    for r in regions:
        x, y, w, h = r["region"]
        height, width = read_rgb(shared_datasets / r["path"]).shape[:2]
        assert 0 <= x and 0 <= y and x + w <= width and y + h <= height and w >= 96
    assert backgrounds.make(names[-1], shared_datasets).shape == (240, 320, 3)


def test_the_firmware_says_when_the_door_opened(board_model, scored_faces):
    from maskgate.data.images import read_rgb

    masked = [p for p, prob in scored_faces["mask"] if prob >= 0.85][:4]
    bare = [p for p, prob in scored_faces["no_mask"] if prob <= 0.15][:4]
    wall = backgrounds.procedural(0)
    opened = firmware_run.run_visit(board_model["path"], board_model["manifest"], [wall] + [read_rgb(p) for p in masked])
    assert opened["opened"] and opened["open_frame"] == 3 and opened["openings"] == 1  # K = 3 masked frames
    assert opened["open_s"] == pytest.approx(3 / visits.FPS, abs=0.002) and opened["faces"] == 4
    closed = firmware_run.run_visit(board_model["path"], board_model["manifest"], [wall] + [read_rgb(p) for p in bare])
    assert not closed["opened"] and closed["open_s"] is None and closed["frames"] == 5


def test_walkups_run_end_to_end_and_are_summarised(board_model, scored_faces, tmp_path):
    pictures = {"mask": [(str(p), "12k") for p, _ in scored_faces["mask"][:3]],
                "no_mask": [(str(p), "12k") for p, _ in scored_faces["no_mask"][:3]]}
    walk = walkup.evaluate_door(board_model["path"], board_model["manifest"], pictures, tmp_path, visits_per_label=2,
                                empty_frames=30, seed=0, workers=1, progress=False)
    records = walk["visits"]
    assert [r["kind"] for r in records] == ["no_mask", "no_mask", "mask", "mask", "empty"]
    assert all("error" not in r and r["frames"] == visits.FRAMES for r in records)
    s = walk["summary"]
    assert s["visitors"]["mask"]["all"]["visits"] == 2 and s["empty"]["frames"] == 30
    assert s["visitors"]["mask"]["all"]["opened"]["count"] == sum(r["opened"] for r in records if r["kind"] == "mask")
    assert s["empty"]["frames_that_opened"]["count"] == sum(r["openings"] for r in records if r["kind"] == "empty")
    text = (tmp_path / "walkup" / "walkup.md").read_text()
    assert "synthetic" in text.lower() and "| masked (should get in) | **all** | 2 |" in text
    assert (tmp_path / "walkup" / "walkup-examples.png").is_file()
    assert json.loads((tmp_path / "walkup" / "walkup.json").read_text())["setup"]["config"]["door"]["k"] == 3


def test_scene_sources_are_not_visitors():
    rows = [{"label": "mask", "path": "a.jpg", "source": "face-mask-rwmfd"},
            {"label": "no_mask", "path": "b.jpg", "source": "face-utkface"},
            {"label": "incorrect", "path": "c.jpg", "source": "x"}]
    assert walkup.pictures_from_rows(rows, exclude_sources=("face-mask-rwmfd",)) == {"no_mask": [("b.jpg", "face-utkface")]}


def test_the_summary_counts_errors_apart():
    records = [{"kind": "mask", "source": "s", "background": "procedural:0", "error": "boom"},
               {"kind": "mask", "source": "s", "background": "procedural:0", "opened": True, "open_s": 0.4, "faces": 5}]
    v = summary.summarise(records)["visitors"]["mask"]["all"]
    assert v["errors"] == 1 and v["opened"]["of"] == 1 and v["open_s"]["median"] == 0.4
