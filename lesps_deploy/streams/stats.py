"""What a pipeline run reports: live figures for the status callback and the run's stats.

Every frame the source delivered is accounted for: written, skipped (the detector refused it), or
dropped (stale on a live source, or still in flight when Ctrl-C stopped the run), so
`decoded == frames + rejected + dropped` after any run.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from lesps_deploy.timing import latency_stats

__all__ = ["STAGES", "KEEP_SAMPLES", "PipelineStatus", "PipelineStats"]

STAGES = ("preprocess", "inference", "postprocess", "total", "write", "latency")
KEEP_SAMPLES = 100_000  # per-stage samples kept for percentiles (a long live run must not grow forever)


@dataclass(frozen=True, slots=True)
class PipelineStatus:
    """Live figures passed to the status callback."""

    frames: int
    dropped: int
    skipped: int
    fps: float
    latency_ms: float
    elapsed_s: float


@dataclass
class PipelineStats:
    """What a run did: counts, wall time, and per-frame stage times in ms (`STAGES`).

    Attributes:
        frames: frames written to the sinks.
        decoded: frames taken from the source (frames read ahead past `max_frames` do not count).
        dropped: decoded frames not written: stale ones on live sources, and those still in flight
            when the run was interrupted or failed.
        rejected: decoded frames the detector refused (each reported in `errors`).
        skipped: `rejected` plus the source's undecodable frames (set when the run ends).
        in_flight_dropped: the part of `dropped` lost to the interruption.
        stopped_by: the signal's name when `interrupted`.
    """

    frames: int = 0
    decoded: int = 0
    dropped: int = 0
    rejected: int = 0
    skipped: int = 0
    interrupted: bool = False
    stopped_by: str | None = None  # the signal that ended an interrupted run: SIGINT, SIGTERM or SIGHUP
    in_flight_dropped: int = 0
    wall_s: float = 0.0
    started: float = 0.0  # time.perf_counter() at the start (0: not started)
    errors: list[str] = field(default_factory=list)
    times: dict[str, deque] = field(default_factory=lambda: {s: deque(maxlen=KEEP_SAMPLES) for s in STAGES})

    @property
    def fps(self) -> float:
        return self.frames / self.wall_s if self.wall_s > 0 else 0.0

    def elapsed_s(self) -> float:
        """Seconds since the start: `wall_s` once the run ended, the time so far while it runs."""
        if self.wall_s or not self.started:
            return self.wall_s
        return time.perf_counter() - self.started

    def percentiles(self, qs: Sequence[float] = (50, 90, 99)) -> dict[str, dict[str, float]]:
        """{stage: {"p50": ms, ...}} over the processed frames."""
        # list() copies the deque in one step: the writer thread may be appending (snapshots).
        keys = [f"p{q:g}" for q in qs]
        return {stage: latency_stats(list(values), keys, 3) for stage, values in list(self.times.items())}
