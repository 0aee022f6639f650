# config.json on the card: what the model is and how the door behaves.
#
# The host writes it from the model's manifest (maskgate.board.board_config.make_config),
# starting from DEFAULTS below, so the board-side defaults are written only here. The model
# keys (model, labels, output, positive_label, threshold, input_size, face_margin) come from
# the manifest and have no defaults: without them the firmware refuses to run the door.
#
# load() checks every key and reports every problem at once, with the key's name, so a
# hand-edited card says exactly what to fix. A key this firmware does not know is one of them:
# a misspelt "active_high" would otherwise leave the default polarity in force, which opens the
# door on a relay wired the other way, so a config.json that is not fully understood runs
# nothing and drives no relay pin (relay_settings).

import json

SCHEMA = 1
FACE_STAGES = ("haar", "facedet", "haar+facedet")  # face_stage.py KINDS
BACKGROUND = "background"  # the label of a 3-class model's "nobody there" (judge.py refuses it)

DEFAULTS = {
    "schema": SCHEMA,
    "model_sha256": None,  # checked against the model file at boot when given
    "framesize": "QVGA",
    "face_detection": True,  # when on, the door needs a detected face to open
    "detect_scale": 0.5,  # Haar runs on a grayscale copy this much smaller
    # Tuned on OpenMV's own Haar algorithm (host/maskgate/imlib/haar.py) in door framing:
    # bench/bench_face_tuning.py, bench/results/face-tuning.md. The threshold scales the
    # cascade's negative stage thresholds: 1.0 is the cascade as trained, lower is stricter.
    "haar_stages": 21,
    "haar_threshold": 0.9,
    "haar_scale_factor": 1.35,
    "eye_fallback": True,  # no frontal face: place one from an eye pair (masks hide nose and mouth)
    # What finds the face (face_stage.py): "haar" (the cascades above), "facedet" (the detector
    # model below), or "haar+facedet" (the detector when Haar finds nothing).
    "face_stage": "haar",
    "detector": {
        "model": None,  # the detector's .tflite on the card (needed by facedet stages)
        "model_sha256": None,  # checked against the file at boot when given
        "threshold": 0.8,  # objectness a cell needs to be a face (the host picks it on empty scenes)
    },
    "door": {
        "k": 3,  # frames in a row that read "mask" before opening
        "hold_s": 5.0,  # seconds the door stays open
        "hysteresis": 0.05,  # a running streak survives P(mask) down to threshold - this
        "relay_pin": "P0",
        "active_high": True,  # relay pin level that opens the door
    },
    "log": {
        "dir": "log",
        "crops": "low_confidence",  # all | low_confidence | every_n | none
        "every_n": 10,
        "low_confidence_band": 0.2,  # |P(mask) - threshold| below this is "low confidence"
        "min_free_kb": 1024,  # delete the oldest log files below this much free space
        "max_rows": 5000,  # rows per CSV file before starting the next one
        "jpeg_quality": 90,
    },
}

REQUIRED = ("model", "labels", "output", "positive_label", "threshold", "input_size", "face_margin")
FRAMESIZES = ("QQVGA", "HQVGA", "QVGA", "VGA")
OUTPUTS = ("sigmoid", "softmax")
CROP_POLICIES = ("all", "low_confidence", "every_n", "none")
RELAY_PINS = ("P0", "P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "P9")


_INF = float("inf")


class ConfigError(ValueError):
    pass


def _merge(defaults, given):
    out = {}
    for key in defaults:
        out[key] = defaults[key]
    for key in given:
        if isinstance(defaults.get(key), dict) and isinstance(given[key], dict):
            out[key] = _merge(defaults[key], given[key])
        else:
            out[key] = given[key]
    return out


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v):
    return (isinstance(v, int) or isinstance(v, float)) and not isinstance(v, bool)


def _ascii(text):
    # non-ASCII as \uXXXX (UTF-16 pairs above U+FFFF), as CPython's json.dumps writes it
    out = []
    for c in text:
        n = ord(c)
        if n < 0x80:
            out.append(c)
        elif n < 0x10000:
            out.append("\\u%04x" % n)
        else:
            n -= 0x10000
            out.append("\\u%04x\\u%04x" % (0xD800 | (n >> 10), 0xDC00 | (n & 0x3FF)))
    return "".join(out)


