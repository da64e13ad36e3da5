"""`TrackerConfig`: every option of the tracker, validated on construction (one line per bad value).

This module imports nothing heavy, so the CLI can read its defaults at import time.
"""

from __future__ import annotations

from dataclasses import dataclass

from lesps_deploy.errors import ConfigError

__all__ = ["TrackerConfig", "parse_confirm", "format_confirm"]


def parse_confirm(text: str) -> tuple[int, int]:
    """`"M/N"` (M hits in the last N frames) -> (M, N).

    Raises:
        ConfigError: not two integers separated by a slash.
    """
    parts = str(text).replace(" ", "").split("/")
    try:
        hits, window = (int(p) for p in parts)
    except ValueError:
        raise ConfigError(
            f"--confirm {text!r}: expected M/N, e.g. 3/5 (M hits in the last N frames)"
        ) from None
    return hits, window


def format_confirm(confirm: tuple[int, int]) -> str:
    """(M, N) -> `"M/N"`, the form `--confirm` takes."""
    return f"{confirm[0]}/{confirm[1]}"


@dataclass(frozen=True)
class TrackerConfig:
    """How the tracker associates detections and manages track life cycles.

    Distances are in pixels, speeds in pixels per frame, ages in frames (frame-index units: a source
    that skips frames leaves gaps that count as missed frames).

    Attributes:
        confirm: (M, N): a track is confirmed after M hits in its last N frames (`--confirm 3/5`).
        max_age: missed frames a confirmed track coasts on its prediction before it is lost.
        gate: largest distance between a track's predicted centroid and a detection it may take.
        low_score: with a value, a second association pass gives unmatched confirmed tracks the
            components of `prob > low_score` that hold no pixel above the detection threshold (the
            ByteTrack idea: a dim target flickers below the threshold before it is lost); None: off.
        min_speed: confirmed tracks slower than this are not reported (static clutter); 0: off.
        gmc: compensate global camera motion (phase correlation between consecutive frames).
        confirmed_only: report only confirmed tracks (the false-alarm filter); else every track
            that has a detection in the frame, tentative ones included.
        process_noise: white-acceleration spectral density of the constant-velocity model (px^2/frame^3).
        measurement_noise: standard deviation of a detected centroid (px).
        initial_speed_std: prior standard deviation of a new track's speed (px/frame).
        tail: positions kept per track for drawing its tail.
        fps: with a value, timestamps also measure gaps (frames = round(seconds * fps)), for live
            sources whose driver drops frames without a gap in the frame index; None: indices only.
    """

    confirm: tuple[int, int] = (3, 5)
    max_age: int = 5
    gate: float = 10.0
    low_score: float | None = None
    min_speed: float = 0.0
    gmc: bool = False
    confirmed_only: bool = False
    process_noise: float = 0.5
    measurement_noise: float = 1.0
    initial_speed_std: float = 4.0
    tail: int = 16
    fps: float | None = None

    def __post_init__(self) -> None:
        hits, window = self.confirm
        checks = (
            (hits >= 1 and window >= 1, f"--confirm {format_confirm(self.confirm)}: M and N must be >= 1"),
            (
                hits <= window,
                f"--confirm {format_confirm(self.confirm)}: M must be <= N (M hits in the last N frames)",
            ),
            (self.max_age >= 0, f"--max-age {self.max_age} must be >= 0 (missed frames a track coasts)"),
            (self.gate > 0, f"--gate {self.gate:g} must be > 0 (pixels)"),
            (
                self.low_score is None or 0.0 < self.low_score < 1.0,
                f"--low-score {self.low_score} must be a probability in (0, 1)",
            ),
            (self.min_speed >= 0, f"--min-speed {self.min_speed:g} must be >= 0 (pixels per frame)"),
            (self.process_noise > 0 and self.measurement_noise > 0, "tracker noises must be > 0"),
            (self.initial_speed_std > 0, "tracker initial_speed_std must be > 0"),
            (self.tail >= 1, f"tracker tail {self.tail} must be >= 1"),
            (self.fps is None or self.fps > 0, f"tracker fps {self.fps} must be > 0"),
        )
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)

    @property
    def confirm_hits(self) -> int:
        return self.confirm[0]

    @property
    def confirm_window(self) -> int:
        return self.confirm[1]
