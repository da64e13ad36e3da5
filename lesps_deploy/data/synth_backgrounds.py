"""Building blocks of synthetic infrared frames: backgrounds, the sensor, and target shapes.

Backgrounds: sky with clouds, sea clutter, ground with buildings.

Every scene is a float32 HxW image in [0, 1] (1 = full scale of the output bit depth) drawn from a
numpy Generator, so a seed fixes it. Scenes are built from fractal (1/f) noise made by filtering
white noise in the Fourier domain, a few milliseconds per 256x256 frame.

The sensor adds what a real uncooled camera adds on top of the scene: optical blur, vignetting,
fixed-pattern column/row offsets (fixed for a camera, so a video keeps them still while the scene
drifts) and temporal noise.

Targets: Gaussian point-spread spots, ellipses and irregular star-shaped blobs rendered as peak-1
patches at sub-pixel positions, and the helpers that place them (local clutter statistics, strong
edges, brightness from a signal-to-clutter ratio), and their motion in videos. The mask rule lives
in `synth`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from scipy import fft as sfft
from scipy.special import expit

from lesps_deploy.data.synth_config import VISIBLE_FLOOR

__all__ = [
    "Mover",
    "SCENES",
    "TARGET_SHAPES",
    "VISIBLE_FLOOR",
    "Sensor",
    "TargetShape",
    "edge_pixels",
    "local_stats",
    "sample_amplitude",
    "sample_movers",
    "fbm",
    "make_scene",
    "render_shape",
    "sample_sensor",
    "sample_shape",
    "soft_threshold",
]

SceneFn = Callable[[np.random.Generator, int, int], np.ndarray]


def fbm(
    rng: np.random.Generator,
    h: int,
    w: int,
    cells: float = 4.0,
    beta: float = 3.5,
    aspect: float = 1.0,
) -> np.ndarray:
    """Fractal (1/f^beta) noise by spectral synthesis, zero mean and unit std.

    Filtering white noise in the Fourier domain avoids the grid artefacts of upsampled value noise.
    The field is drawn 15 % larger and cropped so opposite borders do not wrap into each other.

    Args:
        rng: Random generator.
        h, w: Output size.
        cells: Largest structures per frame side (the spectrum is flat below this frequency).
        beta: Spectral slope: 3 is rough, 4 smooth (value noise with persistence p has 2 - 2 log2 p).
        aspect: Stretch along rows: > 1 gives horizontal streaks (waves).
    """
    ph = sfft.next_fast_len(int(h * 1.15) + 8, real=True)
    pw = sfft.next_fast_len(int(w * 1.15) + 8, real=True)
    fy = sfft.fftfreq(ph).astype(np.float32)[:, None]
    fx = sfft.rfftfreq(pw).astype(np.float32)[None, :] * np.float32(aspect)
    k0 = np.float32(cells / max(h, w))
    gain = (fy * fy + fx * fx + k0 * k0) ** np.float32(-beta / 4)
    # Uniform white noise is several times cheaper to draw than normal and is Gaussian once filtered.
    white = rng.random((ph, pw), dtype=np.float32)
    field = sfft.irfft2(sfft.rfft2(white) * gain, s=(ph, pw))[:h, :w]
    field -= field.mean()
    return field / max(float(field.std()), 1e-6)


def soft_threshold(x: np.ndarray, level: float, softness: float) -> np.ndarray:
    """Smooth step from 0 to 1 around `level` (a logistic of width `softness`): soft cloud edges."""
    return expit((x - np.float32(level)) / np.float32(max(softness, 1e-4))).astype(np.float32, copy=False)


def _rows(h: int, w: int) -> np.ndarray:
    return np.broadcast_to(np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None], (h, w))


def _sky(rng: np.random.Generator, h: int, w: int, cloud_cover: float | None = None) -> np.ndarray:
    """Sky brightening toward the horizon, with fBm clouds whose edges are soft-thresholded."""
    base = rng.uniform(0.18, 0.5)
    sky = base + rng.uniform(0.0, 0.2) * _rows(h, w) ** rng.uniform(1.0, 3.0)
    cover = rng.uniform(0.0, 0.7) if cloud_cover is None else cloud_cover
    if cover > 0.02:
        field = fbm(rng, h, w, cells=rng.uniform(1.5, 4.0), beta=rng.uniform(4.2, 5.0))
        level = float(np.quantile(field, 1.0 - cover))
        cloud = soft_threshold(field, level, rng.uniform(0.05, 0.4))
        # Mostly warm (bright) clouds as in the public SIRST frames; some cold ones.
        contrast = rng.uniform(0.12, 0.4) * (1.0 if rng.random() < 0.75 else -0.5)
        texture = 1.0 + 0.15 * fbm(rng, h, w, cells=8, beta=3.8)
        sky = sky + contrast * cloud * texture
    return sky.astype(np.float32)


def _sea_texture(rng: np.random.Generator, h: int, w: int, rows: int) -> np.ndarray:
    """Horizontal wave streaks, finer and weaker near the horizon (row 0) than near the camera."""
    fine = fbm(rng, h, w, cells=rng.uniform(15, 30), beta=3.4, aspect=rng.uniform(6, 14))
    coarse = fbm(rng, h, w, cells=rng.uniform(4, 8), beta=3.8, aspect=rng.uniform(4, 8))
    depth = _rows(h, w) * (h / max(rows, 1))
    depth = np.clip(depth, 0.0, 1.0)
    return (1.0 - depth) * fine * 0.6 + depth * coarse


def _glints(rng: np.random.Generator, h: int, w: int, top: int) -> np.ndarray:
    """Sun glints: short horizontal specks on the sea, dimmer than most targets (hard false alarms)."""
    impulses = np.zeros((h, w), np.float32)
    n = int(rng.poisson(rng.uniform(0, 30)))
    if n == 0 or top >= h - 2:
        return impulses
    ys = rng.integers(top + 1, h, n)
    xs = rng.integers(0, w, n)
    impulses[ys, xs] = rng.uniform(0.02, 0.09, n).astype(np.float32)
    sx, sy = rng.uniform(1.2, 2.5), rng.uniform(0.5, 0.8)
    # Scale so a glint's peak keeps the drawn amplitude after the blur spreads it.
    return cv2.GaussianBlur(impulses, (0, 0), sigmaX=sx, sigmaY=sy) * float(2 * np.pi * sx * sy)


def _sea(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Sea clutter below a horizon (sometimes out of view), sky above it."""
    horizon = int(h * rng.uniform(0.0, 0.55)) if rng.random() < 0.8 else 0
    img = _sky(rng, h, w, cloud_cover=rng.uniform(0.0, 0.4))
    sea_rows = h - horizon
    level = rng.uniform(0.15, 0.45)
    tex = _sea_texture(rng, sea_rows, w, sea_rows)
    sea = level + rng.uniform(0.015, 0.06) * tex + rng.uniform(-0.08, 0.08) * _rows(sea_rows, w)
    sea = sea + _glints(rng, sea_rows, w, 0)
    img[horizon:] = sea
    if horizon > 0:
        # A thin warm haze band where sea meets sky.
        band = np.exp(-(((np.arange(h) - horizon) / rng.uniform(1.5, 5.0)) ** 2)).astype(np.float32)
        img += rng.uniform(0.0, 0.08) * band[:, None]
    return img


