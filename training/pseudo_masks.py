"""Pseudo-masks from points and a local-contrast map: the LCM baselines of LESPS (paper Table 3).

Each point becomes the region of the contrast map around it that is above `ratio` times the map's peak
near the point, kept to the one 8-connected component holding that peak and to the LESPS 33x33 window
(so a mask never spreads across the image). A point whose neighbourhood has no contrast stays a point.

Used two ways: `lesps labels DIR --type lcm-<method>` writes `masks_<method>/` for training on fixed
pseudo-masks (`lesps train --labels <method>`), and `lesps train --init-labels <method>` starts LESPS
evolution from them instead of from bare points.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

from lesps_deploy.data.components import EIGHT
from lesps_deploy.data.contrast import CONTRAST_METHODS, contrast_map
from lesps_deploy.data.dataset import find_image
from lesps_deploy.data.images import fit_mask_checked, read_image, read_mask
from lesps_deploy.errors import ConfigError, DataError
from lesps_deploy.progress import ProgressSpec

from .labels import LabelReport, _dataset_names, label_folder, write_labels

__all__ = [
    "PSEUDO_RATIO",
    "pseudo_mask",
    "pseudo_masks_for",
    "prior_envelopes",
    "make_pseudo_masks",
    "check_method",
]

PSEUDO_RATIO = 0.5  # share of the local contrast peak a pixel must exceed (half maximum)
WINDOW = 33  # the LESPS evolution window: the largest extent a pseudo-mask may have
CORE = 5  # the peak is searched this close to the point (a coarse click may miss the brightest pixel)


def check_method(method: str) -> str:
    """`method` if it is a contrast method name, else a ConfigError listing them."""
    if method not in CONTRAST_METHODS:
        raise ConfigError(
            f"unknown pseudo-label method {method!r}", hint=f"choose one of {', '.join(CONTRAST_METHODS)}"
        )
    return method


def pseudo_mask(cmap: np.ndarray, points: np.ndarray, ratio: float = PSEUDO_RATIO) -> np.ndarray:
    """Boolean mask: for each point pixel (`points > 0`), its contrast region, plus the points themselves."""
    h, w = cmap.shape
    out = np.asarray(points) > 0
    half, core = WINDOW // 2, CORE // 2
    for r, c in np.argwhere(out):
        r0, r1, c0, c1 = max(r - half, 0), min(r + half + 1, h), max(c - half, 0), min(c + half + 1, w)
        window = cmap[r0:r1, c0:c1]
        cr0, cc0 = max(r - core, 0) - r0, max(c - core, 0) - c0
        near = window[cr0 : r - r0 + core + 1, cc0 : c - c0 + core + 1]
        peak = float(near.max())
        if peak <= 0:
            continue
        pr, pc = np.unravel_index(int(np.argmax(near)), near.shape)
        regions, _ = ndimage.label(window > ratio * peak, structure=EIGHT)
        out[r0:r1, c0:c1] |= regions == regions[cr0 + pr, cc0 + pc]
    return out


def pseudo_masks_for(
    images: list[np.ndarray], points: list[np.ndarray], method: str, ratio: float = PSEUDO_RATIO
) -> list[np.ndarray]:
    """Float32 labels: 1 on each image's pseudo-masks (and points), 0 elsewhere."""
    check_method(method)
    return [
        pseudo_mask(contrast_map(img, method), pts, ratio).astype(np.float32)
        for img, pts in zip(images, points, strict=True)
    ]


def prior_envelopes(
    images: list[np.ndarray], points: list[np.ndarray], method: str, ratio: float, grow: int = 1
) -> list[np.ndarray]:
    """Boolean supports of the contrast prior: each point's region above `ratio` of its local contrast
    peak (a looser `pseudo_mask`), dilated by `grow` pixels. Evolution may grow a label only inside it
    (`evolve_labels(envelope=...)`), so the prior stays a constraint after the first round."""
    check_method(method)
    out = []
    for img, pts in zip(images, points, strict=True):
        mask = pseudo_mask(contrast_map(img, method), pts, ratio)
        out.append(ndimage.binary_dilation(mask, structure=EIGHT, iterations=grow) if grow > 0 else mask)
    return out


def _one(root: Path, name: str, method: str, points_kind: str) -> np.ndarray:
    image = read_image(find_image(root, name))
    path = find_image(root, name, label_folder(points_kind))
    points, _ = fit_mask_checked(read_mask(path), *image.shape[:2], path)
    frame = image if image.ndim == 2 else image.mean(axis=2)
    mask = pseudo_mask(contrast_map(frame.astype(np.float32), method), points)
    return mask.astype(np.uint8) * 255


def make_pseudo_masks(
    dataset_dir: str | Path,
    method: str,
    points: str = "centroid",
    progress: ProgressSpec = None,
    force: bool = False,
) -> LabelReport:
    """Write the `method` pseudo-mask of every image to `masks_<method>/` (PNG 0/255, atomic per file).

    Args:
        dataset_dir: dataset folder with images/ and the point labels `masks_<points>/`.
        method: 'tophat' or 'mpcm' (see `lesps_deploy.data.contrast`).
        points: which point labels to grow: centroid or coarse.
        progress: True for a progress bar, a callback, or None.
        force: overwrite files in `masks_<method>/` that lesps did not write.

    Returns:
        LabelReport (output folder, images written, targets, one line per skipped file).

    Raises:
        ConfigError: unknown method. DataError: no point labels in the dataset.
    """
    check_method(method)
    root = Path(dataset_dir)
    source = root / label_folder(points)
    if not source.is_dir():
        raise DataError(
            f"{source}: no {points} point labels to grow",
            hint=f"make them with: lesps labels {root} --type {points}",
        )
    names = _dataset_names(root) if (root / "img_idx").is_dir() or (root / "masks").is_dir() else []
    if not names:
        names = sorted(p.stem for p in source.iterdir() if p.is_file())

    def make(name: str) -> tuple[np.ndarray, int]:
        mask = _one(root, name, method, points)
        return mask, int(ndimage.label(mask > 0, structure=EIGHT)[1])

    return write_labels(
        names, root / label_folder(method), make, f"{method} pseudo-masks", progress, force=force
    )
