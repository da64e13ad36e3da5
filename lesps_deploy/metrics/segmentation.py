"""IoU, nIoU, Pd and Fa with the semantics of the LESPS / BasicIRSTD evaluation code.

Reference quirks reproduced by default (`mask_threshold=None`), because they change the numbers:
- IoU: a pixel is labelled when its mask value v >= 128 (the reference histograms v/255 over
  [0.5, 1.5]) but adds to the intersection only when v == 255 (it compares the prediction with v/255 == 1).
- Pd/Fa: targets are the 8-connected components of v == 255 (the reference casts v/255 to int).
- Pd matching: ground-truth targets in label order; for each, the first remaining predicted component
  (label order) whose centroid is < 3 px away is matched and removed.
- Fa (`fa_rule="current"`, the default): every predicted pixel outside a matched component, as the
  authors compute it today (LESPS `metrics.py` since June 2024, commit ce4eeb8; BasicIRSTD since
  January 2024, its issue #12).
- Fa (`fa_rule="2023"`): the earlier code summed the areas of predicted components whose *area value*
  is not among the areas of matched components, so an unmatched component of the same size as a
  matched one was not counted. Use it only to compare with papers evaluated with that code (LESPS as
  published at CVPR 2023); it counts a few per cent fewer false-alarm pixels on datasets with many
  same-sized components (IRSTD-1K) and agrees with the current rule on NUAA-SIRST.
`mask_threshold=N` switches to one consistent rule `v > N` for every count.

Pd over masks that hold no target is not a number: `summary()` gives None (JSON null; tables print
"n/a"), so an evaluation with nothing to detect never reads as "detected nothing".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Protocol

import numpy as np

from lesps_deploy.data.components import component_stats, label_components
from lesps_deploy.metrics.rules import DEFAULT_FA_RULE, MATCH_DISTANCE, FaRule, check_fa_rule

__all__ = [
    "Component",
    "MetricCounts",
    "ImageCounts",
    "SegmentationMetrics",
    "image_counts",
    "percent_text",
]


def percent_text(value: float | None, digits: int = 2) -> str:
    """A fraction as percent with `digits` decimals, "n/a" for None (Pd without targets)."""
    return "n/a" if value is None else f"{100 * value:.{digits}f}"


@dataclass(slots=True)
class MetricCounts:
    """Raw counts; they add up across images and shards (`+`)."""

    intersection: int = 0
    union: int = 0
    targets: int = 0
    detected: int = 0
    false_alarm_pixels: int = 0
    pixels: int = 0
    images: int = 0
    niou_sum: float = 0.0

    def __add__(self, other: MetricCounts) -> MetricCounts:
        return MetricCounts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def summary(self) -> dict[str, float | int | None]:
        """IoU, nIoU, Pd as fractions (Pd None when the masks hold no target), Fa per pixel, raw counts."""
        eps = np.spacing(1)
        return {
            "IoU": float(self.intersection / (eps + self.union)),
            "nIoU": float(self.niou_sum / self.images) if self.images else 0.0,
            "Pd": self.detected / self.targets if self.targets else None,
            "Fa": self.false_alarm_pixels / self.pixels if self.pixels else 0.0,
            "intersection": int(self.intersection),
            "union": int(self.union),
            "targets": int(self.targets),
            "detected": int(self.detected),
            "false_alarm_pixels": int(self.false_alarm_pixels),
            "pixels": int(self.pixels),
        }


@dataclass(frozen=True, slots=True)
class ImageCounts:
    """Counts of one image (for per-image CSV output)."""

    intersection: int
    union: int
    targets: int
    detected: int
    false_alarm_pixels: int
    pixels: int

    @property
    def iou(self) -> float:
        return self.intersection / (np.spacing(1) + self.union)

    def to_dict(self) -> dict[str, float | int]:
        return {**asdict(self), "IoU": self.iou}


class Component(Protocol):
    """A predicted target as the runtime reports it (`lesps_deploy.runtime.Target`): centroid and area."""

    @property
    def x(self) -> float: ...

    @property
    def y(self) -> float: ...

    @property
    def area(self) -> int: ...


def _predicted(pred: np.ndarray, predicted: Sequence[Component] | None) -> tuple[np.ndarray, np.ndarray]:
    """(row, col) centroids and areas of the predicted components: given, else labelled from `pred`."""
    if predicted is None:
        stats = component_stats(*label_components(pred))
        return stats.centroid, stats.area
    centroid = np.array([(t.y, t.x) for t in predicted], np.float64).reshape(-1, 2)
    return centroid, np.array([t.area for t in predicted], np.int64)


def _match(gt_centroids: np.ndarray, pred_centroids: np.ndarray) -> np.ndarray:
    """Indices of matched predicted components, in the reference's greedy order."""
    if len(gt_centroids) == 0 or len(pred_centroids) == 0:
        return np.zeros((0,), np.int64)
    dist = np.linalg.norm(gt_centroids[:, None, :] - pred_centroids[None, :, :], axis=-1)
    close = dist < MATCH_DISTANCE
    free = np.ones(len(pred_centroids), bool)
    matched = []
    for g in np.flatnonzero(close.any(axis=1)):  # loop over targets only, never over pixels
        hits = np.flatnonzero(close[g] & free)
        if hits.size:
            free[hits[0]] = False
            matched.append(hits[0])
    return np.asarray(matched, np.int64)


