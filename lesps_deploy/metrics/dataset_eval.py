"""Evaluate a loaded backend on a dataset split: IoU, nIoU, Pd, Fa with the reference semantics.

Frames are decoded on a background thread while the backend runs, and frames of the same padded size
are batched; metrics use vectorised component statistics. Counts equal the reference test loop's.
Training, export parity, the benchmark and `lesps evaluate` all evaluate through `evaluate_backend`.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from lesps_deploy.data.bit_depth import FrameMapper
from lesps_deploy.data.dataset import IRSTDDataset, Sample
from lesps_deploy.data.norm import Norm, model_norm
from lesps_deploy.errors import ConfigError, LespsError
from lesps_deploy.metrics.rules import DEFAULT_FA_RULE, FaRule
from lesps_deploy.metrics.segmentation import ImageCounts, SegmentationMetrics, image_counts
from lesps_deploy.progress import track
from lesps_deploy.runtime.base import Backend
from lesps_deploy.runtime.processing import DEFAULT_PATCH_SIZE, infer_probabilities

__all__ = ["SUMMARY_KEYS", "EvalReport", "evaluate_backend", "summary_arrays"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

SUMMARY_KEYS = (
    "model",
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


@dataclass
class EvalReport:
    """`summary` holds exactly SUMMARY_KEYS; `bad` lists one line per skipped file, `mask_notes` one
    line per mask whose size differed from its image's (fitted as the reference does)."""

    summary: dict[str, Any]
    per_image: list[dict[str, Any]] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)
    mask_notes: list[str] = field(default_factory=list)


def _prefetch(
    dataset: IRSTDDataset, bad: list[str], notes: list[str], log_notes: bool = True, depth: int = 16
) -> Iterator[Sample]:
    """Decode samples on a thread; unreadable ones are recorded in `bad` and skipped, mask size
    differences in `notes` (each said in the log, if `log_notes`)."""
    q: queue.Queue[Sample | None] = queue.Queue(maxsize=depth)

    def work() -> None:
        for name in dataset.names:
            try:
                sample = dataset.load(name)
            except LespsError as err:
                bad.append(str(err))
                logger.error("skipped %s", err)  # said once, here; the command does not repeat it
                continue
            if sample.note:
                notes.append(sample.note)
                if log_notes:
                    logger.warning("%s", sample.note)
            q.put(sample)
        q.put(None)

    threading.Thread(target=work, daemon=True, name="eval-decode").start()
    values_notes: list[str] = []
    while (sample := q.get()) is not None:
        if sample.values_note:
            values_notes.append(sample.values_note)
            logger.debug("%s", sample.values_note)
        yield sample
    _say_values_notes(values_notes)


def _say_values_notes(notes: list[str]) -> None:
    """One line for the masks that were not 0/255 (`data.images.read_mask_noted`), however many."""
    binary = [n for n in notes if "0/1 mask" in n]
    grey = len(notes) - len(binary)
    if binary:
        logger.warning(
            "%d mask(s) stored as 0/1 read as 0/255 (first: %s)", len(binary), binary[0].split(": ")[0]
        )
    if grey:
        first = next(n for n in notes if "0/1 mask" not in n)
        logger.warning(
            "%d mask(s) hold grey values besides 0 and 255: labelled from 128, a target pixel only at 255, "
            "as the reference counts them (first: %s)", grey, first,
        )  # fmt: skip


def _chunks(samples: Iterator[Sample], size: int) -> Iterator[list[Sample]]:
    chunk: list[Sample] = []
    for sample in samples:
        chunk.append(sample)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _ordered_map(fn: Callable[[T], R], items: Iterator[T], workers: int) -> Iterator[R]:
    """`map(fn, items)` on `workers` threads, in order, with at most 2 * workers items in flight.

    Unlike `Executor.map`, which takes every item up front (here: decodes the whole split before the
    first result), items are read only as results are consumed, so memory stays bounded.
    """
    if workers <= 1:
        yield from map(fn, items)
        return
    with ThreadPoolExecutor(workers, thread_name_prefix="eval") as pool:
        pending: deque[Future[R]] = deque()
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _score_all(
    score: Callable[[list[Sample]], list[tuple[str, ImageCounts]]],
    chunks: Iterator[list[Sample]],
    workers: int,
    metrics: SegmentationMetrics,
) -> list[dict[str, Any]]:
    """Score every chunk (in order, on `workers` threads) into `metrics`; the per-image rows."""
    per_image: list[dict[str, Any]] = []
    for results in _ordered_map(score, chunks, workers):
        for name, counts in results:
            if not per_image:  # the start-up probe of benchmarks/evaluate_speed.py (`lesps -v evaluate`)
                logger.debug("first image evaluated at %.6f (epoch seconds)", time.time())
            metrics.add(counts)
            per_image.append({"name": name, **counts.to_dict()})
    return per_image


