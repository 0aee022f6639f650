"""`maskgate build` on a fresh machine: no ../shared, no Kaggle token, a local HTTP server
standing in for GitHub. It fetches what needs no account, skips face-mask-12k with one line
saying how to add it, still builds a model, and its report says what it trained and evaluated
on; with too few pictures of a class it stops with the data exit code. The made-up pictures are
tiny and the model's figures mean nothing: only the behaviour is asserted."""
import json
import sys

import pytest
from click.testing import CliRunner
from local_http import no_kaggle_account, server  # noqa: F401 (fixtures)
from public_hosts import chandrikadeb7_files, rwmfd_files, serve_sources, utkface_files

from maskgate.cli import main


def tiny_config(tmp_path, catalogue, train, evaluate) -> str:
    path = tmp_path / "first-run.toml"
    path.write_text("\n".join([
        'name = "first-run"',
        "[data]", f"sources = {json.dumps(train)}", f'fetch_to = "{tmp_path / "downloads"}"',
        f'catalogue = "{catalogue}"', "synth_masks = false",
        "[train]", 'arch = "tinycnn"', "arch_options = { width = 0.25 }", "epochs = 1", "batch_size = 32",
        "[quantize]", "calibration_images = 50",
        "[evaluate]", f"sources = {json.dumps(evaluate)}", "camera_crop = false",
    ]) + "\n")
    return str(path)


def test_no_account_build_trains_on_what_it_can_fetch(tmp_path, server, no_kaggle_account, monkeypatch):
    # today's recipe: train on face-mask-12k (Kaggle), never-seen face-mask-chandrikadeb7 (GitHub)
    monkeypatch.chdir(tmp_path)
    catalogue = serve_sources(server, tmp_path / "catalogue.toml", {"face-mask-chandrikadeb7": chandrikadeb7_files(215)})
    config = tiny_config(tmp_path, catalogue, ["face-mask-12k"], ["face-mask-chandrikadeb7"])
    result = CliRunner().invoke(main, ["build", "--config", config, "--out", str(tmp_path / "build")])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "skipped face-mask-12k: it is on Kaggle and this machine has neither" in out and "kaggle.json" in out and "--data" in out
    assert "trains on the evaluation sources it got instead (face-mask-chandrikadeb7)" in out
    assert [path for path, _ in server.requests] == ["/face-mask-chandrikadeb7.zip"]
    assert (tmp_path / "downloads" / "face-mask-chandrikadeb7" / "with_mask").is_dir()

    build = tmp_path / "build"
    summary = json.loads((build / "build.json").read_text())
    data = summary["data"]
    assert [s["name"] for s in data["trained_on"]] == ["face-mask-chandrikadeb7"]
    assert data["trained_on"][0]["pictures"] == {"mask": 215, "no_mask": 215}
    assert data["trained_on"][0]["licence"].startswith("MIT")
    assert [(s["name"], s["role"]) for s in data["skipped"]] == [("face-mask-12k", "training")]
    assert data["never_seen"] == []
    assert list(summary["accuracy"]) == ["face-mask-chandrikadeb7:test"]  # no never-seen figure
    report = (build / "build.md").read_text()
    assert "there is no never-seen figure" in report and "face-mask-12k (training source)" in report
    for name in ("maskgate_int8.tflite", "manifest.json", "labels.txt"):
        assert (build / "run" / name).exists(), name
    assert (build / "eval" / "report.md").exists()


