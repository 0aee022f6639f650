"""What an int8 .tflite's weights look like: the share of exact zeros and the number of distinct
values per output channel, read straight from the flatbuffer. This is how pruning (zeros), clustering
(few values) and their QAT-preserving variants are checked on the file that ships."""
from __future__ import annotations

import numpy as np

KERNEL_OPS = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"}


def int8_kernels(tflite_bytes: bytes) -> list[tuple[str, np.ndarray]]:
    """(op, int8 weight tensor) of every conv / depthwise / fully connected operator."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAsModel(tflite_bytes, 0)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    graph = model.Subgraphs(0)
    out = []
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        op_name = names.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()))
        if op_name not in KERNEL_OPS:
            continue
        tensor = graph.Tensors(op.Inputs(1))
        if tensor.Type() != schema.TensorType.INT8:
            continue
        data = model.Buffers(tensor.Buffer()).DataAsNumpy()
        if isinstance(data, np.ndarray) and data.size:
            shape = [tensor.Shape(j) for j in range(tensor.ShapeLength())]
            out.append((op_name, data.view(np.int8).reshape(shape)))
    return out


def weight_stats(tflite_bytes: bytes) -> dict:
    """Over the kernels pruning and clustering act on (conv and fully connected weights; not
    depthwise kernels, which tfmot leaves alone, nor the last, output-head kernel):
    zero_fraction, and max_distinct_per_channel, the most distinct values in one output channel
    (per channel because per-channel quantization scales each channel's shared values apart)."""
    found = [k for op, k in int8_kernels(tflite_bytes) if op != "DEPTHWISE_CONV_2D"][:-1]
    total = sum(k.size for k in found)
    zeros = sum(int((k == 0).sum()) for k in found)
    # output channels are axis 0 of conv (O,H,W,I) and fully connected (O,I) weights
    per_channel = [int(np.unique(k[c]).size) for k in found for c in range(k.shape[0])]
    return {"zero_fraction": zeros / total if total else 0.0, "max_distinct_per_channel": max(per_channel, default=0)}