def image_counts(
    pred: np.ndarray,
    mask: np.ndarray,
    mask_threshold: int | None = None,
    fa_rule: FaRule = DEFAULT_FA_RULE,
    predicted: Sequence[Component] | None = None,
) -> ImageCounts:
    """Counts for one image. `pred`: bool HxW; `mask`: uint8 HxW (the stored mask values).

    `fa_rule`: "current" (the authors' code today) or "2023" (the area-value quirk of the CVPR code).
    `predicted`: the 8-connected components of `pred` in label order, when the caller has them already
    (the runtime's targets); None: labelled here.
    """
    check_fa_rule(fa_rule)
    pred = np.asarray(pred, dtype=bool)
    if mask_threshold is None:
        labelled, positive = mask >= 128, mask == 255
    else:
        labelled = positive = mask > mask_threshold
    inter = int(np.count_nonzero(pred & positive))
    union = int(np.count_nonzero(pred)) + int(np.count_nonzero(labelled)) - inter

    gt_labels, n_gt = label_components(positive)
    gt = component_stats(gt_labels, n_gt)
    pr_centroid, pr_area = _predicted(pred, predicted)
    matched = _match(gt.centroid, pr_centroid)
    unmatched = np.ones(len(pr_area), bool)
    unmatched[matched] = False
    if fa_rule == "2023":
        # 2023 reference quirk: membership test on area values, not on components.
        unmatched &= ~np.isin(pr_area, pr_area[matched])
    fa = int(pr_area[unmatched].sum())
    return ImageCounts(inter, union, n_gt, int(matched.size), fa, int(pred.size))


class SegmentationMetrics:
    """Streaming accumulator: `update(pred, mask)` per image, then `summary()`.

    Args:
        mask_threshold: None for the reference's mixed rules; N for one rule `v > N` everywhere.
        fa_rule: "current" (default, the authors' code today) or "2023".
    """

    def __init__(self, mask_threshold: int | None = None, fa_rule: FaRule = DEFAULT_FA_RULE) -> None:
        self.mask_threshold = mask_threshold
        self.fa_rule = check_fa_rule(fa_rule)
        self.counts = MetricCounts()

    def update(self, pred: np.ndarray, mask: np.ndarray) -> ImageCounts:
        """Count one image (`pred` bool HxW, `mask` uint8 HxW) and add it."""
        return self.add(image_counts(pred, mask, self.mask_threshold, self.fa_rule))

    def add(self, c: ImageCounts) -> ImageCounts:
        """Add the counts of one image computed elsewhere (e.g. on a worker thread)."""
        self.counts = self.counts + MetricCounts(
            c.intersection, c.union, c.targets, c.detected, c.false_alarm_pixels, c.pixels, 1, c.iou
        )
        return c

    def merge(self, other: SegmentationMetrics) -> None:
        self.counts = self.counts + other.counts

    def summary(self) -> dict[str, float | int | None]:
        return self.counts.summary()
