"""What an optimize run reports: OUT/optimize.json (the summary compare reads) and
OUT/report.md (the method's per-step tables, the export and the evaluation)."""
from __future__ import annotations

from dataclasses import asdict

from maskgate.markdown import percent, table
from maskgate.optimize.job import Job, jsonable
from maskgate.optimize.options import COMMON_OPTIONS, METHOD_OPTIONS


def val_rows(history: dict) -> list:
    """One row per fine-tuning epoch: epoch, val loss, val accuracy."""
    return [[i + 1, f"{loss:.4f}", percent(acc)] for i, (loss, acc) in
            enumerate(zip(history.get("val_loss", []), history.get("val_accuracy", [])))]


def epochs_table(history: dict, loss_name: str = "val loss") -> str:
    return table(["epoch", loss_name, "val accuracy"], val_rows(history))


def summary_of(job: Job, result: dict, seconds: float) -> dict:
    # in the order of the evaluated specs: the run's test split first, then any --eval data
    datasets = [{"name": s["name"], "images": s["images"], "float_accuracy": s["float"]["accuracy"],
                 "int8_accuracy": s["int8"]["accuracy"]} for s in result["evaluation"]["datasets"]]
    return {
        "method": job.method, "run": str(job.run_dir), "out": str(job.out_dir), "arch": job.arch,
        "figures": result["figures"], "float_bytes": result["float_bytes"], "weights": result["weights"],
        "budget_ok": bool(result["budget"].get("ok")) and not result["refused"], "refused": result["refused"],
        "latency_ms": result["estimate"]["latency_ms"], "datasets": datasets, "details": jsonable(job.details),
        "seconds": round(seconds, 1),
    }


def refused_markdown(job: Job) -> str:
    """report.md of a run the budget gate refused: what was done, and why it stops."""
    return "\n\n".join([f"# `{job.method}` of `{job.run_dir}`", *job.sections]) + "\n"


def markdown(job: Job, summary: dict) -> str:
    f = summary["figures"]
    kb = lambda v: "–" if v is None else f"{v / 1024:.1f} KB"  # noqa: E731
    given = asdict(job.options)
    shown = ", ".join(f"{k}={given[k]}" for k in METHOD_OPTIONS.get(job.method, ()) + COMMON_OPTIONS if given[k] not in (None, ()))
    lines = [f"# `{job.method}` of `{job.run_dir}`", "",
             f"Architecture `{job.arch}`; {summary['seconds']:.0f} s on this machine. Options: {shown or 'defaults'}.", ""]
    for section in job.sections:
        lines += [section, ""]
    status = "passes" if summary["budget_ok"] else f"refused ({summary['refused']})"
    lines += ["## Export", "", table(
        ["float .tflite", "int8 .tflite", "int8 gzip", "params", "MACs", "board arena", "est. M7 latency (typical)", "budget gate"],
        [[kb(summary["float_bytes"]), kb(f["bytes"]), kb(f["gzip_bytes"]), f"{f['params']:,}", f"{f['macs']:,}",
          kb(f["arena_bytes_board"]), f"{summary['latency_ms']['typical']:.2f} ms (estimate)", status]]), ""]
    if summary["weights"]:
        w = summary["weights"]
        lines += [f"int8 weights: {w['zero_fraction'] * 100:.1f} % zeros; at most {w['max_distinct_per_channel']} "
                  "distinct values in one output channel (output head excluded).", ""]
    lines += ["## Evaluation", "", table(["data", "images", "float accuracy", "int8 accuracy"],
                                         [[d["name"], d["images"], percent(d["float_accuracy"]), percent(d["int8_accuracy"])]
                                          for d in summary["datasets"]]),
              "", "Full report: [eval/report.md](eval/report.md).", ""]
    return "\n".join(lines)
