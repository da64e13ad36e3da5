"""Parity of an exported artifact with PyTorch: probability differences and evaluation counts.

Both backends are fed the same preprocessed frames (runtime.processing), so any difference comes
from the artifact itself. Probabilities are compared on a few real test images when a dataset is
given (else on synthetic frames); with `counts=True` both are evaluated on the whole split and
the raw counts behind IoU/Pd/Fa are compared.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lesps_deploy.data import FrameMapper, Norm, find_image, read_image, read_split
from lesps_deploy.runtime.base import Backend
from lesps_deploy.runtime.processing import infer_probabilities

__all__ = [
    "COUNT_KEYS",
    "ParityReport",
    "parity_images",
    "synthetic_images",
    "probability_diff",
    "check_parity",
]

logger = logging.getLogger(__name__)

COUNT_KEYS = ("intersection", "union", "targets", "detected", "false_alarm_pixels", "pixels")


@dataclass(frozen=True)
class ParityReport:
    """Result of one parity check.

    Attributes:
        max_abs_diff, mean_abs_diff: over all probability pixels of the compared images.
        images: how many frames were compared, and `source` says which.
        tolerance: the max abs difference allowed for this precision.
        counts_reference, counts_artifact: evaluation counts (None when not evaluated).
        strict_counts: counts must be identical (FP32) or are only reported (FP16/INT8).
    """

    max_abs_diff: float
    mean_abs_diff: float
    images: int
    source: str
    tolerance: float
    counts_reference: dict[str, float] | None = None
    counts_artifact: dict[str, float] | None = None
    strict_counts: bool = True

    @property
    def counts_equal(self) -> bool | None:
        if self.counts_reference is None or self.counts_artifact is None:
            return None
        return all(self.counts_reference[k] == self.counts_artifact[k] for k in COUNT_KEYS)

    @property
    def ok(self) -> bool:
        counts_ok = self.counts_equal is not False or not self.strict_counts
        return self.max_abs_diff <= self.tolerance and counts_ok

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "counts_equal": self.counts_equal, "ok": self.ok}

    def lines(self) -> list[str]:
        """Human-readable summary, one fact per line."""
        mark = "ok" if self.max_abs_diff <= self.tolerance else "TOO LARGE"
        out = [
            f"max |prob diff| {self.max_abs_diff:.3g} (mean {self.mean_abs_diff:.3g}) on {self.images} {self.source}"
            f" images, tolerance {self.tolerance:g}: {mark}"
        ]
        if self.counts_reference is not None and self.counts_artifact is not None:
            for key in COUNT_KEYS:
                ref, art = self.counts_reference[key], self.counts_artifact[key]
                out.append(f"{key:>18}: torch {ref:g}  artifact {art:g}{'' if ref == art else '  DIFFERENT'}")
        return out


def parity_images(dataset_dir: str | Path, split: str = "test", n: int = 3) -> list[np.ndarray]:
    """The first `n` raw frames of a split."""
    names = read_split(dataset_dir, split)[:n]
    return [read_image(find_image(dataset_dir, name)) for name in names]


def synthetic_images(n: int = 3, seed: int = 0) -> list[np.ndarray]:
    """Small infrared-like frames (smooth background, noise, a few bright blobs) of mixed sizes."""
    rng = np.random.default_rng(seed)
    sizes = [(64, 64), (96, 128), (80, 72)]
    frames = []
    for i in range(n):
        h, w = sizes[i % len(sizes)]
        yy, xx = np.mgrid[:h, :w].astype(np.float32)
        img = 80 + 30 * np.sin(yy / 17) * np.cos(xx / 23) + rng.normal(0, 4, (h, w))
        for _ in range(3):
            cy, cx = rng.uniform(4, h - 4), rng.uniform(4, w - 4)
            img += 120 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * rng.uniform(0.8, 2.0) ** 2))
        frames.append(np.clip(img, 0, 255).astype(np.float32))
    return frames


def probability_diff(
    reference: Backend,
    artifact: Backend,
    images: list[np.ndarray],
    norm: Norm,
    multiple: int,
    mapper: FrameMapper | None = None,
) -> tuple[float, float]:
    """(max, mean) absolute probability difference of two backends on raw frames."""
    ref = infer_probabilities(reference, images, norm, multiple, mapper=mapper)
    art = infer_probabilities(artifact, images, norm, multiple, mapper=mapper)
    diffs = np.concatenate([np.abs(a - b).ravel() for a, b in zip(ref, art, strict=True)])
    return float(diffs.max()), float(diffs.mean())


def _counts(
    backend: Backend, dataset_dir: Path, split: str, norm: Norm, mapper: FrameMapper
) -> dict[str, float]:
    from lesps_deploy.runtime.dataset_runner import run_dataset

    summary = run_dataset(backend, dataset_dir, split, norm=norm, frame_mapping=mapper).to_dict()
    return {k: summary[k] for k in COUNT_KEYS}


def check_parity(
    reference: Backend,
    artifact: Backend,
    norm: Norm,
    dataset_dir: str | Path | None = None,
    split: str = "test",
    n_images: int = 3,
    counts: bool = False,
    tolerance: float = 1e-4,
    strict_counts: bool = True,
    frame_mapping: str | None = None,
) -> ParityReport:
    """Compare `artifact` with `reference` (PyTorch) on real or synthetic frames.

    Args:
        reference, artifact: backends fed identical normalized padded batches.
        norm: normalization of the model.
        dataset_dir: dataset for real frames (and counts); synthetic frames when None.
        split: split to read frames from and evaluate.
        n_images: frames used for the probability difference.
        counts: also evaluate both on the whole split (needs `dataset_dir`).
        tolerance: allowed max abs probability difference.
        strict_counts: counts must match exactly for `ok`.
        frame_mapping: how frames of another bit depth are mapped (`lesps_deploy.data.bit_depth`).
    """
    multiple = artifact.meta.pad_multiple
    mapper = FrameMapper(artifact.meta.input_bits, frame_mapping)
    if dataset_dir is not None:
        images, source = parity_images(dataset_dir, split, n_images), f"{Path(dataset_dir).name} {split}"
    else:
        images, source = synthetic_images(n_images), "synthetic"
    max_diff, mean_diff = probability_diff(reference, artifact, images, norm, multiple, mapper)
    ref_counts = art_counts = None
    if counts and dataset_dir is not None:
        ref_counts = _counts(reference, Path(dataset_dir), split, norm, mapper)
        art_counts = _counts(artifact, Path(dataset_dir), split, norm, mapper)
    report = ParityReport(
        max_diff, mean_diff, len(images), source, tolerance, ref_counts, art_counts, strict_counts
    )
    logger.info("parity: %s", "; ".join(report.lines()))
    return report