def _shown(value):
    """A value as JSON in a message, the same text on the camera and on the PC. json.dumps
    alone is not: MicroPython keeps no order in a dict, writes non-ASCII as it is and infinity
    as inf; CPython escapes non-ASCII and writes Infinity (tests/test_firmware_micropython.py)."""
    if isinstance(value, dict):
        return "{" + ", ".join(["%s: %s" % (_shown(k), _shown(value[k])) for k in sorted(value)]) + "}"
    if isinstance(value, list):
        return "[" + ", ".join([_shown(v) for v in value]) + "]"
    if isinstance(value, float) and (value != value or value in (_INF, -_INF)):
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    return _ascii(json.dumps(value))


def _check(cfg, problems):
    def need(ok, key, rule):
        if not ok:
            value = cfg
            for part in key.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            problems.append("%s must be %s (got %s)" % (key, rule, _shown(value)))

    for key in REQUIRED:
        if key not in cfg:
            problems.append("%s is missing (re-make config.json from the model manifest)" % key)
    if problems:
        return
    need(cfg["schema"] == SCHEMA, "schema", str(SCHEMA))
    need(isinstance(cfg["model"], str) and len(cfg["model"]) > 0, "model", "a file name on the card")
    sha = cfg["model_sha256"]
    need(sha is None or (isinstance(sha, str) and len(sha) == 64), "model_sha256", "null or 64 hex digits")
    labels = cfg["labels"]
    labels_ok = isinstance(labels, list) and len(labels) >= 2 and all(isinstance(x, str) for x in labels)
    need(labels_ok, "labels", "a list of at least two names")
    need(cfg["output"] in OUTPUTS, "output", " or ".join(OUTPUTS))
    if labels_ok:
        need(cfg["positive_label"] in labels, "positive_label", "one of the labels")
        need(cfg["output"] != "sigmoid" or len(labels) == 2, "output", "softmax for more than two labels")
    need(_is_num(cfg["threshold"]) and 0 < cfg["threshold"] <= 1, "threshold", "a number in (0, 1]")
    need(_is_int(cfg["input_size"]) and 8 <= cfg["input_size"] <= 256, "input_size", "an integer 8..256")
    need(_is_num(cfg["face_margin"]) and 0 <= cfg["face_margin"] <= 2, "face_margin", "a number in [0, 2]")
    need(cfg["framesize"] in FRAMESIZES, "framesize", " | ".join(FRAMESIZES))
    need(isinstance(cfg["face_detection"], bool), "face_detection", "true or false")
    need(_is_num(cfg["detect_scale"]) and 0.1 <= cfg["detect_scale"] <= 1, "detect_scale", "a number in [0.1, 1]")
    need(_is_int(cfg["haar_stages"]) and 1 <= cfg["haar_stages"] <= 25, "haar_stages", "an integer 1..25")
    need(_is_num(cfg["haar_threshold"]) and 0 <= cfg["haar_threshold"] <= 1, "haar_threshold", "a number in [0, 1]")
    need(_is_num(cfg["haar_scale_factor"]) and 1 < cfg["haar_scale_factor"] <= 4,
         "haar_scale_factor", "a number in (1, 4]")
    need(isinstance(cfg["eye_fallback"], bool), "eye_fallback", "true or false")
    need(cfg["face_stage"] in FACE_STAGES, "face_stage", " | ".join(FACE_STAGES))
    if labels_ok:
        need(cfg["positive_label"] != BACKGROUND, "positive_label", "a face label, not %s" % BACKGROUND)
        need(BACKGROUND not in labels or cfg["output"] == "softmax", "output",
             "softmax for a model with a %s class" % BACKGROUND)

    det = cfg["detector"]
    if not isinstance(det, dict):
        problems.append("detector must be an object")
    else:
        if cfg["face_detection"] and cfg["face_stage"] in ("facedet", "haar+facedet"):
            need(isinstance(det["model"], str) and len(det["model"]) > 0, "detector.model",
                 "the detector's file name on the card (face_stage %s)" % cfg["face_stage"])
        else:
            need(det["model"] is None or (isinstance(det["model"], str) and len(det["model"]) > 0),
                 "detector.model", "null or a file name on the card")
        dsha = det["model_sha256"]
        need(dsha is None or (isinstance(dsha, str) and len(dsha) == 64), "detector.model_sha256",
             "null or 64 hex digits")
        need(_is_num(det["threshold"]) and 0 < det["threshold"] <= 1, "detector.threshold", "a number in (0, 1]")
        if isinstance(det["model"], str) and det["model"] == cfg["model"]:
            problems.append("detector.model must be another file than model (%s)" % json.dumps(det["model"]))

    door = cfg["door"]
    if not isinstance(door, dict):
        problems.append("door must be an object")
    else:
        need(_is_int(door["k"]) and 1 <= door["k"] <= 100, "door.k", "an integer 1..100")
        need(_is_num(door["hold_s"]) and 0 <= door["hold_s"] <= 600, "door.hold_s", "seconds in [0, 600]")
        hyst_ok = _is_num(door["hysteresis"]) and door["hysteresis"] >= 0
        if hyst_ok and _is_num(cfg["threshold"]):
            hyst_ok = door["hysteresis"] < cfg["threshold"]
        need(hyst_ok, "door.hysteresis", "a number in [0, threshold)")
        need(door["relay_pin"] in RELAY_PINS, "door.relay_pin", "one of P0..P9")
        need(isinstance(door["active_high"], bool), "door.active_high", "true or false")

    log = cfg["log"]
    if not isinstance(log, dict):
        problems.append("log must be an object")
    else:
        need(isinstance(log["dir"], str) and len(log["dir"]) > 0, "log.dir", "a folder name")
        need(log["crops"] in CROP_POLICIES, "log.crops", " | ".join(CROP_POLICIES))
        need(_is_int(log["every_n"]) and log["every_n"] >= 1, "log.every_n", "an integer >= 1")
        need(_is_num(log["low_confidence_band"]) and 0 <= log["low_confidence_band"] <= 1,
             "log.low_confidence_band", "a number in [0, 1]")
        need(_is_int(log["min_free_kb"]) and log["min_free_kb"] >= 0, "log.min_free_kb", "an integer >= 0")
        need(_is_int(log["max_rows"]) and 10 <= log["max_rows"] <= 10000, "log.max_rows", "an integer 10..10000")
        need(_is_int(log["jpeg_quality"]) and 1 <= log["jpeg_quality"] <= 100, "log.jpeg_quality", "an integer 1..100")


