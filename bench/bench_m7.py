"""Instructions on the emulated Cortex-M7, for every architecture (issue 20 measurements).

    .venv/bin/python bench/bench_m7.py --libtflm /path/to/libtflm --out bench/results/m7 \
        [--fomo /path/to/fomo_face_detection.tflite]

Runs in TFLM + CMSIS-NN from the user's openmv/libtflm checkout on QEMU mps2-an500 (maskgate.m7)
and writes OUT/m7.md and OUT/m7.json:

1. the counter's self-check (runs of known length) and its repeatability;
2. the shipped model (models/maskgate_int8.tflite) operator by operator, on 50 real test
   pictures of face-mask-12k (../shared/datasets; seeded picture-like noise when absent), with
   the outputs checked bit for bit against tflite-micro on the PC, and the wall time of one
   measurement;
3. every registered architecture, built with untrained weights (Keras' seeded initialisers,
   batch-norm statistics at their start values) and quantized with the contract (calibrated on
   the same pictures plus black and white): instructions beside MACs;
4. what the in-graph input rescaling (MUL + ADD) and the global average pool (MEAN) cost, on
   exported variants of our net with the same weights: rescaling folded into the first
   convolution, and MEAN replaced by a 4x4 average pool;
5. depthwise 3x3 against pointwise 1x1 convolutions, per MAC, over channel counts;
6. the frame budget at 30 fps, and (with --fomo) OpenMV's FOMO face detector measured the
   same way.
Instruction counts barely depend on the weights (see the shipped vs untrained rows).
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
FRAME_MS = 1000.0 / 30


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def real_pixels(count: int) -> np.ndarray | None:
    """`count` face-mask-12k Test pictures (half masked, half bare) through the contract."""
    from maskgate import contract
    from maskgate.data.images import read_rgb

    test = DATASETS / "face-mask-12k" / "Test"
    if not test.is_dir():
        return None
    paths = sorted((test / "WithMask").glob("*.jpg"))[: count // 2] + sorted((test / "WithoutMask").glob("*.jpg"))[: count - count // 2]
    return np.stack([contract.prepare(read_rgb(p)) for p in paths])


def as_inputs(pixels: np.ndarray) -> list[list[np.ndarray]]:
    from maskgate import contract

    return [[contract.to_int8_input(p[None])] for p in pixels]


def calibrate_batch_norm(model, pixels: np.ndarray) -> None:
    """Untrained weights: set every batch-norm layer's statistics to those of `pixels` (one
    pass in training mode at momentum 0), so activations are scaled as in a trained net and
    the outputs vary with the input instead of saturating."""
    from maskgate.tfenv import keras

    for layer in model.submodules:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = 0.0
        elif isinstance(layer, keras.layers.Dropout):
            layer.rate = 0.0  # the statistics of the whole picture set, not of a random mask
    model(pixels.astype(np.float32), training=True)


def int8_model(model, pixels: np.ndarray, per_tensor_dense: bool = False) -> bytes:
    """The project's int8 export (quantize.convert_int8); `per_tensor_dense` sets the
    converter flag that keeps FULLY_CONNECTED weights per tensor, which this libtflm needs."""
    from maskgate import quantize

    if not per_tensor_dense:
        return quantize.convert_int8(model, quantize.representative_pixels(pixels, count=len(pixels)))
    plain = quantize._converter

    def converter(m):
        c = plain(m)
        c._experimental_disable_per_channel_quantization_for_dense_layers = True
        return c

    quantize._converter = converter
    try:
        return quantize.convert_int8(model, quantize.representative_pixels(pixels, count=len(pixels)))
    finally:
        quantize._converter = plain


def grouped(layers: list[dict], kernels: list) -> list[dict]:
    """Per-op rows grouped by op type (convolutions by kernel size), in order of first use."""
    groups: dict = {}
    for row, kernel in zip(layers, kernels):
        name = row["op"]
        if name == "CONV_2D" and kernel:
            name = f"CONV_2D {kernel[0]}x{kernel[1]}"
        elif name == "DEPTHWISE_CONV_2D":
            name = "DEPTHWISE_CONV_2D 3x3"
        g = groups.setdefault(name, {"op": name, "count": 0, "macs": 0, "instructions": 0})
        g["count"] += 1
        g["macs"] += row["macs"]
        g["instructions"] += row["instructions"]
    return list(groups.values())


def op_table(figures: dict, kernels: list) -> list[str]:
    total = figures["instructions_by_input"][0]
    lines = ["| op | count | MACs | instructions | per MAC | share |", "|---|---:|---:|---:|---:|---:|"]
    for g in grouped(figures["layers"], kernels):
        per = f"{g['instructions'] / g['macs']:.2f}" if g["macs"] else "–"
        lines.append(f"| {g['op']} | {g['count']} | {g['macs']:,} | {g['instructions']:,} | {per} | "
                     f"{g['instructions'] / total * 100:.1f} % |")
    lines.append(f"| interpreter (between ops) | | | {figures['interpreter_instructions']:,} | | "
                 f"{figures['interpreter_instructions'] / total * 100:.2f} % |")
    macs = sum(r["macs"] for r in figures["layers"])
    lines.append(f"| **total** | {len(figures['layers'])} | {macs:,} | {total:,} | {total / macs:.2f} | 100 % |")
    return lines


def layer_table(figures: dict) -> list[str]:
    total = figures["instructions_by_input"][0]
    lines = ["| # | op | output | MACs | instructions | per MAC | share |", "|---:|---|---|---:|---:|---:|---:|"]
    for i, r in enumerate(figures["layers"]):
        per = f"{r['instructions'] / r['macs']:.2f}" if r["macs"] else "–"
        lines.append(f"| {i} | {r['op']} | {'×'.join(map(str, r['output'][1:]))} | {r['macs']:,} | "
                     f"{r['instructions']:,} | {per} | {r['instructions'] / total * 100:.1f} % |")
    return lines


def maskgate_variant(fold_input: bool, pool: str, seed: int = 0):
    """Our net (nets/maskgate_net.py at width 1.0) with the input rescaling folded into the
    stem convolution (`fold_input`) and/or the global average pool as a 4x4 AVERAGE_POOL_2D.
    Weights are the seeded initial ones; with `fold_input` the stem kernel is divided by 127.5
    and its batch-norm mean moved by the kernel's sum (conv(x / 127.5 - 1) = conv(x) / 127.5 -
    sum(W)), so the float model equals the unfolded one except where the 3x3 stem's zero
    padding meets the image border (calibrate_batch_norm then recomputes the same statistics)."""
    from maskgate.nets._blocks import head, pixel_input
    from maskgate.nets.maskgate_net import _conv_bn, _separable
    from maskgate.tfenv import keras, tf

    layers = keras.layers
    keras.utils.set_random_seed(seed)
    inputs, x = pixel_input()
    if fold_input:
        x = inputs
    x = _conv_bn(x, 24, "stem", strides=2)
    x = layers.Dropout(0.1, name="stem_drop")(x)
    x = _separable(x, 48, "block1", 0.1)
    x = _separable(x, 48, "block2", 0.1)
    x = layers.MaxPooling2D(name="pool1")(x)
    x = _separable(x, 96, "block3", 0.1)
    x = layers.MaxPooling2D(name="pool2")(x)
    x = _separable(x, 192, "block4", 0.1)
    if pool == "mean":
        x = layers.GlobalAveragePooling2D(name="gap")(x)
    else:
        x = layers.Flatten(name="flat")(layers.AveragePooling2D(4, name="avgpool")(x))
    x = layers.Dropout(0.3, name="head_drop")(x)
    model = keras.Model(inputs, head(x, 2), name="maskgate_variant")
    if fold_input:
        kernel = model.get_layer("stem_conv").kernel
        offset = tf.reduce_sum(kernel, axis=(0, 1, 2))  # conv of a constant -1 input is -sum(W)
        kernel.assign(kernel / 127.5)
        bn = model.get_layer("stem_bn")
        bn.moving_mean.assign(bn.moving_mean + offset)
    return model


def single_layer(kind: str, channels: int, size: int):
    """One depthwise 3x3 or pointwise 1x1 (C -> C) convolution with batch norm and ReLU."""
    from maskgate.tfenv import keras, tf

    layers = keras.layers
    keras.utils.set_random_seed(0)
    inputs = keras.Input((size, size, channels))
    if kind == "depthwise":
        x = layers.DepthwiseConv2D(3, padding="same", use_bias=False)(inputs)
    else:
        x = layers.Conv2D(channels, 1, use_bias=False)(inputs)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    model = keras.Model(inputs, x)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    rng = np.random.default_rng(0)
    converter.representative_dataset = lambda: ([rng.normal(0, 1, (1, size, size, channels)).astype(np.float32)] for _ in range(20))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--libtflm", help="openmv/libtflm checkout (default $MASKGATE_LIBTFLM)")
    ap.add_argument("--out", default="bench/results/m7")
    ap.add_argument("--fomo", help="OpenMV's lib/models/fomo_face_detection.tflite, to measure the same way")
    ap.add_argument("--archs", help="comma-separated architectures (default: all registered)")
    args = ap.parse_args()

    from maskgate import budget, nets, package_data
    from maskgate.m7 import build, measure, selfcheck, toolchain

    lib = toolchain.find_libtflm(args.libtflm)
    if lib is None or toolchain.missing_tools():
        raise SystemExit(toolchain.unavailable_reason(args.libtflm))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results: dict = {"library": {"revision": lib.revision, "archive": lib.archive.name, "sha256": lib.sha256},
                     "cpu_count": os.cpu_count()}
    md = ["# Instructions on the emulated Cortex-M7 (TFLM + CMSIS-NN, openmv/libtflm)", "",
          f"Command: `.venv/bin/python bench/bench_m7.py --libtflm LIBTFLM --out {args.out}"
          + (" --fomo FOMO.tflite" if args.fomo else "") + "`  ",
          f"Library: openmv/libtflm {lib.revision or 'unknown revision'}, `{lib.archive.name}` sha256 {lib.sha256[:16]}…  ",
          "Emulator: QEMU `mps2-an500 -cpu cortex-m7 -icount shift=7`; instructions counted exactly "
          "(maskgate/m7/emulator.py). Milliseconds are estimates: instructions × 0.5 (the M7's dual-issue "
          "floor) to 1.5 cycles / 480 MHz.", ""]

    # 1. counter
    started = time.perf_counter()
    first = selfcheck.calibration_counts()
    again = selfcheck.calibration_counts()
    results["counter"] = {"deviations": selfcheck.deviations(first), "repeat_identical": first == again, "counts": first}
    log(f"counter: deviations {results['counter']['deviations']}, repeat identical {first == again}")
    md += ["## 1. The counter", "",
           f"K NOPs between two reads decode to K more instructions for K in {sorted(first['nops'])}, and "
           f"n SUBS/BNE iterations to 2n more for n up to {max(first['loop']):,}: deviations "
           f"{results['counter']['deviations'] or 'none'}; a second run gives "
           f"{'identical' if first == again else 'DIFFERENT'} counts ({time.perf_counter() - started:.1f} s for both).", ""]

    # 2. shipped model
    t = time.perf_counter()
    build.runner_elf(lib)
    build_seconds = time.perf_counter() - t
    pixels = real_pixels(measure.CHECK_INPUTS)
    shipped = package_data.shipped_model().read_bytes()
    inputs = as_inputs(pixels) if pixels is not None else None
    t = time.perf_counter()
    fig = measure.measure(shipped, lib, inputs=inputs)
    one = time.perf_counter() - t
    again = measure.measure(shipped, lib, inputs=inputs)
    kernels = [c["conv_kernel"] for c in budget.layer_costs(shipped)]
    results["shipped"] = {**fig, "wall_seconds": round(one, 2), "build_seconds": round(build_seconds, 1),
                          "repeat_identical": again["instructions_by_input"] == fig["instructions_by_input"]
                          and [r["instructions"] for r in again["layers"]] == [r["instructions"] for r in fig["layers"]]}
    lat = fig["latency"]["latency_ms"]
    log(f"shipped: {fig['instructions']:,} instructions, {one:.2f} s")
    md += ["## 2. The shipped model, operator by operator", "",
           f"`models/maskgate_int8.tflite` ({fig['inputs']} inputs: "
           + ("face-mask-12k Test pictures, half masked" if pixels is not None else "seeded picture-like noise")
           + f"). Instructions per inference {fig['instructions_min']:,}–{fig['instructions']:,} over the inputs "
           f"(the table: input 0). Outputs identical to tflite-micro on the PC on {fig['check']['identical']} of "
           f"{fig['check']['inputs']} inputs; a second run gives "
           f"{'identical' if results['shipped']['repeat_identical'] else 'DIFFERENT'} counts. "
           f"Layers with no MACs: {fig['no_mac_share'] * 100:.1f} % of the instructions. "
           f"Estimated board time {lat['floor']:.2f} ms (floor) – {lat['high']:.2f} ms, typical {lat['typical']:.2f} ms. "
           f"One measurement (50 inferences in {min(os.cpu_count() or 1, measure.MAX_JOBS)} QEMU processes, the "
           f"op-by-op pass, the PC check): {one:.2f} s wall on this {os.cpu_count()}-core machine (shared: load "
           f"{os.getloadavg()[0]:.1f}), {fig['seconds']['emulator_cpu']:.2f} s of QEMU CPU time, after a one-off "
           f"{build_seconds:.1f} s runner build (cached).", ""]
    md += op_table(fig, kernels) + [""] + layer_table(fig) + [""]

    # 3. every architecture
    rep = pixels if pixels is not None else np.random.default_rng(0).integers(0, 256, (50, 32, 32, 3), dtype=np.uint8)
    archs = args.archs.split(",") if args.archs else nets.names()
    rows = [{"arch": "maskgate (shipped, trained)", "macs": sum(r["macs"] for r in fig["layers"]), "bytes": len(shipped),
             "budget_ok": True, **{k: fig[k] for k in ("instructions", "no_mac_share", "check")}}]
    for arch in archs:
        t = time.perf_counter()
        from maskgate.tfenv import keras

        keras.utils.set_random_seed(0)
        model = nets.build(arch)
        calibrate_batch_norm(model, rep)
        tfl = int8_model(model, rep)
        note = ""
        if measure.unsupported(tfl):
            note = "per-tensor dense"  # as exported today it does not load in this libtflm: see the note
            tfl = int8_model(model, rep, per_tensor_dense=True)
        figures = budget.model_figures(tfl)
        try:
            m = measure.measure(tfl, lib, inputs=as_inputs(pixels) if pixels is not None else None)
        except Exception as e:  # an op the runner lacks, a mismatch: say so in the table
            rows.append({"arch": arch, "macs": figures["macs"], "bytes": len(tfl), "budget_ok": figures["budget"]["ok"],
                         "error": str(e)})
            log(f"{arch}: {e}")
            continue
        rows.append({"arch": arch + (f" ({note})" if note else ""), "macs": figures["macs"], "bytes": len(tfl),
                     "arena_board": figures["arena_bytes_board"], "budget_ok": figures["budget"]["ok"],
                     "instructions": m["instructions"], "no_mac_share": m["no_mac_share"], "check": m["check"],
                     "seconds": m["seconds"], "ops": grouped(m["layers"], [c["conv_kernel"] for c in budget.layer_costs(tfl)])})
        log(f"{arch}: {m['instructions']:,} instructions, {figures['macs']:,} MACs ({time.perf_counter() - t:.1f} s)")
    results["architectures"] = rows
    md += ["## 3. Every architecture: instructions beside MACs", "",
           "Untrained weights (seeded initialisers, batch-norm statistics set from the 50 pictures), int8 with the "
           "contract's input rule (`quantize.convert_int8`); outputs checked against tflite-micro on the PC "
           "for every input (distinct: how many different outputs the 50 inputs gave). Gate: int8 ≤ 230 KB and "
           "model + arena ≤ 260 KB. *per-tensor dense*: as `convert_int8` exports it today (TensorFlow 2.21 "
           "quantizes Dense weights per channel) the model does not load in this libtflm (AllocateTensors fails: "
           "TFLM's FULLY_CONNECTED here has no per-channel int8); measured re-exported with "
           "`_experimental_disable_per_channel_quantization_for_dense_layers = True`.", "",
           "| arch | int8 KB | gate | MACs | M7 instructions | instr./MAC | no-MAC % | est. ms (floor–high) | identical (distinct) outputs | measure s wall / QEMU CPU |",
           "|---|---:|---|---:|---:|---:|---:|---|---|---:|"]
    for r in rows:
        if "error" in r:
            md.append(f"| {r['arch']} | {r['bytes'] / 1024:.1f} | {'ok' if r['budget_ok'] else 'refused'} | "
                      f"{r['macs'] / 1e6:.2f} M | not measured: {r['error']} | | | | | |")
            continue
        band = budget.latency_from_instructions(r["instructions"])["latency_ms"]
        md.append(f"| {r['arch']} | {r['bytes'] / 1024:.1f} | {'ok' if r['budget_ok'] else 'refused'} | "
                  f"{r['macs'] / 1e6:.2f} M | {r['instructions'] / 1e6:.2f} M | {r['instructions'] / r['macs']:.2f} | "
                  f"{r['no_mac_share'] * 100:.1f} | {band['floor']:.1f}–{band['high']:.1f} | "
                  f"{r['check']['identical']}/{r['check']['inputs']} ({r['check'].get('distinct_outputs', '–')}) | "
                  + (f"{r['seconds']['total']} / {r['seconds']['emulator_cpu']} |" if "seconds" in r else "– |"))
    flat_outputs = [r["arch"] for r in rows if r.get("check", {}).get("distinct_outputs") == 1]
    if flat_outputs:
        md += ["", f"A bit-for-bit check is only as strong as the outputs differ: {', '.join(flat_outputs)} gave one "
               "output value for all 50 inputs (untrained and saturated), so for them it checks little."]
    md.append("")

    # 4. input rescaling and MEAN
    variants = {}
    for name, fold, pool in (("as shipped (MUL + ADD input, MEAN)", False, "mean"),
                             ("input rescaling folded into the stem", True, "mean"),
                             ("MEAN -> 4x4 AVERAGE_POOL_2D", False, "avgpool"),
                             ("both", True, "avgpool")):
        model = maskgate_variant(fold, pool)
        calibrate_batch_norm(model, rep)
        tfl = int8_model(model, rep)
        m = measure.measure(tfl, lib, inputs=as_inputs(pixels) if pixels is not None else None)
        variants[name] = {"instructions": m["instructions"], "no_mac_share": m["no_mac_share"],
                          "ops": [r["op"] for r in m["layers"]], "check": m["check"],
                          "float_outputs": model.predict(rep[:50].astype(np.float32), verbose=0).reshape(-1).tolist(),
                          "layers": m["layers"]}
        log(f"variant {name}: {m['instructions']:,}")
    base = variants["as shipped (MUL + ADD input, MEAN)"]
    results["variants"] = {k: {kk: vv for kk, vv in v.items() if kk != "layers"} for k, v in variants.items()}
    md += ["## 4. Make it cheaper: the input rescaling and the average pool", "",
           "Our net with the same (untrained, seeded) weights exported four ways. Folding the rescaling divides the "
           "stem kernel by 127.5, and its batch norm absorbs the −1 offset: the float model is the same "
           "function except at the image border, where the stem's zero padding now stands for pixel 0 instead of "
           "pixel 127.5 (max |Δ P(mask)| over the 50 inputs below). The int8 input rule stays pixel − 128.", "",
           "| variant | ops | M7 instructions | change | no-MAC % | identical outputs | max abs Δ float P(mask) |",
           "|---|---|---:|---:|---:|---|---:|"]
    for name, v in variants.items():
        delta = np.max(np.abs(np.array(v["float_outputs"]) - np.array(base["float_outputs"])))
        md.append(f"| {name} | {len(v['ops'])} | {v['instructions']:,} | "
                  f"{(v['instructions'] / base['instructions'] - 1) * 100:+.1f} % | {v['no_mac_share'] * 100:.1f} | "
                  f"{v['check']['identical']}/{v['check']['inputs']} | {delta:.4f} |")
    md += ["", "Per operator, as shipped vs folded + average pool:", ""]
    both = variants["both"]
    md += ["| as shipped | instructions | folded + avgpool | instructions |", "|---|---:|---|---:|"]
    a, b = base["layers"], both["layers"]
    for i in range(max(len(a), len(b))):
        left = f"{a[i]['op']} | {a[i]['instructions']:,}" if i < len(a) else " | "
        right = f"{b[i]['op']} | {b[i]['instructions']:,}" if i < len(b) else " | "
        md.append(f"| {left} | {right} |")
    md.append("")

    # 5. depthwise vs pointwise
    sweep = []
    for size in (16, 8):
        for channels in (8, 16, 24, 32, 48, 64, 96, 128):
            for kind in ("depthwise", "pointwise"):
                tfl = single_layer(kind, channels, size)
                m = measure.measure(tfl, lib, count=5)
                layer = m["layers"][0]
                sweep.append({"kind": kind, "size": size, "channels": channels, "macs": layer["macs"],
                              "instructions": layer["instructions"], "per_mac": layer["instructions"] / layer["macs"]})
        log(f"sweep {size}x{size} done")
    results["sweep"] = sweep
    md += ["## 5. Depthwise 3x3 vs pointwise 1x1, measured per MAC", "",
           "One int8 layer (convolution + folded batch norm + ReLU), C channels in and out, stride 1, 'same' padding.", "",
           "| size | C | depthwise MACs | depthwise instr. | per MAC | pointwise MACs | pointwise instr. | per MAC | ratio |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for size in (16, 8):
        for channels in (8, 16, 24, 32, 48, 64, 96, 128):
            dw = next(s for s in sweep if s["kind"] == "depthwise" and s["size"] == size and s["channels"] == channels)
            pw = next(s for s in sweep if s["kind"] == "pointwise" and s["size"] == size and s["channels"] == channels)
            md.append(f"| {size}×{size} | {channels} | {dw['macs']:,} | {dw['instructions']:,} | {dw['per_mac']:.2f} | "
                      f"{pw['macs']:,} | {pw['instructions']:,} | {pw['per_mac']:.2f} | {dw['per_mac'] / pw['per_mac']:.1f} |")
    md.append("")

    # 6. the whole frame
    md += ["## 6. The whole frame at 30 fps", "",
           f"A frame has {FRAME_MS:.1f} ms. The classifier takes {lat['floor']:.1f} ms (floor) – {lat['high']:.1f} ms "
           f"(typical {lat['typical']:.1f} ms) by the count above, leaving {FRAME_MS - lat['floor']:.1f} ms at best, "
           f"{FRAME_MS - lat['typical']:.1f} ms typically and {FRAME_MS - lat['high']:.1f} ms at worst for everything "
           "else: the camera's frame capture (DMA, and the MicroPython `snapshot()` call), the Haar face detector "
           "(OpenMV's C code, imlib), the crop and area resize to 32×32, and the firmware's MicroPython. None of those "
           "can be measured here: they are not TFLM models (Haar is OpenMV's C code, which this project does not "
           "build), and the camera is hardware.", ""]
    if args.fomo:
        fomo = Path(args.fomo).read_bytes()
        m = measure.measure(fomo, lib)
        figures = budget.model_figures(fomo)
        flat = m["latency"]["latency_ms"]
        results["fomo"] = {k: m[k] for k in ("instructions", "no_mac_share", "check")} | {"macs": figures["macs"],
                                                                                         "arena_board": figures["arena_bytes_board"]}
        both_floor = lat["floor"] + flat["floor"]
        md += [f"The face stage as a model: OpenMV's FOMO face detector (`{Path(args.fomo).name}`, {len(fomo):,} B, "
               f"in the H7's ROMFS), measured the same way: {m['instructions']:,} instructions "
               f"({figures['macs'] / 1e6:.2f} M MACs, {m['instructions'] / figures['macs']:.2f} per MAC, "
               f"{m['no_mac_share'] * 100:.1f} % in layers without MACs), {flat['floor']:.1f}–{flat['high']:.1f} ms "
               f"(typical {flat['typical']:.1f} ms); outputs identical to tflite-micro on {m['check']['identical']}/"
               f"{m['check']['inputs']} inputs ({m['check']['distinct_outputs']} distinct). With the classifier: "
               f"{both_floor:.1f}–{lat['high'] + flat['high']:.1f} ms, "
               + (f"more than a {FRAME_MS:.1f} ms frame even at the dual-issue floor: FOMO every frame cannot "
                  f"reach 30 fps ({1000 / both_floor:.0f} fps at best)" if both_floor > FRAME_MS else
                  f"within a {FRAME_MS:.1f} ms frame at the floor")
               + f"; its board arena ({figures['arena_bytes_board']:,} B) does not fit beside the classifier either.", ""]
        log(f"fomo: {m['instructions']:,}")
    (out / "m7.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
    (out / "m7.md").write_text("\n".join(md) + "\n")
    log(f"wrote {out / 'm7.md'}")


if __name__ == "__main__":
    main()