def _buildings(rng: np.random.Generator, img: np.ndarray, skyline: int) -> None:
    """Rectangular buildings (some with window grids and gable roofs) rising above the skyline, in place."""
    h, w = img.shape
    for _ in range(int(rng.integers(0, 7))):
        bw = int(rng.uniform(0.06, 0.25) * w)
        bh = int(rng.uniform(0.05, 0.35) * h)
        x0 = int(rng.integers(-bw // 2, w))
        top = max(0, skyline - bh)
        bottom = min(h, skyline + int(rng.uniform(0.0, 0.2) * h))
        value = rng.uniform(0.1, 0.8)
        shade = np.linspace(0.0, rng.uniform(-0.1, 0.1), bottom - top, dtype=np.float32)[:, None]
        x_lo, x_hi = max(0, x0), min(w, x0 + bw)
        if x_hi <= x_lo or bottom <= top:
            continue
        img[top:bottom, x_lo:x_hi] = value + shade
        if rng.random() < 0.4 and top > 4:
            roof = np.array(
                [[x0, top], [x0 + bw, top], [x0 + bw // 2, top - int(rng.uniform(2, 0.08 * h + 3))]]
            )
            cv2.fillPoly(img, [roof.astype(np.int32)], float(value))
        if rng.random() < 0.5:
            win = rng.uniform(-0.2, 0.2)
            step = int(rng.integers(5, 10))
            for wy in range(top + 3, bottom - 3, step):
                for wx in range(x_lo + 2, x_hi - 3, step):
                    img[wy : wy + 2, wx : wx + 3] = value + win


def _ground(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Ground (vegetation texture, roads in perspective), a tree line and buildings below a sky."""
    skyline = int(h * rng.uniform(0.3, 0.75))
    img = _sky(rng, h, w, cloud_cover=rng.uniform(0.0, 0.5))
    gh = h - skyline
    texture = fbm(rng, gh, w, cells=rng.uniform(6, 12), beta=4.0)
    ground = (
        rng.uniform(0.25, 0.6) + rng.uniform(0.01, 0.03) * texture + rng.uniform(-0.1, 0.1) * _rows(gh, w)
    )
    # Fields and terrain strips: piecewise-constant bands with sharp horizontal edges.
    cuts = np.sort(rng.integers(0, gh, int(rng.integers(2, 8))))
    strips = rng.normal(0.0, 0.04, cuts.size + 1).astype(np.float32)
    ground += strips[np.searchsorted(cuts, np.arange(gh))][:, None]
    img[skyline:] = ground
    if rng.random() < 0.6:
        # Tree line: a canopy with an irregular top edge just above the skyline.
        height = rng.uniform(0.03, 0.12) * h
        edge = skyline - height * (0.6 + 0.4 * fbm(rng, 1, w, cells=rng.uniform(6, 16), beta=2.6)[0])
        row = _rows(h, w) * (h - 1)
        canopy = (row > edge[None, :]) & (row < skyline + rng.uniform(0.3, 1.5) * height)
        tex = rng.uniform(0.15, 0.55) + 0.03 * fbm(rng, h, w, cells=24, beta=3.2)
        img = np.where(canopy, tex, img).astype(np.float32)
    vanish = (int(rng.uniform(0.2, 0.8) * w), skyline)
    for _ in range(int(rng.integers(0, 3))):
        start = (int(rng.uniform(-0.5, 1.5) * w), h + 5)
        cv2.line(img, start, vanish, float(rng.uniform(0.3, 0.85)), int(rng.integers(2, 7)), cv2.LINE_AA)
    _buildings(rng, img, skyline)
    return img


def _sky_only(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    return _sky(rng, h, w)


SCENES: dict[str, tuple[float, SceneFn]] = {
    "sky": (0.35, _sky_only),
    "sea": (0.3, _sea),
    "ground": (0.35, _ground),
}
"""Scene name -> (sampling weight, generator(rng, h, w) -> float32 scene)."""


def make_scene(rng: np.random.Generator, h: int, w: int, scene: str | None = None) -> tuple[str, np.ndarray]:
    """Draw a scene (a random kind by the weights in `SCENES` when `scene` is None), clipped to [0, 1]."""
    names = list(SCENES)
    if scene is None:
        weights = np.array([SCENES[n][0] for n in names])
        scene = names[int(rng.choice(len(names), p=weights / weights.sum()))]
    img = SCENES[scene][1](rng, h, w)
    return scene, np.clip(img, 0.0, 1.0).astype(np.float32)


@dataclass(frozen=True, eq=False)
class Sensor:
    """A camera: fixed optics and fixed-pattern offsets, plus the std of its temporal noise."""

    blur_sigma: float
    vignette: np.ndarray
    """Multiplicative gain, HxW (1 at the centre)."""
    pattern: np.ndarray
    """Additive fixed-pattern offsets, HxW (column stripes plus weaker row stripes)."""
    noise_sigma: float

    def clean(self, scene: np.ndarray) -> np.ndarray:
        """Scene as the sensor sees it before temporal noise: blurred, vignetted, striped."""
        blurred = cv2.GaussianBlur(scene, (0, 0), self.blur_sigma)
        return np.clip(blurred * self.vignette + self.pattern, 0.0, 1.0).astype(np.float32)

    def noise(self, rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
        """One frame of temporal noise."""
        return (self.noise_sigma * rng.standard_normal(shape)).astype(np.float32)


def sample_sensor(rng: np.random.Generator, h: int, w: int) -> Sensor:
    """Draw a camera: blur 0.5-1.0 px, vignetting up to 25 %, stripes and noise of 0.6-3 grey levels (8-bit)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r2 = ((yy - (h - 1) / 2) / (h / 2)) ** 2 + ((xx - (w - 1) / 2) / (w / 2)) ** 2
    vignette = 1.0 - rng.uniform(0.0, 0.25) * r2 / 2.0
    cols = rng.uniform(0.0, 1.5 / 255) * rng.standard_normal(w).astype(np.float32)
    rows = rng.uniform(0.0, 0.5 / 255) * rng.standard_normal(h).astype(np.float32)
    return Sensor(
        blur_sigma=float(rng.uniform(0.5, 1.0)),
        vignette=vignette.astype(np.float32),
        pattern=(rows[:, None] + cols[None, :]).astype(np.float32),
        noise_sigma=float(rng.uniform(0.6, 3.0) / 255),
    )


# ---------------------------------------------------------------- target shapes
@dataclass(frozen=True, eq=False)
class TargetShape:
    """A target's form: a Gaussian spot (`outline` None) or a polygon outline blurred by the optics."""

    kind: str
    psf: float
    outline: np.ndarray | None = None  # (K, 2) vertices (x, y) in pixels around the centre

    @property
    def radius(self) -> int:
        """Half side of the patch that holds the shape and its blur."""
        reach = 0.0 if self.outline is None else float(np.abs(self.outline).max())
        return int(np.ceil(reach + 3 * self.psf)) + 1


def _point_shape(rng: np.random.Generator) -> TargetShape:
    return TargetShape("point", psf=float(rng.uniform(0.45, 1.5)))


def _ellipse_shape(rng: np.random.Generator) -> TargetShape:
    a = rng.uniform(1.2, 5.0)
    b = min(a * rng.uniform(0.35, 1.0), 22.0 / a)  # keeps the area under MAX_AREA
    t = np.linspace(0, 2 * np.pi, 32, endpoint=False)
    theta = rng.uniform(0, np.pi)
    x, y = a * np.cos(t), b * np.sin(t)
    rot = np.stack([x * np.cos(theta) - y * np.sin(theta), x * np.sin(theta) + y * np.cos(theta)], 1)
    return TargetShape("ellipse", psf=float(rng.uniform(0.4, 0.8)), outline=rot)


def _blob_shape(rng: np.random.Generator) -> TargetShape:
    k = int(rng.integers(7, 12))
    angles = np.sort(rng.uniform(0, 2 * np.pi, k))
    radii = rng.uniform(1.2, 3.8) * (1.0 + 0.35 * rng.uniform(-1, 1, k))
    outline = np.stack([radii * np.cos(angles), radii * np.sin(angles)], 1)
    return TargetShape("blob", psf=float(rng.uniform(0.4, 0.8)), outline=outline)


TARGET_SHAPES: dict[str, tuple[float, Callable[[np.random.Generator], TargetShape]]] = {
    "point": (0.5, _point_shape),
    "ellipse": (0.25, _ellipse_shape),
    "blob": (0.25, _blob_shape),
}
"""Shape name -> (sampling weight, sampler)."""


def sample_shape(rng: np.random.Generator, point_fraction: float | None = None) -> TargetShape:
    """A random target shape; `point_fraction` overrides the share of Gaussian point targets."""
    names = list(TARGET_SHAPES)
    weights = np.array([TARGET_SHAPES[n][0] for n in names])
    if point_fraction is not None:
        point = np.array([n == "point" for n in names])
        weights = np.where(point, point_fraction, weights / weights[~point].sum() * (1.0 - point_fraction))
    return TARGET_SHAPES[names[int(rng.choice(len(names), p=weights / weights.sum()))]][1](rng)


def render_shape(shape: TargetShape, dy: float, dx: float) -> np.ndarray:
    """Peak-1 intensity patch of side 2R+1 with the shape's centre at (R+dy, R+dx)."""
    r = shape.radius
    side = 2 * r + 1
    if shape.outline is None:
        yy, xx = np.mgrid[0:side, 0:side].astype(np.float32)
        prof = np.exp(-((yy - r - dy) ** 2 + (xx - r - dx) ** 2) / (2 * shape.psf**2))
    else:
        # Area coverage by 8x supersampling; sub-sample centres map to patch coords (j + 0.5) / 8 - 0.5.
        up = 8
        pts = (shape.outline + np.array([r + dx, r + dy]) + 0.5) * up - 0.5
        canvas = np.zeros((side * up, side * up), np.uint8)
        cv2.fillPoly(canvas, [np.round(pts * 16).astype(np.int32)], 255, cv2.LINE_8, shift=4)
        cover = cv2.resize(canvas.astype(np.float32) / 255, (side, side), interpolation=cv2.INTER_AREA)
        prof = cv2.GaussianBlur(cover, (0, 0), shape.psf)
    return (prof / max(float(prof.max()), 1e-6)).astype(np.float32)


# ---------------------------------------------------------------- target placement
def local_stats(img: np.ndarray, window: int = 15) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std of `img` in a sliding `window` x `window` box (the clutter a target must beat)."""
    k = (window, window)
    mean = cv2.blur(img, k)
    var = cv2.blur(img * img, k) - mean * mean
    return mean, np.sqrt(np.maximum(var, 1e-10))


def edge_pixels(clean: np.ndarray) -> np.ndarray:
    """Flat indices of the 3 % strongest gradient pixels (cloud edges, skylines, buildings)."""
    gx = cv2.Sobel(clean, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(clean, cv2.CV_32F, 0, 1, ksize=3)
    mag = (gx * gx + gy * gy).ravel()
    return np.flatnonzero(mag >= np.quantile(mag, 0.97))


def sample_amplitude(
    rng: np.random.Generator, std: float, hard: bool, floor: tuple[float, float] = VISIBLE_FLOOR
) -> float:
    """Target peak for a local clutter std: SCR 4-25 and at least a floor drawn in `floor` (8-bit grey
    levels), or dim (SCR 2-4, 6 grey levels at least)."""
    if hard:
        return max(rng.uniform(2.0, 4.0) * std, 6 / 255)
    scr = float(np.exp(rng.uniform(np.log(4.0), np.log(25.0))))
    return float(np.clip(scr * std, rng.uniform(*floor) / 255, 0.5))


# ---------------------------------------------------------------- target motion (videos)
@dataclass(eq=False)
class Mover:
    """A moving target: its shape, peak brightness, position (row, col), velocity and turn rate."""

    shape: TargetShape
    amp: float
    pos: np.ndarray
    vel: np.ndarray
    turn: float

    def step(self, h: int, w: int) -> None:
        """Advance along a gently curving path, bouncing off the borders of an h x w frame."""
        c, s = np.cos(self.turn), np.sin(self.turn)
        self.vel = np.array([c * self.vel[0] - s * self.vel[1], s * self.vel[0] + c * self.vel[1]])
        self.pos = self.pos + self.vel
        r = self.shape.radius + 1
        for axis, hi in ((0, h - 1 - r), (1, w - 1 - r)):
            if not r <= self.pos[axis] <= hi:
                self.vel[axis] = -self.vel[axis]
                self.pos[axis] = np.clip(self.pos[axis], r, hi)


def sample_movers(
    rng: np.random.Generator,
    clean: np.ndarray,
    n: int,
    point_fraction: float | None = None,
    floor: tuple[float, float] = VISIBLE_FLOOR,
) -> list[Mover]:
    """n targets in the central 70 % of `clean`, 0.3-1.5 px/frame, clearly brighter than their clutter
    (shapes and brightness floor as `sample_shape` and `sample_amplitude` take them)."""
    h, w = clean.shape
    std = local_stats(clean)[1]
    movers = []
    for _ in range(n):
        shape = sample_shape(rng, point_fraction)
        pos = rng.uniform([0.15 * h, 0.15 * w], [0.85 * h, 0.85 * w])
        heading, speed = rng.uniform(0, 2 * np.pi), rng.uniform(0.3, 1.5)
        amp = sample_amplitude(rng, float(std[int(pos[0]), int(pos[1])]) + 2 / 255, hard=False, floor=floor)
        vel = speed * np.array([np.sin(heading), np.cos(heading)])
        movers.append(Mover(shape, amp, pos, vel, float(rng.uniform(-0.01, 0.01))))
    return movers
