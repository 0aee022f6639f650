"""The virtual board's camera, card, heap and sandbox: frames from folders and videos, framed
like a camera and delivered through RGB565; the firmware sees only what the camera has."""
import cv2
import numpy as np
import pytest

from maskgate import contract
from maskgate.errors import BoardError
from maskgate.board.virtualboard import VirtualBoard, fit_frame, open_source
from maskgate.board.virtualboard.image import Image


def test_fit_frame_keeps_the_aspect_and_centres():
    tall = np.full((200, 100, 3), 200, np.uint8)
    out = fit_frame(tall, 320, 240)
    assert out.shape == (240, 320, 3)
    cols = np.where(out[120, :, 0] > 100)[0]
    assert (cols[0], cols[-1]) == (100, 219)  # 120 px wide, centred, black bars
    assert fit_frame(np.zeros((240, 320, 3), np.uint8), 320, 240).shape == (240, 320, 3)


def test_sensor_frames_are_rgb565():
    rgb = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    img = Image.from_rgb(rgb)
    assert img.format() == 3 and img.size() == 320 * 240 * 2
    assert np.array_equal(img.rgb888(), contract.rgb565_round_trip(rgb))


def test_video_file_source(tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (160, 120))
    for i in range(5):
        writer.write(np.full((120, 160, 3), 40 * i, np.uint8))
    writer.release()
    frames = list(open_source(path))
    assert len(frames) == 5 and frames[0].shape == (120, 160, 3)
    looped = open_source(path, loop=True)
    assert len([next(looped) for _ in range(12)]) == 12


def run_script(tmp_path, script, frames=1, **kw):
    board = VirtualBoard([np.zeros((240, 320, 3), np.uint8)] * frames, tmp_path / "card", **kw)
    board.card.write_bytes("main.py", script.encode())
    return board, board.run()


def test_the_firmware_sees_only_what_the_camera_has(tmp_path):
    board, result = run_script(tmp_path, """
import time, os, gc, sensor
try:
    import numpy
    print("numpy!")
except ImportError as e:
    print("no numpy")
print("diff", time.ticks_diff(time.ticks_add(5, -10), 5))
print("cwd", os.getcwd(), "free", gc.mem_free() > 100000)
print("statvfs", os.statvfs(".")[0])
img = sensor.snapshot()
print("size", img.width(), img.height())
""")
    assert result.ended == "exit" and result.crash is None
    assert list(board.console) == ["no numpy", "diff -10", "cwd /sdcard free True", "statvfs 4096", "size 320 240"]
    assert board.port.host_read().endswith(b"size 320 240\r\n")  # print() goes to the USB VCP


def test_card_paths_cannot_escape_the_card(tmp_path):
    board, result = run_script(tmp_path, "open('../outside.txt', 'w')\n")
    assert result.ended == "crash" and "outside the card" in result.crash
    assert not (tmp_path / "outside.txt").exists()


@pytest.mark.parametrize("firmware", ["4.5.9", "5.0.0"])
def test_a_model_too_big_for_the_heap_fails_closed(board_model, tmp_path, firmware):
    # 4.5.9: the firmware's load_to_fb rule puts the model in the frame buffer; 5.0 puts it in
    # the UMA pool. Either way the arena must be planned in the largest free heap block.
    error = "ValueError: Failed to allocate tensors"
    board = VirtualBoard([np.zeros((240, 320, 3), np.uint8)] * 3, tmp_path / "card", heap_bytes=60 * 1024,
                         firmware=firmware)
    board.install(board_model["path"], board_model["manifest"])
    assert board.run().crash is None
    assert any(f"cannot load the model: {error}" in line for line in board.console), board.console
    assert {e for _, e in board.door_events()} == {"closed"}


def test_stop_ends_a_looping_run(board_model, tmp_path):
    board = VirtualBoard([np.zeros((240, 320, 3), np.uint8)], tmp_path / "card", loop=True, max_frames=25)
    board.install(board_model["path"], board_model["manifest"])
    result = board.run()
    assert (result.ended, result.frames) == ("frames", 25)
    with pytest.raises(BoardError, match="no main.py"):
        VirtualBoard(tmp_path / "missing", tmp_path / "card2").run()