def test_four_source_recipe_without_an_account(tmp_path, server, no_kaggle_account):
    # the mechanism is general: a recipe naming all four sources gets the three public ones
    from maskgate.config import load_config
    from maskgate.data import sources
    from maskgate.data.importer import run_import

    catalogue = serve_sources(server, tmp_path / "catalogue.toml", {
        "face-mask-chandrikadeb7": chandrikadeb7_files(60), "face-utkface": utkface_files(150),
        "face-mask-rwmfd": rwmfd_files(150, pages=6)})
    config = load_config(tiny_config(tmp_path, catalogue, ["face-mask-12k", "face-mask-chandrikadeb7", "face-utkface",
                                                           "face-mask-rwmfd"], []))
    got = sources.gather(config, progress=False)
    assert [s.name for s in got.train] == ["face-mask-chandrikadeb7", "face-utkface", "face-mask-rwmfd"]
    assert [s.name for s in got.skipped] == ["face-mask-12k"] and got.unseen == [] and got.notes == []
    assert sorted(p.name for p in (tmp_path / "downloads" / "face-utkface").iterdir()) == ["without_mask"]
    imported = run_import(got.import_specs(), tmp_path / "imported", progress=False)
    sources.check_enough(imported.rows, ("no_mask", "mask"), got)  # 210 of each: enough
    data = sources.summary(got, imported.rows)
    assert {s["name"]: s["pictures"] for s in data["trained_on"]} == {
        "face-mask-chandrikadeb7": {"mask": 60, "no_mask": 60}, "face-utkface": {"no_mask": 150},
        "face-mask-rwmfd": {"mask": 150}}
    assert "face-utkface: **non-commercial research use only (UTKFace)**" in "\n".join(sources.markdown(data))
    # each RWMFD page stays in one split
    pages = {}
    for row in imported.rows:
        if row["source"] == "face-mask-rwmfd":
            pages.setdefault(row["path"].rsplit("/", 2)[1], set()).add(row["split"])
    assert len(pages) == 6 and all(len(s) == 1 for s in pages.values())


def test_too_few_pictures_of_a_class_exits_with_the_data_code(tmp_path, server, no_kaggle_account, monkeypatch, capsys):
    from maskgate.cli import run

    catalogue = serve_sources(server, tmp_path / "catalogue.toml", {"face-mask-chandrikadeb7": chandrikadeb7_files(40)})
    config = tiny_config(tmp_path, catalogue, ["face-mask-12k"], ["face-mask-chandrikadeb7"])
    monkeypatch.setattr(sys, "argv", ["maskgate", "build", "--config", config, "--out", str(tmp_path / "build")])
    with pytest.raises(SystemExit) as e:
        run()
    assert e.value.code == 3
    err = " ".join(capsys.readouterr().err.split())
    assert "too little data to train: 40 no_mask, 40 mask pictures from face-mask-chandrikadeb7" in err
    assert "at least 200 of each class" in err and "kaggle.json" in err
    assert not (tmp_path / "build" / "run").exists()


def test_a_failing_host_and_no_source_at_all(tmp_path, server, no_kaggle_account):
    from maskgate.config import load_config
    from maskgate.data import sources
    from maskgate.errors import DataError, FetchError

    catalogue = serve_sources(server, tmp_path / "catalogue.toml", {
        "face-mask-chandrikadeb7": chandrikadeb7_files(3), "face-utkface": utkface_files(3)})
    del server.files["/face-utkface.zip"]  # that host is down
    # an evaluation source that cannot be had is skipped, saying why; the build goes on
    got = sources.gather(load_config(tiny_config(tmp_path, catalogue, ["face-mask-chandrikadeb7"], ["face-utkface"])),
                         progress=False)
    assert [s.name for s in got.train] == ["face-mask-chandrikadeb7"] and got.unseen == []
    assert [(s.name, s.role) for s in got.skipped] == [("face-utkface", "evaluation")] and "HTTP 404" in got.skipped[0].why
    # a training source that fails to download stops the build (download error, rerun resumes)
    with pytest.raises(FetchError, match="HTTP 404"):
        sources.gather(load_config(tiny_config(tmp_path, catalogue, ["face-utkface"], [])), progress=False)
    # nothing to train on at all: a data error saying what was skipped and how to add it
    with pytest.raises(DataError, match="no source could be had to train on: face-mask-12k: it is on Kaggle"):
        sources.gather(load_config(tiny_config(tmp_path, catalogue, ["face-mask-12k"], [])), progress=False)
