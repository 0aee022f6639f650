"""The compression recipes: each takes the Job (its trained model, data and fine-tuning
settings), adds its tables to the report and returns the model to export.

    prune          tfmot magnitude pruning on a polynomial schedule (+ seed 002 Table 1 sweep)
    channel_prune  L1 channel pruning, then fine-tuning of the narrower model (+ Table 2 sweep)
    cluster        tfmot weight clustering
    qat / pqat / cqat / pcqat   quantization-aware training, after pruning and/or clustering
    distill        a student of the run's architecture taught by a teacher (optimize.teacher)

(dynamic, the tenth method, trains nothing: optimize.export.export_dynamic.)
"""
from __future__ import annotations

from dataclasses import replace

from maskgate import nets
from maskgate.errors import MaskgateError
from maskgate.markdown import percent, table
from maskgate.optimize.job import Job
from maskgate.optimize.report import epochs_table
from maskgate.optimize.teacher import train_teacher
from maskgate.tfenv import keras


def prune_stage(job: Job, model, title="Fine-tuning with magnitude pruning"):
    from maskgate.optimize import prune

    epochs = job.cfg.epochs
    # reach the target one epoch before the end, so the last epoch recovers at full sparsity
    total = job.steps_per_epoch() * max(1, epochs - 1)
    wrapped = prune.wrap_for_pruning(model, job.options.sparsity, total)
    cbs = prune.callbacks()
    job.fit(wrapped, "prune", callbacks=cbs)
    stripped = prune.strip(wrapped)
    reached = prune.sparsity(stripped)
    job.details.update(sparsity_target=job.options.sparsity, sparsity_reached=reached)
    log = cbs[-1].rows
    job.sections.append(
        f"## {title}\n\nPolynomial (cubic) schedule 0 → {job.options.sparsity:.2f} over {total} steps "
        f"({epochs} epochs of {job.steps_per_epoch()} steps), unstructured, every Conv2D / SeparableConv2D / "
        f"Dense kernel but the output head. Reached sparsity {reached * 100:.2f} %.\n\n"
        + table(["epoch", "sparsity", "val loss", "val accuracy"],
                [[r["epoch"], f"{r['sparsity'] * 100:.1f} %", f"{r['val_loss']:.4f}", percent(r["val_accuracy"])] for r in log])
    )
    return stripped


def method_prune(job: Job):
    from maskgate.optimize import prune

    rows = prune.one_shot_sweep(job.model, job.test["x32"], job.test["y"], job.options.sweep)
    job.details["sweep"] = rows
    job.sections.append(
        "## L1 unstructured pruning, one shot (seed 002 Table 1)\n\nThe trained model with the smallest "
        "weights of each kernel zeroed, no fine-tuning; float model on the test split.\n\n"
        + table(["pruning ratio", "sparsity", "test loss", "test accuracy"],
                [[f"{r['ratio']:.2f}", f"{r['sparsity'] * 100:.1f} %", f"{r['test_loss']:.4f}", percent(r["test_accuracy"])] for r in rows])
    )
    return prune_stage(job, job.model)


def method_channel_prune(job: Job):
    from maskgate.optimize import channel_prune

    rows = channel_prune.one_shot_sweep(job.model, job.test["x32"], job.test["y"], job.options.sweep)
    job.details["sweep"] = rows
    job.sections.append(
        "## L1 structured (channel) pruning, one shot (seed 002 Table 2)\n\nThe weakest output channels "
        "(L1 norm) of every prunable layer removed, no fine-tuning; float model on the test split.\n\n"
        + table(["channels removed", "parameters", "MACs", "test loss", "test accuracy"],
                [[f"{r['ratio']:.2f}", f"{r['params']:,}", f"{r['macs']:,}", f"{r['test_loss']:.4f}", percent(r["test_accuracy"])] for r in rows])
    )
    narrowed, widths = channel_prune.prune_channels(job.model, job.options.sparsity)
    job.details.update(channels_removed=job.options.sparsity, widths=widths,
                       params_before=int(job.model.count_params()), params_after=int(narrowed.count_params()))
    history = job.fit(narrowed, "channel_prune")
    job.sections.append(
        f"## Fine-tuning the narrowed model\n\n{job.options.sparsity:.2f} of the channels removed: parameters "
        f"{job.model.count_params():,} → {narrowed.count_params():,}.\n\n"
        + table(["layer", "channels before", "after"], [[k, a, b] for k, (a, b) in widths.items()])
        + "\n\n" + epochs_table(history)
    )
    return narrowed


