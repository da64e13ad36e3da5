"""Options and summaries of the synthetic data (`lesps data synth`), light to import (no cv2, no scipy).

The CLI reads its defaults from these dataclasses; `synth` renders and writes what they describe.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

from lesps_deploy.errors import ConfigError

__all__ = ["MAX_AREA", "VISIBLE_FLOOR", "TargetMix", "SynthConfig", "SynthSummary", "VideoSummary"]

MAX_AREA = 80
VISIBLE_FLOOR = (12.0, 30.0)  # range (8-bit grey levels) of the least peak rise of a visible target


@dataclass(frozen=True)
class TargetMix:
    """What targets a frame gets (see the module docstring; `SynthConfig` documents each field)."""

    hard_fraction: float = 0.1
    edge_fraction: float = 0.3
    point_fraction: float | None = None
    min_area: int = 1
    max_area: int = MAX_AREA
    contrast: tuple[float, float] = VISIBLE_FLOOR


@dataclass(frozen=True)
class SynthConfig:
    """Options of `make_dataset` (the CLI maps onto these one to one).

    Attributes:
        images: Number of frames (at least 2: both split lists are non-empty).
        size: Side of the square frames.
        seed: Seed of everything; frame i depends only on (seed, i).
        train_fraction: Share of frames in the train list.
        video_frames: With > 0, also write video.mp4 and video_truth.npz (`make_video`).
        fps: Frame rate of the video.
        bit16_fraction: Share of frames saved as 16-bit PNG. Defaults to 0: 16-bit frames use the full
            0-65535 range, so mixing them with 8-bit frames under one normalization (as the reference
            training does) would swamp the statistics.
        hard_fraction: Share of dim targets (SCR 2-4).
        edge_fraction: Share of targets next to strong clutter edges.
        point_fraction: Share of Gaussian point-spread targets (the rest are extended ellipses and
            blobs); None keeps the default mix of `synth_backgrounds.TARGET_SHAPES`.
        min_area, max_area: Range of a target's mask area in pixels (draws outside it are redrawn).
        contrast: Range (8-bit grey levels) from which the floor under a visible target's peak rise is
            drawn; dim targets (`hard_fraction`) ignore it.
        overwrite: Allow writing into a folder whose images/, masks/ or masks_centroid/ is not empty and
            that an earlier `lesps data synth` did not make (its synth.json is not there); same-named
            files are replaced, extra files of an earlier, larger run stay but are in no list.
    """

    images: int = 400
    size: int = 256
    seed: int = 0
    train_fraction: float = 0.5
    video_frames: int = 0
    fps: int = 25
    bit16_fraction: float = 0.0
    # The target options default to TargetMix's (one source for both).
    hard_fraction: float = TargetMix.hard_fraction
    edge_fraction: float = TargetMix.edge_fraction
    point_fraction: float | None = TargetMix.point_fraction
    min_area: int = TargetMix.min_area
    max_area: int = TargetMix.max_area
    contrast: tuple[float, float] = TargetMix.contrast
    overwrite: bool = False

    def __post_init__(self) -> None:
        low, high = self.contrast
        checks = {
            "images must be at least 2": self.images >= 2,
            "size must be at least 32": self.size >= 32,
            "train_fraction must be in (0, 1)": 0.0 < self.train_fraction < 1.0,
            "video_frames must be >= 0": self.video_frames >= 0,
            "fps must be positive": self.fps > 0,
            "target areas must satisfy 1 <= min_area <= max_area": 1 <= self.min_area <= self.max_area,
            "contrast must be 0 < low <= high <= 127 grey levels": 0 < low <= high <= 127,
            "fractions must be in [0, 1]": all(
                0.0 <= f <= 1.0
                for f in (
                    self.bit16_fraction,
                    self.hard_fraction,
                    self.edge_fraction,
                    self.point_fraction or 0.0,
                )
            ),
        }
        for message, ok in checks.items():
            if not ok:
                raise ConfigError(f"synthetic data: {message}")

    @property
    def mix(self) -> TargetMix:
        """The target options as the frame renderer takes them."""
        return TargetMix(**{f.name: getattr(self, f.name) for f in fields(TargetMix)})


@dataclass(frozen=True)
class VideoSummary:
    """A written video and its ground truth (`truth`: npz with masks (N,H,W) 0/255 and targets)."""

    path: Path
    truth: Path
    frames: int
    size: int
    fps: int
    targets: int


@dataclass(frozen=True)
class SynthSummary:
    """What `make_dataset` wrote."""

    root: Path
    name: str
    images: int
    train: int
    test: int
    bit16: int
    targets: int
    train_list: Path
    test_list: Path
    manifest: Path
    seconds: float
    video: VideoSummary | None = None
    folders: dict[str, Path] = field(default_factory=dict)
