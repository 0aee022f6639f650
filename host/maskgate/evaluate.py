"""Float vs int8, side by side: accuracy, per-class precision/recall/F1, confusion matrices,
ROC AUC, per-source breakdown, plots and a Markdown report, plus a check that tflite-micro
(the interpreter the board runs) agrees with LiteRT on the int8 outputs.

And the model judged as a door (int8, what the board runs; maskgate.door_metrics): false opens
and false denies per source with 95 % intervals, per group where the file names say who is in
the picture (maskgate.groups), a DET plot with the operating point marked, and the operating
point a max_false_open setting picks on validation data (maskgate.operating_point)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from maskgate import bundle, contract, door_metrics, door_report, groups
from maskgate.atomic import save_figure, write_json, write_text
from maskgate.data.arrays import load_split
from maskgate.errors import DataError
from maskgate.markdown import percent, table
from maskgate.runtime import LiteModel, decide, micro_raw, to_class_probabilities


# ---------------------------------------------------------------- metrics (plain numpy)
def confusion(y_true, y_pred, n: int) -> np.ndarray:
    m = np.zeros((n, n), dtype=np.int64)
    np.add.at(m, (y_true, y_pred), 1)
    return m


def roc_curve(y_true_bin, score):
    """False/true positive rates over all thresholds (descending score)."""
    order = np.argsort(-score, kind="stable")
    y = np.asarray(y_true_bin)[order]
    s = np.asarray(score)[order]
    distinct = np.where(np.diff(s))[0]
    idx = np.r_[distinct, len(y) - 1]
    tps = np.cumsum(y)[idx]
    fps = (idx + 1) - tps
    pos, neg = max(y.sum(), 1), max(len(y) - y.sum(), 1)
    return np.r_[0.0, fps / neg], np.r_[0.0, tps / pos]


def roc_auc(y_true_bin, score) -> float | None:
    if len(np.unique(y_true_bin)) < 2:
        return None
    fpr, tpr = roc_curve(y_true_bin, score)
    return float(np.trapezoid(tpr, fpr))


def board_agreement(probs: np.ndarray, labels, threshold: float, board_labels, board_probs) -> dict:
    """How far the PC's int8 model agrees with the board on the same inputs: the share of
    equal decisions (the board's labels against `decide` on the PC's probabilities), how many
    differ, and |P(positive) on the PC - the board's P|."""
    host_labels = [labels[int(i)] for i in decide(probs, labels, threshold)]
    same = np.array([h == b for h, b in zip(host_labels, board_labels)])
    diff = np.abs(probs[:, labels.index(contract.POSITIVE_LABEL)] - np.asarray(board_probs, dtype=np.float64))
    return {"label_agreement": round(float(same.mean()), 4), "disagreements": int((~same).sum()),
            "prob_abs_diff": {"mean": round(float(diff.mean()), 5), "max": round(float(diff.max()), 5)}}


def metrics(y, probs, labels, threshold) -> dict:
    pred = decide(probs, labels, threshold)
    cm = confusion(y, pred, len(labels))
    per_class = {}
    for i, name in enumerate(labels):
        tp = cm[i, i]
        precision = tp / cm[:, i].sum() if cm[:, i].sum() else 0.0
        recall = tp / cm[i].sum() if cm[i].sum() else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[name] = {"precision": float(precision), "recall": float(recall), "f1": float(f1), "support": int(cm[i].sum())}
    positive = labels.index(contract.POSITIVE_LABEL)
    return {
        "images": int(len(y)),
        "accuracy": float((pred == y).mean()) if len(y) else None,
        "per_class": per_class,
        "confusion": cm.tolist(),
        "roc_auc": roc_auc((y == positive).astype(int), probs[:, positive]),
    }


# ---------------------------------------------------------------- data specs
CAMERA_CROP_SUFFIX = " (camera crop)"  # names the camera-framed section of a dataset
FOLDER_KEY_FILE = "folder-key.txt"  # beside an on-the-fly import: which folder, with which files, it holds


