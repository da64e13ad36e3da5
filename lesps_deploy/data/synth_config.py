"""Options and summaries of the synthetic data (`lesps data synth`), light to import (no cv2, no scipy).

The CLI reads its defaults from these dataclasses; `synth` renders and writes what they describe.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

from lesps_deploy.options import Role, option, refuse, say, threads_option, validate

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


def _check_range(pair: tuple[float, float]) -> None:
    if len(pair) != 2 or pair[0] > pair[1]:
        raise ValueError("expected LOW HIGH with LOW <= HIGH")


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

    images: int = option(400, "Number of frames.", ge=2)
    size: int = option(256, "Side of the square frames in pixels.", ge=32)
    seed: int = option(0, "Random seed: the same seed writes the same dataset.")
    train_fraction: float = option(0.5, "Share of frames in the train list.", gt=0, lt=1)
    video_frames: int = option(
        0, "Also write video.mp4 with N frames of moving targets.", flag="--video", ge=0
    )
    fps: int = option(25, "Frame rate of the video.", gt=0, cli=False)
    bit16_fraction: float = option(
        0.0, "Share of frames saved as 16-bit PNG (full 0-65535 range).", flag="--bit16", ge=0, le=1
    )
    # The target options default to TargetMix's (one source for both).
    hard_fraction: float = option(
        TargetMix.hard_fraction, "Share of dim targets (signal-to-clutter 2-4).", ge=0, le=1
    )
    edge_fraction: float = option(
        TargetMix.edge_fraction, "Share of targets next to strong clutter edges.", ge=0, le=1
    )
    point_fraction: float | None = option(
        TargetMix.point_fraction,
        "Share of Gaussian point targets (the rest are extended); default: half.",
        ge=0,
        le=1,
    )
    min_area: int = option(TargetMix.min_area, "Smallest target mask area in pixels.", ge=1)
    max_area: int = option(TargetMix.max_area, "Largest target mask area in pixels.", ge=1)
    contrast: tuple[float, float] = option(
        TargetMix.contrast, "Range (8-bit grey levels) of the least peak rise of a visible target.",
        gt=0, le=127, check=_check_range, invalid=(30.0, 12.0),
    )  # fmt: skip
    overwrite: bool = option(
        False, "Write into a folder that holds images lesps data synth did not make there."
    )
    out_dir: Path | None = option(
        None,
        "Dataset folder to write (its name becomes the split-list name).",
        argument=True,
        role=Role.OUTPUT_DIR,
    )
    threads: int | None = threads_option()

    def __post_init__(self) -> None:
        validate(self)
        if self.min_area > self.max_area:
            raise refuse("min_area", self.min_area, f"must be <= {say('max_area', self.max_area)}")

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
