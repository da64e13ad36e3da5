"""What a detector returns for one frame: probability map, mask, targets and timings.

Results carry data only (`detect_targets` is the one post-processing step: probabilities -> mask ->
targets, for the `Detector`, the benchmark and the evaluation); drawing lives in
`lesps_deploy.streams.viz` and writing in `lesps_deploy.streams.sinks`. `ResultStep` is what may
rewrite results in source order (a tracker), so the runtime and the streams can run one without
importing the package that implements it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from lesps_deploy.data.components import component_stats, label_components

__all__ = ["Target", "Timings", "Result", "ResultStep", "detect_targets", "targets_from_mask"]


@dataclass(frozen=True, slots=True)
class Target:
    """One 8-connected component of the binary mask.

    Attributes:
        id: 1-based component id in raster order (the label value in the component image).
        x, y: centroid in pixels (column, row) of the component's pixels.
        area: number of pixels.
        bbox: (x0, y0, x1, y1) in pixels, x1/y1 exclusive (slice ends).
        peak: highest probability inside the component.
        mean: mean probability inside the component.
    """

    id: int
    x: float
    y: float
    area: int
    bbox: tuple[int, int, int, int]
    peak: float
    mean: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "x": round(self.x, 3),
            "y": round(self.y, 3),
            "area": self.area,
            "bbox": list(self.bbox),
            "peak": round(self.peak, 5),
            "mean": round(self.mean, 5),
        }


@dataclass(frozen=True, slots=True)
class Timings:
    """Per-frame stage times in milliseconds; batch inference time is shared evenly by its frames."""

    preprocess: float = 0.0
    inference: float = 0.0
    postprocess: float = 0.0

    @property
    def total(self) -> float:
        return self.preprocess + self.inference + self.postprocess

    def to_dict(self) -> dict[str, float]:
        return {
            "preprocess": round(self.preprocess, 3),
            "inference": round(self.inference, 3),
            "postprocess": round(self.postprocess, 3),
            "total": round(self.total, 3),
        }


@dataclass(frozen=True, slots=True)
class Result:
    """Detection output for one frame.

    Attributes:
        prob: float32 HxW sigmoid probabilities at the frame size.
        mask: bool HxW, `prob > threshold` (the reference rule).
        targets: connected components of `mask`, in raster order of their first pixel.
        timings: stage times in ms.
        frame_index: index of the frame in its source (counts every input frame, strided or not).
        timestamp: wall-clock time (epoch seconds) when the frame was read.
        source: name of the frame (file name, or the stream's name).
        threshold: the threshold that made `mask`.
    """

    prob: np.ndarray
    mask: np.ndarray
    targets: tuple[Target, ...]
    timings: Timings = field(default_factory=Timings)
    frame_index: int = 0
    timestamp: float = 0.0
    source: str = ""
    threshold: float = 0.5

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.mask.shape[0]), int(self.mask.shape[1]))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no arrays): one `detections.jsonl` line."""
        return {
            "frame": self.frame_index,
            "source": self.source,
            "timestamp": round(self.timestamp, 6),
            "height": self.shape[0],
            "width": self.shape[1],
            "threshold": self.threshold,
            "num_targets": len(self.targets),
            "targets": [t.to_dict() for t in self.targets],
            "timings_ms": self.timings.to_dict(),
        }


class ResultStep(Protocol):
    """A step every result passes through in source order, e.g. `lesps_deploy.tracking.Tracker`.

    `Detector.stream(track=...)` and `run_pipeline(track=...)` take one; the step sits downstream
    of the runtime, which only knows this protocol.
    """

    def update(self, result: Result, image: np.ndarray | None = None) -> Result:
        """The result to report for this frame (`image`: the frame the result belongs to)."""
        ...


def detect_targets(prob: np.ndarray, threshold: float) -> tuple[np.ndarray, tuple[Target, ...]]:
    """The post-processing of a probability map: mask `prob > threshold` (strictly greater, the
    reference's rule), then its targets (`targets_from_mask`)."""
    mask = prob > threshold
    return mask, targets_from_mask(mask, prob)


def targets_from_mask(mask: np.ndarray, prob: np.ndarray) -> tuple[Target, ...]:
    """Targets (8-connected components of `mask`) with centroid, area, bbox, peak and mean of `prob`."""
    labels, n = label_components(mask)
    if n == 0:
        return ()
    st = component_stats(labels, n, prob)
    return tuple(
        Target(
            id=i + 1,
            x=float(st.centroid[i, 1]),
            y=float(st.centroid[i, 0]),
            area=int(st.area[i]),
            bbox=(int(st.bbox[i, 1]), int(st.bbox[i, 0]), int(st.bbox[i, 3]), int(st.bbox[i, 2])),
            peak=float(st.peak[i]),
            mean=float(st.mean[i]),
        )
        for i in range(n)
    )