def resolve_data(spec: str, work_dir: Path, camera_crop: bool = False):
    """A DATA argument -> (name, manifest path, split).

    `DIR/manifest.csv[:split]` or an import folder (`DIR` holding manifest.csv) uses that split
    (default test); any other folder is a dataset in a known layout, imported on the fly and
    evaluated whole (a source never trained on). With camera_crop such a folder is framed as
    the camera frames it: the firmware's face (Haar frontal, else placed from an eye pair)
    grown by the contract's margin, the centre square where none is found."""
    path, _, split = spec.partition(":") if not Path(spec).exists() else (spec, "", "")
    p = Path(path)
    if p.is_dir() and (p / "manifest.csv").exists():
        p = p / "manifest.csv"
    if p.is_file() and p.suffix == ".csv":
        from maskgate.data.manifest import read_manifest

        sources = "+".join(sorted({row["source"] for row in read_manifest(p)}))
        return f"{sources}:{split or 'test'}", p, split or "test"
    if _is_dataset_folder(path):
        from maskgate.data.importer import import_sources

        name = p.resolve().name
        out = work_dir / f"imported-{name}{'-camera-crop' if camera_crop else ''}"
        manifest, key_file, key = out / "manifest.csv", out / FOLDER_KEY_FILE, _folder_key(p)
        if not (manifest.exists() and key_file.is_file() and key_file.read_text() == key):
            key_file.unlink(missing_ok=True)
            import_sources([str(p)], out, holdout_source=name, crop_faces=camera_crop)
            write_text(key_file, key)
        return name + CAMERA_CROP_SUFFIX if camera_crop else name, manifest, None
    raise DataError(f"{spec}: not a manifest.csv, an import folder or a dataset folder")


def _folder_key(folder: Path) -> str:
    """What an on-the-fly import is kept under: the folder's full path and the content of every
    file in it (maskgate.data.tree_digest), so changed pictures, or another folder of the same
    name, are imported again instead of reporting the old ones."""
    import hashlib

    from maskgate.data.tree_digest import folder_digest

    where = str(folder.resolve()).encode("utf-8", "surrogateescape")
    return hashlib.sha256(where + b"\0" + folder_digest(folder).encode()).hexdigest()[:12]


def _is_dataset_folder(spec: str) -> bool:
    p = Path(spec)
    return p.is_dir() and not (p / "manifest.csv").exists()


# ---------------------------------------------------------------- the door
def faces_found(rows, camera_crop: bool, face_stage_sources=()) -> np.ndarray | None:
    """Which pictures the face stage found a face in (None: no face stage, every picture is
    classified). Camera-framed sections and face-stage sources ran the face stage at import:
    their rows without a face box are pictures the door would never classify."""
    if not camera_crop and not face_stage_sources:
        return None
    return np.array([r["face"] is not None or not (camera_crop or r["source"] in face_stage_sources) for r in rows])


def door_section(rows, p_mask, thresholds, found=None, staged_sources=()) -> dict:
    """Door metrics of one evaluated dataset at each (name, threshold): overall, per source and,
    for sources whose file names say who is pictured (UTKFace), per group."""
    labels = [r["label"] for r in rows]
    sources = np.array([r["source"] for r in rows], dtype=object)
    paths = [r["path"] for r in rows]
    named = [s for s in sorted(set(sources.tolist())) if groups.is_utkface_named([p for p, src in zip(paths, sources) if src == s])]
    staged = set() if found is None else set(staged_sources)
    out = {"face_stage": found is not None, "face_stage_sources": sorted(staged), "at": []}
    for name, t in thresholds:
        at = {"name": name, "threshold": float(t),
              "overall": door_metrics.door_rates(labels, p_mask, t, found),
              "per_source": door_metrics.rates_by(sources, labels, p_mask, t, found),
              "groups": {}}
        # "face found" only where the face stage ran (elsewhere every picture is classified)
        for src, r in at["per_source"].items():
            if src not in staged:
                r.pop("face_found", None)
        if not set(sources.tolist()) <= staged:
            at["overall"].pop("face_found", None)
        for src in named:
            sel = sources == src
            at["groups"][src] = groups.false_opens_by_group(
                [p for p, keep in zip(paths, sel) if keep], [lab for lab, keep in zip(labels, sel) if keep],
                np.asarray(p_mask)[sel], t, None if found is None else found[sel])
        out["at"].append(at)
    return out


