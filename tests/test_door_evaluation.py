"""The door in `maskgate evaluate`, `build` and `ship`: per-source false opens and false denies
with a DET plot, the operating point chosen on validation data, the face stage per source at
import, and leave one source out with its matrix in the shipped report."""
import json
import shutil

import pytest
from click.testing import CliRunner
from synthetic import write_class_folders

from maskgate.cli import main
from maskgate.data.manifest import read_manifest
from maskgate.errors import DataError
from maskgate.evaluate import evaluate


def test_evaluate_judges_the_door_per_source_and_at_the_threshold_chosen_on_validation(tiny_bundle, synthetic_import, tmp_path):
    result = evaluate(tiny_bundle, [f"{synthetic_import}:test"], tmp_path, micro_sample=0,
                      max_false_open=0.2, choose_on=str(synthetic_import.parent))
    op = result["operating_point"]
    val_rows = [r for r in read_manifest(synthetic_import) if r["split"] == "val"]
    assert op["chosen_on"] == "val" and op["data"]["images"] == len(val_rows)
    assert op["validation"]["false_open_at_continuation"]["rate"] <= 0.2
    (section,) = result["datasets"]
    assert [a["name"] for a in section["door"]["at"]] == ["manifest", "operating point"]
    assert section["door"]["at"][1]["threshold"] == op["threshold"]
    test_rows = [r for r in read_manifest(synthetic_import) if r["split"] == "test"]
    overall = section["door"]["at"][0]["overall"]
    assert overall["false_open"]["of"] == sum(r["label"] == "no_mask" for r in test_rows)
    assert overall["false_deny"]["of"] == sum(r["label"] == "mask" for r in test_rows)
    assert overall["false_open"]["ci"][0] <= overall["false_open"]["rate"] <= overall["false_open"]["ci"][1]
    assert (tmp_path / section["door_png"]).is_file()
    report = (tmp_path / "report.md").read_text()
    assert "The model as a door" in report and f"picks **threshold {op['threshold']:g}**" in report
    with pytest.raises(DataError, match="val split"):  # a dataset folder would be test data
        evaluate(tiny_bundle, [f"{synthetic_import}:test"], tmp_path / "x", micro_sample=0, max_false_open=0.2,
                 choose_on=str(tmp_path))


def test_camera_framed_pictures_without_a_face_never_open_and_never_let_in(tiny_bundle, tmp_path):
    folder = write_class_folders(tmp_path / "door-source", per_class=10, seed=4)
    result = evaluate(tiny_bundle, [str(folder)], tmp_path / "eval", micro_sample=0, camera_crop=True)
    camera = next(s for s in result["datasets"] if s["name"].endswith("(camera crop)"))
    rows = read_manifest(tmp_path / "eval" / "imported-door-source-camera-crop" / "manifest.csv")
    at = camera["door"]["at"][0]["overall"]
    assert camera["door"]["face_stage"] and at["face_found"]["count"] == sum(r["face"] is not None for r in rows)
    assert at["false_open"]["count"] <= sum(r["label"] == "no_mask" and r["face"] is not None for r in rows)
    assert at["false_deny"]["count"] >= sum(r["label"] == "mask" and r["face"] is None for r in rows)


def test_the_face_stage_runs_only_for_the_sources_named(shared_datasets, tmp_path):
    from maskgate.data.importer import import_sources

    pictures = sorted((shared_datasets / "face-mask-12k" / "Test" / "WithoutMask").glob("*.jpg"))[:12]
    for name, part in (("scenes", pictures[:6]), ("crops", pictures[6:])):
        (tmp_path / name / "without_mask").mkdir(parents=True)
        for p in part:
            shutil.copy(p, tmp_path / name / "without_mask" / p.name)
    sources = [f"scenes={tmp_path / 'scenes'}", f"crops={tmp_path / 'crops'}"]
    rows = read_manifest(import_sources(sources, tmp_path / "imported", crop_faces=["scenes"], progress=False))
    assert any(r["face"] for r in rows if r["source"] == "scenes")
    assert all(r["face"] is None for r in rows if r["source"] == "crops")
    with pytest.raises(DataError, match="not among the sources"):
        import_sources(sources, tmp_path / "other", crop_faces=["rwmfd"], progress=False)