def unknown_keys(cfg):
    """Keys this firmware does not know (typos, or a newer host), as group.key: each makes the
    config invalid (validate) and the relay setting unknown (relay_settings)."""
    out = []
    for key in cfg:
        if key not in DEFAULTS and key not in REQUIRED:
            out.append(key)
        elif isinstance(DEFAULTS.get(key), dict) and isinstance(cfg[key], dict):
            for sub in cfg[key]:
                if sub not in DEFAULTS[key]:
                    out.append(key + "." + sub)
    return out


def validate(given):
    """A complete, checked config (defaults filled in) from a decoded config.json."""
    if not isinstance(given, dict):
        raise ConfigError("config.json must hold a JSON object")
    cfg = _merge(DEFAULTS, given)
    problems = []
    for key in unknown_keys(given):
        problems.append("%s is not a key this firmware knows (a typo?)" % _ascii(key))
    _check(cfg, problems)
    if problems:
        raise ConfigError("config.json: " + "; ".join(problems))
    return cfg


def read(path):
    """The decoded JSON object in `path`; ConfigError says what is wrong with the file."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        raise ConfigError("%s not found on the card: deploy the firmware with its config" % path)
    try:
        return json.loads(text)
    except ValueError:
        raise ConfigError("%s is not valid JSON" % path)


def load(path):
    return validate(read(path))


def relay_settings(path):
    """(pin, active_high) of the door relay, read on its own so the relay is set up before
    anything else, even when the rest of config.json is unusable.

    Missing door settings mean the defaults (a config.json without "door" is valid). A
    setting that is there but invalid, a key the firmware does not know anywhere in the file
    (it may be a misspelt relay setting), or a config.json that cannot be read, makes the
    value unknown (None): the firmware cannot know which level keeps the door closed, so
    it must drive nothing (main.py leaves the pin an input; the relay module's pull
    resistor holds the closed level) instead of guessing one that might open the door."""
    try:
        given = read(path)
    except Exception:
        return None, None
    door = given.get("door", {}) if isinstance(given, dict) else None
    if not isinstance(door, dict) or unknown_keys(given):
        return None, None
    pin = door.get("relay_pin", DEFAULTS["door"]["relay_pin"])
    active_high = door.get("active_high", DEFAULTS["door"]["active_high"])
    return (pin if pin in RELAY_PINS else None), (active_high if isinstance(active_high, bool) else None)
