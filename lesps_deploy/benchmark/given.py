"""Benchmarking an artifact as it is (.onnx, .engine): no export, no PyTorch, the artifact is its own reference.

A checkpoint is exported to every backend and compared with PyTorch eager FP32. An artifact is measured
on the one backend that loads it, at the precision its metadata records, so the options that only
choose what to export from a checkpoint are refused in one line naming the option. Nothing here
imports torch: the base install (no `[train]` extra) benchmarks an ONNX file.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from lesps_deploy.errors import BackendError, ConfigError
from lesps_deploy.formats import CHECKPOINT, SERVED, format_for_path
from lesps_deploy.metadata import ModelMeta
from lesps_deploy.urls import is_server_url

from .config import BenchmarkConfig
from .matrix import Artifact, Combo

__all__ = ["is_given_artifact", "refuse_checkpoint_options", "open_given", "given_plan"]


def _default(name: str) -> Any:
    return next(f.default for f in dataclasses.fields(BenchmarkConfig) if f.name == name)


def is_given_artifact(weights: str | Path) -> bool:
    """True for a file a backend loads as it is (.onnx, .engine), False for a checkpoint or anything else."""
    if is_server_url(weights):
        return False
    try:
        row = format_for_path(weights)
    except BackendError:  # unknown suffix: the checkpoint path says what benchmark takes
        return False
    return row.name not in (CHECKPOINT, SERVED)


def refuse_checkpoint_options(cfg: BenchmarkConfig) -> None:
    """One-line ConfigError for an option that only means something with a checkpoint (before loading).

    An option left at its default is not refused: `--backends` and `--precision` then mean the
    artifact's own backend and precision.
    """
    name = Path(cfg.weights).name
    own = format_for_path(cfg.weights).backend
    if cfg.backends not in (_default("backends"), (own,)):
        raise ConfigError(
            f"--backends {','.join(cfg.backends)}: {name} is measured on its own backend ({own}); "
            "other backends need a PyTorch checkpoint to export from"
        )
    if len(cfg.precisions) > 1:
        raise ConfigError(
            f"--precision {','.join(cfg.precisions)}: {name} is measured at its own precision; "
            "a list of precisions needs a PyTorch checkpoint to export from"
        )
    if cfg.cache_dir is not None:
        raise ConfigError(
            f"--cache-dir: holds artifacts exported from a PyTorch checkpoint; {name} is not exported"
        )
    if cfg.trust_pickle:
        raise ConfigError(f"--trust-pickle: applies to PyTorch checkpoints only, not to {name}")


def _refuse_precision(cfg: BenchmarkConfig, meta: ModelMeta) -> None:
    if cfg.precisions not in (_default("precisions"), (meta.precision,)):
        raise ConfigError(
            f"--precision {','.join(cfg.precisions)}: {Path(cfg.weights).name} is {meta.precision} (its "
            "metadata); another precision needs a PyTorch checkpoint to export from"
        )


def open_given(cfg: BenchmarkConfig) -> tuple[Artifact, ModelMeta]:
    """Check the options, load the artifact once for its metadata; its `Artifact` and metadata.

    Raises:
        ConfigError: a checkpoint-only option, or a precision other than the artifact's.
        BackendError, MissingDependencyError: the artifact cannot be loaded here.
    """
    from lesps_deploy.runtime.base import load_runtime

    refuse_checkpoint_options(cfg)
    with load_runtime(cfg.weights, device=cfg.device, model=cfg.model, threads=cfg.threads) as backend:
        meta = backend.meta
    _refuse_precision(cfg, meta)
    row = format_for_path(cfg.weights)
    return Artifact(row.backend, meta.precision, row, given=True), meta


def given_plan(cfg: BenchmarkConfig, artifact: Artifact) -> list[Combo]:
    """The given artifact at every batch and size: the combinations, and the reference, of the run."""
    return [Combo(artifact, batch, size) for batch in cfg.batches for size in cfg.imgsz]
