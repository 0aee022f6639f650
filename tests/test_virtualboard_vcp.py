"""The virtual board's USB VCP does what the H7's does (MicroPython ports/stm32/usb.c and
usbd_cdc_interface.c, see tools/virtualboard/vcp.py): any() is a bool, a 512-byte receive
ring that drops what does not fit unless RTS holds the host back (also over a real pty),
a 512-byte transmit ring, send(timeout=) and print() waiting as the C code does -- all on
the virtual clock. Then the firmware on it: a PC that opens the port and stops reading for
10 s neither slows the door loop nor keeps an open door open."""
import json
import threading
import time

import numpy as np
import pytest
import serial

from maskgate.board.virtualboard import VirtualBoard
from maskgate.board.virtualboard.clock import Clock
from maskgate.board.virtualboard.vcp import PRINT_WAIT_US, RTS_ROOM, RX_SIZE, TX_SIZE, USB_VCP, MemoryPort, PtyPort
from maskgate.firmware import module

frame = module("frame")
FPS = 10


def vcp(**kw):
    clock = Clock("virtual")
    port = MemoryPort(clock, **kw)
    usb = USB_VCP(port)
    usb.setinterrupt(-1)  # binary data below holds 0x03 (Ctrl-C), as the firmware's does
    return usb, port, clock


def test_any_is_a_bool_and_read_returns_what_is_there():
    usb, port, clock = vcp()
    assert usb.any() is False and usb.read(10) is None and usb.read() is None
    port.host_write(b"hello")
    assert usb.any() is True  # not 5: usb.c pyb_usb_vcp_any returns mp_const_true
    assert usb.read(True) == b"h"  # read(True) is read(1)
    assert usb.read(100) == b"ello"
    port.host_write(b"abc\ndef")
    assert usb.readline() == b"abc\n" and usb.readline() == b"def" and usb.readline() is None
    buf = bytearray(8)
    port.host_write(b"xyz")
    assert usb.readinto(buf) == 3 and buf[:3] == b"xyz" and usb.readinto(buf) is None
    assert clock.us() == 0  # none of it waited


def test_without_flow_control_what_does_not_fit_is_lost():
    usb, port, clock = vcp()
    data = bytes(range(256)) * 16  # a 4 KB request frame, say
    port.host_write(data)
    clock.sleep_us(10_000)  # the board is busy with a frame; the bytes arrive meanwhile
    got = usb.read()
    assert got == data[: RX_SIZE - 1]  # the ring holds 511; the rest was thrown away
    assert port.counts["rx_dropped"] == len(data) - (RX_SIZE - 1) and port.host_pending() == 0


def test_rts_holds_the_host_back_and_nothing_is_lost():
    usb, port, clock = vcp()
    usb.init(flow=USB_VCP.RTS)
    data = bytes(range(256)) * 16
    port.host_write(data)
    clock.sleep_us(50_000)
    assert usb.any()
    assert len(port.rx) <= RX_SIZE - 1 and port.host_pending() >= len(data) - RX_SIZE  # the host waits
    got = bytearray()
    while len(got) < len(data):
        got += usb.read(4096) or b""
        clock.sleep_us(500)  # the firmware's poll looks again a little later
    assert bytes(got) == data and port.counts["rx_dropped"] == 0
    # recv waits for the bytes as they come: 4 KB take about 3 ms of USB full speed (the
    # first 512 came while nobody looked)
    port.host_write(data)
    t0 = clock.us()
    assert usb.recv(len(data), timeout=100) == data
    assert 2500 < clock.us() - t0 < 3500


def test_send_takes_what_fits_and_waits_as_long_as_told():
    usb, port, clock = vcp(host_buffer=0)  # a host that holds the port open and reads nothing
    data = bytes(4096)
    assert usb.isconnected()
    assert usb.send(data, timeout=0) == TX_SIZE and clock.us() == 0  # timeout=0 never waits
    t0 = clock.us()
    assert usb.send(data, timeout=100) == 0 and clock.us() - t0 == 100_000
    port.host_buffer = None  # it reads again: the ring empties at bus speed
    t0 = clock.us()
    assert usb.send(data, timeout=50) == len(data)
    assert 2500 < clock.us() - t0 < 3500  # 4 KB at 1.216 MB/s, less the ring it started with
    port.host_close()  # nobody has the port open: nothing can be sent
    assert usb.isconnected() is False and usb.send(b"x", timeout=0) == 0


