"""The OpenMV firmware releases the virtual board emulates, and what differs between them.

One row per release: which modules and names exist, which arguments they take, where the
card and the built-in files are. Each field names the OpenMV file it was read from (github.com
openmv/openmv at the release tag; 4.x keeps its sources under src/omv/, 5.0 at the top level).
The memory of each release (heap blocks, arena rounding, where a model goes) is not here but in
maskgate.memory MEMORY, the table quantize and deploy use as well.

    VirtualBoard(frames, firmware="4.8.1")      # or maskgate simulate --firmware 4.8.1
"""
from __future__ import annotations

from dataclasses import dataclass

from maskgate import memory
from maskgate.errors import DataError


@dataclass(frozen=True)
class Release:
    version: str  # omv.version_string()
    micropython: str  # the MicroPython the release is built on (its lib/micropython)
    inference: str  # "tf": tf.load / classify (py_tf.c); "ml": ml.Model / predict (py_ml.c)
    uml_args: tuple  # the C ml.Model's arguments, all required (py_ml.c py_ml_model_make_new)
    ml_passes: tuple  # (keyword, default) the frozen ml.Model class appends to its positional arguments
    model_labels: bool  # ml.Model reads <model stem>.txt into .labels
    aspect_expand: bool  # an image is fitted to the model input keeping its aspect (else stretched)
    builtin_cascades: tuple  # names image.HaarCascade() knows without a file (imlib_config.h)
    rom_files: tuple  # files in the ROMFS mounted at /rom (boards/OPENMV4/romfs.json)
    haar_v5: bool  # py_image.c of 5.0: HaarCascade(path, *, stages) and find_features(c, *, threshold, scale, roi)
    card_root: str  # where the SD card is mounted; also the working directory
    omv_names: tuple  # the omv module's functions beside version_* (py_omv.c)

    @property
    def memory(self) -> memory.FirmwareMemory:
        return memory.for_release(self.version)

    def version_tuple(self) -> tuple:
        return tuple(int(p) for p in self.version.split("."))


RELEASES = {
    # src/omv/modules/py_tf.c (tf only; no py_ml.c in this tree); src/omv/boards/OPENMV4/
    # imlib_config.h:114-115 (frontal face and eye cascades built in); src/omv/ports/stm32/main.c
    # (the SD card, when present, is mounted at "/" in place of the flash); py_omv.c:61-69.
    "4.5.5": Release("4.5.5", "1.22.0", "tf", (), (), False, True, ("frontalface", "eye"), (), False, "/",
                     ("arch", "board_type", "board_id", "disable_fb")),
    # scripts/libraries/ml/ml/model.py (Model(*args, **kw) -> uml.Model(*args, load_to_fb));
    # src/omv/modules/py_ml.c:296-300 (path, load_to_fb), :401-402 (tf aliases ml);
    # imlib_config.h:115-116 (the eye cascade is commented out on the H7); main.c:418-425 (card at "/").
    "4.5.9": Release("4.5.9", "1.23.0", "ml", ("path", "load_to_fb"), (("load_to_fb", False),), False, True,
                     ("frontalface",), (), False, "/", ("arch", "board_type", "board_id", "disable_fb")),
    # scripts/libraries/ml/ml-core/ml/model.py (passes load_to_fb and postprocess; labels from
    # <stem>.txt); modules/py_ml.c:328-334 (path, load_to_fb, postprocess); lib/imlib/haar.c:293-300
    # (cascades are files only); boards/OPENMV4/romfs.json (fomo model, haarcascade_eye and
    # haarcascade_frontalface -> /rom/*.cascade by tools/mkromfs.py:85-91); scripts/libraries/_boot.py
    # (flash at /flash, the card at /sdcard, chdir("/sdcard")); py_omv.c:86-94.
    "4.8.1": Release("4.8.1", "1.25.0", "ml", ("path", "load_to_fb", "postprocess"),
                     (("load_to_fb", False), ("postprocess", None)), True, True, (),
                     ("haarcascade_frontalface.cascade", "haarcascade_eye.cascade", "fomo_face_detection.tflite"),
                     False, "/sdcard", ("arch", "board_type", "board_id", "debug_mode")),
    # ml-core/ml/model.py:36 (passes only postprocess: load_to_fb is dropped silently);
    # modules/py_ml.c:328-333 (path, postprocess); ml/preprocessing.py:75 (SCALE_ASPECT_IGNORE);
    # modules/py_image.c:4183-4195 (find_features: threshold, scale, roi, keyword-only) and the
    # HaarCascade constructor (stages keyword-only); romfs.json as 4.8; py_omv.c:82-90.
    "5.0.0": Release("5.0.0", "1.25.0", "ml", ("path", "postprocess"), (("postprocess", None),), True, False, (),
                     ("haarcascade_frontalface.cascade", "haarcascade_eye.cascade", "fomo_face_detection.tflite"),
                     True, "/sdcard", ("arch", "board_type", "board_id", "debug_mode")),
}
NEWEST = max(RELEASES, key=lambda v: RELEASES[v].version_tuple())
assert tuple(RELEASES) == memory.EMULATED, "memory.MEMORY and RELEASES name the same releases"


def release(version: str | None = None) -> Release:
    """The emulated release `version` (None: the newest); DataError names the choices."""
    version = version or NEWEST
    if version not in RELEASES:
        raise DataError(f"the virtual board emulates OpenMV firmware {', '.join(RELEASES)}, not {version!r}")
    return RELEASES[version]