def door_curves(rows, p_mask, found=None) -> dict:
    """error_curves overall (when several sources) and per source."""
    labels = np.array([r["label"] for r in rows], dtype=object)
    sources = np.array([r["source"] for r in rows], dtype=object)
    curves = {}
    names = sorted(set(sources.tolist()))
    for src in names:
        sel = sources == src
        curves[src] = door_metrics.error_curves(labels[sel], np.asarray(p_mask)[sel], None if found is None else found[sel])
    if len(names) > 1:
        curves["all"] = door_metrics.error_curves(labels, p_mask, found)
    return curves


# ---------------------------------------------------------------- plots and report
def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_confusions(section: dict, labels, path: Path):
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for ax, kind in zip(axes, ("float", "int8")):
        cm = np.array(section[kind]["confusion"])
        ax.imshow(cm, cmap="Blues")
        for (i, j), v in np.ndenumerate(cm):
            ax.text(j, i, str(v), ha="center", va="center", color="black" if v < cm.max() / 2 else "white")
        ax.set_xticks(range(len(labels)), labels)
        ax.set_yticks(range(len(labels)), labels)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"{kind}: {section[kind]['accuracy'] * 100:.2f} %")
    fig.suptitle(section["name"])
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def plot_roc(curves: dict, path: Path, title: str):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 5))
    for kind, (fpr, tpr, auc) in curves.items():
        ax.plot(fpr, tpr, label=f"{kind} (AUC {auc:.4f})" if auc is not None else kind)
    ax.plot([0, 1], [0, 1], "k:", lw=0.8)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(title)
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def class_report(metrics_of_kind: dict, labels) -> str:
    """Precision, recall, F1 and support per label (the form of the paper's Tables 4 and 5)."""
    return table(["label", "precision", "recall", "F1", "support"],
                 [[name, f"{c['precision']:.4f}", f"{c['recall']:.4f}", f"{c['f1']:.4f}", c["support"]]
                  for name, c in ((n, metrics_of_kind["per_class"][n]) for n in labels)])


def confusion_table(confusion_matrix, labels, corner: str = "") -> str:
    """Rows true, columns predicted."""
    return table([corner, *labels], [[name, *row] for name, row in zip(labels, confusion_matrix)])


def markdown_report(result: dict) -> str:
    labels = result["labels"]
    auc = lambda v: "–" if v is None else f"{v:.4f}"  # noqa: E731
    lines = [f"# Evaluation of `{result['model']}`", ""]
    lines += [
        f"int8 model {result['int8_bytes'] / 1024:.1f} KB, float model "
        f"{(result['float_bytes'] or 0) / 1024:.1f} KB; threshold {result['threshold']} on P({contract.POSITIVE_LABEL}).",
        "",
        table(["data", "images", "float acc", "int8 acc", "int8 − float", "float AUC", "int8 AUC"],
              [[s["name"], s["images"], percent(s["float"]["accuracy"]), percent(s["int8"]["accuracy"]),
                "–" if s["float"]["accuracy"] is None else f"{(s['int8']['accuracy'] - s['float']['accuracy']) * 100:+.2f} pp",
                auc(s["float"]["roc_auc"]), auc(s["int8"]["roc_auc"])] for s in result["datasets"]]),
    ]
    lines += [""] + door_markdown(result)
    for s in result["datasets"]:
        lines += ["", f"## {s['name']}", ""]
        for kind in ("int8", "float"):
            m = s[kind]
            lines += [f"**{kind}** classification report", "", class_report(m, labels)]
            lines += ["", "confusion (rows true, columns predicted: " + ", ".join(labels) + ")", ""]
            lines += [confusion_table(m["confusion"], labels), ""]
        if len(s["per_source"]) > 1:
            lines += ["per source:", "", table(["source", "images", "float acc", "int8 acc"],
                                               [[name, ps["images"], percent(ps["float_accuracy"]),
                                                 percent(ps["int8_accuracy"])] for name, ps in s["per_source"].items()]),
                      ""]
        lines += [f"![confusion]({s['confusion_png']})", f"![roc]({s['roc_png']})", ""]
    micro = result.get("tflite_micro")
    if micro:
        lines += [
            "## tflite-micro vs LiteRT",
            "",
            f"{micro['images']} images through tflite-micro (reference kernels, as on the board): "
            f"{micro['identical_outputs'] * 100:.1f} % identical int8 outputs, max difference "
            f"{micro['max_abs_diff']} (int8 steps), {micro['same_label'] * 100:.1f} % same label.",
            "",
        ]
    return "\n".join(lines) + "\n"


