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

from maskgate import __version__, host_cpu
from maskgate.atomic import write_json, write_text
from maskgate.markdown import table

console = Console(stderr=True)


def build(config: dict, out_dir, data_dir=None, quick: bool = False) -> dict:
    from maskgate import contract, evaluate, train
    from maskgate.data import sources
    from maskgate.data.importer import run_import
    from maskgate.quantize import quantize_with

    started = time.time()
    out_dir = Path(out_dir)
    data_dir = Path(data_dir) if data_dir else None
    train_values = dict(config["train"])
    quick_values = dict(config["quick"])
    synth_limit = quick_values.pop("synth_limit", None) if quick else None
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
    manifest = train_manifest = imported.manifest
    if d["synth_masks"]:
        from maskgate.data.synth_masks import synth_masks

        # masked twins of bare faces: the unmasked class then cannot be told apart by framing
        # or by the look of one source (face-mask-12k's bare faces all come from CelebA)
        train_manifest = synth_masks(manifest, out_dir / "synth", seed=d["seed"], splits=tuple(d["synth_splits"]),
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
    # the imported test split only (no synthetic pictures), then the sources never trained on
    specs = [f"{manifest}:test"] + [str(s.path) for s in got.unseen]
    result = evaluate.evaluate(run_dir, specs, out_dir / "eval", micro_sample=config["evaluate"]["micro_sample"],
                               camera_crop=config["evaluate"]["camera_crop"])
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
    rows.append(["wall time", f"{s['timings']['total_s']:.0f} s "
                              f"({', '.join(f'{k} {v}' for k, v in s['timings'].items() if k != 'total_s')})"])
    lines = [f"# maskgate build ({'quick' if s['quick'] else 'full'}) — {s['config']}", "",
             table(["figure", "value"], rows)]
    if "data" in s:
        from maskgate.data.sources import markdown

        lines += markdown(s["data"])
    return "\n".join(lines) + "\n"
