# maskgate: a face-mask door controller for the OpenMV Cam H7.
#
# Every frame: snapshot -> the face stage config.json names (face_stage.py: Haar with the eye
# fallback, our face detector, or Haar then the detector) -> face square resized to 32x32 ->
# int8 model -> P(mask) (a 3-class model's "background" refuses the region) -> door state
# machine -> relay and LEDs -> one CSV row on the card.
# Between frames the serial link answers the PC tools (frame.py, commands.py): HELLO, the
# card's files, pictures for a training set, inference on pictures from the PC, stage
# timings, config changes, reset, and stopping for the REPL.
#
# Fail closed: the relay pin is created at its closed level before anything else runs (or,
# when config.json does not say which level that is, left an input: the relay module's pull
# resistor holds the door closed); a missing or broken config.json or model leaves it closed,
# blinks the red LED and says why on the serial port; an error on any frame closes the door
# for that frame. The same file runs on every OpenMV release from 4.5.5 on: what differs is
# probed (features.py), never read from a version string.
#
# LEDs: green = door open, red = face without a mask (blinking: not configured),
# blue = no face in view. Nothing lit = a masked face is being confirmed (K frames).

import binascii
import gc
import image
import machine
import os
import pyb
import sensor
import time

import capture
import commands
import config
import door
import face
import face_stage
import facedet
import features
import files
import frame
import infer
import judge
import picture_infer
import reconfigure
import sdlog
import timings
from version import VERSION

CONFIG_FILE = "config.json"

# --- Door relay first: closed until a decision says otherwise. value= sets the level before
# the pin becomes an output (ports/stm32/pin.c), so it never drives the open level, not even
# for an instant. An unknown polarity or pin (config.relay_settings) drives nothing.
relay_pin, active_high = config.relay_settings(CONFIG_FILE)
relay = None
if relay_pin is not None and active_high is not None:
    relay = pyb.Pin(relay_pin, pyb.Pin.OUT_PP, value=0 if active_high else 1)
elif relay_pin is not None:
    pyb.Pin(relay_pin, pyb.Pin.IN)  # high impedance: the relay module's pull resistor decides


def drive_relay(opened):
    if relay is not None:
        relay.value(1 if opened == active_high else 0)


red, green, blue = pyb.LED(1), pyb.LED(2), pyb.LED(3)
LED_FOR = {
    door.SIG_OPEN: green, door.SIG_DENIED: red, door.SIG_ERROR: red,
    door.SIG_NO_FACE: blue, door.SIG_PENDING: None,
}


def show(signal):
    lit = LED_FOR.get(signal)
    for led in (red, green, blue):
        if led is lit:
            led.on()
        else:
            led.off()


# --- Serial link to the PC: binary frames, so a 0x03 byte must not raise KeyboardInterrupt;
# RTS: the PC waits while the board's 512-byte receive buffer is full (else bytes are lost).
usb = pyb.USB_VCP()
usb.setinterrupt(-1)
usb.init(flow=pyb.USB_VCP.RTS)
link = commands.Commands(usb)
link.on(frame.HELLO, commands.hello)
link.on(frame.CAPTURE, capture.command)
link.on(frame.INFER, picture_infer.command)
link.on(frame.BENCH, timings.command)
link.on(frame.LIST, files.list_dir)
link.on(frame.STAT, files.stat)
link.on(frame.GET, files.get)
link.on(frame.PUT, files.put)
link.on(frame.DELETE, files.delete)
link.on(frame.RENAME, files.rename)
link.on(frame.SET_CONFIG, reconfigure.set_config)
link.on(frame.RESET, commands.reset)
link.on(frame.REPL, commands.stop_for_repl)

status = {"frame": -1, "fps": 0.0, "door": door.CLOSED}
ctx = {"version": VERSION, "status": status, "api": None, "model_file": None,
       "model_sha256": None, "config": None, "error": None, "img": None, "model": None,
       "stage": None, "face_stage": None, "detector_file": None, "detector_sha256": None,
       "features": None, "model_heap": 0,
       "config_file": CONFIG_FILE, "timings": timings.Timings(),
       "board_id": binascii.hexlify(pyb.unique_id()).decode()}
try:
    ctx["boot"] = binascii.hexlify(os.urandom(4)).decode()  # tells the PC the board restarted
except Exception:
    ctx["boot"] = "%08x" % time.ticks_us()
ctx["card_id"] = files.card_id()
try:
    import omv
    ctx["omv"] = omv.version_string()
    ctx["board"] = omv.board_type()
except Exception:
    pass


def fail(message):
    # Not configured: say so everywhere, once; the loop below keeps the door closed.
    ctx["error"] = message
    print("maskgate: ERROR:", message)


