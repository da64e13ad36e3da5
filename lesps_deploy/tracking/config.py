"""`TrackerConfig`: every option of the tracker, validated on construction (one line per bad value).

This module imports nothing heavy, so the CLI can read its defaults at import time.
"""

from __future__ import annotations

from dataclasses import dataclass

from lesps_deploy.options import option, validate

__all__ = ["TrackerConfig", "parse_confirm", "format_confirm"]


def parse_confirm(text: str) -> tuple[int, int]:
    """`"M/N"` (M hits in the last N frames) -> (M, N).

    Raises:
        ValueError: not two integers separated by a slash.
    """
    parts = str(text).replace(" ", "").split("/")
    try:
        hits, window = (int(p) for p in parts)
    except ValueError:
        raise ValueError("expected M/N, e.g. 3/5 (M hits in the last N frames)") from None
    return hits, window


def format_confirm(confirm: tuple[int, int]) -> str:
    """(M, N) -> `"M/N"`, the form `--confirm` takes."""
    return f"{confirm[0]}/{confirm[1]}"


def _check_confirm(confirm: tuple[int, int]) -> None:
    if len(confirm) != 2:
        raise ValueError("expected M/N (M hits in the last N frames)")
    if confirm[0] > confirm[1]:
        raise ValueError("M must be <= N (M hits in the last N frames)")


@dataclass(frozen=True)
class TrackerConfig:
    """How the tracker associates detections and manages track life cycles.

    Distances are in pixels, speeds in pixels per frame, ages in frames (frame-index units: a source
    that skips frames leaves gaps that count as missed frames). Each field declares its flag, help
    and domain (`lesps_deploy.options`); `low_score` is the ByteTrack idea (a dim target flickers
    below the threshold before it is lost); `fps` lets timestamps measure gaps for live sources whose
    driver drops frames without a gap in the frame index.
    """

    confirm: tuple[int, int] = option(
        (3, 5), "Confirm a track after M hits in its last N frames (M/N).", ge=1,
        parse=parse_confirm, text=format_confirm, check=_check_confirm, invalid=(3, 2),
    )  # fmt: skip
    max_age: int = option(5, "Missed frames a confirmed track coasts before it is lost.", ge=0)
    gate: float = option(10.0, "Largest distance (px) from a track's prediction to its detection.", gt=0)
    low_score: float | None = option(
        None, "Second pass: confirmed tracks may take components of prob > S below the threshold.", gt=0, lt=1
    )
    min_speed: float = option(
        0.0, "Do not report confirmed tracks slower than V px/frame (static clutter).", ge=0
    )
    gmc: bool = option(False, "Compensate camera motion (phase correlation).")
    confirmed_only: bool = option(False, "Report only confirmed tracks (the false-alarm filter).")
    process_noise: float = option(
        0.5,
        "White-acceleration spectral density of the constant-velocity model (px^2/frame^3).",
        gt=0,
        cli=False,
    )
    measurement_noise: float = option(1.0, "Standard deviation of a detected centroid (px).", gt=0, cli=False)
    initial_speed_std: float = option(
        4.0, "Prior standard deviation of a new track's speed (px/frame).", gt=0, cli=False
    )
    tail: int = option(16, "Positions kept per track for drawing its tail.", ge=1, cli=False)
    fps: float | None = option(
        None, "Frame rate: timestamps also measure gaps (frames = round(seconds * fps)).", gt=0, cli=False
    )

    def __post_init__(self) -> None:
        validate(self)

    @property
    def confirm_hits(self) -> int:
        return self.confirm[0]

    @property
    def confirm_window(self) -> int:
        return self.confirm[1]
