"""Frame sources: the `Frame` record, source statistics, reconnect policy and the `FrameSource` base.

A source is an iterator of `Frame`s read in one thread (the pipeline's decode thread). `stop()` may be
called from any thread; sources check it between frames and while waiting to reconnect.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Frame", "SourceStats", "ReconnectPolicy", "FrameSource"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame.

    Attributes:
        image: HxW (uint8/uint16/float32 gray) or HxWx3/4 (BGR/BGRA, OpenCV order).
        index: position in the source (every input frame counts, strided or not).
        timestamp: wall-clock time (epoch seconds) when the frame was read.
        name: frame name used for output files (image stem, or `<stream>_<index>`).
    """

    image: np.ndarray
    index: int
    timestamp: float
    name: str


@dataclass
class SourceStats:
    """Counters a source keeps while it runs (read by the pipeline for the summary)."""

    read: int = 0
    skipped: int = 0
    disconnects: int = 0
    reconnect_attempts: int = 0
    reconnects: int = 0
    gave_up: bool = False
    errors: list[str] = field(default_factory=list)

    def skip(self, message: str) -> None:
        """Record an unreadable frame; it is reported and the source goes on."""
        self.skip_many(1, message)

    def skip_many(self, count: int, message: str) -> None:
        """Record `count` unreadable frames said in one line (the tail of a truncated video)."""
        self.skipped += count
        if len(self.errors) < 1000:  # bounded: a broken live stream must not grow memory forever
            self.errors.append(message)
        log.warning("skipped %s", message)


@dataclass(frozen=True)
class ReconnectPolicy:
    """Exponential backoff after a lost live connection, bounded in total time.

    Attributes:
        timeout_s: give up when no reconnect succeeded within this many seconds of the loss.
        initial_delay_s: first wait before retrying.
        max_delay_s: longest wait between two attempts.
        factor: growth of the wait after each failed attempt.
        max_attempts: also give up after this many failed attempts in a row (None: the time bound only).
    """

    timeout_s: float = 30.0
    initial_delay_s: float = 0.25
    max_delay_s: float = 4.0
    factor: float = 2.0
    max_attempts: int | None = None

    def delays(self) -> Iterator[float]:
        delay = self.initial_delay_s
        while True:
            yield delay
            delay = min(delay * self.factor, self.max_delay_s)


class FrameSource:
    """Base of every source. Subclasses implement `_frames()`.

    Attributes:
        name: short display name of the source.
        live: True for cameras and network streams (stale frames may be dropped, reconnects happen).
        fps: frames per second when known (videos, some streams), else None.
        frame_count: number of frames when known in advance (files), else None.
        stride: keep every `stride`-th input frame.
    """

    live: bool = False

    def __init__(self, name: str, stride: int = 1) -> None:
        self.name = name
        self.stride = max(1, int(stride))
        self.fps: float | None = None
        self.frame_count: int | None = None
        self.stats = SourceStats()
        self._stop = threading.Event()

    def _frames(self) -> Iterator[Frame]:
        raise NotImplementedError

    def __iter__(self) -> Iterator[Frame]:
        try:
            for frame in self._frames():
                if self._stop.is_set():
                    break
                self.stats.read += 1
                yield frame
        finally:
            self.close()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def stop(self) -> None:
        """Ask the source to end after the current frame (thread-safe)."""
        self._stop.set()

    def close(self) -> None:
        """Release files, captures and sockets. Idempotent."""

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"
