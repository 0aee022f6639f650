"""`maskgate build`: import -> train -> quantize -> evaluate from one config file.

Data is found before it is fetched (maskgate.data.sources): with `--data DIR` each source named
in the config is looked for in DIR, then in [data].fetch_to, and fetched there from the
catalogue when absent. A source that needs an account this machine lacks is skipped with one
line saying how to add it; the build trains on what it got and its report says which sources
were used, which were skipped and why, and what it could evaluate on.
"""
from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console

from maskgate import __version__, bundle, door_report, host_cpu
from maskgate.atomic import write_json, write_text
from maskgate.markdown import table

console = Console(stderr=True)


def face_stage_sources(config: dict) -> list[str]:
    """Sources imported with the face stage ([data] crop_faces as a list of names): scenes."""
    crop = config["data"]["crop_faces"]
    return [] if isinstance(crop, bool) else list(crop)


def drop_faceless_training_rows(manifest: Path, sources: list[str]) -> Path:
    """Pictures of face-stage sources in which the face stage found no face never reach the
    classifier on the door, so they are not trained or validated on (their centre square is a
    scene, not a face); in test they stay, where the door metrics count them as not let in."""
    from maskgate.data.manifest import read_manifest, write_manifest

    rows = read_manifest(manifest)
    kept = [r for r in rows if not (r["source"] in sources and r["face"] is None and r["split"] in ("train", "val"))]
    if len(kept) == len(rows):
        return manifest
    console.print(f"face stage: {len(rows) - len(kept)} training/validation pictures of {', '.join(sources)} "
                  "without a face found are left out")
    return write_manifest(manifest.with_name("manifest-faces.csv"), kept)


def build(config: dict, out_dir, data_dir=None, quick: bool = False, synth_limit: int | None = None) -> dict:
    """The whole chain. synth_limit caps the synthetic masks of a full build (leave one source
    out uses it for its shorter folds); a quick build takes [quick] synth_limit."""
    from maskgate import contract, evaluate, operating_point, train
    from maskgate.data import sources
    from maskgate.data.importer import run_import
    from maskgate.quantize import quantize_with

    started = time.time()
    out_dir = Path(out_dir)
    data_dir = Path(data_dir) if data_dir else None
    train_values = dict(config["train"])
    quick_values = dict(config["quick"])
    quick_limit = quick_values.pop("synth_limit", None)
    synth_limit = quick_limit if quick else synth_limit
    if quick:
        train_values.update(quick_values)
    cfg = train.TrainConfig.from_dict(train_values)
    timings = {}

    console.rule("[bold]1/4 import")
    t = time.time()
    d = config["data"]
    got = sources.gather(config, data_dir)
    imported = run_import(
        got.import_specs(), out_dir / "data", label_map=d["label_map"] or None,
        holdout_source=d["holdout_source"] or None, seed=d["seed"], val_fraction=d["val_fraction"],
        test_fraction=d["test_fraction"], crop_faces=d["crop_faces"],
    )
    sources.check_enough(imported.rows, contract.labels_for(cfg.num_classes), got)
    manifest = imported.manifest
    face_stage = face_stage_sources(config)
    train_manifest = drop_faceless_training_rows(Path(manifest), face_stage) if face_stage else manifest
    if d["synth_masks"]:
        from maskgate.data.synth_masks import synth_masks

        # masked twins of bare faces: the unmasked class then cannot be told apart by framing
        # or by the look of one source (face-mask-12k's bare faces all come from CelebA)
        train_manifest = synth_masks(train_manifest, out_dir / "synth", seed=d["seed"], splits=tuple(d["synth_splits"]),
                                     limit=synth_limit)
    timings["import_s"] = round(time.time() - t, 1)

    console.rule(f"[bold]2/4 train {cfg.arch}")
    t = time.time()
    run_dir = train.train(train_manifest, out_dir / "run", cfg)
    timings["train_s"] = round(time.time() - t, 1)

    console.rule("[bold]3/4 quantize")
    t = time.time()
    model_manifest = quantize_with(run_dir, config["quantize"], train_manifest)
    timings["quantize_s"] = round(time.time() - t, 1)

    console.rule("[bold]4/4 evaluate")
    t = time.time()
    op = config["operating_point"]
    if op["max_false_open"]:
        # the threshold for false opens, on the validation split (real and synthetic masks), never test
        hysteresis = operating_point.firmware_hysteresis() if op["hysteresis"] == -1 else op["hysteresis"]
        chosen = operating_point.choose_on_manifest(
            (run_dir / bundle.INT8_FILE).read_bytes(), train_manifest, model_manifest["contract"]["labels"],
            op["max_false_open"], hysteresis, config["quantize"]["threshold"])
        model_manifest = operating_point.apply_to_bundle(run_dir, chosen)
        console.print(f"operating point: max_false_open {op['max_false_open']} -> threshold {chosen['threshold']}")
    # the imported test split only (no synthetic pictures), then the sources never trained on
    specs = [f"{manifest}:test"] + [str(s.path) for s in got.unseen]
    result = evaluate.evaluate(run_dir, specs, out_dir / "eval", micro_sample=config["evaluate"]["micro_sample"],
                               camera_crop=config["evaluate"]["camera_crop"], face_stage_sources=face_stage,
                               door=dict(config["walkup"]) if config["evaluate"].get("door") else None)
    timings["evaluate_s"] = round(time.time() - t, 1)
    timings["total_s"] = round(time.time() - started, 1)

    summary = {
        "config": config.get("path", "(defaults)"),
        "quick": quick,
        "maskgate_version": __version__,
        "model_dir": str(run_dir),
        "model": {k: model_manifest[k] for k in ("bytes", "gzip_bytes", "params", "macs", "arena_bytes", "arena_bytes_board", "sha256")},
        "float_bytes": result["float_bytes"],
        "estimate": model_manifest["estimate"],
        "accuracy": {s["name"]: {"float": s["float"]["accuracy"], "int8": s["int8"]["accuracy"], "images": s["images"]} for s in result["datasets"]},
        "tflite_micro": result.get("tflite_micro"),
        "threshold": model_manifest["contract"]["threshold"],
        "operating_point": model_manifest.get("operating_point"),
        "door": {s["name"]: {"threshold": s["door"]["at"][0]["threshold"], "overall": s["door"]["at"][0]["overall"],
                             "per_source": s["door"]["at"][0]["per_source"]} for s in result["datasets"]},
        "face_stage_sources": face_stage,
        "walkup": result["walkup"]["summary"] if result.get("walkup") else None,
        "synth_limit": synth_limit,
        "timings": timings,
        "cpu_cores": host_cpu.cores(),
        "data": sources.summary(got, imported.rows),
    }
    write_json(out_dir / "build.json", summary)
    write_text(out_dir / "build.md", build_markdown(summary))
    return summary


