"""The H7's memory per OpenMV release (maskgate.memory MEMORY): one table that quantize, info,
deploy and the virtual board all plan with, so they agree -- shown on a model whose tensor arena
fits the 64 K + 267 K heaps of 4.8 / 5.0 and the frame buffer of 4.5.5, but leaves the door
loop no room on the 26 K + 267 K heap of 4.5.6-4.7."""
import json

import numpy as np
import pytest

from maskgate import budget, memory
from maskgate.errors import BudgetError
from maskgate.firmware import module

K = 1024


def test_each_release_maps_to_its_memory_layout():
    assert [memory.for_release(v).first for v in ("4.5.5", "4.5.7", "4.5.9", "4.6.20", "4.7.0", "4.8.1", "5.0.0", "5.3.1")] \
        == ["0.0.0", "4.5.6", "4.5.9", "4.6.0", "4.6.0", "4.8.0", "5.0.0", "5.0.0"]
    assert memory.for_release(None).first == "5.0.0" and memory.EMULATED == ("4.5.5", "4.5.9", "4.8.1", "5.0.0")
    assert [memory.for_release(v).heap_areas for v in memory.EMULATED] == [
        (228 * K,), (26 * K, 267 * K), (64 * K, 267 * K), (64 * K, 264 * K)]
    with pytest.raises(ValueError, match="not an OpenMV firmware version"):
        memory.for_release("v4-beta")


def test_arena_rounding_per_release():
    used = 1000
    got = {m.label: (m.arena_allocation(used), m.arena_reported(used)) for m in memory.MEMORY}
    assert got == {"<= 4.5.5": (1008, 1008), "4.5.6 - 4.5.8": (2039, 2024), "4.5.9": (1008, 1008),
                   "4.6.0 - 4.7.x": (1520, 1520), "4.8.x": (1520, 1520), ">= 5.0.0": (1520, 1520)}
    assert memory.for_release("4.5.9").model_allocation(1000) == 1000  # xalloc(size)
    assert memory.for_release("4.8.1").model_allocation(1000) == 1024 + 31  # align32(size) + 31


def test_gc_pool_of_an_area_is_what_micropython_keeps_usable():
    # py/gc.c gc_setup_area: T - 1 = A * (1 + 4/8 + 4 * 16) bytes, the pool is A * 4 blocks of 16
    for area in (26 * K, 64 * K, 228 * K, 264 * K, 267 * K):
        table = (area - 1) * 8 // 524
        assert memory.gc_pool_bytes(area) == table * 64 and table + table * 4 // 8 + table * 64 <= area - 1


def test_the_heap_allocates_first_fit_in_one_area():
    heap = memory.Heap([32 * K, 100 * K], firmware_bytes=40 * K)  # 32 K fills the first area, 8 K the second
    assert heap.free() == 92 * K and heap.max_free() == 92 * K
    assert heap.take(50 * K, "x") == 1 and heap.max_free() == 42 * K
    with pytest.raises(MemoryError, match="memory allocation failed, allocating 44032 bytes"):
        heap.take(43 * K, "y")
    heap.give(1, 50 * K)
    assert heap.free() == 92 * K


@pytest.fixture(scope="module")
def wide_model(tmp_path_factory):
    """An int8 model with a ~230 KB tensor arena (a 1x1 convolution to 224 channels on the
    32x32 input) and a few KB of weights, with its manifest (quantize's own bundle writer)."""
    from maskgate.quantize import convert_int8, write_bundle
    from maskgate.tfenv import keras, seed_everything

    seed_everything(0)
    inp = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(224, 1, activation="relu")(inp)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inp, keras.layers.Dense(1, activation="sigmoid")(x))
    rep = np.random.default_rng(0).integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)
    data = convert_int8(model, rep)
    out = tmp_path_factory.mktemp("wide")
    with pytest.raises(BudgetError) as refused:  # quantize's gate: it must run on every release
        write_bundle(out, data, None, ["no_mask", "mask"], "wide")
    figures = budget.model_figures(data)
    (out / "maskgate_int8.tflite").write_bytes(data)
    manifest = {"schema": 1, "model_file": "maskgate_int8.tflite", "sha256": figures["sha256"], "bytes": len(data),
                **{k: figures[k] for k in ("arena_bytes", "arena_bytes_used_board", "arena_bytes_board")},
                "contract": __import__("maskgate.contract", fromlist=["as_dict"]).as_dict(["no_mask", "mask"])}
    (out / "manifest.json").write_text(json.dumps(manifest))
    return {"path": out / "maskgate_int8.tflite", "manifest": manifest, "figures": figures,
            "refused": str(refused.value)}


def hello_from(board) -> dict:
    frame = module("frame")
    parser = frame.Parser(frame.LIMIT_PAYLOAD)
    parser.feed(board.port.host_read())
    while (ev := parser.next()) is not None:
        if ev[1] == frame.HELLO | frame.REPLY:
            return json.loads(ev[3])
    raise AssertionError("no HELLO reply")


def test_quantize_info_deploy_and_the_board_agree_on_every_release(wide_model, scored_faces):
    from maskgate.board import deploy
    from maskgate.board.virtualboard import VirtualBoard

    frame = module("frame")
    data = wide_model["path"].read_bytes()
    used = wide_model["manifest"]["arena_bytes_used_board"]
    assert 217 * K < used < 243 * K  # between 4.5.9's room and 5.0's: the point of this model
    verdicts = {r: p["ok"] for r, p in wide_model["figures"]["budget"]["releases"].items()}
    assert verdicts == {"4.5.5": True, "4.5.9": False, "4.8.1": True, "5.0.0": True}
    assert "firmware 4.5.9" in wide_model["refused"] and "4.8.1" not in wide_model["refused"]
    masked = [p for p, _ in scored_faces["mask"]][:6]
    for release, fits in verdicts.items():
        board = VirtualBoard(masked, firmware=release)
        board.install(wide_model["path"], wide_model["manifest"])
        board.port.host_write(frame.encode(frame.HELLO, 1, b'{"brief": true}'))
        assert board.run().crash is None
        judged = [r for r in board.decisions() if r["prob"] is not None]
        hello = hello_from(board)
        board.close()
        assert bool(judged) == fits, (release, hello["error"], board.console)  # the board does what the plan says
        free = hello["heap_free"] + hello["model_heap"] - deploy.HEAP_RESERVE
        check = deploy.memory_check(wide_model["manifest"], data, hello, free)
        assert (not check["problems"]) == fits, (release, check["problems"])  # and deploy says so too
        assert list(check["releases"]) == [release]
    # without a board to ask, deploy plans for the release it is told, else for all of them
    assert deploy.memory_check(wide_model["manifest"], data, None, None, "4.8.1")["problems"] == []
    assert "4.5.9" in " ".join(deploy.memory_check(wide_model["manifest"], data, None, None)["problems"])
