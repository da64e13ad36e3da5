"""`lesps data synth`: a synthetic infrared small-target dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lesps_deploy.commands.common import (
    SYNTH,
    ThreadsOpt,
    make_console,
)
from lesps_deploy.data.synth_config import SynthConfig

__all__ = ["data_synth"]


def data_synth(
    out_dir: Annotated[
        Path, typer.Argument(help="Dataset folder to write (its name becomes the split-list name).")
    ],
    images: Annotated[int, typer.Option(help="Number of frames.")] = SYNTH.images,
    size: Annotated[int, typer.Option(help="Side of the square frames in pixels.")] = SYNTH.size,
    seed: Annotated[
        int, typer.Option(help="Random seed: the same seed writes the same dataset.")
    ] = SYNTH.seed,
    video: Annotated[
        int, typer.Option("--video", help="Also write video.mp4 with N frames of moving targets.")
    ] = SYNTH.video_frames,
    train_fraction: Annotated[
        float, typer.Option(help="Share of frames in the train list.")
    ] = SYNTH.train_fraction,
    bit16: Annotated[
        float, typer.Option("--bit16", help="Share of frames saved as 16-bit PNG (full 0-65535 range).")
    ] = SYNTH.bit16_fraction,
    hard_fraction: Annotated[
        float, typer.Option(help="Share of dim targets (signal-to-clutter 2-4).")
    ] = SYNTH.hard_fraction,
    edge_fraction: Annotated[
        float, typer.Option(help="Share of targets next to strong clutter edges.")
    ] = SYNTH.edge_fraction,
    point_fraction: Annotated[
        float | None,
        typer.Option(help="Share of Gaussian point targets (the rest are extended); default: half."),
    ] = SYNTH.point_fraction,
    min_area: Annotated[int, typer.Option(help="Smallest target mask area in pixels.")] = SYNTH.min_area,
    max_area: Annotated[int, typer.Option(help="Largest target mask area in pixels.")] = SYNTH.max_area,
    contrast: Annotated[
        tuple[float, float],
        typer.Option(help="Range (8-bit grey levels) of the least peak rise of a visible target."),
    ] = SYNTH.contrast,
    overwrite: Annotated[
        bool,
        typer.Option(help="Write into a folder that holds images lesps data synth did not make there."),
    ] = SYNTH.overwrite,
    threads: ThreadsOpt = None,
) -> None:
    """Write a synthetic infrared small-target dataset (images, masks, centroid labels, split lists)."""
    from lesps_deploy.data.synth import make_dataset
    from lesps_deploy.progress import progress_task
    from lesps_deploy.threads import use_threads

    use_threads(threads)

    cfg = SynthConfig(
        images=images, size=size, seed=seed, train_fraction=train_fraction, video_frames=video,
        bit16_fraction=bit16, hard_fraction=hard_fraction, edge_fraction=edge_fraction,
        point_fraction=point_fraction, min_area=min_area, max_area=max_area, contrast=contrast,
        overwrite=overwrite,
    )  # fmt: skip
    with progress_task(True, "synthesizing", images) as advance:
        summary = make_dataset(out_dir, cfg, progress=lambda done, total: advance(1))
    console = make_console()
    console.print(
        f"wrote {summary.images} images ({summary.train} train, {summary.test} test, {summary.bit16} 16-bit) "
        f"with {summary.targets} targets to {summary.root} in {summary.seconds:.1f} s"
    )
    if summary.video is not None:
        console.print(
            f"video: {summary.video.path} ({summary.video.frames} frames), truth: {summary.video.truth}"
        )
