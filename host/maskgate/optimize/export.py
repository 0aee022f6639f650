"""An optimized model through what every model goes through: the int8 export (calibrated on
the run's training pictures), the budget gate and the evaluation; or, for dynamic-range
quantization, its own export (not runnable on the board, measured for comparison)."""
from __future__ import annotations

import numpy as np

from maskgate import budget, bundle, quantize
from maskgate import evaluate as evaluation
from maskgate.atomic import write_bytes
from maskgate.data.arrays import load_split
from maskgate.errors import BudgetError
from maskgate.optimize.job import Job, training_record

FIGURES = ("bytes", "gzip_bytes", "params", "macs", "arena_bytes", "arena_bytes_board")
OVER_BUDGET_DIR = "over_budget"  # a refused model's files, kept to be measured (compare)


def calibration_pixels(job: Job) -> np.ndarray:
    calib = load_split(job.manifest, "train", job.labels, limit=job.options.calibration_images, seed=job.cfg.seed)
    return quantize.representative_pixels(calib["x32"], job.options.calibration_images, job.cfg.seed)


def eval_specs(job: Job) -> list[str]:
    return [f"{job.manifest}:test", *job.options.eval]


def export(job: Job, model, allow_over_budget: bool) -> dict:
    """int8 + float export, the budget gate, evaluation. Over budget: BudgetError, unless
    `allow_over_budget` (compare), which keeps the files under OUT/over_budget/ and goes on."""
    from maskgate.optimize import weights

    int8 = quantize.convert_int8(model, calibration_pixels(job))
    float_bytes = quantize.convert_float(model)
    result = {"weights": weights.weight_stats(int8), "float_bytes": len(float_bytes)}
    try:
        manifest = quantize.write_bundle(job.out_dir, int8, float_bytes, job.labels, job.arch, training_record(job))
        result.update(figures={k: manifest[k] for k in FIGURES}, budget=manifest["budget"],
                      estimate=manifest["estimate"], refused=None)
        target = job.out_dir
    except BudgetError as e:
        if not allow_over_budget:
            job.sections.append(f"## Budget gate\n\nRefused: {e}")
            raise
        target = bundle.write_models(job.out_dir / OVER_BUDGET_DIR, int8, float_bytes)
        figures = budget.model_figures(int8)
        result.update(figures={k: figures[k] for k in FIGURES}, budget=figures["budget"], estimate=figures["estimate"],
                      refused=str(e))
    result["evaluation"] = evaluation.evaluate(target, eval_specs(job), job.out_dir / "eval", job.options.micro_sample)
    return result


def export_dynamic(job: Job) -> dict:
    from maskgate.optimize import dynamic

    tflite = dynamic.convert_dynamic(job.model)
    float_bytes = quantize.convert_float(job.model)
    path = write_bytes(job.out_dir / dynamic.MODEL_FILE, tflite)
    write_bytes(job.out_dir / bundle.FLOAT_FILE, float_bytes)
    figures = dynamic.figures(tflite)
    job.sections.append(f"## Dynamic-range quantization\n\nNot deployable: {dynamic.REASON}.")
    return {
        "weights": None, "float_bytes": len(float_bytes),
        "figures": {k: figures[k] for k in FIGURES},
        "budget": figures["budget"], "estimate": figures["estimate"], "refused": dynamic.REASON,
        # tflite-micro cannot run it, so no micro agreement check
        "evaluation": evaluation.evaluate(path, eval_specs(job), job.out_dir / "eval", micro_sample=0,
                                          allow_float_io=True),
    }
