# What this firmware can do, found by trying it (firmware/features.py): find_features' scale
# keyword and the cascades, against fake image modules that behave like 4.x and 5.0.
import features


class Probe:
    def __init__(self, release):
        self.release = release

    def find_features(self, cascade, threshold=0.5, **kw):
        if self.release == "5.0" and "scale_factor" in kw:
            raise TypeError("extra keyword arguments given")  # 5.0 takes scale= only
        return []


class FakeImageModule:
    GRAYSCALE = 1

    def __init__(self, release, missing):
        self.release = release
        self.missing = missing

    def Image(self, w, h, fmt):
        return Probe(self.release)

    def HaarCascade(self, where, stages=25):
        if where in self.missing:
            raise OSError("no cascade " + where)
        return "cascade:%s:%d" % (where, stages)


def run(inputs):
    out = {"keyword": [], "probe": []}
    for release, missing in inputs["modules"]:
        image = FakeImageModule(release, missing)
        out["keyword"].append(features.haar_scale_keyword(image, "c"))
        found, frontal, eye = features.probe(image, 21, 24)
        for key in ("release", "cwd"):  # the interpreter and its folder, not the firmware
            found.pop(key)
        out["probe"].append([found, frontal, eye])
    return out
