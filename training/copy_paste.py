"""Copy-paste augmentation: labelled targets of the train split added onto other crops.

A target is a connected region of a current label (`label >= 0.5`, so evolved labels count). What is
pasted is its *contrast*, not its raw pixels: the patch minus its background (the median of the patch
outside the target), weighted by the soft label, is added to the destination crop, so a target keeps
its own signal over a new background without a seam; the destination label takes the maximum.
As in PAL (ICCV 2025) and the copy-paste of instance segmentation, it gives every crop more, and
more varied, labelled targets than the few a small dataset has.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from lesps_deploy.data.components import EIGHT

__all__ = ["TargetBank", "paste_target"]

MARGIN = 2  # pixels of background kept around a target's box (for its background level)


@dataclass(frozen=True)
class _Target:
    delta: np.ndarray  # contrast over the background, weighted by the soft label
    label: np.ndarray


class TargetBank:
    """The labelled targets of a set of frames and labels (found once, when built)."""

    def __init__(self, images: list[np.ndarray], labels: list[np.ndarray], max_side: int = 33) -> None:
        self.targets: list[_Target] = []
        for image, label in zip(images, labels, strict=True):
            regions, _ = ndimage.label(label >= 0.5, structure=EIGHT)
            for index, box in enumerate(ndimage.find_objects(regions), start=1):
                if box is None:
                    continue
                r0, c0 = max(box[0].start - MARGIN, 0), max(box[1].start - MARGIN, 0)
                r1, c1 = box[0].stop + MARGIN, box[1].stop + MARGIN
                if r1 - r0 > max_side or c1 - c0 > max_side:
                    continue  # not a small target (or a label grown out of shape)
                own = regions[r0:r1, c0:c1] == index
                soft = np.where(own, label[r0:r1, c0:c1], 0).astype(np.float32)
                patch = image[r0:r1, c0:c1].astype(np.float32)
                outside = patch[~own]
                if outside.size == 0:
                    continue
                delta = np.maximum(patch - np.float32(np.median(outside)), 0) * soft
                self.targets.append(_Target(delta.astype(np.float32), soft))

    def __len__(self) -> int:
        return len(self.targets)

    def pick(self, rng: np.random.Generator) -> _Target:
        return self.targets[int(rng.integers(len(self.targets)))]


def paste_target(
    image: np.ndarray, label: np.ndarray, target: _Target, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """`image` and `label` (a crop, raw grey levels) with `target` added at a random place."""
    h, w = target.delta.shape
    if h > image.shape[0] or w > image.shape[1]:
        return image, label
    top = int(rng.integers(0, image.shape[0] - h + 1))
    left = int(rng.integers(0, image.shape[1] - w + 1))
    image, label = image.copy(), label.copy()
    image[top : top + h, left : left + w] += target.delta
    label[top : top + h, left : left + w] = np.maximum(label[top : top + h, left : left + w], target.label)
    return image, label
