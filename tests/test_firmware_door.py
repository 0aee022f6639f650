"""The door state machine, driven directly: K frames to open, T seconds held, fail closed,
no chatter at the threshold, tick wrap-around."""
import pytest

from maskgate.firmware import module

door = module("door")
FRAME_MS = 100


def feed(d, probs, start_ms=0):
    """Feed P(mask) per frame (None = no face, "err" = error); returns the states."""
    states = []
    for i, p in enumerate(probs):
        now = (start_ms + i * FRAME_MS) & 0x3FFFFFFF
        states.append(d.fail(now) if p == "err" else d.update(now, p))
    return states


def test_opens_after_k_mask_frames_and_closes_after_hold():
    d = door.Door(k=3, hold_ms=1000, threshold=0.5, hysteresis=0.05)
    states = feed(d, [0.9, 0.9, 0.9] + [None] * 12)
    assert states[:2] == ["closed", "closed"]
    opened = states.index("open")
    assert opened == 2  # the third masked frame
    closed = states.index("closed", opened)
    assert (closed - opened) * FRAME_MS == 1000  # held exactly T
    assert d.signal == door.SIG_NO_FACE


def test_hold_is_not_extended_and_a_waiting_masked_face_is_readmitted():
    d = door.Door(k=2, hold_ms=500, threshold=0.5, hysteresis=0.0)
    states = feed(d, [0.9] * 12)
    assert states == ["closed", "open", "open", "open", "open", "open",
                      "closed", "open", "open", "open", "open", "open"]


@pytest.mark.parametrize("breaker", [None, 0.1, "err"], ids=["no face", "no mask", "error"])
def test_a_broken_streak_starts_over(breaker):
    d = door.Door(k=3, hold_ms=1000)
    states = feed(d, [0.9, 0.9, breaker, 0.9, 0.9])
    assert states == ["closed"] * 5
    assert feed(d, [0.9], start_ms=500) == ["open"]


def test_no_face_no_mask_low_confidence_keep_it_closed():
    d = door.Door(k=1, hold_ms=1000, threshold=0.7, hysteresis=0.1)
    assert feed(d, [None, 0.0, 0.3, 0.65, 0.69, None]) == ["closed"] * 6
    assert d.signal == door.SIG_NO_FACE
    d.update(1000, 0.2)
    assert d.signal == door.SIG_DENIED


def test_unmasked_face_or_error_closes_an_open_door_at_once():
    d = door.Door(k=1, hold_ms=5000, threshold=0.5, hysteresis=0.05)
    assert feed(d, [0.9, None, 0.47, 0.1]) == ["open", "open", "open", "closed"]
    assert d.signal == door.SIG_DENIED
    d = door.Door(k=1, hold_ms=5000)
    assert feed(d, [0.9, "err"]) == ["open", "closed"]
    assert d.signal == door.SIG_ERROR


def test_hysteresis_keeps_a_streak_through_small_dips():
    strict = door.Door(k=4, hold_ms=1000, threshold=0.5, hysteresis=0.0)
    schmitt = door.Door(k=4, hold_ms=1000, threshold=0.5, hysteresis=0.05)
    hovering = [0.52, 0.48, 0.51, 0.49, 0.5]
    assert "open" not in feed(strict, hovering)
    assert feed(schmitt, hovering)[3] == "open"
    # a streak cannot start inside the band
    late = door.Door(k=2, hold_ms=1000, threshold=0.5, hysteresis=0.05)
    assert feed(late, [0.47, 0.47, 0.47]) == ["closed"] * 3


def test_no_chatter_when_the_probability_hovers_at_the_threshold():
    d = door.Door(k=3, hold_ms=2000, threshold=0.5, hysteresis=0.05)
    states = feed(d, [0.9, 0.9, 0.9] + [0.47, 0.53] * 30)
    flips = [i for i in range(1, len(states)) if states[i] != states[i - 1]]
    # the door never changes on two frames in a row: every state lasts >= 2 frames
    assert all(b - a >= 2 for a, b in zip(flips, flips[1:])), flips
    assert states[2] == "open" and states[21] == "open" and states[22] == "closed"
    # without hysteresis the same dip reads "no mask" and closes the door at once
    strict = door.Door(k=3, hold_ms=2000, threshold=0.5, hysteresis=0.0)
    assert feed(strict, [0.9, 0.9, 0.9, 0.47]) == ["closed", "closed", "open", "closed"]


def test_ticks_wrap_around():
    assert door.ticks_diff(5, 0x3FFFFFFF - 4) == 10
    d = door.Door(k=1, hold_ms=1000)
    states = feed(d, [0.9] + [None] * 12, start_ms=0x3FFFFFFF - 300)
    assert states.index("closed") == 10


def test_invalid_settings_are_refused():
    with pytest.raises(ValueError):
        door.Door(k=0)
    with pytest.raises(ValueError):
        door.Door(threshold=0.5, hysteresis=0.5)
