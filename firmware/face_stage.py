# The face stage: what finds the face the mask classifier judges, as config.json's face_stage
# says (config.FACE_STAGES):
#   "haar"          OpenMV's frontal-face cascade, else a face placed from an eye pair (face.find)
#   "facedet"       our small mask-aware detector (facedet.Detector, its own .tflite)
#   "haar+facedet"  Haar first (cheap, and sure of bare faces), the detector when Haar finds
#                   nothing (a mask hides what Haar looks for)
# Each kind of box has its own margin: a Haar box is the eyes-to-mouth square, grown by
# face_margin; the detector's box already is the face picture the classifier knows
# (facedet.MARGIN). No face found means no judgement: the door stays closed; a 3-class model
# (labels with "background") can still refuse a region with nobody in it (judge.py).
#
# main.py builds one at boot and judge.judge calls find() on every frame, for the door loop
# and INFER alike. The finders are passed in (no imports here), so the PC runs this very
# logic around its own Haar port and detector (host/maskgate/data/faces.py).

HAAR = "haar"
FACEDET = "facedet"
BOTH = "haar+facedet"
KINDS = (HAAR, FACEDET, BOTH)
DETECTOR_MARGIN = 0.0  # facedet.MARGIN (a test holds them equal)


def uses_haar(kind):
    return kind == HAAR or kind == BOTH


def uses_detector(kind):
    return kind == FACEDET or kind == BOTH


class FaceStage:
    """kind: one of KINDS; haar(img) -> (x, y, w, h) or None (face.find with the config's
    settings); detector(img) -> (score, (x, y, w, h)) or None (facedet.Detector.find);
    face_margin: config.json's growth of a Haar box."""

    def __init__(self, kind, face_margin, haar=None, detector=None):
        if kind not in KINDS:
            raise ValueError("face_stage must be one of %s" % ", ".join(KINDS))
        if uses_haar(kind) and haar is None:
            raise ValueError("face_stage %s needs the frontal-face cascade" % kind)
        if uses_detector(kind) and detector is None:
            raise ValueError("face_stage %s needs the face detector model" % kind)
        self.kind = kind
        self.face_margin = face_margin
        self.haar = haar if uses_haar(kind) else None
        self.detector = detector if uses_detector(kind) else None
        self.last = None  # which part found the last face: HAAR, FACEDET or None

    def find(self, img):
        """(box, margin) of the face to judge in img (x, y, w, h in img's pixels), or None."""
        self.last = None
        if self.haar is not None:
            box = self.haar(img)
            if box is not None:
                self.last = HAAR
                return box, self.face_margin
        if self.detector is not None:
            hit = self.detector(img)
            if hit is not None:
                self.last = FACEDET
                return hit[1], DETECTOR_MARGIN
        return None
