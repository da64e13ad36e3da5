"""8-connected components, their statistics and the centroid point rule, vectorised (no per-component loops).

The lowest layer that uses them is data (synthetic masks and their point labels); metrics, the runtime's
targets and training's point labels import them from here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

__all__ = ["EIGHT", "ComponentStats", "label_components", "component_stats", "centroid_points"]

EIGHT = np.ones((3, 3), dtype=bool)


def label_components(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """Label 8-connected foreground components. Labels follow raster order of each component's first
    pixel (as skimage.measure.label does), which the reference's matching order relies on."""
    labels, n = ndimage.label(mask, structure=EIGHT)
    return labels, int(n)


@dataclass(frozen=True, slots=True)
class ComponentStats:
    """Per-component arrays, index i is label i+1. Centroids are (row, col) means of pixel coordinates."""

    area: np.ndarray  # int64 (n,)
    centroid: np.ndarray  # float64 (n, 2) row, col
    bbox: np.ndarray  # int64 (n, 4) row0, col0, row1, col1 (exclusive ends)
    peak: np.ndarray | None = None  # float (n,) max score inside
    mean: np.ndarray | None = None  # float (n,) mean score inside

    def __len__(self) -> int:
        return int(self.area.shape[0])


def component_stats(labels: np.ndarray, n: int, scores: np.ndarray | None = None) -> ComponentStats:
    """Area, centroid, bounding box (and peak/mean of `scores`) of labels 1..n."""
    if n == 0:
        empty = np.zeros((0,), np.float64)
        return ComponentStats(
            np.zeros((0,), np.int64),
            np.zeros((0, 2)),
            np.zeros((0, 4), np.int64),
            empty if scores is not None else None,
            empty if scores is not None else None,
        )
    flat = labels.ravel()
    fg = flat > 0
    idx = flat[fg]
    rows, cols = np.divmod(np.flatnonzero(fg), labels.shape[1])
    area = np.bincount(idx, minlength=n + 1)[1:]
    centroid = np.stack(
        [np.bincount(idx, rows, n + 1)[1:] / area, np.bincount(idx, cols, n + 1)[1:] / area], axis=1
    )
    slices = ndimage.find_objects(labels, max_label=n)
    bbox = np.array([[s[0].start, s[1].start, s[0].stop, s[1].stop] for s in slices], dtype=np.int64)
    peak = mean = None
    if scores is not None:
        vals = scores.ravel()[fg].astype(np.float64)
        mean = np.bincount(idx, vals, n + 1)[1:] / area
        peak = np.full(n + 1, -np.inf)
        np.maximum.at(peak, idx, vals)
        peak = peak[1:]
    return ComponentStats(area.astype(np.int64), centroid, bbox, peak, mean)


def centroid_points(mask: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """One 255 pixel per 8-connected target of `mask > 0` at its floored centroid (uint8 HxW, 0/255).

    The LESPS centroid label (as the released `masks_centroid/`). `rng` is unused; it is there so
    every point labeler takes (mask, rng).
    """
    labels, count = label_components(np.asarray(mask) > 0)
    out = np.zeros(labels.shape, dtype=np.uint8)
    if count == 0:
        return out
    rows, cols = np.nonzero(labels)
    ids = labels[rows, cols]
    areas = np.bincount(ids, minlength=count + 1)[1:]
    # Integer sums with floor division: exactly floor(mean), no float rounding at integer boundaries.
    sum_r = np.bincount(ids, weights=rows, minlength=count + 1)[1:].astype(np.int64)
    sum_c = np.bincount(ids, weights=cols, minlength=count + 1)[1:].astype(np.int64)
    out[sum_r // areas, sum_c // areas] = 255
    return out
