"""The serial link (tools/link.py) and the firmware's file commands, over the virtual board's
pty with the real pyserial: clear errors for the ways a port fails, requests that survive
damaged frames and a board that goes away mid-transfer, paths confined to the card."""
import json
import os
import subprocess
import sys
import time
import tty

import pytest

from boards import FIRMWARE_VERSION, running_board, sha256
from maskgate.errors import BoardError
from maskgate.board.link import Link, NotFound, RemoteError, check_protocol, frame
from maskgate.board.remote_card import RemoteCard
from maskgate.board.virtualboard.faults import Faults


@pytest.fixture(scope="module")
def board(board_model, tmp_path_factory):
    with running_board(board_model, tmp_path_factory.mktemp("link")) as b:
        yield b



def test_the_ide_baud_rates_are_refused():
    for baud in (921600, 12000000):
        with pytest.raises(BoardError, match="OpenMV IDE"):
            Link("/dev/ttyACM0", baud=baud)


def test_no_such_port_says_so_with_exit_code_5(tmp_path):
    with pytest.raises(BoardError, match="no such port"):
        Link(str(tmp_path / "ttyACM7")).open()
    done = subprocess.run([os.path.join(os.path.dirname(sys.executable), "maskgate"), "pull", "--port",
                           str(tmp_path / "ttyACM7"), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 5 and "no such port" in done.stderr


def test_a_busy_port_names_who_holds_it(tmp_path):
    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    try:
        with Link(path):
            with pytest.raises(BoardError, match="busy"):
                Link(path).open()
        # the OpenMV IDE holding the port (a process of that name with it locked)
        ide = tmp_path / "openmvide"
        ide.write_text("import serial, sys, time\n"
                       "s = serial.Serial(sys.argv[1], 921600, exclusive=True)\nprint('ready', flush=True)\n"
                       "time.sleep(60)\n")
        proc = subprocess.Popen([sys.executable, str(ide), path], stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout.readline().strip() == "ready"
            with pytest.raises(BoardError, match="the OpenMV IDE holds"):
                Link(path).open()
        finally:
            proc.kill()
            proc.wait()
    finally:
        os.close(master)
        os.close(slave)


def test_a_board_that_does_not_answer_is_named_and_a_repl_is_recognised():
    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    try:
        link = Link(path, connect_s=1.0)
        with pytest.raises(BoardError, match="does not answer the maskgate protocol"):
            link.connect()
        os.write(master, b"MicroPython v1.23.0 OpenMV\r\n>>> ")
        with pytest.raises(BoardError, match="MicroPython REPL: main.py is not running"):
            link.connect()
        link.close()
    finally:
        os.close(master)
        os.close(slave)


def test_protocol_version_mismatch_is_refused_with_the_way_out():
    check_protocol({"proto": frame.PROTOCOL, "fw": FIRMWARE_VERSION})
    with pytest.raises(BoardError, match=r"protocol version mismatch.*firmware 0\.1\.0 \(protocol 0\).*deploy"):
        check_protocol({"fw": "0.1.0"}, "/dev/ttyACM0")


def test_hello_and_the_card_over_the_link(board, link):
    hello = link.hello
    assert hello["proto"] == frame.PROTOCOL and hello["fw"] == FIRMWARE_VERSION and hello["error"] is None
    assert hello["id"] and hello["boot"] and hello["model_heap"] > 0 and hello["heap_free"] > 0
    assert hello["model_sha256"] == board.config["model_sha256"]
    card = RemoteCard(link)
    names = [n for n, _, _ in card.listdir("")]
    assert "main.py" in names and "config.json" in names and "log" in names
    data, sha = card.read_verified("main.py")
    assert data == (board.card.root / "main.py").read_bytes() and sha == sha256(data)
    blob = os.urandom(3 * frame.MAX_CHUNK + 123)
    card.write_verified("tests/sub/blob.bin", blob)
    assert (board.card.root / "tests/sub/blob.bin").read_bytes() == blob
    card.rename("tests/sub/blob.bin", "tests/blob2.bin")
    assert card.stat("tests/sub/blob.bin") is None and card.stat("tests/blob2.bin")["size"] == len(blob)
    assert link.call(frame.RENAME, {"from": "tests/sub/blob.bin", "to": "tests/blob2.bin"}) == {"renamed": False}
    assert card.delete("tests/blob2.bin") and not card.delete("tests/blob2.bin")  # a repeat is harmless
    for i in range(70):  # LIST pages
        (board.card.root / "tests" / "many" / f"{i:03d}.txt").parent.mkdir(parents=True, exist_ok=True)
        (board.card.root / "tests" / "many" / f"{i:03d}.txt").write_text(str(i))
    assert [n for n, _, _ in card.listdir("tests/many")] == [f"{i:03d}.txt" for i in range(70)]


@pytest.mark.parametrize("path", ["../outside.txt", "/flash/main.py", "a/../../b", "", "a//b", "/rom/x", "a\\b"])
def test_paths_off_the_card_are_refused(link, path):
    with pytest.raises(RemoteError, match="bad_payload"):
        link.call(frame.STAT, {"p": path})
    with pytest.raises(RemoteError, match="bad_payload"):
        link.call_data(frame.PUT, {"p": path, "o": 0}, b"x")


def test_bad_requests_get_error_replies(board, link):
    with pytest.raises(NotFound):
        link.call(frame.STAT, {"p": "nope.txt"})
    with pytest.raises(RemoteError, match="past the end"):
        link.call_data(frame.PUT, {"p": "config.json", "o": 10**6}, b"x")
    with pytest.raises(RemoteError, match="integer"):
        link.call(frame.GET, {"p": "config.json", "o": 0, "n": frame.MAX_CHUNK + 1})
    with pytest.raises(RemoteError, match="bad_payload"):
        link.call(frame.SET_CONFIG, {"set": {"door": {"k": 0}}})
    assert json.loads((board.card.root / "config.json").read_text())["door"]["k"] != 0  # nothing written


def test_set_config_writes_a_checked_config(board, link):
    before = (board.card.root / "config.json").read_bytes()
    try:
        reply = link.call(frame.SET_CONFIG, {"set": {"door.hold_s": 2.5, "log": {"crops": "all"}}})
        assert reply["restart"] and reply["config"]["door"]["hold_s"] == 2.5
        on_card = json.loads((board.card.root / "config.json").read_text())
        assert on_card["door"]["hold_s"] == 2.5 and on_card["log"]["crops"] == "all"
        assert on_card["door"]["k"] == json.loads(before)["door"]["k"]  # the rest kept
    finally:
        board.card.write_bytes("config.json", before)


def test_transfers_survive_corruption_and_a_pulled_cable(board, link):
    blob = os.urandom(16 * 1024)
    board.card.write_bytes("tests/big.bin", blob)
    card = RemoteCard(link)
    board.port.faults = Faults(corrupt=0.002, drop=0.001, duplicate=0.001, seed=3, unplug_after=8 * 1024)
    try:
        data, _ = card.read_verified("tests/big.bin")
        assert data == blob
        card.write_verified("tests/up.bin", blob[:6000])
        assert (board.card.root / "tests/up.bin").read_bytes() == blob[:6000]
    finally:
        counts = board.port.faults.counts
        board.port.faults = None
    assert counts["unplugs"] == 1 and counts["corrupted"] > 0 and counts["dropped"] > 0
    assert link.stats["reconnects"] == 1 and link.stats["retries"] > 0
    assert link.reboots == 0  # the cable, not the board: same boot


def test_a_reset_mid_command_reconnects_and_resumes(board, link):
    card = RemoteCard(link)
    blob = os.urandom(20000)
    card.write("tests/half.bin", blob[:8000])
    link.call(frame.RESET)  # the board reboots: its port goes away and comes back
    time.sleep(0.1)
    card.write("tests/half.bin", blob)  # resumes: the card already holds the first 8000 bytes
    assert link.reboots == 1 and link.stats["reconnects"] >= 1
    assert (board.card.root / "tests/half.bin").read_bytes() == blob
    assert link.call(frame.HELLO, {"min": True})["boot"] == link.boot
