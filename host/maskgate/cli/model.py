"""CLI commands: train, quantize, info, evaluate, build, ship."""
import json
import os
from pathlib import Path

import click

from maskgate import budget, keyvalue

from . import ranges

CONFIG_HELP = ("Build config (TOML), e.g. configs/default.toml: its [{section}] settings, for every option not "
               "given here (options over the file over the defaults).")


def _manifest_path(data: str) -> Path:
    p = Path(data)
    return p / "manifest.csv" if p.is_dir() else p


def _hysteresis(value):
    """--hysteresis: the firmware's door.hysteresis range, [0, 0.5), or -1 for its default."""
    if value is not None and value != -1 and not 0 <= value < 0.5:
        raise click.BadParameter(f"{value:g} is not in [0, 0.5) (or -1: the firmware's default)", param_hint="--hysteresis")
    return None if value == -1 else value


def check_arch(arch: str, options: dict, option: str, options_option: str | None = None) -> None:
    """An architecture name and its options as `nets` knows them (a typo is named: exit 2)."""
    from maskgate import nets

    keyvalue.check_keys([arch], nets.names(), option, "architecture")
    keyvalue.check_keys(options, nets.options(arch), options_option or option, f"option of {arch}")


LIBTFLM_HELP = ("Checkout of github.com/openmv/libtflm: count the M7 instructions on the emulated Cortex-M7 "
                "(default: $MASKGATE_LIBTFLM; needs arm-none-eabi-g++ and qemu-system-arm).")


def use_libtflm(path) -> None:
    """--libtflm DIR: checked now (a wrong folder is an error, exit 7), then found by every
    measurement below through the environment."""
    if path:
        from maskgate.m7 import toolchain

        toolchain.find_libtflm(path)
        os.environ[toolchain.LIBTFLM_ENV] = str(Path(path).resolve())


