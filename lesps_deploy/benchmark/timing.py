"""Timers and latency statistics.

On CPU a call is timed with `time.perf_counter`. On CUDA the device is synchronized before the
call and a pair of CUDA events brackets it, so queued asynchronous work is counted and the clock
is the GPU's own. Statistics are always computed from the raw per-call timings, which the report
keeps, so every figure can be recomputed from the JSON.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lesps_deploy.timing import Stopwatch

__all__ = [
    "Timer",
    "CpuTimer",
    "CudaTimer",
    "make_timer",
    "TimingRun",
    "time_calls",
]

# Raw timings are rounded to 0.1 microsecond before the statistics, so the JSON holds exactly the
# numbers the statistics came from.
_DECIMALS = 4


class Timer:
    """Times one call of `fn` in milliseconds."""

    def time(self, fn: Callable[[], Any]) -> tuple[float, Any]:
        with Stopwatch() as sw:
            out = fn()
        return sw.ms, out


class CpuTimer(Timer):
    """`time.perf_counter` around the call (backends return host arrays, so the call is complete)."""


class CudaTimer(Timer):
    """CUDA events around the call, with the device synchronized before and after."""

    def __init__(self, device: str) -> None:
        import torch

        self._torch = torch
        self.device = torch.device(device)

    def time(self, fn: Callable[[], Any]) -> tuple[float, Any]:
        cuda = self._torch.cuda
        with cuda.device(self.device):
            start, end = cuda.Event(enable_timing=True), cuda.Event(enable_timing=True)
            cuda.synchronize()
            start.record()
            out = fn()
            end.record()
            cuda.synchronize()
            return float(start.elapsed_time(end)), out


def make_timer(device: str) -> Timer:
    """The right timer for `device`."""
    return CudaTimer(device) if device.startswith("cuda") else CpuTimer()


@dataclass(frozen=True)
class TimingRun:
    """Raw timings of the timed calls plus why timing stopped ('runs', 'max_seconds', 'min_seconds')."""

    timings_ms: tuple[float, ...]
    warmup: int
    stopped_by: str
    seconds: float
    last_output: Any = None


def _warm_up(
    fn: Callable[[], Any], timer: Timer, calls: int, max_seconds: float, clock: Callable[[], float]
) -> int:
    start, done = clock(), 0
    while done < calls and clock() - start < max_seconds:
        timer.time(fn)
        done += 1
    return done


def time_calls(
    fn: Callable[[], Any],
    timer: Timer,
    warmup: int = 20,
    max_warmup_seconds: float = 3.0,
    runs: int = 200,
    min_runs: int = 5,
    max_seconds: float = 10.0,
    min_seconds: float | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> TimingRun:
    """Warm up, then time `fn` repeatedly (see `BenchmarkConfig` for the stopping rules).

    `clock` (seconds) decides when the time caps are reached; tests pass a fake one.
    """
    warmed = _warm_up(fn, timer, warmup, max_warmup_seconds, clock)
    raw: list[float] = []
    out: Any = None
    start = clock()
    while True:
        ms, out = timer.time(fn)
        raw.append(round(ms, _DECIMALS))
        elapsed = clock() - start
        if min_seconds is not None:
            if elapsed >= min_seconds and len(raw) >= min_runs:
                stopped = "min_seconds"
                break
        elif len(raw) >= runs:
            stopped = "runs"
            break
        elif elapsed >= max_seconds and len(raw) >= min_runs:
            stopped = "max_seconds"
            break
    return TimingRun(tuple(raw), warmed, stopped, round(clock() - start, 3), out)
