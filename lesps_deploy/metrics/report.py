"""`EvalReport`: what one evaluation of weights on a dataset split measured, and what produced it.

Data only (no runtime): `lesps_deploy.runtime.dataset_runner` fills it from counts of
`lesps_deploy.metrics.segmentation`; `to_dict()` is the `--json` summary, keys in `SUMMARY_KEYS` order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["SUMMARY_KEYS", "EvalReport", "summary_arrays"]

# The JSON summary's keys, in order (`EvalReport.to_dict()`): metric names as papers spell them.
SUMMARY_KEYS = (
    "model",
    "backend",
    "precision",
    "weights",
    "dataset",
    "split",
    "images",
    "threshold",
    "norm",
    "fa_rule",
    "IoU",
    "nIoU",
    "Pd",
    "Fa",
    "intersection",
    "union",
    "targets",
    "detected",
    "false_alarm_pixels",
    "pixels",
    "mask_size_mismatches",
    "seconds",
)
# field -> summary key where they differ
_KEY_OF = {"iou": "IoU", "niou": "nIoU", "pd": "Pd", "fa": "Fa"}


@dataclass(frozen=True)
class EvalReport:
    """IoU, nIoU, Pd, Fa (fractions; Fa per pixel) of `weights` on a split, with the raw counts.

    Attributes:
        model, backend, precision: the network, the runtime that ran it (torch, onnxruntime, tensorrt)
            and the arithmetic it ran in (fp32, fp16, int8): what produced the numbers.
        weights, dataset, split, images: what was evaluated (images: those that could be read).
        threshold, norm, fa_rule: how (probability threshold, (mean, std), false-alarm rule).
        iou, niou, pd, fa: the metrics (IoU from intersection/union, Pd from detected/targets, Fa from
            false_alarm_pixels/pixels; nIoU is the mean of the per-image IoUs).
        mask_size_mismatches: masks of another size than their image, fitted as the reference does.
        seconds: wall time of the evaluation.
        per_image: one row of counts per image (name first), for the per-image CSV.
        bad: one line per file skipped as unreadable.
        mask_notes: one line per mask whose size differed from its image's.
    """

    model: str
    backend: str
    precision: str
    weights: str
    dataset: str
    split: str
    images: int
    threshold: float
    norm: tuple[float, float]
    fa_rule: str
    iou: float  # each metric next to the counts it comes from
    intersection: int
    union: int
    niou: float
    pd: float
    targets: int
    detected: int
    fa: float
    false_alarm_pixels: int
    pixels: int
    mask_size_mismatches: int
    seconds: float
    per_image: tuple[dict[str, Any], ...] = ()
    bad: tuple[str, ...] = ()
    mask_notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON summary: `SUMMARY_KEYS` in order (no per-image rows)."""
        out = {_KEY_OF.get(name, name): getattr(self, name) for name in self.__dataclass_fields__}
        out["norm"] = list(self.norm)
        return {key: out[key] for key in SUMMARY_KEYS}

    def metrics(self) -> dict[str, float]:
        """IoU, nIoU, Pd and Fa by their summary names."""
        return {key: getattr(self, name) for name, key in _KEY_OF.items()}


def summary_arrays(report: EvalReport) -> dict[str, np.ndarray]:
    """Per-image counts as arrays (handy for notebooks and merging shards)."""
    keys = [k for k in report.per_image[0] if k != "name"] if report.per_image else []
    return {k: np.array([r[k] for r in report.per_image]) for k in keys}
