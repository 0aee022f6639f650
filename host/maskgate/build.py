"""`maskgate build`: import -> train -> quantize -> evaluate from one config file.

Data is found before it is fetched: with `--data DIR` each source named in the config is looked
for as DIR itself (when DIR carries its name), DIR/NAME or a sibling DIR/../NAME; anything not
found is downloaded into [data].fetch_to. A training source that cannot be had stops the build;
an evaluation-only source that cannot be had is skipped with a warning.
"""
from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console

from maskgate import __version__
from maskgate.atomic import write_json, write_text
from maskgate.errors import DataError, FetchError

console = Console(stderr=True)


def locate(name: str, data_dir: Path | None) -> Path | None:
    if data_dir is None:
        return None
    for candidate in (data_dir if data_dir.name == name else None, data_dir / name, data_dir.parent / name):
        if candidate is not None and candidate.is_dir():
            return candidate
    return None


def find_or_fetch(name: str, data_dir: Path | None, fetch_to: Path) -> Path:
    found = locate(name, data_dir) or locate(name, fetch_to)
    if found:
        return found
    from maskgate.data.fetch import fetch

    console.print(f"[bold]{name}[/] not found locally: fetching into {fetch_to}")
    return fetch([name], fetch_to)[name]


def training_sources(config: dict, data_dir: Path | None) -> list[str]:
    """NAME=PATH specs for the importer. A --data folder that is none of the configured sources
    is the user's own dataset and is used as the only training source."""
    names = config["data"]["sources"]
    fetch_to = Path(config["data"]["fetch_to"])
    if data_dir is not None and not any(locate(n, data_dir) for n in names):
        return [f"{data_dir.resolve().name}={data_dir}"]
    return [f"{n}={find_or_fetch(n, data_dir, fetch_to)}" for n in names]


def evaluation_sources(config: dict, data_dir: Path | None) -> list[Path]:
    fetch_to = Path(config["data"]["fetch_to"])
    found = []
    for name in config["evaluate"]["sources"]:
        try:
            found.append(find_or_fetch(name, data_dir, fetch_to))
        except (FetchError, DataError) as e:
            console.print(f"[yellow]warning:[/] evaluation source {name} skipped: {e}")
    return found


def build(config: dict, out_dir, data_dir=None, quick: bool = False) -> dict:
    from maskgate import evaluate, train
    from maskgate.data.importer import import_sources
    from maskgate.optimize.quantize import quantize_run

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
    manifest = import_sources(
        training_sources(config, data_dir), out_dir / "data", label_map=d["label_map"] or None,
        holdout_source=d["holdout_source"] or None, seed=d["seed"], val_fraction=d["val_fraction"],
        test_fraction=d["test_fraction"], crop_faces=d["crop_faces"],
    )
    train_manifest = manifest
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
    q = config["quantize"]
    model_manifest = quantize_run(
        run_dir, train_manifest, model_max_bytes=int(q["model_max_kb"] * 1024), heap_bytes=int(q["heap_kb"] * 1024),
        threshold=q["threshold"], calibration_images=q["calibration_images"],
    )
    timings["quantize_s"] = round(time.time() - t, 1)

    console.rule("[bold]4/4 evaluate")
    t = time.time()
    # the imported test split only (no synthetic pictures), then the sources never trained on
    specs = [f"{manifest}:test"] + [str(p) for p in evaluation_sources(config, data_dir)]
    result = evaluate.evaluate(run_dir, specs, out_dir / "eval", camera_crop=config["evaluate"]["camera_crop"])
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
    }
    write_json(out_dir / "build.json", summary)
    write_text(out_dir / "build.md", build_markdown(summary))
    return summary


def build_markdown(s: dict) -> str:
    m, e = s["model"], s["estimate"]
    lines = [
        f"# maskgate build ({'quick' if s['quick'] else 'full'}) — {s['config']}",
        "",
        "| figure | value |",
        "|---|---|",
        f"| int8 .tflite | {m['bytes'] / 1024:.1f} KB ({m['bytes']} B; gzip {m['gzip_bytes'] / 1024:.1f} KB) |",
        f"| float .tflite | {(s['float_bytes'] or 0) / 1024:.1f} KB |",
        f"| parameters | {m['params']:,} |",
        f"| MACs / inference | {m['macs']:,} |",
        f"| tflite-micro arena (host, exact) | {m['arena_bytes']:,} B |",
        f"| arena on the board (+CMSIS-NN scratch, align16 + 512) | {m['arena_bytes_board']:,} B |",
        f"| model + board arena | {(m['bytes'] + m['arena_bytes_board']) / 1024:.1f} KB |",
        f"| estimated M7 latency (estimate, {e['cycles_per_mac']['low']}–{e['cycles_per_mac']['high']} cycles/MAC) | "
        f"{e['latency_ms']['low']:.2f}–{e['latency_ms']['high']:.2f} ms (typical {e['latency_ms']['typical']:.2f} ms, "
        f"{e['fps']['typical']:.0f} inferences/s) |",
    ]
    for name, a in s["accuracy"].items():
        lines.append(f"| accuracy {name} ({a['images']} images) | float {a['float'] * 100:.2f} %, int8 {a['int8'] * 100:.2f} % |")
    lines.append(f"| wall time | {s['timings']['total_s']:.0f} s ({', '.join(f'{k} {v}' for k, v in s['timings'].items() if k != 'total_s')}) |")
    return "\n".join(lines) + "\n"
