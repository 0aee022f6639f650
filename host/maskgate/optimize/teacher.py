"""The distillation teacher: a trained RUN folder, or an architecture (ARCH[:key=value,...],
optionally from a weights file) trained here on the job's data first."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from maskgate import keyvalue, nets, run_folder
from maskgate.markdown import percent
from maskgate.optimize.job import Job
from maskgate.optimize.report import epochs_table


def train_teacher(job: Job):
    spec = job.options.teacher
    if Path(spec).is_dir():
        teacher = run_folder.load_model(run_folder.model_file(Path(spec)))
        job.details["teacher"] = str(Path(spec).resolve())
        return teacher
    arch, options = keyvalue.parse_spec(spec, "--teacher")
    if job.options.teacher_weights:
        options["weights"] = job.options.teacher_weights
    teacher = nets.build(arch, num_classes=job.cfg.num_classes, **options)
    # like the student, a teacher trained here gets the run's epochs unless told otherwise (not
    # the 3 fine-tuning epochs of the other methods: a half-trained teacher teaches little)
    epochs = job.options.teacher_epochs or job.options.epochs or job.run_epochs()
    cfg = replace(job.cfg, epochs=epochs,
                  learning_rate=job.options.learning_rate or job.config["train"]["learning_rate"])
    cfg = replace(cfg, stop_patience=cfg.epochs + 1)
    history = job.fit(teacher, "teacher", cfg=cfg)
    teacher.save(job.out_dir / run_folder.STAGES_DIR / "teacher" / run_folder.MODEL_FILE)
    accuracy = job.test_accuracy(teacher)
    job.details.update(teacher=spec, teacher_params=int(teacher.count_params()), teacher_test_accuracy=accuracy)
    job.sections.append(
        f"## Teacher: `{spec}` trained here" + (f" from `{job.options.teacher_weights}`" if job.options.teacher_weights else "")
        + f"\n\n{teacher.count_params():,} parameters, test accuracy {percent(accuracy)} (float).\n\n"
        + epochs_table(history)
    )
    return teacher
