"""`lesps train`: LESPS (or full-mask) training, resumable, under torchrun for DDP."""

from __future__ import annotations

from lesps_deploy.commands.common import make_console
from lesps_deploy.options.typer_command import command
from lesps_deploy.training.config import TrainConfig

__all__ = ["train"]


def _train(cfg: TrainConfig) -> None:
    """Train with LESPS point supervision (or full masks); resumable, runs under torchrun for DDP."""
    from lesps_deploy.apis.evaluation import results_table
    from lesps_deploy.errors import ConfigError
    from lesps_deploy.training.trainer import train as run_training

    if cfg.data is None and cfg.resume is None:
        raise ConfigError("--data is required", hint="or continue a run with --resume RUN_DIR")
    result = run_training(cfg, progress=True)
    for r in result.rounds:
        iou = "not available (no full masks)" if r.label_iou is None else f"{100 * r.label_iou:.2f}"
        make_console(stderr=True).print(
            f"evolution round {r.index} (epoch {r.epoch}): label IoU {iou}", highlight=False
        )
    if result.metrics:
        make_console().print(
            results_table([{**result.metrics, "weights": str(result.checkpoint)}], title="Test split")
        )
    make_console().print(f"checkpoint: {result.checkpoint}")


train = command("train", TrainConfig, _train)