def test_print_waits_half_a_second_a_byte_for_a_host_that_does_not_read():
    usb, port, clock = vcp(host_buffer=0)
    port.console_write(b"a" * TX_SIZE)  # print(): fills the ring without waiting
    assert clock.us() == 0
    port.console_write(b"b" * 10)  # ten more bytes: each waits 500 ms, then overwrites the oldest
    assert clock.us() == 10 * PRINT_WAIT_US
    assert bytes(port.tx)[-10:] == b"b" * 10 and port.counts["tx_overwritten"] == 10
    port.host_close()  # nobody listening: print() never waits, the ring keeps the newest bytes
    t0 = clock.us()
    port.console_write(b"c" * 1000)
    assert clock.us() == t0 and port.tx_used() == TX_SIZE and set(bytes(port.tx)) == {ord("c")}
    port.host_open()
    usb.init(flow=USB_VCP.RTS | USB_VCP.CTS)  # CTS: print() takes what fits and drops the rest
    t0 = clock.us()
    assert usb.write(b"d" * 100) is None and clock.us() == t0  # no room: EAGAIN


def test_the_interrupt_character_is_not_stored_unless_disabled():
    usb, port, _ = vcp()
    usb.setinterrupt(3)
    port.host_write(b"ab\x03cd")
    with pytest.raises(KeyboardInterrupt):
        usb.any()
    assert bytes(port.rx) == b"abcd"
    usb.setinterrupt(-1)
    port.host_write(b"\x03")
    assert usb.read() == b"abcd\x03"


def test_over_a_pty_the_board_takes_only_what_its_ring_has_room_for(tmp_path):
    clock = Clock("virtual")
    port = PtyPort(tmp_path / "ttyACM0", clock)
    usb = USB_VCP(port)
    usb.setinterrupt(-1)
    usb.init(flow=USB_VCP.RTS)
    try:
        assert usb.isconnected() is False  # nobody has the port open
        host = serial.Serial(str(tmp_path / "ttyACM0"), 115200, timeout=1)
        try:
            assert usb.isconnected() is True  # pyserial opened it (DTR on a real camera)
            data = bytes(range(256)) * 40  # 10 KB
            # More than a pty buffers on some kernels: the PC's write blocks while RTS holds it
            # back, as a real host's does, so it writes from its own thread.
            writer = threading.Thread(target=host.write, args=(data,), daemon=True)
            writer.start()
            deadline = time.monotonic() + 10
            while not (usb.any() and RX_SIZE - len(port.rx) < RTS_ROOM) and time.monotonic() < deadline:
                clock.sleep_us(1000)
                time.sleep(0.001)
            assert usb.any() and RX_SIZE - len(port.rx) < RTS_ROOM  # the ring as full as RTS lets it...
            got = bytearray(port.take())
            assert port._host_has_input()  # ...the rest still in the pty: the host is held back
            while len(got) < len(data) and time.monotonic() < deadline + 10:
                clock.sleep_us(1000)
                got += usb.read(4096) or b""
            writer.join(10)
            assert bytes(got) == data
            reply = bytes(range(200)) * 10
            assert usb.send(reply, timeout=100) == len(reply)  # all in the ring or on the way...
            clock.sleep_us(1000)
            usb.any()  # ...and out, once board time passed
            assert host.read(len(reply)) == reply
        finally:
            host.close()
        assert usb.isconnected() is False
    finally:
        port.close()


def test_firmware_5_empties_the_receive_ring_when_a_host_opens_the_port():
    for firmware, kept in (("4.5.9", b"old"), ("5.0.0", None)):
        clock = Clock("virtual")
        port = MemoryPort(clock, firmware, host_open=False)
        usb = USB_VCP(port)
        port.host_open()
        port.host_write(b"old")
        usb.any()
        port.host_close()
        assert not usb.isconnected()
        usb.init(flow=USB_VCP.RTS | USB_VCP.CTS)
        port.host_open()
        assert usb.read() == kept  # omv_protocol_channel_stmusb.c:104-112 (5.0 only)
        assert (port.flow & USB_VCP.CTS == 0) == (firmware == "5.0.0")


PRINTING_LOOP = """
import json, pyb, sensor, time
usb = pyb.USB_VCP()
times = []
for i in range(30):
    sensor.snapshot()
    times.append(time.ticks_ms())
    print("x" * 1000)  # what the firmware must never do in the door loop
open("times.json", "w").write(json.dumps([times, usb.isconnected()]))
"""


