"""`maskgate optimize RUN --method M`: one compression technique applied to a trained run, with
the result written as a new run folder OUT and put through the same int8 export, budget gate
and evaluation as a normal model.

    prune          tfmot magnitude pruning to --sparsity on a polynomial schedule (+ seed 002 Table 1 sweep)
    channel_prune  L1 channel pruning that removes --sparsity of the channels (+ Table 2 sweep)
    cluster        tfmot weight clustering to --clusters values per kernel (reported with gzip size)
    qat            quantization-aware training
    pqat           prune, then sparsity-preserving QAT
    cqat           cluster, then cluster-preserving QAT
    pcqat          prune, sparsity-preserving clustering, then sparsity- and cluster-preserving QAT
    distill        a student of the run's architecture taught by a teacher trained here
    dynamic        post-training dynamic-range quantization (not runnable on the board; for comparison)

OUT is a run folder (maskgate.run_folder: the model, config.json with what was done,
stages/*/history.csv) holding the model bundle (maskgate.bundle), eval/ (evaluate's report),
optimize.json (the summary) and report.md (per-step tables and the figures).

    options.py  what can be asked     job.py      the run it starts from, the fine-tuning settings
    recipes.py  the methods           teacher.py  distillation's teacher
    export.py   export, gate, eval    report.py   optimize.json and report.md
"""
from __future__ import annotations

import time

from maskgate import run_folder
from maskgate.atomic import write_json, write_text
from maskgate.errors import BudgetError
from maskgate.optimize import report
from maskgate.optimize.export import export, export_dynamic
from maskgate.optimize.job import load_data, prepare, write_record
from maskgate.optimize.options import OptimizeOptions, normalise_method
from maskgate.optimize.recipes import RECIPES
from maskgate.tfenv import seed_everything

SUMMARY_FILE = "optimize.json"
REPORT_FILE = "report.md"


def optimize_run(run_dir, method: str, out_dir, options: OptimizeOptions | None = None,
                 allow_over_budget: bool = False) -> dict:
    """Apply `method` to RUN, write OUT (see the module doc) and return the summary that
    OUT/optimize.json holds. Raises BudgetError (after writing the model and report) when the
    result does not fit the board, unless `allow_over_budget`."""
    started = time.time()
    method = normalise_method(method)
    options = options or OptimizeOptions()
    job = prepare(run_dir, method, out_dir, options)
    job.out_dir.mkdir(parents=True, exist_ok=True)
    seed_everything(job.cfg.seed)
    if method == "dynamic":
        saved = run_folder.save_model(job.model, job.out_dir)
        result = export_dynamic(job)
    else:
        load_data(job)
        model = RECIPES[method](job)
        saved = run_folder.save_model(model, job.out_dir)
        write_record(job, saved)
        try:
            result = export(job, model, allow_over_budget)
        except BudgetError:
            write_text(job.out_dir / REPORT_FILE, report.refused_markdown(job))
            raise
    write_record(job, saved)
    return _finish(job, result, started)


def baseline(run_dir, out_dir, options: OptimizeOptions | None = None, allow_over_budget: bool = True) -> dict:
    """The run itself through the same export, gate and evaluation (compare's "none" row)."""
    started = time.time()
    job = prepare(run_dir, "none", out_dir, options or OptimizeOptions())
    job.out_dir.mkdir(parents=True, exist_ok=True)
    return _finish(job, export(job, job.model, allow_over_budget), started)


def _finish(job, result: dict, started: float) -> dict:
    summary = report.summary_of(job, result, time.time() - started)
    write_json(job.out_dir / SUMMARY_FILE, summary)
    write_text(job.out_dir / REPORT_FILE, report.markdown(job, summary))
    return summary