def build_markdown(s: dict) -> str:
    m, e = s["model"], s["estimate"]
    rows = [
        ["int8 .tflite", f"{m['bytes'] / 1024:.1f} KB ({m['bytes']} B; gzip {m['gzip_bytes'] / 1024:.1f} KB)"],
        ["float .tflite", f"{(s['float_bytes'] or 0) / 1024:.1f} KB"],
        ["parameters", f"{m['params']:,}"],
        ["MACs / inference", f"{m['macs']:,}"],
        ["tflite-micro arena (host, exact)", f"{m['arena_bytes']:,} B"],
        ["arena on the board (+CMSIS-NN scratch, align16 + 512)", f"{m['arena_bytes_board']:,} B"],
        ["model + board arena", f"{(m['bytes'] + m['arena_bytes_board']) / 1024:.1f} KB"],
        [f"estimated M7 latency (estimate, {e['cycles_per_mac']['low']}–{e['cycles_per_mac']['high']} cycles/MAC)",
         f"{e['latency_ms']['low']:.2f}–{e['latency_ms']['high']:.2f} ms (typical {e['latency_ms']['typical']:.2f} ms, "
         f"{e['fps']['typical']:.0f} inferences/s)"],
    ]
    rows += [[f"accuracy {name} ({a['images']} images)", f"float {a['float'] * 100:.2f} %, int8 {a['int8'] * 100:.2f} %"]
             for name, a in s["accuracy"].items()]
    rows.append(["threshold on P(mask)", f"{s['threshold']:g}"
                 + (f" (max_false_open {s['operating_point']['max_false_open']:g} on validation)" if s.get("operating_point") else "")])
    rows += [[f"door, {name}, {src}", f"false opens {door_report.fmt_rate(r['false_open'])}, "
                                      f"false denies {door_report.fmt_rate(r['false_deny'])}"]
             for name, d in s.get("door", {}).items() for src, r in d["per_source"].items()]
    rows.append(["wall time", f"{s['timings']['total_s']:.0f} s "
                              f"({', '.join(f'{k} {v}' for k, v in s['timings'].items() if k != 'total_s')})"])
    lines = [f"# maskgate build ({'quick' if s['quick'] else 'full'}) — {s['config']}", "",
             table(["figure", "value"], rows)]
    if "data" in s:
        from maskgate.data.sources import markdown

        lines += markdown(s["data"])
    return "\n".join(lines) + "\n"
