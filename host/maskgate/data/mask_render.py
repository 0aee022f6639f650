"""Draw a face mask on a picture, from the face's geometry (the MaskTheFace idea, without its
dlib landmark model, which cannot be installed here).

Geometry is a face frame: the midpoint of the eyes, the eye distance d and the eye-line angle.
Every shape is laid out in face units (u across, v down from the eye line, both in eye
distances) from average adult proportions: nose bridge v 0.3, nose tip 0.65, mouth 1.0, chin
1.65, cheeks at u +-1.1, ears at u +-1.45. A mask is drawn once on a canvas in face units
(twice the picture's resolution), with its colour, texture, pleats or seams, straps and
lighting, then warped into the picture with the frame's rotation and scale and blended by
its alpha. Placement decides the label: "correct" covers nose, mouth and chin; "below_nose"
leaves the nose out; "chin" leaves nose and mouth out.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

STYLES = ("surgical", "kn95", "n95", "cloth")
PLACEMENTS = ("correct", "below_nose", "chin")
INCORRECT_PLACEMENTS = ("below_nose", "chin")

# (top, bottom) ranges of the mask in face units, per placement
_SPAN = {
    "correct": ((0.22, 0.42), (1.80, 2.00)),
    "below_nose": ((0.74, 0.90), (1.85, 2.05)),
    "chin": ((1.15, 1.32), (1.90, 2.10)),
}
_EARS = {"top": 0.12, "bottom": 0.85, "u": 1.45}

# Canvas extent in face units: wide enough for the ear loops, tall enough for any placement.
_U0, _U1, _V0, _V1 = -1.7, 1.7, -0.3, 2.4

_SURGICAL_COLOURS = [(150, 200, 232), (236, 238, 240), (150, 212, 180), (40, 42, 48), (232, 186, 206), (120, 160, 220)]
_RESPIRATOR_COLOURS = [(240, 240, 238), (222, 224, 226), (38, 38, 42), (190, 210, 236), (236, 206, 212)]


@dataclass(frozen=True)
class FaceFrame:
    """Where a face is: eye midpoint (x, y) in pixels, eye distance d in pixels, eye-line
    angle in radians (clockwise in picture coordinates, y down)."""
    x: float
    y: float
    d: float
    angle: float

    @classmethod
    def from_eyes(cls, left, right) -> "FaceFrame":
        (lx, ly), (rx, ry) = left, right
        return cls((lx + rx) / 2.0, (ly + ry) / 2.0, float(np.hypot(rx - lx, ry - ly)), float(np.arctan2(ry - ly, rx - lx)))

    def to_image(self, u, v):
        """Face units -> picture pixels."""
        c, s = np.cos(self.angle), np.sin(self.angle)
        u, v = np.asarray(u, float), np.asarray(v, float)
        return self.x + self.d * (u * c - v * s), self.y + self.d * (u * s + v * c)


@dataclass(frozen=True)
class MaskSpec:
    style: str
    placement: str
    top: float
    bottom: float
    width_top: float
    width_bottom: float
    colour: tuple
    tilt: float  # extra rotation (radians) on top of the eye line: masks sit a little askew
    shift: float  # sideways offset in face units
    seed: int

    @property
    def label(self) -> str:
        return "mask" if self.placement == "correct" else "incorrect"


def random_spec(rng: np.random.Generator, placement: str, style: str | None = None) -> MaskSpec:
    if placement not in PLACEMENTS:
        raise ValueError(f"unknown placement {placement!r}; use one of {', '.join(PLACEMENTS)}")
    style = style or STYLES[rng.integers(len(STYLES))]
    if style not in STYLES:
        raise ValueError(f"unknown mask style {style!r}; use one of {', '.join(STYLES)}")
    (t0, t1), (b0, b1) = _SPAN[placement]
    if style == "cloth":
        colour = tuple(int(c) for c in cv2.cvtColor(np.uint8([[[rng.integers(180), rng.integers(40, 230), rng.integers(50, 240)]]]), cv2.COLOR_HSV2RGB)[0, 0])
    elif style == "surgical":
        colour = _SURGICAL_COLOURS[rng.integers(len(_SURGICAL_COLOURS))]
    else:
        colour = _RESPIRATOR_COLOURS[rng.integers(len(_RESPIRATOR_COLOURS))]
    return MaskSpec(
        style=style, placement=placement,
        top=float(rng.uniform(t0, t1)), bottom=float(rng.uniform(b0, b1)),
        width_top=float(rng.uniform(0.95, 1.12)), width_bottom=float(rng.uniform(0.78, 0.95)),
        colour=colour, tilt=float(np.deg2rad(rng.uniform(-5, 5))), shift=float(rng.uniform(-0.06, 0.06)),
        seed=int(rng.integers(2**31)),
    )


# ---------------------------------------------------------------- shape
def _edges(spec: MaskSpec, n: int = 41):
    """Top and bottom edge curves (u, v) for s in [-1, 1], left to right."""
    s = np.linspace(-1.0, 1.0, n)
    t, b, wt, wb = spec.top, spec.bottom, spec.width_top, spec.width_bottom
    if spec.style == "kn95":  # folded flat: pointed over the nose and under the chin
        top = np.stack([s * wt, t + 0.24 * np.abs(s)], 1)
        bottom = np.stack([s * wb, b - 0.55 * np.abs(s) ** 1.2], 1)
    elif spec.style == "n95":  # moulded cup: round all over
        top = np.stack([s * wt * 0.95, t + 0.22 * s**2], 1)
        bottom = np.stack([s * wb * 0.95, b - 0.62 * s**2], 1)
    elif spec.style == "cloth":
        top = np.stack([s * wt, t + 0.16 * s**2], 1)
        bottom = np.stack([s * wb * 1.02, b - 0.5 * s**2], 1)
    else:  # surgical: a pleated rectangle pulled over nose and chin
        top = np.stack([s * wt, t + 0.1 * s**2], 1)
        bottom = np.stack([s * wb, b - 0.42 * s**2], 1)
    return top, bottom


def _between(top, bottom, f: float):
    return top * (1.0 - f) + bottom * f


# ---------------------------------------------------------------- canvas
class _Canvas:
    """RGB + alpha in face units at `scale` pixels per unit."""

    def __init__(self, scale: float, colour):
        self.scale = scale
        self.w = int(np.ceil((_U1 - _U0) * scale))
        self.h = int(np.ceil((_V1 - _V0) * scale))
        self.rgb = np.empty((self.h, self.w, 3), np.float32)
        self.rgb[:] = np.asarray(colour, np.float32)
        self.alpha = np.zeros((self.h, self.w), np.float32)
        self.u = (np.arange(self.w, dtype=np.float32) + 0.5) / scale + _U0
        self.v = (np.arange(self.h, dtype=np.float32) + 0.5) / scale + _V0

    def px(self, uv) -> np.ndarray:
        uv = np.asarray(uv, np.float64)
        return np.round(np.stack([(uv[:, 0] - _U0) * self.scale, (uv[:, 1] - _V0) * self.scale], 1) * 16).astype(np.int32)

    def fill(self, uv, target: np.ndarray, value) -> None:
        cv2.fillPoly(target, [self.px(uv)], value, lineType=cv2.LINE_AA, shift=4)

    def line(self, uv, target: np.ndarray, value, width_units: float) -> None:
        thickness = max(1, int(round(width_units * self.scale)))
        cv2.polylines(target, [self.px(uv)], False, value, thickness, lineType=cv2.LINE_AA, shift=4)

    def shade_line(self, uv, factor: float, width_units: float) -> None:
        """Multiply the colour along a line (folds, seams, edges) by `factor`."""
        m = np.zeros((self.h, self.w), np.float32)
        self.line(uv, m, 1.0, width_units)
        self.rgb *= (1.0 + (factor - 1.0) * m)[..., None]


def _pattern(canvas: _Canvas, spec: MaskSpec, rng: np.random.Generator) -> None:
    """Cloth prints: stripes, dots, checks or plain (all in face units, so they scale with the face)."""
    kind = rng.choice(["plain", "stripes", "dots", "checks", "two-tone"])
    other = np.asarray(spec.colour, np.float32)[::-1] * rng.uniform(0.5, 1.2) if rng.random() < 0.5 \
        else np.asarray(rng.integers(0, 256, 3), np.float32)
    uu, vv = np.meshgrid(canvas.u, canvas.v)
    if kind == "stripes":
        a = rng.uniform(0, np.pi)
        period = rng.uniform(0.12, 0.4)
        on = (np.mod(uu * np.cos(a) + vv * np.sin(a), period) < period * rng.uniform(0.3, 0.6))
    elif kind == "dots":
        period = rng.uniform(0.15, 0.35)
        r = period * rng.uniform(0.15, 0.3)
        on = np.hypot(np.mod(uu, period) - period / 2, np.mod(vv, period) - period / 2) < r
    elif kind == "checks":
        period = rng.uniform(0.12, 0.3)
        on = (np.floor(uu / period) + np.floor(vv / period)) % 2 == 0
    elif kind == "two-tone":
        on = uu > 0
    else:
        return
    canvas.rgb[on] = canvas.rgb[on] * 0.3 + np.clip(other, 0, 255) * 0.7


def _draw(spec: MaskSpec, canvas: _Canvas, frame_rgb_mean, white: float) -> None:
    rng = np.random.default_rng(spec.seed)
    top, bottom = _edges(spec)
    outline = np.concatenate([top, bottom[::-1]])

    if spec.style == "cloth":
        _pattern(canvas, spec, rng)
    # fabric grain: fine noise, coarser for cloth
    grain = rng.normal(0.0, 7.0 if spec.style == "cloth" else 3.5, canvas.rgb.shape[:2]).astype(np.float32)
    if spec.style == "cloth":
        grain = cv2.GaussianBlur(grain, (0, 0), 0.6)
    canvas.rgb += grain[..., None]

    unit = 1.0 / canvas.scale
    if spec.style == "surgical":
        for f in np.sort(rng.uniform(-0.04, 0.04, 3) + (0.3, 0.5, 0.7)):
            fold = _between(top, bottom, f)
            canvas.shade_line(fold, rng.uniform(0.72, 0.85), max(0.03, 1.5 * unit))
            canvas.shade_line(fold + (0, max(0.035, 2 * unit)), rng.uniform(1.04, 1.1), max(0.025, unit))
        canvas.shade_line(_between(top, bottom, 0.05), 0.9, 0.06)  # bound edges
        canvas.shade_line(_between(top, bottom, 0.95), 0.9, 0.06)
        canvas.shade_line(_between(top, bottom, 0.04)[14:27], 0.85, 0.035)  # nose wire
    elif spec.style in ("kn95", "n95"):
        inset = _between(np.concatenate([top, bottom[::-1]]), np.array([[0.0, (spec.top + spec.bottom) / 2]]), 0.06)
        canvas.shade_line(np.concatenate([inset, inset[:1]]), 0.88, 0.03)  # welded rim
        if spec.style == "kn95":
            canvas.shade_line(np.array([top[20], bottom[20]]), 0.75, max(0.03, 1.5 * unit))  # centre fold
            uu = canvas.u[None, :]
            canvas.rgb *= np.where(uu < 0, 1.0, rng.uniform(0.86, 1.0))[..., None]  # two planes, two lights
        elif rng.random() < 0.4:  # exhalation valve
            cx = rng.choice([-0.45, 0.45])
            cy = spec.top + 0.55 * (spec.bottom - spec.top)
            ang = np.linspace(0, 2 * np.pi, 24)
            disc = np.stack([cx + 0.2 * np.cos(ang), cy + 0.2 * np.sin(ang)], 1)
            valve = np.zeros(canvas.alpha.shape, np.float32)
            canvas.fill(disc, valve, 1.0)
            shade = rng.uniform(0.45, 0.8)
            canvas.rgb *= (1.0 + (shade - 1.0) * valve)[..., None]
    elif rng.random() < 0.5:  # cloth: centre seam
        canvas.shade_line(np.array([top[20], bottom[20]]), 0.8, 0.025)

    # lighting: the mask wraps round the face (darker at the sides), a light from one side, and
    # the picture's own exposure and white balance
    uu, vv = np.meshgrid(canvas.u, canvas.v)
    wrap = 1.0 - rng.uniform(0.15, 0.35) * np.clip(np.abs(uu - spec.shift) / spec.width_top, 0, 1.2) ** 2
    phi = rng.uniform(0, 2 * np.pi)
    light = 1.0 + rng.uniform(0.0, 0.22) * (np.cos(phi) * uu / 1.1 + np.sin(phi) * (vv - 1.1) / 0.9)
    exposure = float(np.clip(white / 235.0 * rng.uniform(0.85, 1.1), 0.35, 1.1))
    tint = np.clip((np.asarray(frame_rgb_mean, np.float32) / max(np.mean(frame_rgb_mean), 1.0)) ** 0.35, 0.8, 1.25)
    canvas.rgb *= (wrap * light)[..., None] * exposure * tint

    # alpha: the body, then straps or ear loops going back to the ears
    canvas.fill(outline, canvas.alpha, 1.0)
    strap_colour = np.asarray(spec.colour, np.float32) * 0.95 * exposure * tint
    for side in (-1, 1):
        i = 0 if side < 0 else -1
        if spec.style == "n95":  # elastic head bands, nearly horizontal
            anchors = [(top[i], (side * 1.7, top[i][1] + 0.05)), (bottom[i], (side * 1.7, bottom[i][1] - 0.15))]
        else:
            anchors = [(top[i], (side * _EARS["u"], _EARS["top"])), (bottom[i], (side * _EARS["u"], _EARS["bottom"]))]
        for start, end in anchors:
            start, end = np.asarray(start, float), np.asarray(end, float)
            bend = np.array([0.0, -0.12 if end[1] < start[1] else 0.08])
            pts = np.array([start + (end - start) * k + bend * np.sin(np.pi * k) for k in np.linspace(0, 1, 12)])
            loop = np.zeros(canvas.alpha.shape, np.float32)
            canvas.line(pts, loop, 1.0, max(0.03, 1.2 * unit))
            loop *= 1.0 - canvas.alpha  # never over the mask body
            canvas.rgb = canvas.rgb * (1 - loop[..., None]) + strap_colour * loop[..., None]
            canvas.alpha = np.maximum(canvas.alpha, loop * 0.9)


def draw_mask(rgb: np.ndarray, frame: FaceFrame, spec: MaskSpec) -> np.ndarray:
    """A copy of `rgb` (H x W x 3 uint8) with the mask `spec` drawn on the face `frame`."""
    height, width = rgb.shape[:2]
    scale = float(np.clip(2.0 * frame.d, 12.0, 160.0))  # canvas pixels per face unit
    canvas = _Canvas(scale, spec.colour)
    # exposure and white balance of the picture around the face: its bright end stands for
    # "white" here (skin tone would be a poor light meter), its mean colour for the tint
    xs, ys = frame.to_image(np.array([-1.2, 1.2, 1.2, -1.2]), np.array([-0.8, -0.8, 1.8, 1.8]))
    region = np.zeros((height, width), np.uint8)
    cv2.fillPoly(region, [np.stack([xs, ys], 1).round().astype(np.int32)], 1)
    around = rgb[region.astype(bool)]
    if len(around) < 16:
        around = rgb.reshape(-1, 3)
    white = float(np.percentile(around @ np.array([0.299, 0.587, 0.114]), 95))
    _draw(spec, canvas, around.mean(axis=0), white)

    # canvas pixels -> picture pixels: rotate by the eye line (+ the mask's own tilt), scale to d
    angle = frame.angle + spec.tilt
    c, s = np.cos(angle), np.sin(angle)
    k = frame.d / scale
    u0, v0 = _U0 + spec.shift, _V0
    matrix = np.array([
        [k * c, -k * s, frame.x + frame.d * (u0 * c - v0 * s)],
        [k * s, k * c, frame.y + frame.d * (u0 * s + v0 * c)],
    ], np.float32)
    layer = np.dstack([np.clip(canvas.rgb, 0, 255), canvas.alpha]).astype(np.float32)
    layer = cv2.GaussianBlur(layer, (0, 0), 0.5 / k if k < 1 else 0.5)  # anti-alias before shrinking
    warped = cv2.warpAffine(layer, matrix, (width, height), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))
    alpha = np.clip(warped[..., 3:], 0.0, 1.0)
    out = rgb.astype(np.float32) * (1.0 - alpha) + warped[..., :3] * alpha
    # the picture's own sensor noise goes over the mask too
    noise = np.random.default_rng(spec.seed + 1).normal(0.0, 1.5, out.shape).astype(np.float32)
    out += noise * alpha
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def mask_polygon(frame: FaceFrame, spec: MaskSpec) -> np.ndarray:
    """The mask body's outline in picture pixels (N x 2), for tests and previews."""
    top, bottom = _edges(spec)
    outline = np.concatenate([top, bottom[::-1]])
    angle = frame.angle + spec.tilt
    shifted = FaceFrame(frame.x, frame.y, frame.d, angle)
    xs, ys = shifted.to_image(outline[:, 0] + spec.shift, outline[:, 1])
    return np.stack([xs, ys], 1)


def visible_fraction(frame: FaceFrame, spec: MaskSpec, width: int, height: int) -> float:
    """How much of the mask body lies inside a width x height picture (0..1): a mask drawn
    mostly below a tight crop's edge would leave a bare face labelled as masked."""
    poly = mask_polygon(frame, spec)
    lo = np.floor(poly.min(axis=0)).astype(int)
    hi = np.ceil(poly.max(axis=0)).astype(int)
    size = hi - lo + 1
    if size[0] <= 0 or size[1] <= 0 or size[0] * size[1] > 16_000_000:
        return 0.0
    raster = np.zeros((size[1], size[0]), np.uint8)
    cv2.fillPoly(raster, [np.round(poly - lo).astype(np.int32)], 1)
    total = int(raster.sum())
    if total == 0:
        return 0.0
    x0, y0 = max(0, -lo[0]), max(0, -lo[1])
    x1, y1 = min(size[0], width - lo[0]), min(size[1], height - lo[1])
    inside = int(raster[y0:y1, x0:x1].sum()) if x1 > x0 and y1 > y0 else 0
    return inside / total