def cluster_stage(job: Job, model, preserve_sparsity=False):
    from maskgate.optimize import cluster, prune

    wrapped = cluster.wrap_for_clustering(model, job.options.clusters, preserve_sparsity)
    history = job.fit(wrapped, "cluster")
    stripped = cluster.strip(wrapped)
    distinct = cluster.distinct_values(stripped)
    job.details.update(clusters=job.options.clusters, max_distinct_per_kernel=max(distinct.values()))
    if preserve_sparsity:
        job.details["sparsity_after_clustering"] = prune.sparsity(stripped)
    job.sections.append(
        f"## Fine-tuning with weight clustering ({job.options.clusters} clusters"
        + (", sparsity preserved" if preserve_sparsity else "") + ")\n\nk-means++ centroids per kernel. "
        f"Distinct values per kernel after stripping: at most {max(distinct.values())}.\n\n"
        + epochs_table(history)
    )
    return stripped


def method_cluster(job: Job):
    return cluster_stage(job, job.model)


def method_qat(job: Job):
    from maskgate.optimize import qat

    kind = job.method
    model = job.model
    if kind in ("pqat", "pcqat"):
        model = prune_stage(job, model)
    if kind in ("cqat", "pcqat"):
        model = cluster_stage(job, model, preserve_sparsity=kind == "pcqat")
    quantized = qat.quantize_aware(model, kind)
    history = job.fit(quantized, "qat")
    quantized = qat.strip(quantized, kind)
    job.sections.append(
        f"## Quantization-aware training ({kind})\n\nEvery layer but the input Rescaling annotated; scheme "
        f"{type(qat.scheme(kind)).__name__}" + (" (preserve_sparsity)" if kind == "pcqat" else "") + ".\n\n"
        + epochs_table(history)
    )
    return quantized


def method_distill(job: Job):
    from maskgate.optimize import distill

    teacher = train_teacher(job)
    train_cfg = job.config["train"]
    if job.options.student == "run":
        student = keras.models.clone_model(job.model)
        student.set_weights(job.model.get_weights())
        lr = job.cfg.learning_rate
    elif job.options.student == "scratch":
        student = nets.build(train_cfg["arch"], num_classes=job.cfg.num_classes, **train_cfg.get("arch_options", {}))
        lr = job.options.learning_rate or train_cfg["learning_rate"]
    else:
        raise MaskgateError(f"--student is 'scratch' or 'run', not {job.options.student!r}")
    epochs = job.options.epochs or job.run_epochs()
    cfg = replace(job.cfg, epochs=epochs, learning_rate=lr, stop_patience=max(train_cfg["stop_patience"], 1))
    distiller = distill.compile_distiller(distill.Distiller(student, teacher, job.options.temperature, job.options.alpha), lr)
    history = job.fit(distiller, "distill", compile=False, cfg=cfg)
    student_acc, run_acc = job.test_accuracy(student), job.test_accuracy(job.model)
    job.details.update(temperature=job.options.temperature, alpha=job.options.alpha, student_init=job.options.student,
                       student_test_accuracy=student_acc, run_test_accuracy=run_acc)
    job.sections.append(
        f"## Student: `{train_cfg['arch']}` ({job.options.student}), T = {job.options.temperature:g}, "
        f"α = {job.options.alpha:g}\n\nloss = α·CE(labels, student) + (1 − α)·T²·KL(teacher_T ‖ student_T). "
        f"Student test accuracy {percent(student_acc)} (float) vs the run's {percent(run_acc)}.\n\n"
        + epochs_table(history, "val loss (labels)")
    )
    return student


RECIPES = {
    "prune": method_prune, "channel_prune": method_channel_prune, "cluster": method_cluster,
    "qat": method_qat, "pqat": method_qat, "cqat": method_qat, "pcqat": method_qat, "distill": method_distill,
}
