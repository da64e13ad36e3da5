"""How good evolving labels are against the full masks: overall, per target size and contrast, and where
they go wrong (growth past a target's edge, growth into clutter far from any target, misses).

Targets are the 8-connected components of the full masks. Size and contrast buckets are the terciles
over the dataset's targets (contrast: the target's mean grey level minus that of a ring around it), so
the buckets hold equal numbers of targets whatever the dataset. Used by the trainer's run log (one
`label_quality` event per evolution round) and by `benchmarks/label_quality.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from lesps_deploy.data.components import EIGHT

__all__ = ["LabelQuality", "RING", "NEAR"]

RING = 6  # pixels around a target whose labels are counted as that target's (its ring)
NEAR = 2  # labelled pixels within this many pixels of a target are edge growth; farther ones clutter


@dataclass(frozen=True)
class _Target:
    image: int
    pixels: np.ndarray  # (rows, cols) of the target
    ring: np.ndarray  # (rows, cols) of the target's neighbourhood, itself included
    size: str
    level: str


def _terciles(values: list[float], names: tuple[str, str, str]) -> list[str]:
    if not values:
        return []
    lo, hi = np.quantile(values, [1 / 3, 2 / 3])
    return [names[0] if v <= lo else names[1] if v <= hi else names[2] for v in values]


class LabelQuality:
    """Label quality measures for one dataset's frames and full masks (targets found once)."""

    def __init__(self, images: list[np.ndarray], masks: list[np.ndarray], threshold: float = 0.5) -> None:
        self.masks = masks
        self.threshold = threshold
        self.near = [ndimage.binary_dilation(m, structure=EIGHT, iterations=NEAR) for m in masks]
        found: list[tuple[int, np.ndarray, np.ndarray, int, float]] = []
        for i, (img, mask) in enumerate(zip(images, masks, strict=True)):
            frame = img if img.ndim == 2 else img.mean(axis=2)
            regions, count = ndimage.label(mask, structure=EIGHT)
            for box_index, box in enumerate(ndimage.find_objects(regions), start=1):
                if box is None:
                    continue
                # Work in the target's box grown by RING (clipped), not the whole frame.
                r0, c0 = max(box[0].start - RING, 0), max(box[1].start - RING, 0)
                r1, c1 = box[0].stop + RING, box[1].stop + RING
                own = regions[r0:r1, c0:c1] == box_index
                ring = ndimage.binary_dilation(own, structure=EIGHT, iterations=RING)
                around = ring & ~mask[r0:r1, c0:c1]
                part = frame[r0:r1, c0:c1]
                contrast = float(part[own].mean() - (part[around].mean() if around.any() else 0.0))
                rows, cols = np.nonzero(own)
                rrows, rcols = np.nonzero(ring)
                found.append(
                    (
                        i,
                        np.stack([rows + r0, cols + c0]),
                        np.stack([rrows + r0, rcols + c0]),
                        own.sum(),
                        contrast,
                    )
                )
        sizes = _terciles([float(f[3]) for f in found], ("small", "medium", "large"))
        levels = _terciles([f[4] for f in found], ("dim", "mid", "bright"))
        self.targets = [_Target(f[0], f[1], f[2], s, c) for f, s, c in zip(found, sizes, levels, strict=True)]

    def measure(self, labels: list[np.ndarray]) -> dict[str, float]:
        """IoU overall and per bucket (iou_small ... iou_bright), and as shares of all target pixels:
        edge growth (labelled within `NEAR` pixels of a target), clutter growth (farther) and misses;
        unknown_target / unknown_other: pixels left out of the loss on / off the targets."""
        inter = union = edge = clutter = missed = total = unknown_target = unknown_other = 0
        for label, mask, near in zip(labels, self.masks, self.near, strict=True):
            on = label >= self.threshold
            unknown = label < 0  # `evolution.UNKNOWN`: left out of the loss
            unknown_target += int(np.count_nonzero(unknown & mask))
            unknown_other += int(np.count_nonzero(unknown & ~mask))
            inter += int(np.count_nonzero(on & mask))
            union += int(np.count_nonzero(on | mask))
            edge += int(np.count_nonzero(on & near & ~mask))
            clutter += int(np.count_nonzero(on & ~near))
            missed += int(np.count_nonzero(mask & ~on))
            total += int(np.count_nonzero(mask))
        buckets: dict[str, list[int]] = {}
        for t in self.targets:
            on = labels[t.image] >= self.threshold
            hit = int(np.count_nonzero(on[t.pixels[0], t.pixels[1]]))
            ring_on = int(np.count_nonzero(on[t.ring[0], t.ring[1]]))
            # Union inside the ring: the target's pixels plus the labelled ring pixels outside it.
            u = t.pixels.shape[1] + ring_on - hit
            for key in (t.size, t.level):
                acc = buckets.setdefault(key, [0, 0])
                acc[0] += hit
                acc[1] += u
        total = max(total, 1)
        return {
            "iou": inter / union if union else 0.0,
            "edge_growth": edge / total,
            "clutter_growth": clutter / total,
            "missed": missed / total,
            "unknown_target": unknown_target / total,
            "unknown_other": unknown_other / total,
            **{f"iou_{k}": v[0] / v[1] if v[1] else 0.0 for k, v in sorted(buckets.items())},
        }
