"""Benchmark results: one `Row` per combination, a `BenchmarkReport`, and reading a report back.

Every row carries the same keys whatever its status, so JSON consumers never probe for keys:
measurements are null on skipped and failed rows, and `reason` says why.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lesps_deploy.errors import ConfigError

__all__ = ["ACCURACY_KEYS", "SCHEMA_VERSION", "STATUSES", "Row", "BenchmarkReport", "load_report", "row_key"]

ACCURACY_KEYS = ("IoU", "nIoU", "Pd", "Fa")
SCHEMA_VERSION = 1
STATUSES = ("ok", "skipped", "failed")
# speed-up and accuracy change of a checkpoint's run; a given .onnx/.engine is its own reference
DEFAULT_REFERENCE = {"backend": "torch", "precision": "fp32"}


@dataclass(frozen=True)
class Row:
    """One combination (backend, precision, device, batch, imgsz).

    Attributes:
        status: 'ok', 'skipped' (reason: why it does not apply here) or 'failed' (reason: the error).
        artifact, artifact_mb, build_s, cached: the file timed, its size, export time (None for the
            checkpoint itself), and whether it came from the cache (build_s is then the original build's).
        parity_max_abs_diff: the export's own parity check against PyTorch (max |prob diff|).
        input_shape: network input (N,1,H,W): frames of `imgsz` after reference padding.
        latency_ms, latency_per_image_ms: mean/std/min/p50/p90/p99/max of one backend call, per batch
            and divided by the batch size.
        throughput_ips: images per second of the backend call (batch / mean latency).
        split_ms: per batch: preprocess and postprocess (medians), inference (mean), total.
        e2e_throughput_ips: images per second including pre- and postprocessing.
        memory: peak host RSS (and CUDA allocator peaks) while timing; load_memory: while loading.
        runs, warmup, stopped_by, timing_s, timings_ms: how many timed calls, why timing stopped, and the
            raw per-call latencies every statistic above is computed from.
        accuracy, accuracy_delta: IoU/nIoU/Pd/Fa on `--data` (per artifact), and minus the reference's
            (PyTorch FP32; for a given .onnx/.engine, the artifact itself: see `BenchmarkReport.reference`).
        speedup: reference p50 latency / this p50 latency (same device, batch and imgsz, same run).
        beyond_gate: IoU or Pd below PyTorch FP32's by more than the export gate's --max-drop default
            (None without --data); such an artifact is exported with --keep-degraded to be measured.
    """

    backend: str
    precision: str
    device: str
    batch: int
    imgsz: int
    status: str
    reason: str | None = None
    artifact: str | None = None
    artifact_mb: float | None = None
    build_s: float | None = None
    cached: bool | None = None
    parity_max_abs_diff: float | None = None
    input_shape: list[int] | None = None
    latency_ms: dict[str, float] | None = None
    latency_per_image_ms: dict[str, float] | None = None
    throughput_ips: float | None = None
    split_ms: dict[str, float] | None = None
    e2e_throughput_ips: float | None = None
    memory: dict[str, Any] | None = None
    load_memory: dict[str, Any] | None = None
    runs: int | None = None
    warmup: int | None = None
    stopped_by: str | None = None
    timing_s: float | None = None
    timings_ms: list[float] | None = None
    synthetic_targets: int | None = None
    accuracy: dict[str, Any] | None = None
    accuracy_delta: dict[str, float] | None = None
    speedup: float | None = None
    beyond_gate: bool | None = None

    @property
    def label(self) -> str:
        return f"{self.backend} {self.precision}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def row_key(row: dict[str, Any]) -> tuple[str, str, str, int, int]:
    """What identifies a row across runs."""
    return row["backend"], row["precision"], row["device"], int(row["batch"]), int(row["imgsz"])


@dataclass(frozen=True)
class BenchmarkReport:
    """Rows plus the environment and config they were measured with, and the reference of speed-up and
    accuracy change (backend, precision, artifact, and in words)."""

    rows: tuple[Row, ...]
    environment: dict[str, Any]
    config: dict[str, Any]
    created: str
    seconds: float
    comparison: tuple[dict[str, Any], ...] = field(default=())
    reference: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_REFERENCE))

    @property
    def ok_rows(self) -> list[Row]:
        return [r for r in self.rows if r.status == "ok"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "created": self.created,
            "seconds": self.seconds,
            "config": self.config,
            "environment": self.environment,
            "reference": self.reference,
            "rows": [r.to_dict() for r in self.rows],
        }


def load_report(path: str | Path) -> dict[str, Any]:
    """A report written by `lesps benchmark --json`, as a dict.

    Raises:
        ConfigError: missing, not JSON, or not a benchmark report.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as err:
        raise ConfigError(
            f"{path}: no such file", hint="--compare takes a JSON written by 'lesps benchmark --json'"
        ) from err
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ConfigError(f"{path}: not a readable JSON file ({err})") from err
    if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
        raise ConfigError(
            f"{path}: not a benchmark report (no 'rows' list)", hint="write one with 'lesps benchmark --json'"
        )
    return data
