"""Synthetic infrared small-target data: frames, exact masks, centroid point labels, and videos.

A frame is a background scene (`synth_backgrounds`: sky with clouds, sea clutter, ground and buildings)
seen through a sensor (blur, vignetting, fixed-pattern stripes, temporal noise), plus 1-4 targets:
Gaussian point-spread blobs and extended shapes (ellipses, irregular blobs) of 1 to about 80 pixels.

Mask rule (the ground truth is exact, not drawn by hand): a pixel belongs to a target when the target
raised it, over the noise-free frame without that target and after clipping to full scale, by at least
`MASK_FRACTION` (25 %) of that target's largest rise and by at least `MASK_MIN_LEVEL` (3 grey levels
of 8-bit full scale). Each target's mask is one 8-connected component of at most `MAX_AREA` pixels,
two targets' masks never touch in a still frame (moving targets in a video may cross), and every
target rises at least `MIN_PEAK` (4 grey levels).

Target brightness is drawn as a signal-to-clutter ratio (peak rise over the local std of the noisy
background in a 15x15 window): most targets are clearly visible (SCR 4-25, at least 12-30 grey levels,
at most half of full scale, and a realised SCR of at least 4 after clipping at full scale), a
`hard_fraction` of them are dim (SCR 2-4, at least 6 grey levels), and
an `edge_fraction` sit next to strong clutter edges (skylines, cloud and building edges).

Everything is drawn from `numpy.random.default_rng([seed, index])`, so image `index` is the same
whatever the number of images, and a seed fixes the whole dataset.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
from scipy import ndimage

from lesps_deploy.data.components import centroid_points, component_stats, label_components
from lesps_deploy.data.images import write_mask_png
from lesps_deploy.data.owned import OwnedFiles
from lesps_deploy.data.synth_backgrounds import (
    Mover,
    Sensor,
    edge_pixels,
    local_stats,
    make_scene,
    render_shape,
    sample_amplitude,
    sample_movers,
    sample_sensor,
    sample_shape,
)
from lesps_deploy.data.synth_config import MAX_AREA, SynthConfig, SynthSummary, TargetMix, VideoSummary
from lesps_deploy.errors import ConfigError, DataError
from lesps_deploy.io import atomic_path, atomic_write_json, atomic_write_text

__all__ = [
    "MASK_FRACTION",
    "MASK_MIN_LEVEL",
    "MAX_AREA",
    "SynthConfig",
    "SynthSummary",
    "TargetInfo",
    "VideoSummary",
    "make_dataset",
    "make_video",
    "synth_frame",
]

logger = logging.getLogger(__name__)

MASK_FRACTION = 0.25
MASK_MIN_LEVEL = 3 / 255
MIN_PEAK = 4 / 255
MIN_VISIBLE_SCR = 4.0  # realised signal-to-clutter ratio below which a target counts as dim
_EIGHT = np.ones((3, 3), bool)


# ---------------------------------------------------------------- frames
@dataclass(frozen=True)
class TargetInfo:
    """One inserted target: shape, centroid of its mask, area, peak rise (8-bit grey levels), SCR."""

    shape: str
    row: float
    col: float
    area: int
    peak: float
    scr: float
    near_edge: bool


@dataclass(frozen=True, eq=False)
class _Frame:
    image: np.ndarray  # float32 in [0, 1], with noise
    mask: np.ndarray  # bool
    scene: str
    targets: tuple[TargetInfo, ...]


def _insert(
    rng: np.random.Generator,
    clean: np.ndarray,
    mask: np.ndarray,
    stats: tuple[np.ndarray, np.ndarray],
    edges: np.ndarray,
    hard: bool,
    near_edge: bool,
    mix: TargetMix,
) -> TargetInfo | None:
    """Try to add one target to `clean` and `mask` in place; None when the draw breaks a rule."""
    h, w = clean.shape
    shape = sample_shape(rng, mix.point_fraction)
    r = shape.radius
    if near_edge and edges.size:
        cy, cx = np.unravel_index(int(edges[rng.integers(edges.size)]), (h, w))
        cy, cx = cy + int(rng.integers(-4, 5)), cx + int(rng.integers(-4, 5))
    else:
        cy, cx = int(rng.integers(0, h)), int(rng.integers(0, w))
    cy, cx = int(np.clip(cy, r, h - 1 - r)), int(np.clip(cx, r, w - 1 - r))
    amp = sample_amplitude(rng, float(stats[1][cy, cx]), hard, mix.contrast)
    prof = render_shape(shape, *rng.uniform(-0.5, 0.5, 2))
    win = np.s_[cy - r : cy + r + 1, cx - r : cx + r + 1]
    before = clean[win]
    after = np.minimum(before + amp * prof, 1.0)
    rise = after - before
    peak = float(rise.max())
    own = rise >= max(MASK_FRACTION * peak, MASK_MIN_LEVEL)
    area = int(own.sum())
    # A visible target must stay visible: on bright or busy clutter the clip at full scale (or the 0.5 cap)
    # can leave its realised SCR under the dim range; redraw it rather than mislabel its difficulty.
    dim = peak < MIN_VISIBLE_SCR * float(stats[1][cy, cx])
    if peak < MIN_PEAK or (dim and not hard) or not mix.min_area <= area <= mix.max_area:
        return None
    if ndimage.label(own, _EIGHT)[1] != 1:
        return None
    # Keep a two-pixel gap so two targets' masks never touch (8-connectivity) nor blur into one.
    if (ndimage.binary_dilation(mask[win], _EIGHT, iterations=2) & own).any():
        return None
    clean[win] = after
    mask[win] |= own
    rows, cols = np.nonzero(own)
    return TargetInfo(
        shape=shape.kind,
        row=float(rows.mean() + cy - r),
        col=float(cols.mean() + cx - r),
        area=area,
        peak=round(peak * 255, 2),
        scr=round(peak / float(stats[1][cy, cx]), 2),
        near_edge=near_edge,
    )


def _render(
    rng: np.random.Generator,
    size: int,
    scene: str | None = None,
    n_targets: int | None = None,
    mix: TargetMix | None = None,
) -> _Frame:
    """Draw one frame (see the module docstring for the mask rule)."""
    kind, raw = make_scene(rng, size, size, scene)
    sensor = sample_sensor(rng, size, size)
    clean = sensor.clean(raw)
    noise = sensor.noise(rng, clean.shape)
    stats = local_stats(clean + noise)
    edges = edge_pixels(clean)
    if n_targets is None:
        n_targets = int(rng.choice([1, 2, 3, 4], p=[0.4, 0.3, 0.18, 0.12]))
    mix = mix or TargetMix()
    mask = np.zeros(clean.shape, bool)
    targets: list[TargetInfo] = []
    for attempt in range(64):
        # A few redraws per target for rejected draws, more while the frame has none at all.
        if len(targets) == n_targets or (targets and attempt >= 8 * n_targets):
            break
        info = _insert(
            rng, clean, mask, stats, edges, rng.random() < mix.hard_fraction, rng.random() < mix.edge_fraction, mix
        )  # fmt: skip
        if info is not None:
            targets.append(info)
    image = np.clip(clean + noise, 0.0, 1.0)
    return _Frame(image=image, mask=mask, scene=kind, targets=tuple(targets))


def _quantize(image: np.ndarray, bit16: bool) -> np.ndarray:
    if bit16:
        return np.round(image * 65535).astype(np.uint16)
    return np.round(image * 255).astype(np.uint8)


def synth_frame(
    rng: np.random.Generator,
    size: int = 256,
    *,
    scene: str | None = None,
    n_targets: int | None = None,
    bit16: bool = False,
    hard_fraction: float = 0.1,
    edge_fraction: float = 0.3,
) -> tuple[np.ndarray, np.ndarray]:
    """One synthetic infrared frame and its exact mask.

    Args:
        rng: Random generator (the frame is a function of its state).
        size: Side of the square frame.
        scene: "sky", "sea" or "ground" (`synth_backgrounds.SCENES`); random when None.
        n_targets: Targets to insert (1-4 drawn when None; fewer if the frame has no room).
        bit16: Return uint16 (full 16-bit range) instead of uint8.
        hard_fraction: Share of dim targets (SCR 2-4).
        edge_fraction: Share of targets placed next to strong clutter edges.

    Returns:
        (image uint8|uint16 HxW, mask uint8 HxW with 0/255).
    """
    frame = _render(rng, size, scene, n_targets, TargetMix(hard_fraction, edge_fraction))
    return _quantize(frame.image, bit16), frame.mask.astype(np.uint8) * 255


def _centroids(mask: np.ndarray) -> np.ndarray:
    """(n, 2) float centroids (row, col) of the 8-connected components of a bool mask, in label order."""
    return component_stats(*label_components(mask)).centroid


# ---------------------------------------------------------------- datasets
def _write_png(path: Path, image: np.ndarray) -> None:
    ok, buf = cv2.imencode(".png", image)
    if not ok:
        raise DataError(f"{path}: PNG encoding failed")
    # Renamed into place like write_mask_png, without an fsync per file (4 ms each on a busy disk).
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.tobytes())


def _check_out_dir(root: Path, overwrite: bool) -> None:
    """Before any work: the output is a folder (or can be one), and holds no one else's dataset.

    A folder this command filled before (its `synth.json` is there) is written over; any other
    non-empty images/, masks/ or masks_centroid/ only with `overwrite`.
    """
    if root.exists() and not root.is_dir():
        raise DataError(f"{root}: a file is there, where the dataset folder is needed")
    for parent in root.parents:
        if parent.exists():
            if not parent.is_dir():
                raise DataError(f"{root}: {parent} is a file, not a folder")
            break
    if overwrite or (root / "synth.json").is_file():
        return
    for sub in ("images", "masks", "masks_centroid"):
        folder = root / sub
        if folder.is_dir() and any(folder.iterdir()):
            raise DataError(
                f"{root}: already holds a dataset that lesps data synth did not make ({sub}/ is not empty)",
                hint="choose an empty folder or pass --overwrite",
            )


def _train_mask(cfg: SynthConfig) -> np.ndarray:
    """Bool per image: in the train list (a seeded permutation, both lists non-empty)."""
    order = np.random.default_rng([cfg.seed, 0, 1]).permutation(cfg.images)
    n_train = int(np.clip(round(cfg.train_fraction * cfg.images), 1, cfg.images - 1))
    is_train = np.zeros(cfg.images, bool)
    is_train[order[:n_train]] = True
    return is_train


def _write_sample(folders: dict[str, Path], name: str, frame: _Frame, bit16: bool) -> None:
    mask = frame.mask.astype(np.uint8) * 255
    _write_png(folders["images"] / f"{name}.png", _quantize(frame.image, bit16))
    write_mask_png(folders["masks"] / f"{name}.png", mask)
    write_mask_png(folders["masks_centroid"] / f"{name}.png", centroid_points(mask))


def make_dataset(
    out_dir: str | Path, cfg: SynthConfig = SynthConfig(), progress: Callable[[int, int], None] | None = None
) -> SynthSummary:
    """Write a synthetic dataset in the standard layout under `out_dir`.

    Writes images/<name>.png (8-bit, or 16-bit for `bit16_fraction`), masks/<name>.png (0/255),
    masks_centroid/<name>.png (one pixel per target), img_idx/{train,test}_<NAME>.txt with NAME the
    folder name, synth.json (config and every target), and with `video_frames` video.mp4 + video_truth.npz.

    Args:
        out_dir: Dataset folder (created).
        cfg: Options.
        progress: Called as progress(done, total) after each image.

    Raises:
        DataError: `out_dir` already holds images (unless `cfg.overwrite`).
    """
    start = time.perf_counter()
    root = Path(out_dir)
    _check_out_dir(root, cfg.overwrite)
    folders = {k: root / k for k in ("images", "masks", "masks_centroid", "img_idx")}
    names = [f"synth_{i:0{max(4, len(str(cfg.images - 1)))}d}" for i in range(cfg.images)]
    is_train = _train_mask(cfg)
    records = []
    # Its point labels are lesps's output: `lesps labels` may write over them later (data.owned).
    owned = OwnedFiles(folders["masks_centroid"], "lesps data synth", force=True)
    for i, name in enumerate(names):
        rng = np.random.default_rng([cfg.seed, i])
        bit16 = bool(rng.random() < cfg.bit16_fraction)
        frame = _render(rng, cfg.size, mix=cfg.mix)
        _write_sample(folders, name, frame, bit16)
        owned.wrote(folders["masks_centroid"] / f"{name}.png")
        records.append({
            "name": name, "split": "train" if is_train[i] else "test", "scene": frame.scene,
            "bit_depth": 16 if bit16 else 8, "targets": [asdict(t) for t in frame.targets],
        })  # fmt: skip
        if progress is not None:
            progress(i + 1, cfg.images)
    owned.save()
    lists = {}
    for split, keep in (("train", is_train), ("test", ~is_train)):
        lists[split] = folders["img_idx"] / f"{split}_{root.resolve().name}.txt"
        atomic_write_text(lists[split], "".join(f"{n}\n" for n, k in zip(names, keep, strict=True) if k))
    video = None
    if cfg.video_frames:
        video = make_video(root / "video.mp4", cfg.video_frames, cfg.size, cfg.seed, cfg.fps, cfg.mix)
    # Where it was written and with how many threads do not shape the data: left out.
    shape = {k: v for k, v in asdict(cfg).items() if k not in ("out_dir", "threads")}
    manifest = atomic_write_json(root / "synth.json", {"config": shape, "images": records})
    seconds = time.perf_counter() - start
    n_targets = sum(len(r["targets"]) for r in records)
    logger.debug(
        "wrote %d synthetic images (%d targets) to %s in %.1f s", cfg.images, n_targets, root, seconds
    )
    return SynthSummary(
        root=root, name=root.resolve().name, images=cfg.images, train=int(is_train.sum()),
        test=int((~is_train).sum()), bit16=sum(r["bit_depth"] == 16 for r in records), targets=n_targets,
        train_list=lists["train"], test_list=lists["test"], manifest=manifest, seconds=seconds, video=video,
        folders=folders,
    )  # fmt: skip


# ---------------------------------------------------------------- videos
def _video_frame(
    rng: np.random.Generator,
    big: np.ndarray,
    sensor: Sensor,
    movers: list[Mover],
    t: int,
    pan: np.ndarray,
    size: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Frame t: a slowly panning crop of `big`, the moved targets and fresh noise; returns (uint8, bool mask)."""
    centre = (
        (big.shape[1] - 1) / 2 + pan[1] * np.sin(t * pan[3]),
        (big.shape[0] - 1) / 2 + pan[0] * np.sin(t * pan[2]),
    )
    clean = sensor.clean(cv2.getRectSubPix(big, (size, size), centre))
    mask = np.zeros(clean.shape, bool)
    for m in movers:
        m.step(size, size)
        iy, ix = np.floor(m.pos + 0.5).astype(int)
        r = m.shape.radius
        prof = render_shape(m.shape, m.pos[0] - iy, m.pos[1] - ix)
        win = np.s_[iy - r : iy + r + 1, ix - r : ix + r + 1]
        before = clean[win]
        after = np.minimum(before + m.amp * (1 + 0.1 * rng.standard_normal()) * prof, 1.0)
        rise = after - before
        mask[win] |= rise >= max(MASK_FRACTION * float(rise.max()), MASK_MIN_LEVEL)
        clean[win] = after
    image = np.clip(clean + sensor.noise(rng, clean.shape), 0.0, 1.0)
    return _quantize(image, bit16=False), mask


