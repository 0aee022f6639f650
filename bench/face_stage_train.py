"""Train the door's face detector (maskgate.detector.train) on composed door pictures.

    nice -n 15 .venv/bin/python bench/face_stage_train.py --out runs/facedet
    nice -n 15 .venv/bin/python bench/face_stage_train.py --out runs/facedet-no12k \
        --sources face-utkface utk-synth-mask            # leave face-mask-12k out

The detector measured in bench/results/face_stage_facedet3.md is 32 epochs in three runs (the
shared machine would not give one run that long): 16 at 2e-3, then 6 and 10 at 5e-4, each a
cosine schedule continuing from the last (954 + 835 + 1157 s on 2 busy cores):
    ... --out runs/facedet --epochs 16 --steps 120
    ... --out runs/facedet2 --init runs/facedet/facedet.keras --epochs 6 --steps 120 --learning-rate 0.0005 --seed 1
    ... --out runs/facedet3 --init runs/facedet2/facedet.keras --epochs 10 --steps 120 --learning-rate 0.0005 --seed 2

    nice -n 15 .venv/bin/python bench/face_stage_train.py --what bgcls --out runs/bgcls --epochs 8 --steps 150
        # candidate 1: the classifier with a background class (maskgate.detector.background_class)

One TensorFlow thread (the machine is shared); face crops are cached in data/cache. Writes
OUT/facedet_int8.tflite, facedet.keras, history.csv and detector.json (or OUT/bgcls_int8.tflite,
bgcls.keras, bgcls.json).
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--what", choices=("detector", "bgcls"), default="detector")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "datasets")
    parser.add_argument("--cache", type=Path, default=ROOT / "data" / "cache")
    parser.add_argument("--sources", nargs="+", default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--steps", type=int, default=None, help="steps per epoch")
    parser.add_argument("--arch-options", default="{}", help="JSON, e.g. '{\"width\": 0.75}'")
    parser.add_argument("--compose-options", default="{}", help="JSON of maskgate.data.compose.ComposeConfig")
    parser.add_argument("--init", help="a facedet.keras to continue from")
    parser.add_argument("--learning-rate", type=float, default=None)
    parser.add_argument("--settings", default="{}",
                        help="JSON of more DetectorConfig fields, e.g. '{\"photo_sources\": [\"face-mask-rwmfd\"], \"photo_p\": 0.3}'")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from maskgate.tfenv import tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from maskgate.detector.train import DetectorConfig, train_detector

    if args.what == "bgcls":
        from maskgate.detector.background_class import BackgroundClassConfig, train_background_class

        values = {"seed": args.seed, "arch_options": json.loads(args.arch_options)}
        if args.sources:
            values["sources"] = tuple(args.sources)
        if args.epochs:
            values["epochs"] = args.epochs
        if args.steps:
            values["steps_per_epoch"] = args.steps
        report = train_background_class(args.shared, args.out, BackgroundClassConfig(**values), cache_dir=args.cache)
        f = report["figures"]
        print(f"{args.out}: val accuracy {report['val_accuracy']:.4f}, {f['bytes']} B, arena {f['arena_bytes_board']} B, "
              f"{f['macs']:,} MACs, {report['train_seconds']:.0f} s")
        return
    values = {"seed": args.seed, "arch_options": json.loads(args.arch_options),
              "compose_options": json.loads(args.compose_options)}
    if args.sources:
        values["sources"] = tuple(args.sources)
    if args.epochs:
        values["epochs"] = args.epochs
    if args.steps:
        values["steps_per_epoch"] = args.steps
    if args.init:
        values["init"] = args.init
    if args.learning_rate:
        values["learning_rate"] = args.learning_rate
    values.update(json.loads(args.settings))
    for key in ("photo_sources", "sources"):
        if key in values:
            values[key] = tuple(values[key])
    report = train_detector(args.shared, args.out, DetectorConfig.from_dict(values), cache_dir=args.cache)
    f = report["figures"]
    print(f"{args.out}: {f['bytes']} B, arena {f['arena_bytes']} B (board {f['arena_bytes_board']} B), "
          f"{f['macs']:,} MACs, {report['train_seconds']:.0f} s")


if __name__ == "__main__":
    main()
