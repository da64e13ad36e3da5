"""`lesps data synth`: a synthetic infrared small-target dataset."""

from __future__ import annotations

from lesps_deploy.commands.common import make_console
from lesps_deploy.data.synth_config import SynthConfig
from lesps_deploy.options.typer_command import command

__all__ = ["data_synth"]


def _synth(cfg: SynthConfig) -> None:
    """Write a synthetic infrared small-target dataset (images, masks, centroid labels, split lists)."""
    from lesps_deploy.data.synth import make_dataset
    from lesps_deploy.progress import progress_task

    with progress_task(True, "synthesizing", cfg.images) as advance:
        summary = make_dataset(cfg.out_dir, cfg, progress=lambda done, total: advance(1))
    console = make_console()
    console.print(
        f"wrote {summary.images} images ({summary.train} train, {summary.test} test, {summary.bit16} 16-bit) "
        f"with {summary.targets} targets to {summary.root} in {summary.seconds:.1f} s"
    )
    if summary.video is not None:
        console.print(
            f"video: {summary.video.path} ({summary.video.frames} frames), truth: {summary.video.truth}"
        )


data_synth = command("synth", SynthConfig, _synth)
