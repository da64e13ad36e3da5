"""Detection-level parity of an FP16/INT8 artifact with its FP32 graph: the gate every such export passes.

Probability differences alone cannot judge a reduced-precision model (a model that outputs nothing
differs little from one that finds a few small targets), so both the FP32 ONNX graph (itself checked
against PyTorch) and the artifact are evaluated on real frames with masks, and the artifact is
refused when its IoU or Pd drops more than `max_drop` points. The frames: the `--verify` dataset's
test split, else the calibration frames with their masks, else synthetic frames with targets.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lesps_deploy.data import FrameMapper, Norm, read_split
from lesps_deploy.errors import DataError, ExportError
from lesps_deploy.metrics.segmentation import percent_text
from lesps_deploy.runtime.base import Backend, load_runtime

from .parity import parity_images, probability_diff

__all__ = [
    "GATE_KEYS",
    "GateFrames",
    "DetectionParity",
    "gate_frames",
    "frame_metrics",
    "detection_parity",
    "enforce_gate",
]

logger = logging.getLogger(__name__)

GATE_KEYS = ("IoU", "nIoU", "Pd", "Fa")
# display scale: IoU/nIoU/Pd in points (%), Fa per million pixels
_SCALE = {"IoU": 100.0, "nIoU": 100.0, "Pd": 100.0, "Fa": 1e6}
SYNTHETIC_IMAGES = 24  # half of them form the synthetic test split the gate evaluates


@dataclass(frozen=True)
class GateFrames:
    """Where the gate's frames come from: a dataset folder, its split, at most `limit` images."""

    dataset: Path
    split: str
    source: str  # verify | calibration | synthetic
    limit: int | None = None

    @property
    def label(self) -> str:
        return f"{self.dataset.name} {self.split} ({self.source})"


@dataclass(frozen=True)
class DetectionParity:
    """FP32 graph vs artifact on the same frames.

    Attributes:
        reference, artifact: IoU, nIoU, Pd (fractions) and Fa (per pixel).
        images, frames: how many frames were evaluated and which.
        max_abs_diff: max |Δp| over the first frames.
        max_drop: refusal bar on the IoU and Pd drops, in points.
    """

    precision: str
    reference: dict[str, float]
    artifact: dict[str, float]
    images: int
    frames: str
    max_abs_diff: float
    max_drop: float

    @property
    def deltas(self) -> dict[str, float]:
        """Artifact minus reference: points for IoU/nIoU/Pd, 1e-6 for Fa."""
        # Pd is None on frames without targets: nothing to lose there, so no change.
        return {
            k: round(_SCALE[k] * ((self.artifact[k] or 0.0) - (self.reference[k] or 0.0)), 4)
            for k in GATE_KEYS
        }

    @property
    def passed(self) -> bool:
        return -self.deltas["IoU"] <= self.max_drop and -self.deltas["Pd"] <= self.max_drop

    def delta_text(self) -> str:
        d = self.deltas
        return (
            f"ΔIoU {d['IoU']:+.2f}, ΔnIoU {d['nIoU']:+.2f}, ΔPd {d['Pd']:+.2f} points, ΔFa {d['Fa']:+.2f}e-6, "
            f"max|Δp| {self.max_abs_diff:.3g}"
        )

    def lines(self) -> list[str]:
        ref, art = self.reference, self.artifact
        mark = "ok" if self.passed else f"DROP > {self.max_drop:g} points"
        return [
            f"{self.precision} vs fp32 on {self.images} frames of {self.frames}: IoU {100 * ref['IoU']:.2f} -> "
            f"{100 * art['IoU']:.2f}, Pd {percent_text(ref['Pd'])} -> {percent_text(art['Pd'])}: {mark}",
            self.delta_text(),
        ]

    def summary(self) -> dict[str, Any]:
        """What the artifact's metadata records."""
        return {
            "frames": self.frames,
            "images": self.images,
            **self.deltas,
            "max_abs_diff": self.max_abs_diff,
        }

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "deltas": self.deltas, "passed": self.passed}


def gate_frames(
    verify: Path | None, calib_data: Path | None, calib_split: str, calib_images: int, scratch: Path
) -> GateFrames:
    """The verify split, else the calibration frames with masks, else a small synthetic set with targets."""
    if verify is not None:
        return GateFrames(Path(verify), "test", "verify")
    if (
        calib_data is not None
        and (Path(calib_data) / "masks").is_dir()
        and _has_split(calib_data, calib_split)
    ):
        return GateFrames(Path(calib_data), calib_split, "calibration", calib_images)
    from lesps_deploy.data.synth import SynthConfig, make_dataset

    root = scratch / "gate-synthetic"
    if not (root / "images").is_dir():  # made once per export (the INT8 search and the gate share it)
        make_dataset(root, SynthConfig(images=SYNTHETIC_IMAGES, size=128, seed=0))
        logger.info("no frames with masks given: the precision gate runs on synthetic frames with targets")
    return GateFrames(root, "test", "synthetic")


def _has_split(root: Path, split: str) -> bool:
    try:
        read_split(root, split)
    except DataError:
        return False
    return True


def frame_metrics(backend: Backend, frames: GateFrames, norm: Norm, mapper: FrameMapper) -> tuple[dict, int]:
    """IoU, nIoU, Pd, Fa of `backend` on `frames`, and how many images were evaluated."""
    from lesps_deploy.runtime.dataset_runner import run_dataset

    summary = run_dataset(
        backend, frames.dataset, frames.split, norm=norm, limit=frames.limit, log_notes=False,
        frame_mapping=mapper,
    ).to_dict()  # fmt: skip
    return {k: summary[k] for k in GATE_KEYS}, summary["images"]


def detection_parity(
    reference_path: Path,
    artifact_path: Path,
    precision: str,
    frames: GateFrames,
    norm: Norm,
    max_drop: float,
    device: str = "cpu",
    frame_mapping: str | None = None,
) -> DetectionParity:
    """Evaluate the FP32 ONNX graph (CPU) and the artifact (on `device`) on `frames`."""
    with (
        load_runtime(reference_path, threads=1) as reference,
        load_runtime(artifact_path, device=device, threads=1) as artifact,
    ):
        mapper = FrameMapper(artifact.meta.input_bits, frame_mapping)
        ref_metrics, images = frame_metrics(reference, frames, norm, mapper)
        art_metrics, _ = frame_metrics(artifact, frames, norm, mapper)
        sample = parity_images(frames.dataset, frames.split, 8)
        max_diff, _ = probability_diff(reference, artifact, sample, norm, artifact.meta.pad_multiple, mapper)
    report = DetectionParity(precision, ref_metrics, art_metrics, images, frames.label, max_diff, max_drop)
    logger.info("precision gate: %s", "; ".join(report.lines()))
    return report


def enforce_gate(report: DetectionParity, out: Path, keep_degraded: bool, int8: bool) -> None:
    """Refuse a degraded artifact (one line naming the deltas and the fix) unless `keep_degraded`.

    Raises:
        ExportError: IoU or Pd dropped more than the report's `max_drop`.
    """
    if report.passed:
        return
    fix = (
        "try another --calib-method (minmax keeps the rare high activations small targets make), "
        "more calibration images (--calib-images), or --keep-degraded to write it anyway"
        if int8
        else "export FP32, or pass --keep-degraded to write it anyway"
    )
    if keep_degraded:
        logger.warning("%s: kept although degraded (--keep-degraded): %s", out, report.delta_text())
        return
    raise ExportError(
        f"{out}: not written: {report.precision} drops more than {report.max_drop:g} points on "
        f"{report.frames}: {report.delta_text()}",
        hint=fix,
    )
