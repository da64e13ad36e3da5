"""`Tracker`: stable IDs, velocities and temporal confirmation for the targets of a frame sequence.

Each frame: (1) the clock advances by the frame-index gap (or the timestamp gap with `fps`), so a
dropped or skipped frame is coasted over, not jumped; (2) with `gmc`, every track moves by the
global image shift; (3) the Kalman filter predicts every track over the gap; (4) detections are
assigned to tracks (gated optimal assignment), then, with `low_score`, unmatched confirmed tracks may
take a below-threshold component (second pass); (5) matched tracks are corrected, the others miss,
unmatched detections start tentative tracks; (6) lost tracks are dropped. Everything is deterministic:
equal inputs give equal IDs.

Example:
    >>> tracker = Tracker(TrackerConfig(confirmed_only=True))
    >>> with open_source("clip.mp4") as frames:
    ...     for result in detector.stream(frames, track=tracker):
    ...         print([(t.track_id, t.x, t.y, t.vx, t.vy) for t in result.targets])
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from lesps_deploy.errors import ConfigError
from lesps_deploy.runtime.results import Result, Target, detect_targets
from lesps_deploy.tracking.association import distance_cost, gated_assignment
from lesps_deploy.tracking.config import TrackerConfig
from lesps_deploy.tracking.gmc import GlobalMotion
from lesps_deploy.tracking.kalman import MotionModel, initiate, predict, update
from lesps_deploy.tracking.track import LifeCycle, Track, TrackedTarget, TrackState

__all__ = ["Tracker", "TrackerStats", "low_score_targets"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrackerStats:
    """Counts over a run.

    Attributes:
        started: tracks created (every unmatched detection starts one).
        confirmed: tracks that reached `confirmed`.
        lost: confirmed tracks that ended (coasted past `max_age`, or a frame-size change).
        active: tracks alive now (tentative, confirmed or coasting).
        mean_length: mean frames from first to latest detection over confirmed tracks.
    """

    started: int = 0
    confirmed: int = 0
    lost: int = 0
    active: int = 0
    mean_length: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def low_score_targets(result: Result, low_score: float) -> tuple[Target, ...]:
    """Components of `prob > low_score` holding no pixel above the result's threshold (id 0).

    Those with a pixel above it contain the frame's own targets, which the first pass already saw.
    """
    _, found = detect_targets(result.prob, low_score)
    return tuple(replace(t, id=0) for t in found if t.peak <= result.threshold)


def _xy(targets: Sequence[Target]) -> np.ndarray:
    return np.array([(t.x, t.y) for t in targets], np.float64).reshape(-1, 2)


class Tracker:
    """Multi-target tracker fed by per-frame results in source order.

    A `lesps_deploy.runtime.results.ResultStep`: `Detector.stream(track=...)` and the streams
    pipeline call `update(result, frame)` for every frame.

    Args:
        config: the tracker's options (default `TrackerConfig()`).
    """

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        cfg = self.config
        self._rule = LifeCycle(cfg.confirm_hits, cfg.confirm_window, cfg.max_age)
        self._model = MotionModel(cfg.process_noise, cfg.measurement_noise, cfg.initial_speed_std)
        self._gmc = GlobalMotion() if cfg.gmc else None
        self.reset()

    def reset(self) -> None:
        """Forget every track and count (the next frame starts a new sequence)."""
        self._tracks: list[Track] = []
        self._state, self._cov = initiate(np.zeros((0, 2)), self._model)
        self._next_id = 1
        self._clock = 0
        self._last_index: int | None = None
        self._last_time = 0.0
        self._shape: tuple[int, int] | None = None
        self._confirmed = self._lost = self._ended_length = 0
        if self._gmc is not None:
            self._gmc.reset()

    # ------------------------------------------------------------------ public
    @property
    def tracks(self) -> tuple[Track, ...]:
        """The live tracks, in order of creation."""
        return tuple(self._tracks)

    @property
    def stats(self) -> TrackerStats:
        confirmed_now = [t.length for t in self._tracks if t.ever_confirmed]
        total = self._ended_length + sum(confirmed_now)
        return TrackerStats(
            started=self._next_id - 1,
            confirmed=self._confirmed,
            lost=self._lost,
            active=len(self._tracks),
            mean_length=round(total / self._confirmed, 2) if self._confirmed else 0.0,
        )

    def track(self, results: Iterable[Result]) -> Iterator[Result]:
        """Track every result of an iterator (e.g. `Detector.stream`), yielding the tracked results."""
        for result in results:
            yield self.update(result)

    def update(self, result: Result, image: np.ndarray | None = None) -> Result:
        """The result with its targets replaced by the reported `TrackedTarget`s.

        Args:
            result: the next frame's detections (frames in source order).
            image: the frame itself, needed for camera-motion compensation (`gmc`); else ignored.

        Raises:
            ConfigError: `low_score` is not below the result's detection threshold.
        """
        if self._shape is not None and result.shape != self._shape:
            log.info("frame size changed to %s at frame %d: tracks restart", result.shape, result.frame_index)
            self._end_all()
        self._shape = result.shape
        low: tuple[Target, ...] = ()
        if self.config.low_score is not None:
            if self.config.low_score >= result.threshold:
                raise ConfigError(
                    f"--low-score {self.config.low_score} must be below the detection threshold {result.threshold}"
                )
            low = low_score_targets(result, self.config.low_score)
        shift = self._gmc(image) if self._gmc is not None and image is not None else (0.0, 0.0)
        targets = self.step(result.targets, result.frame_index, result.timestamp, low, shift)
        return replace(result, targets=targets)

    def step(
        self,
        targets: Sequence[Target],
        frame_index: int,
        timestamp: float = 0.0,
        low_targets: Sequence[Target] = (),
        shift: tuple[float, float] = (0.0, 0.0),
    ) -> tuple[TrackedTarget, ...]:
        """Advance one frame with its detections; returns the targets to report, in detection order.

        Args:
            targets: detections of the frame (centroid, box, scores).
            frame_index: the frame's index in its source (gaps are coasted).
            timestamp: the frame's time in seconds (used for gaps only with `config.fps`).
            low_targets: below-threshold components for the second pass (used with `low_score`).
            shift: global image shift (dx, dy) since the previous frame (camera motion).
        """
        self._advance(frame_index, timestamp, shift)
        high, low = list(targets), list(low_targets)
        matches = self._associate(high, low)
        self._correct(matches)
        for i, track in enumerate(self._tracks):
            if i not in matches:
                track.miss(self._clock, self._rule)
        reported = self._report(matches)
        used = {rank for rank, _ in matches.values()}
        reported += self._start([(k, t) for k, t in enumerate(high) if k not in used])
        self._prune()
        reported.sort(key=lambda pair: pair[0])  # frame order of the detections; low-score ones last
        return tuple(tracked for _, tracked in reported)

    # ------------------------------------------------------------------ one frame
    def _advance(self, frame_index: int, timestamp: float, shift: tuple[float, float]) -> None:
        if self._last_index is None:
            dt = 1
        else:
            dt = frame_index - self._last_index
            if self.config.fps and timestamp > 0 and self._last_time > 0:
                dt = max(dt, round((timestamp - self._last_time) * self.config.fps))
            if dt < 1:
                log.debug("frame index %d does not advance: counted as the next frame", frame_index)
                dt = 1
        self._last_index, self._last_time = frame_index, timestamp
        self._clock += dt
        if dt > 1:  # the frames of a gap were missed by every track: one that outlived them ends here
            for track in self._tracks:
                track.miss(self._clock - 1, self._rule)
            self._prune()
        if not self._tracks:
            return
        if shift != (0.0, 0.0):
            self._state[:, :2] += shift
        self._state, self._cov = predict(self._state, self._cov, dt, self._model)

    def _associate(self, high: list[Target], low: list[Target]) -> dict[int, tuple[int, Target]]:
        """{track index: (rank, detection)} from the first pass (every track, the frame's targets) and
        the second (unmatched confirmed tracks, low-score components). Rank: the detection's position
        in the frame's targets, low-score ones after them."""
        gate = self.config.gate
        first = gated_assignment(distance_cost(self._state[:, :2], _xy(high)), gate)
        matches = {int(r): (int(c), high[c]) for r, c in zip(first.rows, first.cols, strict=True)}
        if low:
            rows = [int(r) for r in first.unmatched_rows if self._tracks[r].ever_confirmed]
            if rows:
                second = gated_assignment(distance_cost(self._state[rows, :2], _xy(low)), gate)
                matches.update(
                    {
                        rows[r]: (len(high) + int(c), low[c])
                        for r, c in zip(second.rows, second.cols, strict=True)
                    }
                )
        return matches

    def _correct(self, matches: dict[int, tuple[int, Target]]) -> None:
        if not matches:
            return
        rows = np.fromiter(matches, np.intp, len(matches))
        xy = _xy([target for _, target in matches.values()])
        self._state[rows], self._cov[rows] = update(self._state[rows], self._cov[rows], xy, self._model)
        for row, (_, target) in matches.items():
            track = self._tracks[row]
            was_confirmed = track.ever_confirmed
            track.hit(self._clock, target, self._rule)
            self._confirmed += track.ever_confirmed and not was_confirmed

    def _start(self, born: list[tuple[int, Target]]) -> list[tuple[int, TrackedTarget]]:
        """New tracks for the unmatched detections (rank, target); returns those to report."""
        if not born:
            return []
        state, cov = initiate(_xy([t for _, t in born]), self._model)
        first = len(self._tracks)
        self._state = np.concatenate([self._state, state])
        self._cov = np.concatenate([self._cov, cov])
        for _, target in born:
            track = Track(self._next_id, self._clock, target, self._rule, self.config.tail)
            self._next_id += 1
            self._confirmed += track.ever_confirmed
            self._tracks.append(track)
        return self._report({first + k: pair for k, pair in enumerate(born)})

    def _report(self, matches: dict[int, tuple[int, Target]]) -> list[tuple[int, TrackedTarget]]:
        """(rank, tracked target) for each matched track that the config reports."""
        cfg = self.config
        rows = list(matches)
        velocities = self._state[rows, 2:].tolist()
        out = []
        for row, (vx, vy) in zip(rows, velocities, strict=True):
            rank, target = matches[row]
            track = self._tracks[row]
            confirmed = track.state is TrackState.CONFIRMED
            if cfg.confirmed_only and not confirmed:
                continue
            if cfg.min_speed and confirmed and math.hypot(vx, vy) < cfg.min_speed:
                continue
            tracked = TrackedTarget(
                id=target.id, x=target.x, y=target.y, area=target.area, bbox=target.bbox, peak=target.peak,
                mean=target.mean, track_id=track.id, track_state=track.state.value, vx=vx, vy=vy,
                tail=tuple(track.tail),
            )  # fmt: skip
            out.append((rank, tracked))
        return out

    def _prune(self) -> None:
        keep = [i for i, t in enumerate(self._tracks) if t.state is not TrackState.LOST]
        if len(keep) == len(self._tracks):
            return
        for track in self._tracks:
            if not track.active and track.ever_confirmed:
                self._lost += 1
                self._ended_length += track.length
        self._tracks = [self._tracks[i] for i in keep]
        self._state, self._cov = self._state[keep], self._cov[keep]

    def _end_all(self) -> None:
        for track in self._tracks:
            track.state = TrackState.LOST
        self._prune()
        if self._gmc is not None:
            self._gmc.reset()
