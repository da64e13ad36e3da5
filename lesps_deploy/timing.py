"""One small stopwatch for the library's stage timings (the benchmark's synchronized timers build on it),
and the one latency-statistics function (the benchmark's rows, the predict summary, benchmark scripts).

Example:
    >>> with Stopwatch() as sw:
    ...     run()
    >>> sw.ms
    >>> latency_stats([1.0, 2.0, 4.0], ("p50", "p99"))
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

__all__ = ["Stopwatch", "STAT_KEYS", "latency_stats"]

STAT_KEYS = ("mean", "std", "min", "p50", "p90", "p99", "max")


class Stopwatch:
    """Wall time of a `with` block on `time.perf_counter`: `seconds` and `ms` once the block ends."""

    def __init__(self) -> None:
        self.start = 0.0
        self.seconds = 0.0

    def __enter__(self) -> Stopwatch:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start

    @property
    def ms(self) -> float:
        return self.seconds * 1e3


def latency_stats(
    values: Iterable[float], stats: Sequence[str] = STAT_KEYS, digits: int = 4
) -> dict[str, float]:
    """Statistics of latencies in ms: "mean", "std" (population), "min", "max" or "pNN" (numpy's
    linear-interpolation percentile NN), rounded to `digits`; NaN for each when there is no value."""
    import numpy as np  # here: `lesps --help` imports this module and stays light

    arr = np.asarray(list(values), dtype=np.float64)
    ops: dict[str, Callable[[Any], Any]] = {"mean": np.mean, "std": np.std, "min": np.min, "max": np.max}

    def one(name: str) -> float:
        if not arr.size:
            return math.nan
        value = ops[name](arr) if name in ops else np.percentile(arr, float(name[1:]))
        return round(float(value), digits)

    return {name: one(name) for name in stats}
