"""Hand-made detection sequences for tracker tests: targets are built directly, no detector needed.

Imported by the tests as `tracking.sequences` (tests/ is on the path).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from lesps_deploy.runtime.results import Result, Target
from lesps_deploy.tracking import Tracker


def target(x: float, y: float, peak: float = 0.9, half: int = 1, id: int = 1) -> Target:
    """A (2*half+1)^2-pixel detection centred on (x, y)."""
    cx, cy = int(round(x)), int(round(y))
    side = 2 * half + 1
    return Target(
        id, float(x), float(y), side * side, (cx - half, cy - half, cx + half + 1, cy + half + 1), peak, peak
    )


def run_sequence(
    tracker: Tracker, frames: Iterable[Sequence[tuple[float, float]]], start: int = 0
) -> list[list[tuple[int, float, float]]]:
    """Feed frames of centroids (frame index = position + start); returns (track_id, x, y) per frame."""
    out = []
    for index, points in enumerate(frames, start):
        reported = tracker.step([target(x, y, id=k + 1) for k, (x, y) in enumerate(points)], index)
        out.append([(t.track_id, t.x, t.y) for t in reported])
    return out


def blob_result(
    index: int, points: Sequence[tuple[float, float, float]], shape: tuple[int, int] = (64, 64)
) -> Result:
    """A `Result` whose probability map holds Gaussian blobs (x, y, peak), thresholded at 0.5."""
    from lesps_deploy.runtime.results import targets_from_mask

    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    prob = np.zeros(shape, np.float32)
    for x, y, peak in points:
        prob = np.maximum(prob, peak * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / 2.0).astype(np.float32))
    mask = prob > 0.5
    return Result(
        prob=prob, mask=mask, targets=targets_from_mask(mask, prob), frame_index=index, threshold=0.5
    )


def ids_per_frame(outputs: list[list[tuple[int, float, float]]]) -> list[set[int]]:
    """The set of track IDs reported in each frame of a `run_sequence` output."""
    return [{tid for tid, _, _ in frame} for frame in outputs]
