"""Does face-first data help on a source never trained on? (issue 5 measurements)

    nohup .venv/bin/python bench/bench_faces_synth.py --out runs/bench-faces-synth > runs/bench-faces-synth.log 2>&1 &

Trains small tinycnn models on a seeded subset of face-mask-12k and evaluates them on the
whole of face-mask-chandrikadeb7 (held out, never trained on), four ways:

  default      centred square, real pictures only
  faces        Haar face box (as the camera crops) when one is found, else the centred square
  synth        centred square, plus a correctly worn synthetic mask on every bare training face
  faces+synth  both

and a 3-class model (no_mask / mask / incorrect; faces+synth plus synthetic masks worn below
the nose or on the chin), with confusion matrices on the held-out test split (real 12k test
faces + masks drawn on the test faces) and on chandrikadeb7 (which has no "incorrect" label:
the report counts how many of its pictures the model calls "incorrect" and shows them).

Face boxes come from one import (`crop_faces=True`); the no-crop variants are the same rows
with the face column emptied, so every variant sees the same pictures, groups and splits.
Writes OUT/report.md and OUT/results.json; re-running reuses imports and synthetic pictures.
"""
from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def without_faces(manifest: Path, out: Path) -> Path:
    from maskgate.data.manifest import read_manifest, write_manifest

    if not (out / "manifest.csv").exists():
        rows = read_manifest(manifest)
        for r in rows:
            r["face"] = None
        write_manifest(out / "manifest.csv", rows)
    return out / "manifest.csv"


def subset(manifest: Path, out: Path, per_class: dict, seed: int) -> Path:
    """A seeded subset per (split, label), keeping whole groups' split as imported."""
    from maskgate.data.manifest import read_manifest, write_manifest

    if (out / "manifest.csv").exists():
        return out / "manifest.csv"
    rows = read_manifest(manifest)
    rng = np.random.default_rng(seed)
    kept = []
    for split, count in per_class.items():
        for label in ("no_mask", "mask"):
            pool = [r for r in rows if r["split"] == split and r["label"] == label]
            pick = np.sort(rng.choice(len(pool), size=min(count, len(pool)), replace=False))
            kept += [pool[i] for i in pick]
    write_manifest(out / "manifest.csv", kept)
    return out / "manifest.csv"


def train_and_export(manifest: Path, run: Path, classes: int, epochs: int, seed: int, arch: str) -> Path:
    from maskgate.bundle import MANIFEST_FILE
    from maskgate.quantize import quantize_run
    from maskgate.train import TrainConfig, train

    if (run / MANIFEST_FILE).exists():
        return run
    started = time.time()
    train(manifest, run, TrainConfig(arch=arch, num_classes=classes, epochs=epochs, seed=seed))
    quantize_run(run, calibration_images=200)
    log(f"trained {run.name} in {time.time() - started:.0f} s")
    return run


def evaluate_on(run: Path, manifest: Path, split: str, name: str) -> dict:
    from maskgate.evaluate import evaluate

    result = evaluate(run, [f"{manifest}:{split}"], run / f"eval-{name}", micro_sample=0)
    section = result["datasets"][0]
    return {"images": section["images"], "int8": section["int8"], "float_accuracy": section["float"]["accuracy"],
            "per_source": section["per_source"], "labels": result["labels"]}


