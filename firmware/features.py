# What this OpenMV firmware can do, found by trying it -- never by reading a version string,
# so a release nobody tested still gets whatever it supports. HELLO reports the result.
#
# What differs between the releases the door runs on (firmware/README.md has the table):
# - the Haar cascades: files in ROMFS (/rom/haarcascade_*.cascade) from 4.7, built-in names
#   before; no eye cascade on the H7 from 4.5.6 to 4.6 (face.load_cascade tries both);
# - find_features' scale factor: `scale_factor=` up to 4.8, `scale=` on 5.0, which refuses any
#   other keyword (4.x ignores unknown keywords, so scale_factor is the one to try);
# - the model API: `ml.Model` from 4.5.6, `tf.load` before (infer.Classifier picks one);
# - `net.ram`: a method on the tf API, an int on ml (infer.Classifier.heap_bytes copes).

import face

FRONTAL = "frontalface"
EYE = "eye"


def release():
    """omv.version_string() where the firmware has it, else None (for HELLO only)."""
    try:
        import omv

        return omv.version_string()
    except Exception:
        return None


def card_dir():
    try:
        import os

        return os.getcwd()
    except Exception:
        return None


def haar_scale_keyword(image, cascade):
    """The keyword find_features takes for the scale factor on this firmware."""
    probe = image.Image(32, 32, image.GRAYSCALE)  # bigger than the 24x24 detector window
    try:
        probe.find_features(cascade, threshold=0.5, scale_factor=1.5)
        return "scale_factor"
    except TypeError:  # 5.0: "extra keyword arguments given"
        return "scale"
    finally:
        del probe


def probe(image, frontal_stages, eye_stages):
    """(features, frontal cascade or None, eye cascade or None).

    features: {"release", "cwd", "frontalface", "eye" (where each cascade was found, or
    None), "haar_scale" (find_features' keyword), "errors" (why a cascade is missing)};
    infer.Classifier adds "api" and "ram" once the model is loaded."""
    found = {"release": release(), "cwd": card_dir(), FRONTAL: None, EYE: None, "haar_scale": None,
             "api": None, "ram": None, "errors": {}}
    cascades = {}
    for name, stages in ((FRONTAL, frontal_stages), (EYE, eye_stages)):
        try:
            cascades[name], found[name] = face.load_cascade(image, name, stages)
        except Exception as e:
            cascades[name] = None
            found["errors"][name] = "%s: %s" % (type(e).__name__, e)
    some = cascades[FRONTAL] or cascades[EYE]
    if some is not None:
        try:
            found["haar_scale"] = haar_scale_keyword(image, some)
        except Exception as e:
            found["errors"]["haar_scale"] = "%s: %s" % (type(e).__name__, e)
    return found, cascades[FRONTAL], cascades[EYE]
