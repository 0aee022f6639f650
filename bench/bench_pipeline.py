"""Host pipeline throughput (host figures; they say nothing about the board):
training seconds per epoch and LiteRT / tflite-micro evaluation images per second.

    .venv/bin/python bench/bench_pipeline.py --data ../shared/datasets/face-mask-12k [--arch maskgate]

Imports the source into a temporary folder, trains 2 epochs on up to --max-train images,
quantizes, then times int8 and float inference over the test split.
"""
import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from maskgate.data.arrays import load_split
from maskgate.data.importer import import_sources
from maskgate import run_folder
from maskgate.bundle import FLOAT_FILE, INT8_FILE
from maskgate.quantize import quantize_run
from maskgate.runtime import LiteModel, micro_raw
from maskgate.train import TrainConfig, train


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/datasets/face-mask-12k")
    ap.add_argument("--arch", default="maskgate")
    ap.add_argument("--max-train", type=int, default=4000)
    ap.add_argument("--epochs", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        manifest = import_sources([args.data], tmp / "data", progress=False)
        run = train(manifest, tmp / "run", TrainConfig(arch=args.arch, epochs=args.epochs, max_train=args.max_train))
        config = run_folder.record(run)
        quantize_run(run)
        test = load_split(manifest, "test")
        figures = {"arch": args.arch, "train_images": config["train_images"],
                   "train_seconds_per_epoch": config["seconds_per_epoch"],
                   "train_images_per_second": round(config["train_images"] / config["seconds_per_epoch"], 1)}
        for name, file in (("int8", INT8_FILE), ("float", FLOAT_FILE)):
            model = LiteModel((run / file).read_bytes())
            model.probabilities(test["x32"][:64])  # warm-up
            t = time.perf_counter()
            model.probabilities(test["x32"])
            figures[f"litert_{name}_images_per_second"] = round(len(test["y"]) / (time.perf_counter() - t), 1)
        sample = test["x32"][:200]
        t = time.perf_counter()
        micro_raw((run / INT8_FILE).read_bytes(), sample)
        figures["tflite_micro_images_per_second"] = round(len(sample) / (time.perf_counter() - t), 1)
        figures["note"] = "host CPU figures (2 cores); board latency is in manifest.json as an estimate"
        print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
