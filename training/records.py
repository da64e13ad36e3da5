"""What a training run reports: per-epoch records, evolution rounds, evaluations and the final result.

The trainer emits `EpochRecord`, `EvolutionRound` and `EvalRecord` to a caller's callback as they
happen and returns a `TrainResult`; `TrainingError` is raised when a run has to stop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lesps_deploy.errors import LespsError
from lesps_deploy.metrics.report import EvalReport

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
    """Outcome of `train()`: the final checkpoint, per-epoch losses, rounds and the final test-split
    `EvalReport` (None without a test split)."""

    run_dir: Path
    checkpoint: Path
    epochs: int
    losses: tuple[float, ...]
    rounds: tuple[EvolutionRound, ...]
    metrics: EvalReport | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_dir": str(self.run_dir), "checkpoint": str(self.checkpoint), "epochs": self.epochs,
            "losses": list(self.losses),
            "rounds": [{**asdict(r), "labels_file": str(r.labels_file)} for r in self.rounds],
            "metrics": None if self.metrics is None else self.metrics.to_dict(),
        }  # fmt: skip


Callback = Callable[[EpochRecord | EvolutionRound | EvalRecord], None]
