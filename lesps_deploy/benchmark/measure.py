"""Timing one combination: preprocess, backend call and postprocess on synthetic frames of one size.

The backend call is what `time_calls` repeats (warm-up, then runs): a normalized, padded float32
batch in, probabilities back on the host, so host<->device copies are part of the latency as they
are for a user. Pre- and postprocessing are the Detector's own steps (`preprocess`, crop,
`detect_targets`) and are timed on the host for a few calls; the split
reports their medians next to the mean inference time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lesps_deploy.data import Norm
from lesps_deploy.metadata import ModelMeta
from lesps_deploy.runtime.base import Backend
from lesps_deploy.runtime.processing import preprocess
from lesps_deploy.runtime.results import detect_targets
from lesps_deploy.timing import latency_stats

from .config import BenchmarkConfig
from .matrix import Combo
from .memory import read_peaks, reset_peaks
from .timing import CpuTimer, TimingRun, make_timer, time_calls

__all__ = ["SyntheticFrames", "Measurement", "measure_combo"]

_SPLIT_RUNS = 10  # pre/postprocessing calls per combination (host work, low variance)
_SPLIT_SECONDS = 2.0


class SyntheticFrames:
    """`count` synthetic infrared frames (float32, sky/sea/ground clutter + small targets) per size, made once."""

    def __init__(self, seed: int, count: int) -> None:
        self.seed = seed
        self.count = count
        self._cache: dict[int, list[np.ndarray]] = {}

    def get(self, size: int) -> list[np.ndarray]:
        if size not in self._cache:
            from lesps_deploy.data.synth import synth_frame

            rng = np.random.default_rng([self.seed, size])
            self._cache[size] = [synth_frame(rng, size)[0].astype(np.float32) for _ in range(self.count)]
        return self._cache[size]


def _sig(value: float, digits: int = 5) -> float:
    """Round to significant digits (throughput spans 0.1 to 10^4 images/s)."""
    return float(f"{value:.{digits}g}")


@dataclass(frozen=True)
class Measurement:
    """Timing, split and memory of one combination (see `Row` for the meaning of each field)."""

    input_shape: tuple[int, ...]
    run: TimingRun
    pre_ms: float
    post_ms: float
    targets: int
    memory: dict[str, Any]

    def fields(self) -> dict[str, Any]:
        batch = self.input_shape[0]
        stats = latency_stats(self.run.timings_ms)
        inference = stats["mean"]
        total = self.pre_ms + inference + self.post_ms
        return {
            "input_shape": list(self.input_shape),
            "latency_ms": stats,
            "latency_per_image_ms": {k: round(v / batch, 4) for k, v in stats.items()},
            "throughput_ips": _sig(1e3 * batch / inference),
            "split_ms": {
                "preprocess": round(self.pre_ms, 4),
                "inference": inference,
                "postprocess": round(self.post_ms, 4),
                "total": round(total, 4),
            },  # fmt: skip
            "e2e_throughput_ips": _sig(1e3 * batch / total),
            "memory": self.memory,
            "runs": len(self.run.timings_ms),
            "warmup": self.run.warmup,
            "stopped_by": self.run.stopped_by,
            "timing_s": self.run.seconds,
            "timings_ms": list(self.run.timings_ms),
            "synthetic_targets": self.targets,
        }


def _postprocess(probs: np.ndarray, frames: list[np.ndarray], threshold: float) -> int:
    """The Detector's postprocessing for each frame of a batch; returns the number of targets found."""
    found = 0
    for k, frame in enumerate(frames):
        prob = np.ascontiguousarray(probs[k, 0, : frame.shape[0], : frame.shape[1]], dtype=np.float32)
        found += len(detect_targets(prob, threshold)[1])
    return found


def _host_median(fn: Any) -> tuple[float, Any]:
    run = time_calls(fn, CpuTimer(), warmup=1, max_warmup_seconds=_SPLIT_SECONDS, runs=_SPLIT_RUNS,
                     min_runs=3, max_seconds=_SPLIT_SECONDS)  # fmt: skip
    return float(np.median(run.timings_ms)), run.last_output


def measure_combo(
    backend: Backend,
    combo: Combo,
    frames: SyntheticFrames,
    norm: Norm,
    meta: ModelMeta,
    cfg: BenchmarkConfig,
    probe_device: str | None = None,
) -> Measurement:
    """Warm up and time `backend` on `combo.batch` frames of `combo.imgsz`; time the pre/postprocessing.

    `probe_device` picks the timer and memory probes (default `cfg.device`; "cpu": host clock and memory).
    """
    probe = probe_device or cfg.device
    images = frames.get(combo.imgsz)[: combo.batch]
    threshold = float(meta.threshold if cfg.threshold is None else cfg.threshold)
    pre_ms, batch = _host_median(
        lambda: np.stack([preprocess(img, norm, meta.pad_multiple) for img in images])
    )
    reset = reset_peaks(probe)
    run = time_calls(
        lambda: backend(batch), make_timer(probe), warmup=cfg.warmup, max_warmup_seconds=cfg.max_warmup_seconds,
        runs=cfg.runs, min_runs=cfg.min_runs, max_seconds=cfg.max_seconds, min_seconds=cfg.min_seconds,
    )  # fmt: skip
    memory = {**read_peaks(probe), "rss_peak_reset": reset}
    post_ms, targets = _host_median(lambda: _postprocess(run.last_output, images, threshold))
    return Measurement(tuple(batch.shape), run, pre_ms, post_ms, targets, memory)