def evaluate_backend(
    backend: Backend,
    dataset_dir: str | Path,
    split: str = "test",
    norm: Norm | str | None = None,
    threshold: float | None = None,
    patch_size: int | None = DEFAULT_PATCH_SIZE,
    mask_threshold: int | None = None,
    batch_size: int = 1,
    progress: bool = False,
    limit: int | None = None,
    workers: int = 1,
    fa_rule: FaRule = DEFAULT_FA_RULE,
    strict_masks: bool = False,
    log_notes: bool = True,
    frame_mapping: str | FrameMapper | None = None,
) -> EvalReport:
    """Evaluate a loaded backend on `dataset_dir`'s split. Norm/threshold default to the artifact's.

    `workers` > 1 runs inference and metrics of consecutive chunks concurrently (backends releasing the
    GIL, one intra-op thread each); results keep dataset order. A mask of another size than its image is
    fitted like the reference, counted and logged (if `log_notes`), or with `strict_masks` skipped as bad.
    Frames of another bit depth than the model's are mapped by `frame_mapping` (`data.bit_depth`; a
    mapper already in use is taken as it is, so its one log line is not said twice)."""
    start = time.perf_counter()
    dataset = IRSTDDataset(dataset_dir, split, strict_masks=strict_masks)
    dataset.names = dataset.names[:limit]  # None: all
    meta = backend.meta
    mapper = FrameMapper.for_model(meta.input_bits, frame_mapping)
    norm = model_norm(norm, meta, dataset_dir, getattr(backend, "path", None), mapper)
    threshold = meta.threshold if threshold is None else threshold
    metrics = SegmentationMetrics(mask_threshold, fa_rule)
    bad: list[str] = []  # unreadable files (and, with strict_masks, masks of another size)
    notes: list[str] = []  # masks of another size, fitted

    def score(chunk: list[Sample]) -> list[tuple[str, ImageCounts]]:
        images = [s.image for s in chunk]
        probs = infer_probabilities(backend, images, norm, meta.pad_multiple, batch_size, patch_size, mapper)
        return [
            (sample.name, image_counts(prob > threshold, sample.mask, mask_threshold, fa_rule))
            for sample, prob in zip(chunk, probs, strict=True)
        ]

    samples = _prefetch(dataset, bad, notes, log_notes)
    chunks = _chunks(
        track(samples, len(dataset), f"evaluate {meta.model}", enabled=progress), max(1, batch_size) * 4
    )
    per_image = _score_all(score, chunks, workers, metrics)
    if not per_image:
        raise ConfigError(f"{dataset.root}: no image of split '{split}' could be read")
    summary = {
        "model": meta.model, "precision": meta.precision, "weights": str(getattr(backend, "path", None) or ""),
        "dataset": str(dataset.root), "split": split, "images": len(per_image), "threshold": threshold,
        "norm": [norm.mean, norm.std], "fa_rule": fa_rule, **metrics.summary(),
        "mask_size_mismatches": len(notes), "seconds": round(time.perf_counter() - start, 3),
    }  # fmt: skip
    return EvalReport({k: summary[k] for k in SUMMARY_KEYS}, per_image, bad, notes)


def summary_arrays(report: EvalReport) -> dict[str, np.ndarray]:
    """Per-image counts as arrays (handy for notebooks and merging shards)."""
    keys = [k for k in report.per_image[0] if k != "name"] if report.per_image else []
    return {k: np.array([r[k] for r in report.per_image]) for k in keys}