def door_markdown(result: dict) -> list[str]:
    """The door part of the report: operating point, per-source rates, groups, plots."""
    lines = ["## The model as a door (int8)", "",
             "A false open is a face without a mask read as masked (P(mask) ≥ threshold); a false deny a masked "
             "face not let in. On camera-framed data (and face-stage sources) a picture where the face stage "
             "finds no face keeps the door closed: never a false open, always a false deny. "
             + door_report.interval_note(), ""]
    op = result.get("operating_point")
    if op:
        lines += door_report.operating_point_lines(op, shipped=result.get("operating_point_shipped", True))
    for s in result["datasets"]:
        lines += [f"**{s['name']}**", ""] + door_report.door_table(s) + [""]
        for src, g in s["door"]["at"][0]["groups"].items():
            lines += door_report.group_tables(g, src)
        lines += [f"![door {s['name']}]({s['door_png']})", ""]
    if result.get("walkup"):
        from maskgate.walkup import summary

        lines += summary.markdown(result["walkup"])
    return lines


# ---------------------------------------------------------------- the command
def evaluate(model_path, data_specs, out_dir, micro_sample: int = 200, camera_crop: bool = False,
             face_stage_sources=(), max_false_open: float | None = None, choose_on: str | None = None,
             hysteresis: float | None = None, door: dict | None = None, allow_float_io: bool = False) -> dict:
    """MODEL is a model bundle (maskgate.bundle: its folder, or its int8 .tflite) or any int8
    .tflite. camera_crop: each dataset folder is evaluated twice, as published and framed as
    the camera frames it (see resolve_data). face_stage_sources: sources of a manifest imported
    with the face stage (crop_faces), whose rows without a face box the door never classifies.
    max_false_open + choose_on (an import folder or manifest, its val split): also report the
    door at the threshold that setting picks there (maskgate.operating_point), without
    changing the model's manifest.
    door: run walk-up sequences through the firmware made from the evaluated pictures
    ({visits, empty_frames, seed, workers, scenes, runner}: runner is maskgate.board.walkup.evaluate_door,
    which the CLI passes; maskgate.walkup)."""
    from maskgate import operating_point

    model = bundle.load(model_path, allow_float_io=allow_float_io)
    labels, threshold, manifest, int8_path = model.labels, model.threshold, model.manifest, model.int8_path
    int8_bytes = bundle.read_tflite(int8_path)
    models = {"int8": LiteModel(int8_bytes)}
    if model.float_path:
        models["float"] = LiteModel(bundle.read_tflite(model.float_path))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    result = {
        "model": str(model.int8_path), "labels": labels, "threshold": threshold,
        "int8_bytes": len(int8_bytes), "float_bytes": model.float_path.stat().st_size if model.float_path else None,
        "datasets": [],
    }
    # the thresholds the door is judged at: the manifest's, and the one before its operating
    # point was chosen (what the choice cost) or the one a setting given here picks
    door_thresholds = [("manifest", threshold)]
    shipped_op = manifest.get("operating_point")
    if shipped_op:
        result["operating_point"], result["operating_point_shipped"] = shipped_op, True
        if shipped_op["base_threshold"] != threshold:
            door_thresholds.append(("base", shipped_op["base_threshold"]))
    if max_false_open is not None:
        if choose_on is None:
            raise DataError("max_false_open needs validation data to choose on (an import folder or manifest.csv)")
        spec, _, split = choose_on.partition(":") if not Path(choose_on).exists() else (choose_on, "", "")
        csv = Path(spec) / "manifest.csv" if Path(spec).is_dir() else Path(spec)
        if not csv.is_file():
            raise DataError(f"{choose_on}: the operating point is chosen on an import's val split: give an import "
                            "folder or its manifest.csv (a dataset folder would be evaluated whole, as test data)")
        hyst = operating_point.firmware_hysteresis() if hysteresis is None else hysteresis
        op = operating_point.choose_on_manifest(int8_bytes, csv, labels, max_false_open, hyst, threshold,
                                                split=split or operating_point.SPLIT)
        result["operating_point"], result["operating_point_shipped"] = op, False
        door_thresholds.append(("operating point", op["threshold"]))
    result["door_thresholds"] = door_thresholds
    first_pixels = None
    runs = []
    for spec in data_specs:
        runs.append((spec, False))
        if camera_crop and _is_dataset_folder(spec):
            runs.append((spec, True))
    positive = labels.index(contract.POSITIVE_LABEL)
    visitor_rows = []
    for spec, crop in runs:
        name, manifest_csv, split = resolve_data(spec, out_dir, camera_crop=crop)
        data = load_split(manifest_csv, split, labels)
        if len(data["y"]) == 0:
            raise DataError(f"{spec}: no images with labels {labels} in split {split or 'all'}")
        first_pixels = data["x32"] if first_pixels is None else first_pixels
        if not crop:
            visitor_rows += data["rows"]
        section = {"name": name, "images": int(len(data["y"])), "per_source": {}}
        probs = {kind: m.probabilities(data["x32"]) for kind, m in models.items()}
        if "float" not in probs:
            probs["float"] = probs["int8"]  # no float model: report int8 in both columns
        curves = {}
        for kind, p in probs.items():
            section[kind] = metrics(data["y"], p, labels, threshold)
            fpr, tpr = roc_curve((data["y"] == positive).astype(int), p[:, positive])
            curves[kind] = (fpr, tpr, section[kind]["roc_auc"])
        sources = np.array([r["source"] for r in data["rows"]])
        for src in sorted(set(sources)):
            mask = sources == src
            section["per_source"][src] = {
                "images": int(mask.sum()),
                **{f"{k}_accuracy": float((decide(p[mask], labels, threshold) == data["y"][mask]).mean()) for k, p in probs.items()},
            }
        found = faces_found(data["rows"], crop, face_stage_sources)
        p_mask = probs["int8"][:, positive]
        staged = {r["source"] for r in data["rows"]} if crop else set(face_stage_sources)
        section["door"] = door_section(data["rows"], p_mask, door_thresholds, found, staged)
        slug = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
        section["confusion_png"] = f"confusion-{slug}.png"
        section["roc_png"] = f"roc-{slug}.png"
        section["door_png"] = f"door-{slug}.png"
        plot_confusions(section, labels, out_dir / section["confusion_png"])
        plot_roc(curves, out_dir / section["roc_png"], name)
        door_report.plot_door(door_curves(data["rows"], p_mask, found), door_thresholds, out_dir / section["door_png"],
                              f"{name} (int8)")
        result["datasets"].append(section)

    if micro_sample and first_pixels is not None and len(first_pixels):
        sample = first_pixels[np.random.default_rng(0).choice(len(first_pixels), min(micro_sample, len(first_pixels)), replace=False)]
        lite = models["int8"].raw(sample).reshape(len(sample), -1).astype(np.int32)
        micro = micro_raw(int8_bytes, sample).reshape(len(sample), -1).astype(np.int32)
        lite_p = models["int8"].dequantize(lite.astype(np.int8))
        micro_p = models["int8"].dequantize(micro.astype(np.int8))

        result["tflite_micro"] = {
            "images": int(len(sample)),
            "identical_outputs": float((lite == micro).all(axis=1).mean()),
            "max_abs_diff": int(np.abs(lite - micro).max()),
            "same_label": float((decide(to_class_probabilities(lite_p), labels, threshold)
                                 == decide(to_class_probabilities(micro_p), labels, threshold)).mean()),
        }
    if door is not None:
        from maskgate import walkup

        if not callable(door.get("runner")):
            raise DataError("walk-ups run the firmware on the virtual board: `maskgate evaluate --door` hands "
                            "evaluate its runner (maskgate.board.walkup.evaluate_door)")
        scenes = door.get("scenes") or walkup.scenes_folder([spec for spec, _ in runs])
        walk = door["runner"](int8_path, manifest, walkup.pictures_from_rows(visitor_rows, face_stage_sources), out_dir,
                              door.get("visits", 1000), door.get("empty_frames", 10000), door.get("seed", 0),
                              door.get("workers", 1), scenes)
        result["walkup"] = {k: v for k, v in walk.items() if k != "visits"}
    write_text(out_dir / "report.md", markdown_report(result))
    write_json(out_dir / "metrics.json", result)
    return result