def make_video(
    path: str | Path, frames: int, size: int = 256, seed: int = 0, fps: int = 25, mix: TargetMix | None = None
) -> VideoSummary:
    """Write an mp4 (OpenCV 'mp4v') of 1-3 moving targets over a slowly drifting scene, plus ground truth.

    The targets' shapes and brightness follow `mix` (its share of point targets and contrast floor);
    they are always clearly visible (no dim ones).

    The truth file `<stem>_truth.npz` beside it holds `masks` (frames, size, size) uint8 0/255 by the
    module's mask rule and `targets` (K, 3) float rows (frame, centroid row, centroid col), one per
    8-connected component. The mp4 is lossy; the truth describes the frames before encoding.

    Raises:
        DataError: OpenCV cannot open a writer for `path`.
    """
    if frames < 1:
        raise ConfigError(f"{path}: a video needs at least one frame")
    path = Path(path)
    rng = np.random.default_rng([seed, 0, 2])
    margin = max(8, size // 8)
    _, big = make_scene(rng, size + 2 * margin, size + 2 * margin)
    sensor = sample_sensor(rng, size, size)
    mix = mix or TargetMix()
    movers = sample_movers(
        rng, sensor.clean(big[margin:-margin, margin:-margin]), int(rng.integers(1, 4)), mix.point_fraction,
        mix.contrast,
    )  # fmt: skip
    pan = np.array([margin * 0.7, margin * 0.7, *(2 * np.pi / rng.uniform(150, 400, 2))])
    masks = np.zeros((frames, size, size), np.uint8)
    rows: list[tuple[float, float, float]] = []
    with atomic_path(path) as tmp:
        writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), (size, size))
        if not writer.isOpened():
            raise DataError(f"{path}: OpenCV cannot write this video", hint="use a .mp4 file name")
        try:
            for t in range(frames):
                image, mask = _video_frame(rng, big, sensor, movers, t, pan, size)
                writer.write(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR))
                masks[t] = mask.astype(np.uint8) * 255
                rows.extend((t, cy, cx) for cy, cx in _centroids(mask))
        finally:
            writer.release()
    truth = path.with_name(f"{path.stem}_truth.npz")
    with atomic_path(truth) as tmp:
        np.savez_compressed(tmp, masks=masks, targets=np.array(rows, np.float32).reshape(-1, 3))
    return VideoSummary(path=path, truth=truth, frames=frames, size=size, fps=fps, targets=len(movers))
