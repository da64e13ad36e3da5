"""One small stopwatch for the library's stage timings (the benchmark's synchronized timers build on it).

Example:
    >>> with Stopwatch() as sw:
    ...     run()
    >>> sw.ms
"""

from __future__ import annotations

import time

__all__ = ["Stopwatch"]


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
