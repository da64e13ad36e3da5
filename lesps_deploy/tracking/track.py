"""One track's life cycle, and the tracked target a frame reports.

Life cycle (frame-index units, so a gap in the source counts as missed frames):
    tentative --M hits in the last N frames--> confirmed --miss--> coasting --hit--> confirmed
    coasting --more than max_age missed frames--> lost
    tentative --more than min(N - M, max_age) missed frames in a row--> lost (it can no longer
        collect M hits in a window of N that holds its past hits; a flash never confirms)
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import Enum
from typing import Any

from lesps_deploy.runtime.results import Target

__all__ = ["TrackState", "LifeCycle", "Track", "TrackedTarget"]


class TrackState(str, Enum):
    """Where a track is in its life cycle (the value is what JSONL and tables show)."""

    TENTATIVE = "tentative"
    CONFIRMED = "confirmed"
    COASTING = "coasting"
    LOST = "lost"


@dataclass(frozen=True, slots=True)
class LifeCycle:
    """Confirmation and deletion rules: M hits in the last N frames; coast up to `max_age` misses."""

    hits: int = 3
    window: int = 5
    max_age: int = 5

    @property
    def tentative_patience(self) -> int:
        """Missed frames in a row after which a tentative track can no longer confirm."""
        return min(self.window - self.hits, self.max_age)


class Track:
    """Bookkeeping of one track (its Kalman state lives in the tracker's arrays).

    Attributes:
        id: 1-based, in order of creation.
        state: the life-cycle state.
        first_frame, last_hit: frame indices of the first and the latest detection.
        hits: detections so far.
        ever_confirmed: the track reached `confirmed` at least once.
        score: peak probability of the latest detection.
        tail: latest detected centroids (x, y), oldest first.
    """

    __slots__ = (
        "id",
        "state",
        "first_frame",
        "last_hit",
        "hits",
        "ever_confirmed",
        "score",
        "tail",
        "_recent",
    )

    def __init__(self, track_id: int, frame: int, target: Target, rule: LifeCycle, tail: int) -> None:
        self.id = track_id
        self.first_frame = self.last_hit = frame
        self.hits = 1
        self.score = target.peak
        self.tail: deque[tuple[float, float]] = deque([(target.x, target.y)], maxlen=tail)
        self._recent: deque[int] = deque([frame], maxlen=rule.window)
        self.ever_confirmed = rule.hits <= 1
        self.state = TrackState.CONFIRMED if self.ever_confirmed else TrackState.TENTATIVE

    @property
    def length(self) -> int:
        """Frames from the first to the latest detection, both included."""
        return self.last_hit - self.first_frame + 1

    @property
    def active(self) -> bool:
        return self.state is not TrackState.LOST

    def hit(self, frame: int, target: Target, rule: LifeCycle) -> None:
        """Record a detection in `frame`."""
        self.last_hit = frame
        self.hits += 1
        self.score = target.peak
        self.tail.append((target.x, target.y))
        self._recent.append(frame)
        if self.state is TrackState.TENTATIVE:
            if sum(f > frame - rule.window for f in self._recent) >= rule.hits:
                self.state = TrackState.CONFIRMED
                self.ever_confirmed = True
        else:
            self.state = TrackState.CONFIRMED

    def miss(self, frame: int, rule: LifeCycle) -> None:
        """Record that `frame` gave this track no detection."""
        missed = frame - self.last_hit
        if self.state is TrackState.TENTATIVE:
            if missed > rule.tentative_patience:
                self.state = TrackState.LOST
        elif missed > rule.max_age:
            self.state = TrackState.LOST
        else:
            self.state = TrackState.COASTING


@dataclass(frozen=True, slots=True)
class TrackedTarget(Target):
    """A detected target with the track it belongs to.

    Attributes:
        track_id: the track's id (stable across frames).
        track_state: "tentative" or "confirmed" (a reported target always has a detection).
        vx, vy: the track's velocity in pixels per frame (relative to the scene with camera-motion
            compensation).
        tail: the track's latest detected centroids (x, y), oldest first, this one last (for drawing).

    `id` is the component id in the frame's mask, or 0 for a component below the detection
    threshold that the low-score pass gave to a track.
    """

    track_id: int = 0
    track_state: str = TrackState.TENTATIVE.value
    vx: float = 0.0
    vy: float = 0.0
    tail: tuple[tuple[float, float], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        # Explicit base call: zero-argument super() does not work in slotted dataclasses before 3.14.
        data = Target.to_dict(self)
        data.update(
            track_id=self.track_id, track_state=self.track_state, vx=round(self.vx, 3), vy=round(self.vy, 3)
        )
        return data
