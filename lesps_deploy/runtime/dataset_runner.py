"""Evaluate a loaded backend on a dataset split: the `Detector` over the split's frames, scored by metrics.

Frames are decoded on a background thread while the detector runs, and frames of the same padded size
are batched; the counts come from `lesps_deploy.metrics` (probabilities and masks in, counts out).
Counts equal the reference test loop's. Training, export parity, the benchmark and `evaluate` (the
`lesps evaluate` call) all evaluate through `run_dataset`.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from lesps_deploy.data.bit_depth import FrameMapper
from lesps_deploy.data.dataset import IRSTDDataset, Sample
from lesps_deploy.data.norm import Norm, model_norm
from lesps_deploy.errors import ConfigError, LespsError
from lesps_deploy.metrics.report import EvalReport
from lesps_deploy.metrics.rules import DEFAULT_FA_RULE, FaRule
from lesps_deploy.metrics.segmentation import ImageCounts, SegmentationMetrics, image_counts
from lesps_deploy.progress import track
from lesps_deploy.runtime.base import Backend
from lesps_deploy.runtime.detector import Detector
from lesps_deploy.runtime.processing import DEFAULT_PATCH_SIZE

__all__ = ["run_dataset", "backend_precision"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


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
) -> list[dict[str, object]]:
    """Score every chunk (in order, on `workers` threads) into `metrics`; the per-image rows."""
    per_image: list[dict[str, object]] = []
    for results in _ordered_map(score, chunks, workers):
        for name, counts in results:
            if not per_image:  # the start-up probe of benchmarks/evaluate_speed.py (`lesps -v evaluate`)
                logger.debug("first image evaluated at %.6f (epoch seconds)", time.time())
            metrics.add(counts)
            per_image.append({"name": name, **counts.to_dict()})
    return per_image


def backend_precision(backend: Backend) -> str:
    """The arithmetic `backend` runs in: a PyTorch module cast to half runs fp16 whatever its metadata says."""
    return "fp16" if getattr(backend, "half", False) else backend.meta.precision


def run_dataset(
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
    """Run a loaded backend (as a `Detector`) over `dataset_dir`'s split and score it: an `EvalReport`.

    Norm/threshold default to the artifact's.

    `workers` > 1 runs inference and metrics of consecutive chunks concurrently (backends releasing the
    GIL, one intra-op thread each); results keep dataset order. A mask of another size than its image is
    fitted like the reference, counted and logged (if `log_notes`), or with `strict_masks` skipped as bad.
    Frames of another bit depth than the model's are mapped by `frame_mapping` (`data.bit_depth`; a
    mapper already in use is taken as it is, so its one log line is not said twice).

    Raises:
        ConfigError: no normalization known, or no image of the split could be read.
    """
    start = time.perf_counter()
    dataset = IRSTDDataset(dataset_dir, split, strict_masks=strict_masks)
    dataset.names = dataset.names[:limit]  # None: all
    meta = backend.meta
    mapper = FrameMapper.for_model(meta.input_bits, frame_mapping)
    norm = model_norm(norm, meta, dataset_dir, getattr(backend, "path", None), mapper)
    # The evaluation reads frames with numpy on the host, whatever the backend's device.
    detector = Detector.from_backend(
        backend, norm, threshold, batch_size, patch_size, torch_processing=False, frame_mapping=mapper
    )
    metrics = SegmentationMetrics(mask_threshold, fa_rule)
    bad: list[str] = []  # unreadable files (and, with strict_masks, masks of another size)
    notes: list[str] = []  # masks of another size, fitted

    def score(chunk: list[Sample]) -> list[tuple[str, ImageCounts]]:
        results = detector.predict([s.image for s in chunk])
        return [
            (s.name, image_counts(r.mask, s.mask, mask_threshold, fa_rule, predicted=r.targets))
            for s, r in zip(chunk, results, strict=True)
        ]

    samples = _prefetch(dataset, bad, notes, log_notes)
    chunks = _chunks(
        track(samples, len(dataset), f"evaluate {meta.model}", enabled=progress), max(1, batch_size) * 4
    )
    per_image = _score_all(score, chunks, workers, metrics)
    if not per_image:
        raise ConfigError(f"{dataset.root}: no image of split '{split}' could be read")
    s, c = metrics.summary(), metrics.counts
    return EvalReport(
        model=meta.model, backend=backend.name, precision=backend_precision(backend),
        weights=str(getattr(backend, "path", None) or ""), dataset=str(dataset.root), split=split,
        images=len(per_image), threshold=detector.threshold, norm=(norm.mean, norm.std), fa_rule=fa_rule,
        iou=s["IoU"], niou=s["nIoU"], pd=s["Pd"], fa=s["Fa"], intersection=int(c.intersection),
        union=int(c.union), targets=int(c.targets), detected=int(c.detected),
        false_alarm_pixels=int(c.false_alarm_pixels), pixels=int(c.pixels), mask_size_mismatches=len(notes),
        seconds=round(time.perf_counter() - start, 3), per_image=tuple(per_image), bad=tuple(bad),
        mask_notes=tuple(notes),
    )  # fmt: skip