def predicted_incorrect(run: Path, manifest: Path, out_png: Path, show: int = 24) -> dict:
    """chandrikadeb7 pictures the 3-class model calls "incorrect": counts and a contact sheet."""
    import cv2

    from maskgate import contract
    from maskgate.data.arrays import load_split
    from maskgate.bundle import INT8_FILE
    from maskgate.runtime import LiteModel

    labels = contract.labels_for(3)
    data = load_split(manifest, None, labels)
    probs = LiteModel((run / INT8_FILE).read_bytes()).probabilities(data["x32"])
    pred = probs.argmax(axis=1)
    hits = np.where(pred == 2)[0]
    by_label = Counter(data["rows"][i]["label"] for i in hits)
    order = hits[np.argsort(-probs[hits, 2])][:show]
    tiles = [cv2.resize(data["x32"][i], (96, 96), interpolation=cv2.INTER_NEAREST) for i in order]
    if tiles:
        while len(tiles) % 8:
            tiles.append(np.zeros_like(tiles[0]))
        sheet = np.vstack([np.hstack(tiles[i:i + 8]) for i in range(0, len(tiles), 8)])
        cv2.imwrite(str(out_png), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    return {"images": int(len(pred)), "called_incorrect": int(len(hits)), "by_true_label": dict(by_label),
            "examples": [data["rows"][i]["path"] for i in order]}


def confusion_md(cm, labels) -> list[str]:
    lines = ["| true \\ predicted | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
    for name, row in zip(labels, cm):
        lines.append(f"| {name} | " + " | ".join(str(v) for v in row) + " |")
    return lines


def main():
    from maskgate import run_folder

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="runs/bench-faces-synth")
    ap.add_argument("--datasets", default=str(DATASETS))
    ap.add_argument("--train-per-class", type=int, default=1000)
    ap.add_argument("--val-per-class", type=int, default=200)
    ap.add_argument("--test-per-class", type=int, default=200)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seeds", default="0", help="comma-separated training seeds (the data subset uses seed 0)")
    ap.add_argument("--arch", default="tinycnn")
    args = ap.parse_args()

    from maskgate.data.importer import import_sources
    from maskgate.data.synth_masks import synth_masks

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    datasets = Path(args.datasets)
    started = time.time()

    # --- data: one import with face boxes per source; the no-crop twins drop the boxes
    k12 = out / "import-12k" / "manifest.csv"
    if not k12.exists():
        log("importing face-mask-12k with face boxes")
        import_sources([str(datasets / "face-mask-12k")], k12.parent, crop_faces=True, progress=False)
    cd = out / "import-chandrikadeb7" / "manifest.csv"
    if not cd.exists():
        log("importing face-mask-chandrikadeb7 (held out) with face boxes")
        import_sources([str(datasets / "face-mask-chandrikadeb7")], cd.parent, crop_faces=True,
                       holdout_source="face-mask-chandrikadeb7", progress=False)
    cd_plain = without_faces(cd, out / "import-chandrikadeb7-nocrop")
    base = subset(k12, out / "base-faces", {"train": args.train_per_class, "val": args.val_per_class,
                                            "test": args.test_per_class}, seed=0)
    base_plain = without_faces(base, out / "base-nocrop")
    synth = out / "synth-faces" / "manifest.csv"
    if not synth.exists():
        log("drawing synthetic masks (correct + incorrect) on every bare face of the subset")
        synth_masks(base, synth.parent, incorrect=True, seed=0, progress=False)
    synth_plain = without_faces(synth, out / "synth-nocrop")
    log(f"data ready ({time.time() - started:.0f} s)")

    from maskgate.data.manifest import read_manifest

    def face_rate(manifest):
        rows = read_manifest(manifest)
        found = Counter(r["label"] for r in rows if r["face"])
        total = Counter(r["label"] for r in rows)
        return {lab: f"{found[lab]}/{total[lab]}" for lab in total}

    results = {"settings": vars(args), "faces_found": {"face-mask-12k subset": face_rate(base),
                                                       "face-mask-chandrikadeb7": face_rate(cd)},
               "synthetic": dict(Counter((r["label"], r["split"]) for r in read_manifest(synth)
                                         if r["source"] == "synth-masks").items()),
               "binary": {}, "three_class": {}}
    results["synthetic"] = {f"{k[0]}/{k[1]}": v for k, v in results["synthetic"].items()}

    variants = {"default": (base_plain, cd_plain), "faces": (base, cd),
                "synth": (synth_plain, cd_plain), "faces+synth": (synth, cd)}
    seeds = [int(s) for s in args.seeds.split(",")]
    for seed in seeds:
        for name, (train_manifest, held_out) in variants.items():
            run = train_and_export(train_manifest, out / f"run-{name.replace('+', '-')}-s{seed}", 2, args.epochs, seed, args.arch)
            config = run_folder.record(run)
            entry = {"train_images": config["train_images"], "best_val_accuracy": config["best_val_accuracy"],
                     "chandrikadeb7": evaluate_on(run, held_out, "test", "chandrikadeb7"),
                     "12k_test": evaluate_on(run, base if "faces" in name else base_plain, "test", "12k-test")}
            results["binary"].setdefault(name, {})[seed] = entry
            log(f"{name} seed {seed}: chandrikadeb7 int8 accuracy "
                f"{entry['chandrikadeb7']['int8']['accuracy'] * 100:.2f} %, 12k test {entry['12k_test']['int8']['accuracy'] * 100:.2f} %")
            (out / "results.json").write_text(json.dumps(results, indent=2, default=str))

    seed = seeds[0]
    run3 = train_and_export(synth, out / f"run-3class-s{seed}", 3, args.epochs, seed, args.arch)
    config = run_folder.record(run3)
    results["three_class"] = {
        "train_images": config["train_images"], "best_val_accuracy": config["best_val_accuracy"],
        "held_out_synthetic": evaluate_on(run3, synth, "test", "synth-test"),
        "chandrikadeb7": evaluate_on(run3, cd, "test", "chandrikadeb7"),
        "chandrikadeb7_called_incorrect": predicted_incorrect(run3, cd, out / "chandrikadeb7-called-incorrect.png"),
    }
    results["seconds"] = round(time.time() - started)
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str))
    (out / "report.md").write_text(report(results))
    log(f"done in {results['seconds']} s: {out / 'report.md'}")


