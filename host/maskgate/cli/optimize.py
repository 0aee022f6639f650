"""CLI commands: optimize (one compression technique on a run) and compare (the table)."""
import shlex
import sys
from pathlib import Path

import click

from maskgate import keyvalue
from maskgate.optimize import METHODS
from maskgate.optimize.options import FINETUNE_EPOCHS, OptimizeOptions as Defaults

from . import ranges
from .model import CONFIG_HELP, LIBTFLM_HELP, check_arch, use_libtflm


def _method(ctx, param, value):
    name = value.replace("-", "_").lower()
    if name not in METHODS:
        raise click.BadParameter(f"{value!r}; choose from {', '.join(m.replace('_', '-') for m in METHODS)}")
    return name


def _floats(ctx, param, text):
    if text is None:
        return None
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a comma-separated list of numbers")
    if not values or not all(0 <= v < 1 for v in values):
        raise click.BadParameter(f"{text!r}: each ratio must be in [0, 1)")
    return values


def _check_teacher(spec: str, option: str = "--teacher") -> None:
    """A teacher that is not a RUN folder is ARCH[:key=value,...] of a known architecture."""
    if not Path(spec).is_dir():
        check_arch(*keyvalue.parse_spec(spec, option), option)


@click.command()
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.option("--method", "-m", required=True, callback=_method, metavar="METHOD",
              help="prune, channel-prune, cluster, qat, pqat, cqat, pcqat, distill or dynamic.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="New run folder to write (required).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP.format(section="optimize"))
@click.option("--epochs", type=click.IntRange(1), help=f"Fine-tuning epochs per stage (default {FINETUNE_EPOCHS}; distill: the run's epochs).")
@click.option("--learning-rate", type=ranges.FloatRange(0, min_open=True), help="Default: a tenth of the run's (the run's for a distilled student).")
@click.option("--sparsity", type=ranges.FloatRange(0, 1, max_open=True), help="prune/pqat/pcqat: share of weights zeroed; channel-prune: share of "
              f"channels removed (default {Defaults.sparsity}).")
@click.option("--clusters", type=click.IntRange(2), help=f"cluster/cqat/pcqat: values per kernel (default {Defaults.clusters}).")
@click.option("--temperature", type=ranges.FloatRange(0, min_open=True), help=f"distill: softening temperature T (default {Defaults.temperature}).")
@click.option("--alpha", type=ranges.FloatRange(0, 1), help=f"distill: weight of the label loss (default {Defaults.alpha}).")
@click.option("--teacher", help="distill: a RUN folder, or ARCH[:key=value,...] trained here first "
              f"(e.g. mobilenet_v2:alpha=0.35; default {Defaults.teacher}).")
@click.option("--teacher-weights", type=click.Path(exists=True, dir_okay=False),
              help="distill: weights file for the teacher architecture (e.g. ImageNet no-top .h5 you have).")
@click.option("--teacher-epochs", type=click.IntRange(1), help="distill: teacher training epochs (default: as --epochs, else the run's epochs).")
@click.option("--student", type=click.Choice(["scratch", "run"]),
              help=f"distill: a fresh student of the run's architecture, or the run's own weights (default {Defaults.student}).")
@click.option("--sweep", callback=_floats, help="prune/channel-prune: one-shot pruning ratios for the seed 002 tables "
              f"(default {','.join(str(v) for v in Defaults.sweep)}).")
@click.option("--max-train", type=click.IntRange(1), help="Fine-tune on a seeded subset of this many training images.")
@click.option("--eval", "eval_specs", multiple=True,
              help="Extra DATA to evaluate on (import folder, manifest.csv[:split] or dataset folder); repeatable.")
@click.option("--seed", type=click.IntRange(0), help="Default: the run's seed.")
@click.option("--overwrite", is_flag=True, help="Replace a run already in OUT.")
def optimize(run, method, out_dir, config_file, epochs, learning_rate, sparsity, clusters, temperature, alpha, teacher,
             teacher_weights, teacher_epochs, student, sweep, max_train, eval_specs, seed, overwrite):
    """Apply one compression technique to RUN and write a new, evaluated model bundle to OUT.

    The result goes through the same int8 export, budget gate (exit code 4 when it does not
    fit) and evaluation as `maskgate quantize` / `evaluate`; OUT/report.md has the per-step
    tables (pruning ratios like seed 002's Tables 1-2, sparsity and clusters reached)."""
    from maskgate import bundle, out_folder, run_folder
    from maskgate.config import settings

    if Path(run).resolve() == Path(out_dir).resolve():
        raise click.BadParameter("OUT must be a new folder, not RUN itself", param_hint="--out")
    run_folder.record(run)  # RUN is a run folder (a readable config.json) before anything loads
    stale = out_folder.check_new(out_dir, run_folder.WRITTEN + bundle.FILES + ("report.md", "optimize.json", "eval"),
                                 "--out", overwrite)

    if teacher:
        _check_teacher(teacher)
    chosen = settings("optimize", config_file, epochs=epochs, learning_rate=learning_rate, sparsity=sparsity,
                      clusters=clusters, temperature=temperature, alpha=alpha, teacher=teacher,
                      teacher_weights=teacher_weights, teacher_epochs=teacher_epochs, student=student, sweep=sweep,
                      max_train=max_train, eval=tuple(eval_specs) or None, seed=seed)
    from maskgate.optimize.run import optimize_run  # TensorFlow: after every check above

    out_folder.clear(stale)
    s = optimize_run(run, method, out_dir, Defaults.from_dict(chosen))
    f = s["figures"]
    click.echo(f"{s['method']}: int8 {f['bytes'] / 1024:.1f} KB (gzip {f['gzip_bytes'] / 1024:.1f} KB), "
               f"{f['params']:,} params, {f['macs']:,} MACs; gate {'ok' if s['budget_ok'] else 'refused'}")
    for d in s["datasets"]:
        acc = lambda v: "–" if v is None else f"{v * 100:.2f} %"  # noqa: E731
        click.echo(f"  {d['name']}: float {acc(d['float_accuracy'])}, int8 {acc(d['int8_accuracy'])} ({d['images']} images)")
    click.echo(f"report: {out_dir}/report.md")


