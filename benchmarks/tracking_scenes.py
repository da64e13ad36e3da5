"""Synthetic infrared clips with known trajectories for `benchmarks/tracking.py`.

Each scene is a background from `lesps_deploy.data.synth_backgrounds` (sky, sea, ground) seen through a
sampled sensor (blur, vignetting, fixed pattern, fresh temporal noise every frame), with:
    targets   Gaussian spots (sigma 0.7-1.3 px, 35-70 grey levels above the background) that move,
              some dimming to a quarter of their brightness for a few frames;
    flashes   single-frame spots anywhere (the same spots, not targets);
    flicker   spots fixed on strong clutter edges (cloud edges, skylines), each lit at random in 35 %
              of the frames: static clutter that a detector keeps firing on;
    panning   the camera window drifts over a larger scene, so flicker spots move in the image.
Non-crossing scenes keep each target in its own horizontal band (they bounce at its borders), so
IDs can be checked without ambiguity; the crossing scene has targets meeting on X-shaped paths.
The truth lists every target in every frame, dim frames included (a dim target is still a target).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lesps_deploy.data.synth_backgrounds import edge_pixels, make_scene, sample_sensor

__all__ = ["Scene", "SceneSpec", "SCENES", "render_scene", "simulate_detections"]

SIZE = 256
FRAMES = 150
DIM_FACTOR = 0.25


@dataclass(frozen=True)
class SceneSpec:
    """What a scene holds (counts per frame are means of Poisson draws)."""

    name: str
    background: str
    targets: int = 3
    crossing: bool = False
    dims: int = 0  # dim episodes (4-6 frames each) per target
    flashes: float = 0.5  # single-frame flashes per frame
    flicker: int = 3  # flickering spots on clutter edges
    pan: tuple[float, float] = (0.0, 0.0)  # camera drift, px/frame (x, y)


SCENES = (
    SceneSpec("movers", "sky", targets=4),
    SceneSpec("dimming", "sea", targets=3, dims=2),
    SceneSpec("crossing", "ground", crossing=True),
    SceneSpec("clutter", "sky", targets=3, flashes=2.0, flicker=6),
    SceneSpec("panning", "ground", targets=3, pan=(1.0, 0.4), flicker=4),
)


@dataclass
class Scene:
    """A rendered clip: frames (uint8), the truth per frame [(target id, x, y)], and what lit up that
    is not a target per frame [(x, y)] (flashes and lit flicker spots), for simulated detectors."""

    spec: SceneSpec
    frames: list[np.ndarray] = field(default_factory=list)
    truth: list[list[tuple[int, float, float]]] = field(default_factory=list)
    dim: list[set[int]] = field(default_factory=list)  # target ids that are dim in each frame
    clutter: list[list[tuple[float, float]]] = field(default_factory=list)


def _band_paths(rng: np.random.Generator, n: int) -> np.ndarray:
    """(FRAMES, n, 2) x, y paths: target i bounces inside its own horizontal band, never meeting another."""
    band = SIZE / n
    pos = np.column_stack([rng.uniform(30, SIZE - 30, n), (np.arange(n) + 0.5) * band])
    vel = np.column_stack([rng.uniform(0.6, 2.0, n) * rng.choice([-1, 1], n), rng.uniform(-0.5, 0.5, n)])
    lo = np.column_stack([np.full(n, 12.0), np.arange(n) * band + 10])
    hi = np.column_stack([np.full(n, SIZE - 12.0), (np.arange(n) + 1) * band - 10])
    out = np.empty((FRAMES, n, 2))
    for f in range(FRAMES):
        out[f] = pos
        pos = pos + vel
        bounce = (pos < lo) | (pos > hi)
        vel = np.where(bounce, -vel, vel)
        pos = np.clip(pos, lo, hi)
    return out


def _crossing_paths() -> np.ndarray:
    """(FRAMES, 5, 2): an X crossing (frame 75), a close head-on pass 4 px apart (frame 67), a lone target."""
    s = np.arange(FRAMES, dtype=np.float64)[:, None] / (FRAMES - 1)
    ends = (((30, 60), (226, 200)), ((226, 60), (30, 200)), ((20, 200), (260, 200)), ((236, 204), (-4, 204)))
    paths = [np.hstack([a[0] + (b[0] - a[0]) * s, a[1] + (b[1] - a[1]) * s]) for a, b in ends]
    paths.append(np.hstack([40 + 120 * s, 20 + 15 * s]))
    return np.stack(paths, axis=1)


def _spot(img: np.ndarray, x: float, y: float, amp: float, sigma: float) -> None:
    """Add a Gaussian spot of peak `amp` (0-1 scale) at (x, y) to `img` in place."""
    r = int(np.ceil(4 * sigma))
    cx, cy = int(round(x)), int(round(y))
    y0, y1, x0, x1 = (
        max(cy - r, 0),
        min(cy + r + 1, img.shape[0]),
        max(cx - r, 0),
        min(cx + r + 1, img.shape[1]),
    )
    if y0 >= y1 or x0 >= x1:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1]
    img[y0:y1, x0:x1] += amp * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2))


def _dim_frames(rng: np.random.Generator, n_targets: int, episodes: int) -> list[set[int]]:
    dim: list[set[int]] = [set() for _ in range(FRAMES)]
    for target in range(n_targets):
        for start in rng.choice(np.arange(20, FRAMES - 20, 10), episodes, replace=False):
            for f in range(int(start), int(start) + int(rng.integers(4, 7))):
                dim[f].add(target + 1)
    return dim


def render_scene(spec: SceneSpec, seed: int = 0) -> Scene:
    """Render `spec` deterministically from `seed`."""
    rng = np.random.default_rng([seed, sum(map(ord, spec.name))])
    px, py = spec.pan
    big_w, big_h = SIZE + int(abs(px) * FRAMES) + 8, SIZE + int(abs(py) * FRAMES) + 8
    _, big = make_scene(rng, big_h, big_w, spec.background)
    sensor = sample_sensor(rng, SIZE, SIZE)
    paths = _crossing_paths() if spec.crossing else _band_paths(rng, spec.targets)
    n = paths.shape[1]
    amps, sigmas = rng.uniform(35, 70, n) / 255, rng.uniform(0.7, 1.3, n)
    edges = edge_pixels(big)
    spots = np.column_stack(np.unravel_index(rng.choice(edges, spec.flicker, replace=False), big.shape))[
        :, ::-1
    ]
    spot_amp = rng.uniform(35, 70, spec.flicker) / 255
    scene = Scene(spec, dim=_dim_frames(rng, n, spec.dims))
    for f in range(FRAMES):
        ox, oy = 4 + px * f, 4 + py * f
        ix, iy = int(round(ox)), int(round(oy))
        img = sensor.clean(big[iy : iy + SIZE, ix : ix + SIZE].copy())
        lit = [(float(sx - ix), float(sy - iy), a) for (sx, sy), a in zip(spots, spot_amp, strict=True)
               if rng.random() < 0.35]  # fmt: skip
        flashes = [
            (*rng.uniform(8, SIZE - 8, 2), rng.uniform(35, 70) / 255)
            for _ in range(rng.poisson(spec.flashes))
        ]
        for x, y, a in lit + flashes:
            _spot(img, x, y, a, 1.0)
        truth = []
        for k in range(n):
            x, y = paths[f, k]
            if 2 <= x < SIZE - 2 and 2 <= y < SIZE - 2:
                _spot(img, x, y, amps[k] * (DIM_FACTOR if k + 1 in scene.dim[f] else 1.0), sigmas[k])
                truth.append((k + 1, float(x), float(y)))
        img = np.clip(img + sensor.noise(rng, img.shape), 0, 1)
        scene.frames.append(np.round(img * 255).astype(np.uint8))
        scene.truth.append(truth)
        scene.clutter.append([(x, y) for x, y, _ in lit + flashes if 0 <= x < SIZE and 0 <= y < SIZE])
    return scene


def simulate_detections(
    scene: Scene, seed: int = 0, p_detect: float = 0.95, p_dim: float = 0.3, false_rate: float = 0.3
) -> list[tuple[list[tuple[float, float]], list[tuple[float, float]]]]:
    """A detector with controlled errors: per frame (detections, low-score detections) as (x, y).

    A visible target is detected with `p_detect`, a dim one with `p_dim` (else, in 90 % of frames, it is
    a low-score detection); centroids get 0.3 px noise; two targets within 3 px merge into one
    detection; every lit clutter spot is detected (90 %), plus `false_rate` random false alarms a frame.
    """
    rng = np.random.default_rng([seed, 7])
    out = []
    for truth, dim, clutter in zip(scene.truth, scene.dim, scene.clutter, strict=True):
        high, low = [], []
        points = _merge_close([(x, y) for _, x, y in truth], [tid in dim for tid, _, _ in truth])
        for (x, y), is_dim in points:
            xy = (x + rng.normal(0, 0.3), y + rng.normal(0, 0.3))
            if rng.random() < (p_dim if is_dim else p_detect):
                high.append(xy)
            elif is_dim and rng.random() < 0.9:
                low.append(xy)
        high += [(x, y) for x, y in clutter if rng.random() < 0.9]
        high += [tuple(rng.uniform(0, SIZE, 2)) for _ in range(rng.poisson(false_rate))]
        out.append((high, low))
    return out


def _merge_close(
    points: list[tuple[float, float]], dim: list[bool]
) -> list[tuple[tuple[float, float], bool]]:
    """Targets closer than 3 px are one blob for a detector: their midpoint, dim only if both are."""
    merged, used = [], set()
    for i, p in enumerate(points):
        if i in used:
            continue
        for j in range(i + 1, len(points)):
            if j not in used and np.hypot(p[0] - points[j][0], p[1] - points[j][1]) < 3:
                used.add(j)
                p, dim_i = ((p[0] + points[j][0]) / 2, (p[1] + points[j][1]) / 2), dim[i] and dim[j]
                merged.append((p, dim_i))
                break
        else:
            merged.append((p, dim[i]))
    return merged