@pytest.mark.parametrize("host", [None, "stalled"])
def test_print_in_a_loop_is_what_a_stalled_pc_wedges(tmp_path, host):
    board = VirtualBoard([np.zeros((240, 320, 3), np.uint8)], tmp_path / "card", fps=FPS, pty=True, loop=True,
                         repl=False)
    board.card.write_bytes("main.py", PRINTING_LOOP.encode())
    pc = serial.Serial(board.pty_path, 115200) if host else None  # opened, never read
    try:
        assert board.run().ended == "exit"
    finally:
        if pc:
            pc.close()
        board.close()
    times, connected = json.loads((tmp_path / "card" / "times.json").read_text())
    gaps = np.diff(times)
    assert connected == bool(host)
    if host is None:
        assert set(gaps) == {1000 // FPS}  # no PC: print() never waits
    else:
        # a reading PC costs the bus time of 1000 bytes a frame; once its 16 KB and the
        # 512-byte ring are full, every byte of print() waits half a second
        assert all(1000 // FPS <= g <= 1000 // FPS + 1 for g in gaps[:12])
        assert gaps[-1] >= 1000 * PRINT_WAIT_US // 1000


# --- the firmware on it ---

def door_run(board_model, frames, card, pc_requests=None):
    """The firmware with the door config below; pc_requests: what a PC writes to the port
    before it stops reading (it keeps the port open all along)."""
    board = VirtualBoard(frames, card, fps=FPS, pty=True, repl=False)
    board.install(board_model["path"], board_model["manifest"], **{"door.k": 2, "door.hold_s": 5.0})
    pc = None
    if pc_requests is not None:
        pc = serial.Serial(board.pty_path, 115200, timeout=0)
        pc.write(pc_requests)
    try:
        result = board.run()
        assert result.crash is None, result.crash
        unread = b""
        while pc and (chunk := pc.read(1 << 16)):  # a tty hands out 4 KB a read
            unread += chunk
    finally:
        if pc:
            pc.close()
        board.close()
    return board, unread


def test_a_pc_that_stops_reading_does_not_wedge_the_door(board_model, scored_faces, tmp_path):
    masked = [p for p, prob in scored_faces["mask"] if prob >= 0.85][:3]
    wall = np.full((240, 320, 3), 120, np.uint8)
    frames = masked + [wall] * 110  # a masked face opens the door; then 11 s of an empty hall
    alone, _ = door_run(board_model, frames, tmp_path / "alone")
    # 12 GETs of 4 KB, written at once; the PC then reads nothing until the run is over
    gets = b"".join(frame.encode(frame.GET, i, json.dumps({"p": "main.py", "o": 0, "n": 4096}).encode())
                    for i in range(12))
    stalled, unread = door_run(board_model, frames, tmp_path / "stalled", gets)

    rows, alone_rows = stalled.decisions(), alone.decisions()
    gaps = np.diff([r["time_ms"] for r in rows])
    assert len(rows) == len(frames) and max(gaps) <= 1.2 * 1000 // FPS  # answering costs at most a fifth
    assert set(gaps[5:]) == {1000 // FPS}  # once the PC stalled, the loop spends nothing on it
    assert set(np.diff([r["time_ms"] for r in alone_rows])) == {1000 // FPS}
    events = stalled.door_events()
    assert [e for _, e in events] == ["closed", "open", "closed"] == [e for _, e in alone.door_events()]
    opened = [r["door"] for r in rows].index("open")
    assert opened == [r["door"] for r in alone_rows].index("open")  # same frame as with no PC
    assert 5000 <= events[2][0] - events[1][0] < 5000 + 1000 // FPS  # and closed on time
    assert rows[-1]["time_ms"] - events[1][0] > 10_000  # with the PC holding the port unread all along

    # The PC really was stalled: its side of the port is full, and the board stopped taking
    # requests rather than queue replies; what did go out is whole frames, in order.
    assert len(unread) >= 16 * 1024
    parser = frame.Parser(frame.LIMIT_PAYLOAD)
    parser.feed(unread[: parser.space()])
    got = []
    while (ev := parser.next()) is not None:
        got.append(ev)
    replies = [ev for ev in got if ev[0] == frame.FRAME]
    assert [ev[1] for ev in replies] == [frame.GET | frame.REPLY] * len(replies)
    assert [ev[2] for ev in replies] == list(range(len(replies))) and 3 <= len(replies) < 12
    main_py = (stalled.card.root / "main.py").read_bytes()[:4096]
    assert all(ev[3] == main_py for ev in replies)