@click.command()
@click.option("--data", required=True,
              help="Import folder (holding manifest.csv) or manifest.csv of the training data (required).")
@click.option("--out", "out_dir", default="runs/compare", show_default=True, type=click.Path(file_okay=False),
              help="Working folder for runs, models and evaluations (large).")
@click.option("--results", "results_dir", default="bench/results", show_default=True, type=click.Path(file_okay=False),
              help="Where compare.md, compare.png and compare.json go.")
@click.option("--archs", help="Comma-separated architectures (ARCH or ARCH:key=value;...). Default: all baselines.")
@click.option("--methods", help="Comma-separated methods; 'none' for baselines only. Default: all.")
@click.option("--method-archs", help="Architectures the methods run on (default: the first of --archs).")
@click.option("--epochs", type=click.IntRange(1), help="Training epochs per architecture (default 8; --quick 1).")
@click.option("--finetune-epochs", type=click.IntRange(1), help="Epochs per optimize stage (default 2; --quick 1).")
@click.option("--max-train", type=click.IntRange(0), help="Training images per architecture (default 3000; --quick 256; 0 = all).")
@click.option("--teacher", help="distill teacher: 'best' (default: the most accurate other architecture compared), "
              "one of --archs (its run is reused), another ARCH[:k=v;...] or a RUN folder.")
@click.option("--unseen", help="Source never trained on (default ../shared/datasets/face-mask-chandrikadeb7; '' to skip).")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0))
@click.option("--quick", is_flag=True, help="A reduced grid for CI: 2 architectures, tiny subsets, 1 epoch.")
@click.option("--libtflm", type=click.Path(file_okay=False), help=LIBTFLM_HELP)
def compare(data, out_dir, results_dir, archs, methods, method_archs, epochs, finetune_epochs, max_train, teacher,
            unseen, seed, quick, libtflm):
    """Train (or reload) architectures, apply compression methods, and write one Markdown table
    and an accuracy-vs-size plot (Pareto front marked) with the command and wall time."""
    from maskgate.compare import CompareConfig, compare as run_compare

    use_libtflm(libtflm)
    overrides = {"seed": seed}
    if archs:
        overrides["archs"] = tuple(keyvalue.split_specs(archs))
        for spec in overrides["archs"]:
            check_arch(*keyvalue.parse_spec(spec, "--archs"), "--archs")
    if methods:
        names = tuple(m.strip().replace("-", "_") for m in methods.split(",") if m.strip())
        unknown = [m for m in names if m not in METHODS and m != "none"]
        if unknown:
            raise click.BadParameter(f"unknown method(s) {', '.join(unknown)}; known: {', '.join(METHODS)}")
        overrides["methods"] = tuple(m for m in names if m != "none")
    if method_archs:
        overrides["method_archs"] = tuple(keyvalue.split_specs(method_archs))
        for spec in overrides["method_archs"]:
            check_arch(*keyvalue.parse_spec(spec, "--method-archs"), "--method-archs")
    if epochs is not None:
        overrides["epochs"] = epochs
    if finetune_epochs is not None:
        overrides["finetune_epochs"] = finetune_epochs
    if max_train is not None:
        overrides["max_train"] = max_train or None
    if unseen is not None:
        overrides["unseen"] = unseen or None
    if teacher:
        if teacher != "best" and teacher not in overrides.get("archs", ()):
            _check_teacher(teacher)
        overrides["teacher"] = teacher
    cfg = CompareConfig.quick(**overrides) if quick else CompareConfig(**overrides)
    command = "maskgate " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    result = run_compare(data, out_dir, results_dir, cfg, command=command)
    click.echo(f"{len(result['rows'])} rows in {result['wall_seconds'] / 60:.1f} min; "
               f"wrote {results_dir}/compare.md, compare.png, compare.json")


COMMANDS = [optimize, compare]