# --- Configuration, model and log. Any failure here leaves the door closed.
cfg = model = log = stage = gate = None
try:
    cfg = config.load(CONFIG_FILE)
    ctx["config"] = cfg
except Exception as e:
    fail(str(e))
if relay is None:
    print("maskgate: door.relay_pin / door.active_high unusable: relay pin left undriven (an input)")
    if not ctx["error"]:
        fail("door.relay_pin / door.active_high unusable: the relay pin is left undriven")

# --- What this firmware release can do: cascades, find_features' keyword (features.py).
feats, frontal, eyes_found = features.probe(image, cfg["haar_stages"] if cfg else 25, face.EYE_STAGES)
ctx["features"] = feats
haar_scale = feats["haar_scale"] or "scale_factor"


def checked_file(path, sha, what):
    # the file is on the card and, when config.json gives its sha256, is that file
    try:
        os.stat(path)
    except OSError:
        raise RuntimeError("%s file %s not found on the card" % (what, path))
    got = infer.file_sha256(path)
    if got and sha and got != sha:
        raise RuntimeError("%s file %s does not match config.json (sha256 %s..., expected %s...): "
                           "redeploy" % (what, path, got[:12], sha[:12]))
    return got or sha


def haar_finder(cascade, eyes):
    c = cfg

    def find(img):
        return face.find(img, cascade, c["detect_scale"], c["haar_threshold"], c["haar_scale_factor"], eyes,
                         haar_scale)
    return find


def load_detector(d):
    # after the classifier: the two models are allocated one after the other (maskgate.memory.plan)
    ctx["detector_file"] = d["model"]
    ctx["detector_sha256"] = checked_file(d["model"], d["model_sha256"], "detector model")
    net = infer.Model(d["model"])
    shape = net.input_shape()
    if shape and (shape[0] != facedet.IN_H or shape[1] != facedet.IN_W):
        raise RuntimeError("detector input is %dx%d, facedet.py expects %dx%d"
                           % (shape[1], shape[0], facedet.IN_W, facedet.IN_H))
    ctx["model_heap"] += net.heap_bytes()
    return facedet.Detector(net, d["threshold"])

# --- Camera.
try:
    sensor.reset()
    sensor.set_pixformat(sensor.RGB565)
    sensor.set_framesize(getattr(sensor, cfg["framesize"] if cfg else "QVGA"))
    sensor.skip_frames(time=2000)
except Exception as e:
    fail("camera: %s" % e)
clock = time.clock()

if cfg and not ctx["error"]:
    try:
        model_file = cfg["model"]
        ctx["model_file"] = model_file
        ctx["model_sha256"] = checked_file(model_file, cfg["model_sha256"], "model")
        model = infer.Classifier(model_file, cfg["labels"], cfg["output"], cfg["positive_label"],
                                 cfg["threshold"])
        ctx["api"] = feats["api"] = model.api
        feats["ram"] = model.ram_kind
        ctx["model_heap"] = model.heap_bytes()
        problems = model.contract_problems(cfg["input_size"], model.values())
        if problems:
            raise RuntimeError("; ".join(problems))
    except Exception as e:
        model = None
        fail("cannot load the model: %s: %s" % (type(e).__name__, e))

if model is not None:
    try:
        if cfg["face_detection"]:
            kind = cfg["face_stage"]
            haar = detect = None
            if face_stage.uses_haar(kind):
                if frontal is None or not feats["haar_scale"]:
                    raise RuntimeError("no frontal-face cascade on this firmware: %s" % feats["errors"])
                eye_cascade = eyes_found if cfg["eye_fallback"] else None
                if cfg["eye_fallback"] and eye_cascade is None:  # e.g. 4.5.6-4.6 on the H7: frontal faces only
                    print("maskgate: no eye cascade, frontal faces only:", feats["errors"].get("eye"))
                haar = haar_finder(frontal, eye_cascade)
            if face_stage.uses_detector(kind):
                detector = load_detector(cfg["detector"])

                def detect(img):
                    return detector.find(img, image.AREA)
            stage = face_stage.FaceStage(kind, cfg["face_margin"], haar, detect)
            ctx["face_stage"] = kind
        d = cfg["door"]
        gate = door.Door(d["k"], int(d["hold_s"] * 1000), cfg["threshold"], d["hysteresis"])
    except Exception as e:
        model = None
        stage = None
        fail("cannot start the face stage or the door logic: %s: %s" % (type(e).__name__, e))

try:
    lg = cfg["log"] if cfg else config.DEFAULTS["log"]
    log = sdlog.Log(lg["dir"], lg["crops"], lg["every_n"], lg["low_confidence_band"],
                    cfg["threshold"] if cfg else 0.5, lg["min_free_kb"], lg["max_rows"])
    log.event(time.ticks_ms(), "boot maskgate %s%s" % (VERSION, " ERROR " + ctx["error"] if ctx["error"] else ""))