def report(r) -> str:
    s = r["settings"]
    lines = ["# Face crops and synthetic masks on a held-out source", "",
             f"tinycnn ({s['arch']}), {s['epochs']} epochs, trained on a seeded face-mask-12k subset "
             f"({s['train_per_class']} per class train, {s['val_per_class']} val); evaluated int8 on all of "
             "face-mask-chandrikadeb7 (never trained on) and on the 12k test subset "
             f"({s['test_per_class']} per class). Seeds: {s['seeds']}.", "",
             f"Faces found by the camera's Haar settings: {r['faces_found']}.", "",
             f"Synthetic pictures (label/split): {r['synthetic']}.", "",
             "| variant | train images | chandrikadeb7 int8 acc | (float) | mask recall | no_mask recall | 12k test int8 acc |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name, by_seed in r["binary"].items():
        for seed, e in by_seed.items():
            c = e["chandrikadeb7"]
            pc = c["int8"]["per_class"]
            lines.append(f"| {name} (seed {seed}) | {e['train_images']} | {c['int8']['accuracy'] * 100:.2f} % | "
                         f"{c['float_accuracy'] * 100:.2f} % | {pc['mask']['recall'] * 100:.1f} % | "
                         f"{pc['no_mask']['recall'] * 100:.1f} % | {e['12k_test']['int8']['accuracy'] * 100:.2f} % |")
    if len(s["seeds"].split(",")) > 1:
        lines += ["", "Mean over seeds (int8 accuracy, ± standard deviation):", "",
                  "| variant | chandrikadeb7 | 12k test |", "|---|---:|---:|"]
        for name, by_seed in r["binary"].items():
            cd = [e["chandrikadeb7"]["int8"]["accuracy"] * 100 for e in by_seed.values()]
            k12 = [e["12k_test"]["int8"]["accuracy"] * 100 for e in by_seed.values()]
            lines.append(f"| {name} | {np.mean(cd):.2f} ± {np.std(cd):.2f} % | {np.mean(k12):.2f} ± {np.std(k12):.2f} % |")
    t = r["three_class"]
    if t:
        labels = t["held_out_synthetic"]["labels"]
        h = t["held_out_synthetic"]
        lines += ["", "## 3-class model (no_mask / mask / incorrect)", "",
                  f"Held-out test split (real 12k test faces + masks drawn on them): {h['images']} images, "
                  f"int8 accuracy {h['int8']['accuracy'] * 100:.2f} %; per source "
                  + ", ".join(f"{k} {v['int8_accuracy'] * 100:.1f} % ({v['images']})" for k, v in h["per_source"].items()), ""]
        lines += confusion_md(h["int8"]["confusion"], labels)
        c = t["chandrikadeb7"]
        lines += ["", f"face-mask-chandrikadeb7 (no real 'incorrect' pictures; the row stays empty): "
                      f"int8 accuracy {c['int8']['accuracy'] * 100:.2f} %", ""]
        lines += confusion_md(c["int8"]["confusion"], labels)
        ci = t["chandrikadeb7_called_incorrect"]
        lines += ["", f"The 3-class model calls {ci['called_incorrect']} of {ci['images']} chandrikadeb7 pictures "
                      f"'incorrect' (by true label: {ci['by_true_label']}); the most confident are in "
                      "chandrikadeb7-called-incorrect.png. The door denies them either way."]
    lines += ["", f"Total time {r.get('seconds', '?')} s."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