def test_faceless_pictures_of_face_stage_sources_are_not_trained_on(synthetic_import, tmp_path):
    from maskgate.build import drop_faceless_training_rows
    from maskgate.data.manifest import write_manifest

    rows = read_manifest(synthetic_import)
    source = rows[0]["source"]
    manifest = write_manifest(tmp_path / "manifest.csv", rows)
    kept = read_manifest(drop_faceless_training_rows(manifest, [source]))
    assert {r["split"] for r in kept} == {"test"} and len(kept) == sum(r["split"] == "test" for r in rows)
    assert drop_faceless_training_rows(manifest, ["another"]) == manifest


def test_config_refuses_bad_door_settings(tmp_path):
    from maskgate.config import load_config

    for text, what in (("[operating_point]\nmax_false_open = 1.5\n", "max_false_open"),
                       ('[loso]\nsources = ["a"]\n', "loso"),
                       ('[loso]\nsources = ["a", "b"]\nface_stage_sources = ["c"]\n', "face_stage_sources"),
                       ("[walkup]\nvisits = 0\n", "visits")):
        path = tmp_path / "c.toml"
        path.write_text(text)
        with pytest.raises(DataError, match=what):
            load_config(path)


PER = 110  # pictures of each class in each of the two sources


@pytest.mark.slow
def test_leave_one_source_out_holds_each_source_out_and_ships_the_matrix(shared_datasets, tmp_path):
    # two sources of real, distinct pictures (synthetic blobs would all be near-duplicates of each other)
    for i, name in enumerate(("source-a", "source-b")):
        for folder, label in (("WithMask", "with_mask"), ("WithoutMask", "without_mask")):
            (tmp_path / "data" / name / label).mkdir(parents=True)
            # 2 x 110 of each class: a build refuses fewer than 200
            for p in sorted((shared_datasets / "face-mask-12k" / "Train" / folder).glob("*.jpg"))[PER * i:PER * (i + 1)]:
                shutil.copy(p, tmp_path / "data" / name / label / p.name)
    a = tmp_path / "data" / "source-a"
    config = tmp_path / "loso.toml"
    config.write_text(
        'name = "ci"\n[data]\nsources = ["source-a"]\nfetch_to = "' + str(tmp_path / "fetched") + '"\n'
        '[train]\narch = "tinycnn"\narch_options = { width = 0.25 }\nepochs = 1\nbatch_size = 16\naugment = false\n'
        '[quantize]\ncalibration_images = 20\n'
        '[operating_point]\nmax_false_open = 0.3\n'
        '[evaluate]\nsources = []\n'
        '[loso]\nsources = ["source-a", "source-b"]\ntrain = { epochs = 1 }\n')
    out = tmp_path / "out"
    # one fold of the two (the other is the same code with the names swapped), to keep the test short
    result = CliRunner().invoke(main, ["build", "--config", str(config), "--data", str(a), "--out", str(out), "--loso",
                                       "--loso-source", "source-b"])
    assert result.exit_code == 0, result.output
    rows = read_manifest(out / "loso" / "source-b" / "data" / "manifest.csv")
    assert {r["split"] for r in rows if r["source"] == "source-b"} == {"test"}  # held out whole
    assert {r["source"] for r in rows if r["split"] == "train"} == {"source-a"}
    manifest = json.loads((out / "loso" / "source-b" / "run" / "manifest.json").read_text())
    assert manifest["operating_point"]["chosen_on"] == "val"
    matrix = json.loads((out / "loso" / "loso.json").read_text())
    assert set(matrix["folds"]) == {"source-b"}
    never_seen = matrix["folds"]["source-b"]["per_source"]["source-b"]
    held = [r["label"] for r in rows if r["source"] == "source-b"]  # what survived de-duplication
    assert never_seen["false_open"]["of"] == held.count("no_mask") and never_seen["false_deny"]["of"] == held.count("mask")
    md = (out / "loso" / "loso.md").read_text()
    assert "**FO " in md and "| source-a | (not run) |" in md
    again = CliRunner().invoke(main, ["build", "--config", str(config), "--data", str(a), "--out", str(out), "--loso",
                                      "--loso-source", "source-b"])
    assert again.exit_code == 0 and "already built" in again.output  # a finished fold is kept, not rebuilt

    build = tmp_path / "build"  # ship the fold's build with the matrix beside it
    shutil.copytree(out / "loso" / "source-b", build)
    shutil.copytree(out / "loso", build / "loso", ignore=shutil.ignore_patterns("source-*"))
    shipped = CliRunner().invoke(main, ["ship", str(build), "--to", str(tmp_path / "models")])
    assert shipped.exit_code == 0, shipped.output
    report = (tmp_path / "models" / "report.md").read_text()
    assert "## Leave one source out" in report and "false opens, each source held out (LOSO)" in report
    assert "Operating point: `max_false_open = 0.3`" in report