@click.command()
@click.option("--data", required=True, help="Import folder (holding manifest.csv) or a manifest.csv from `maskgate data import`.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Run folder to create.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP.format(section="train"))
@click.option("--arch", help="Architecture name (see `maskgate info --archs`). Default: tinycnn.")
@click.option("--arch-option", multiple=True, help="Architecture option key=value, e.g. width=0.5 (repeatable).")
@click.option("--classes", type=click.Choice(["2", "3"]), help="2: mask / no_mask; 3: adds mask worn incorrectly.")
@click.option("--epochs", type=click.IntRange(1))
@click.option("--batch-size", type=click.IntRange(1))
@click.option("--label-smoothing", type=ranges.FloatRange(0, 1, max_open=True))
@click.option("--lr-schedule", type=click.Choice(["plateau", "cosine"]),
              help="plateau: x0.2 after 5 epochs without val gain (the paper's); cosine: decay to ~0 by the last epoch.")
@click.option("--swa-start", type=click.IntRange(1), help="Ship the mean of the weights after this epoch (1-based) through the last, "
              "batch norm recomputed (stochastic weight averaging); the best checkpoint is kept as model-best.keras.")
@click.option("--max-train", type=click.IntRange(1), help="Train on a seeded random subset of this many images.")
@click.option("--no-augment", is_flag=True, help="Train on the plain contract inputs.")
@click.option("--seed", type=click.IntRange(0))
@click.option("--overwrite", is_flag=True, help="Replace a run already in OUT (its model bundle and evaluation go with it).")
def train(data, out_dir, config_file, arch, arch_option, classes, epochs, batch_size, label_smoothing, lr_schedule, swa_start, max_train, no_augment, seed, overwrite):
    """Train a model on the train split and keep the best checkpoint on the val split.

    OUT must not hold a run already (--overwrite replaces it whole: a new model.keras never
    sits beside the int8 model and manifest of the old one)."""
    from maskgate import bundle, contract, out_folder, run_folder
    from maskgate.config import settings
    from maskgate.data.manifest import check_for_training
    from maskgate.train_config import TrainConfig

    arch_options = keyvalue.parse(arch_option, "--arch-option")
    stale = out_folder.check_new(out_dir, run_folder.WRITTEN + bundle.FILES + ("eval",), "--out", overwrite)
    values = settings("train", config_file, arch=arch, num_classes=int(classes) if classes else None, epochs=epochs,
                      batch_size=batch_size, label_smoothing=label_smoothing, lr_schedule=lr_schedule,
                      swa_start=swa_start, max_train=max_train, seed=seed, arch_options=arch_options or None,
                      augment=False if no_augment else None)
    if arch or arch_options:  # what a config file says is checked when the model is built
        check_arch(values.get("arch", TrainConfig.arch), arch_options, "--arch", "--arch-option")
    cfg = TrainConfig.from_dict(values)
    check_for_training(_manifest_path(data), contract.labels_for(cfg.num_classes))
    if stale:
        click.echo(f"--overwrite: replacing {', '.join(p.name for p in stale)} in {out_dir}", err=True)
        out_folder.clear(stale)
    from maskgate.train import train as run_training

    run = run_training(_manifest_path(data), out_dir, cfg)
    summary = run_folder.record(run)
    click.echo(f"best val accuracy {summary['best_val_accuracy'] * 100:.2f} % after {summary['epochs_run']} epochs "
               f"({summary['seconds_per_epoch']} s/epoch); model in {run_folder.model_file(run)}")


@click.command()
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.option("--data", help="Manifest for calibration images (default: the one the run was trained on).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP.format(section="quantize"))
@click.option("--max-model-kb", type=ranges.FloatRange(0, min_open=True),
              help=f"Refuse int8 models larger than this. Default: [quantize] model_max_kb ({budget.MODEL_MAX_BYTES // 1024}).")
@click.option("--heap-kb", type=ranges.FloatRange(0),
              help=f"A cap of the build's own on model + arena (0: none). Default: [quantize] heap_kb "
                   f"({budget.HEAP_BYTES // 1024}). The board's memory on every supported OpenMV release "
                   "(heap blocks, arena rounding; `maskgate info`) is checked in any case.")
@click.option("--threshold", type=ranges.FloatRange(0, 1, min_open=True, max_open=True), help="Decision threshold on P(mask). Default: [quantize] threshold (0.5).")
@click.option("--calibration-images", type=click.IntRange(1), help="Default: [quantize] calibration_images (300).")
@click.option("--libtflm", type=click.Path(file_okay=False), help=LIBTFLM_HELP)
@click.option("--overwrite", is_flag=True, help="Replace a model bundle RUN already holds.")
def quantize(run, data, config_file, max_model_kb, heap_kb, threshold, calibration_images, libtflm, overwrite):
    """Full-integer int8 quantization of RUN's model, gated on the board's memory on every
    supported OpenMV release.

    Writes the model bundle into RUN (maskgate_int8.tflite, maskgate_float.tflite, labels.txt,
    manifest.json); exits with code 4 (and writes nothing) when the model would not fit the board."""
    from maskgate import bundle
    from maskgate.config import settings
    from maskgate.quantize import quantize_with

    from maskgate import out_folder

    out_folder.check_new(run, (bundle.MANIFEST_FILE,), "RUN", overwrite)
    use_libtflm(libtflm)
    limits = settings("quantize", config_file, model_max_kb=max_model_kb, heap_kb=heap_kb, threshold=threshold,
                      calibration_images=calibration_images)
    manifest = quantize_with(run, limits, _manifest_path(data) if data else None)
    _print_figures(manifest)
    click.echo(f"wrote {Path(run) / bundle.INT8_FILE} and {bundle.MANIFEST_FILE}")


def _release_rows(f: dict) -> list[tuple[str, str]]:
    """One row per OpenMV release: does it fit, where the model and arena go, what is left."""
    rows = []
    for release, p in f["budget"].get("releases", {}).items():
        where = f"model in {p['model_in'] or '-'}, arena {p['arena_bytes'] / 1024:.1f} KB in {p['arena_in']}"
        verdict = f"fits ({where}; {p['largest_free_after'] / 1024:.1f} KB left in one block)" if p["ok"] \
            else "DOES NOT FIT: " + "; ".join(p["problems"])
        rows.append((f"  on OpenMV {release}", verdict))
    return rows


def _latency_rows(f: dict) -> list[tuple[str, str]]:
    """Measured instructions and the band they give, or the MACs estimate marked as weaker."""
    e, m7 = f["estimate"], f.get("m7") or {}
    mac_row = (f"{e['latency_ms']['low']:.2f}–{e['latency_ms']['high']:.2f} ms "
               f"(typical {e['latency_ms']['typical']:.2f} ms at {e['cycles_per_mac']['typical']} cycles/MAC, 480 MHz)")
    if m7.get("kind") != "measured":
        why = m7.get("reason", "not measured")
        return [("M7 instructions", f"not counted: {why}"),
                ("M7 latency (ESTIMATE from MACs, the weaker figure)", mac_row),
                ("M7 inferences/s (ESTIMATE from MACs)", f"{e['fps']['high']:.0f}–{e['fps']['low']:.0f}")]
    lat, lib = m7["latency"], m7["library"]
    cpi = lat["cycles_per_instruction"]
    rev = (lib["revision"] or "unknown revision")[:12]
    return [
        ("M7 instructions / inference", f"{m7['instructions']:,} (counted on the emulated Cortex-M7; "
                                         f"{m7['instructions_min']:,}–{m7['instructions']:,} over {m7['inputs']} inputs)"),
        ("  library, check", f"openmv/libtflm {rev}; outputs identical to tflite-micro on {m7['check']['identical']}"
                             f"/{m7['check']['inputs']} inputs"),
        ("  per MAC, no-MAC layers", f"{m7['instructions_per_mac']} instructions/MAC; {m7['no_mac_share'] * 100:.1f} % "
                                     "in layers with no MACs"),
        ("M7 latency (ESTIMATE)", f"{lat['latency_ms']['floor']:.2f}–{lat['latency_ms']['high']:.2f} ms at "
                                  f"{cpi['floor']}–{cpi['high']} cycles/instruction (floor: 2 per cycle, dual issue), "
                                  f"typical {lat['latency_ms']['typical']:.2f} ms at {cpi['typical']}, 480 MHz"),
        ("M7 inferences/s (ESTIMATE)", f"{lat['fps']['high']:.0f}–{lat['fps']['floor']:.0f}"),
        ("MACs estimate (weaker)", mac_row),
    ]


def _print_figures(f: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="model figures", show_header=False)
    rows = [
        ("int8 size", f"{f['bytes'] / 1024:.1f} KB ({f['bytes']:,} B), gzip {f['gzip_bytes'] / 1024:.1f} KB"),
        ("parameters", f"{f['params']:,}"),
        ("MACs / inference", f"{f['macs']:,}"),
        ("tflite-micro arena (host, exact)", f"{f['arena_bytes']:,} B"),
        ("arena on the board", f"{f['arena_bytes_board']:,} B"),
        ("model + board arena", f"{f['budget']['model_plus_arena_bytes'] / 1024:.1f} KB"
                                 + (f" (cap {f['budget']['heap_bytes'] / 1024:.0f} KB)" if f["budget"].get("heap_bytes") else "")
                                 + (" ok" if f["budget"]["ok"] else " OVER BUDGET")),
        *_release_rows(f),
        *_latency_rows(f),
        ("sha256", f["sha256"]),
    ]
    for k, v in rows:
        table.add_row(k, v)
    Console().print(table)


@click.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False), required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option("--layers", is_flag=True, help="Also list MACs per operator.")
@click.option("--archs", is_flag=True, help="List the registered architectures and exit.")
@click.option("--libtflm", type=click.Path(file_okay=False), help=LIBTFLM_HELP)
def info(model, as_json, layers, archs, libtflm):
    """Size, parameters, MACs, exact tflite-micro arena, M7 instructions (emulated, when the
    toolchain and libtflm are there) and estimated M7 latency of any .tflite."""
    if archs:
        from maskgate import nets

        click.echo("\n".join(nets.names()))
        return
    if not model:
        raise click.UsageError("give a MODEL.tflite (or --archs)")
    use_libtflm(libtflm)
    from maskgate import bundle

    figures = budget.model_figures(bundle.read_tflite(model), emulate=True)
    if as_json:
        if not layers:
            figures = {k: v for k, v in figures.items() if k != "layers"}
            figures.get("m7", {}).pop("layers", None)
        click.echo(json.dumps(figures, indent=2))
        return
    _print_figures(figures)
    if layers:
        _print_layers(figures)


def _print_layers(figures: dict) -> None:
    counted = "instructions" in figures["layers"][0] if figures["layers"] else False
    head = f"{'op':<20} {'output':<20} {'MACs':>10}"
    click.echo(head + (f" {'instructions':>13} {'per MAC':>8} {'share':>7}" if counted else ""))
    for row in figures["layers"]:
        line = f"{row['op']:<20} {str(tuple(row['output'])):<20} {row['macs']:>10,}"
        if counted:
            n = row["instructions"]
            per_mac = f"{n / row['macs']:.2f}" if row["macs"] else "–"
            line += f" {n:>13,} {per_mac:>8} {n / figures['m7']['instructions'] * 100:>6.1f}%"
        click.echo(line)
    if counted:
        click.echo(f"{'interpreter (between ops)':<41} {'':>10} {figures['m7']['interpreter_instructions']:>13,}")


def _walkup_runner():
    """The board side's walk-up runner, which the host's evaluate and build are handed."""
    from maskgate.board.walkup import evaluate_door

    return evaluate_door


@click.command()
@click.argument("model", type=click.Path(exists=True))
@click.argument("data", nargs=-1, required=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Where plots and report.md go (default MODEL_DIR/eval).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP.format(section="evaluate"))
@click.option("--micro-sample", type=click.IntRange(0),
              help="Images also run through tflite-micro (0 to skip). Default: [evaluate] micro_sample (200).")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON on stdout.")
@click.option("--camera-crop/--no-camera-crop", default=None,
              help="Also evaluate each dataset folder framed as the camera frames it: the firmware's face box "
                   "(Haar frontal, else from an eye pair) plus the contract's margin; no face found keeps the door closed. "
                   "Default: [evaluate] camera_crop (off).")
@click.option("--face-stage-source", "face_stage", multiple=True,
              help="A source of a manifest imported with the face stage (crop_faces): its pictures without a face "
                   "box keep the door closed (repeatable).")
@click.option("--max-false-open", type=ranges.FloatRange(0, 1, max_open=True),
              help="Also judge the door at the threshold this share of false opens picks on --choose-on's val split.")
@click.option("--choose-on", help="Import folder or manifest.csv whose val split --max-false-open chooses on (never test).")
@click.option("--hysteresis", type=ranges.Finite(), callback=lambda c, p, v: _hysteresis(v), help="Door hysteresis the choice accounts for (default: the firmware's).")
@click.option("--door", is_flag=True, help="Also run walk-up sequences made from DATA's pictures through the firmware "
              "on the virtual board (synthetic; OUT/walkup/).")
@click.option("--visits", default=1000, show_default=True, type=click.IntRange(1), help="--door: visits per label.")
@click.option("--empty-frames", default=10000, show_default=True, type=click.IntRange(0), help="--door: empty-scene frames.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0), help="--door: the walk-ups' seed.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1), help="--door: worker processes.")
@click.option("--scenes", type=click.Path(exists=True, file_okay=False),
              help="--door: datasets folder holding face-mask-rwmfd/ for scene backgrounds (default: found beside DATA).")
def evaluate(model, data, out_dir, config_file, micro_sample, as_json, camera_crop, face_stage, max_false_open, choose_on, hysteresis,
             door, visits, empty_frames, seed, workers, scenes):
    """Float vs int8 on each DATA: accuracy, per-class P/R/F1, confusion, ROC AUC, per source;
    and as a door: false opens and false denies per source and group, with 95 % intervals.

    MODEL is maskgate_int8.tflite or its folder. DATA is an import folder or manifest.csv
    (optionally :train|:val|:test, default test) or a dataset folder in any known layout, which is
    imported on the fly and evaluated whole."""
    from maskgate.config import settings
    from maskgate.evaluate import evaluate as run_evaluation

    if (max_false_open is None) != (choose_on is None):
        raise click.UsageError("--max-false-open and --choose-on go together")
    chosen = settings("evaluate", config_file, micro_sample=micro_sample, camera_crop=camera_crop)
    model_path = Path(model)
    out = Path(out_dir) if out_dir else (model_path if model_path.is_dir() else model_path.parent) / "eval"
    result = run_evaluation(model_path, list(data), out, micro_sample=chosen["micro_sample"],
                            camera_crop=chosen["camera_crop"],
                            face_stage_sources=tuple(face_stage), max_false_open=max_false_open,
                            choose_on=choose_on, hysteresis=hysteresis,
                            door={"visits": visits, "empty_frames": empty_frames, "seed": seed, "workers": workers,
                                  "scenes": scenes, "runner": _walkup_runner()} if door else None)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    from maskgate.door_report import fmt_rate

    if "operating_point" in result:
        op = result["operating_point"]
        click.echo(f"operating point: max_false_open {op['max_false_open']:g} -> threshold {op['threshold']:g} "
                   f"(on {op['chosen_on']}; hysteresis {op['hysteresis']:g})")
    for s in result["datasets"]:
        click.echo(f"{s['name']:<40} {s['images']:>6} images  float {s['float']['accuracy'] * 100:6.2f} %  "
                   f"int8 {s['int8']['accuracy'] * 100:6.2f} %  AUC {s['int8']['roc_auc'] or float('nan'):.4f}")
        for at in s["door"]["at"]:
            o = at["overall"]
            click.echo(f"    door at {at['threshold']:g} ({at['name']}): false opens {fmt_rate(o['false_open'])}, "
                       f"false denies {fmt_rate(o['false_deny'])}")
    if "walkup" in result:
        w = result["walkup"]["summary"]
        for label, v in w["visitors"].items():
            click.echo(f"walk-ups, {label} visitors: door opened {fmt_rate(v['all']['opened'])}")
        if w["empty"]:
            click.echo(f"walk-ups, empty scenes: frames that opened the door {fmt_rate(w['empty']['frames_that_opened'])}")
    if "tflite_micro" in result:
        m = result["tflite_micro"]
        click.echo(f"tflite-micro vs LiteRT: {m['identical_outputs'] * 100:.1f} % identical outputs on {m['images']} images")
    click.echo(f"report: {out / 'report.md'}")


@click.command()
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Build config (TOML). Default: the shipped model's recipe (configs/default.toml, installed with the package).")
@click.option("--data", "data_dir", type=click.Path(exists=True, file_okay=False),
              help="Use datasets already here (a source folder or a folder of sources) instead of fetching.")
@click.option("--out", "out_dir", default="runs/build", show_default=True, type=click.Path(file_okay=False))
@click.option("--quick", is_flag=True, help="Subset and few epochs: minutes, to check the chain.")
@click.option("--loso", is_flag=True, help="Leave one source out instead: one build per [loso] source with that source "
              "held out and evaluated on, into OUT/loso/SOURCE/, and the matrix in OUT/loso/loso.md.")
@click.option("--overwrite", is_flag=True, help="Replace a build already in OUT.")
@click.option("--loso-source", "loso_sources", multiple=True, help="With --loso: only these folds (repeatable); "
              "the matrix is made from every fold finished under OUT/loso/.")
def build(config_file, data_dir, out_dir, quick, loso, overwrite, loso_sources):
    """import -> train -> quantize -> evaluate, from one config file."""
    from maskgate.build import build as run_build
    from maskgate.config import load_config

    from maskgate import package_data

    if config_file is None:
        config_file = package_data.config("default")
    if loso_sources and not loso:
        raise click.UsageError("--loso-source needs --loso")
    if loso:
        from maskgate.loso import LOSO_DIR, run_loso

        run_loso(load_config(config_file), out_dir, data_dir, quick, only=loso_sources, door_runner=_walkup_runner())
        click.echo((Path(out_dir) / LOSO_DIR / "loso.md").read_text())
        return
    from maskgate import out_folder

    config = load_config(config_file)
    stale = out_folder.check_new(out_dir, ("build.json", "build.md", "run", "eval", "data", "synth"), "--out", overwrite)
    out_folder.clear(stale)
    summary = run_build(config, out_dir, data_dir, quick, door_runner=_walkup_runner())
    click.echo((Path(out_dir) / "build.md").read_text())
    click.echo(f"model bundle: {summary['model_dir']}")


@click.command()
@click.argument("build_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--to", "to_dir", default="models", show_default=True, type=click.Path(file_okay=False))
@click.option("--command", "command_text", help="The command that produced BUILD_DIR, quoted in the report.")
@click.option("--overwrite", is_flag=True, help="Replace a model bundle TO already holds (e.g. the shipped models/).")
def ship(build_dir, to_dir, command_text, overwrite):
    """Copy a build's model bundle and plots into TO and write TO/report.md (targets, paper tables).

    TO must not hold a model bundle already, unless --overwrite."""
    from maskgate import bundle, out_folder
    from maskgate.ship import ship as run_ship

    out_folder.check_new(to_dir, bundle.FILES + ("report.md",), "--to", overwrite)

    click.echo(f"wrote {run_ship(build_dir, to_dir, command_text)}")


COMMANDS = [train, quantize, info, evaluate, build, ship]
