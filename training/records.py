"""What a training run reports: per-epoch records, evolution rounds, evaluations and the final result.

The trainer emits `EpochRecord`, `EvolutionRound` and `EvalRecord` to a caller's callback as they
happen and returns a `TrainResult`; `TrainingError` is raised when a run has to stop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lesps_deploy.errors import LespsError

__all__ = ["EpochRecord", "EvolutionRound", "EvalRecord", "TrainResult", "TrainingError", "Callback"]


class TrainingError(LespsError):
    """Training had to stop (e.g. the loss became NaN); the last good checkpoint is kept."""


@dataclass(frozen=True)
class EpochRecord:
    epoch: int
    loss: float
    lr: float
    seconds: float


@dataclass(frozen=True)
class EvolutionRound:
    """One label evolution round; `label_iou` is against full masks (None without masks/)."""

    index: int
    epoch: int
    label_iou: float | None
    seconds: float
    labels_file: Path


@dataclass(frozen=True)
class EvalRecord:
    epoch: int
    summary: dict[str, Any]


@dataclass(frozen=True)
class TrainResult:
    """Outcome of `train()`: the final checkpoint, per-epoch losses, rounds and final test metrics."""

    run_dir: Path
    checkpoint: Path
    epochs: int
    losses: tuple[float, ...]
    rounds: tuple[EvolutionRound, ...]
    metrics: dict[str, Any] | None


Callback = Callable[[EpochRecord | EvolutionRound | EvalRecord], None]