except Exception as e:
    log = None
    print("maskgate: no SD log:", e)

if gate is None:
    gate = door.Door()  # only ever fed fail(): holds the door closed
ctx["model"] = model
ctx["stage"] = stage


def after_reply():
    # RESET and REPL act once their reply has gone out; the door is closed first.
    pending = ctx.get("pending")
    if not pending:
        return False
    ctx["pending"] = None
    gate.fail(time.ticks_ms())
    drive_relay(False)
    show(None)
    if log:
        log.event(time.ticks_ms(), "%s requested over USB" % pending)
        log.close()
    link.finish(200)  # let the reply leave the USB buffer
    if pending == "reset":
        machine.reset()
    link.say("maskgate: stopped for the REPL (door closed); reset the board to start again")
    link.finish(100)
    return True

gc.collect()
print("maskgate", VERSION, "api", ctx["api"], "heap free", gc.mem_free())

frame_id = -1
log_ms = 0.0
camera_error = None
last_print = time.ticks_ms()

while True:
    clock.tick()
    t0 = time.ticks_us()
    try:
        img = sensor.snapshot()
    except Exception as e:
        img = None
        camera_error = "camera: %s" % e
    now = time.ticks_ms()
    t1 = time.ticks_us()
    frame_id += 1
    capture.take(ctx, img, frame_id)  # before anything is drawn on the picture
    ctx["img"] = img
    box = None
    prob = None
    label = "error"
    roi = None
    cropped = False
    t2 = t3 = t4 = t1

    if model is None or img is None:
        # Not configured (or no picture): door closed, red LED blinking, serial answering.
        gate.fail(now)
        drive_relay(False)
        show(door.SIG_ERROR if (now // 250) % 2 else None)
        status["frame"] = frame_id
        status["door"] = gate.state
        link.poll(ctx)
        if after_reply():
            break
        if time.ticks_diff(now, last_print) > 5000:
            link.say("maskgate: ERROR: %s" % (ctx["error"] or camera_error))
            last_print = now
        time.sleep_ms(50)
        continue

    try:
        r = judge.judge(img, model, cfg, stage)
        box, roi, prob, label, cropped = r.box, r.roi, r.prob, r.label, r.cropped
        t2, t3, t4 = r.t
        gate.update(now, prob)
    except Exception as e:
        gate.fail(now)
        label = "error"
        prob = None
        link.say("maskgate: frame %d: %s: %s" % (frame_id, type(e).__name__, e))
        if log:
            log.event(now, "frame %d error %s: %s" % (frame_id, type(e).__name__, e))
        gc.collect()

    drive_relay(gate.state == door.OPEN)
    show(gate.signal)
    fps = clock.fps()
    status["frame"] = frame_id
    status["fps"] = fps
    status["door"] = gate.state
    status["prob"] = prob
    status["label"] = label

    t5 = time.ticks_us()
    if log:
        try:
            crop_file = ""
            if roi is not None and log.want_crop(prob):
                crop_file = log.crop_path(frame_id)
                if cropped:  # the picture already is the square judged (judge.crop_square)
                    img.save(crop_file, quality=cfg["log"]["jpeg_quality"])
                else:
                    img.save(crop_file, roi=roi, quality=cfg["log"]["jpeg_quality"])
            stage_ms = (time.ticks_diff(t1, t0) / 1000, time.ticks_diff(t2, t1) / 1000,
                        time.ticks_diff(t3, t2) / 1000, time.ticks_diff(t4, t3) / 1000, log_ms)
            log.row(now, frame_id, box, prob, label, gate.state, stage_ms, fps, crop_file)
        except Exception as e:
            link.say("maskgate: SD log stopped: %s" % e)
            ctx["log_error"] = str(e)
            log = None
    log_us = time.ticks_diff(time.ticks_us(), t5)
    ctx["timings"].note(frame_id, now, time.ticks_diff(t1, t0), time.ticks_diff(t2, t1), time.ticks_diff(t3, t2),
                        time.ticks_diff(t4, t3), int(log_ms * 1000), 1 if box else 0)
    log_ms = log_us / 1000

    if box and not cropped:
        img.draw_rectangle(box, color=(0, 255, 0) if gate.state == door.OPEN else (255, 0, 0))
    link.poll(ctx)
    if after_reply():
        break
    if time.ticks_diff(now, last_print) > 1000:
        link.say("fps %.1f door %s %s %s" % (fps, gate.state, label, "" if prob is None else "%.2f" % prob))
        last_print = now
