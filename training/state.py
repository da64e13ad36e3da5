"""Run folder state: config, resumable checkpoints and per-round label files, all written atomically.

<run>/config.json                 the TrainConfig of the run
<run>/checkpoints/last.pth.tar    weights (reference layout) + meta + optimizer/scheduler/scaler,
                                  epoch, seed, schedule state, rng state
<run>/labels/round_NNN.npz        evolved labels of round NNN (float32, keyed by image name)
<run>/<Model>_LESPS_<labels>.pth.tar  the final weights (`<Model>_full.pth.tar` for full masks)
<run>/.lock                       held (flock) by the one process training the run; names its pid
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from lesps_deploy.errors import CheckpointError, ConfigError
from lesps_deploy.io import atomic_path, atomic_write_json
from lesps_deploy.models import Checkpoint, load_checkpoint

from .config import FIXED_LABELS, TrainConfig

__all__ = [
    "ScheduleState",
    "resolve_run",
    "write_run_config",
    "last_checkpoint",
    "final_checkpoint_name",
    "save_round_labels",
    "load_round_labels",
    "read_resume_state",
]

log = logging.getLogger(__name__)

LAST = Path("checkpoints") / "last.pth.tar"


@dataclass
class ScheduleState:
    """What the LESPS schedule needs to continue after a restart."""

    epoch: int = 0
    started: bool = False
    losses: list[float] = field(default_factory=list)
    rounds: list[dict[str, Any]] = field(default_factory=list)
    labels_file: str | None = None
    start_warned: bool = False  # the late-start warning was given

    def to_dict(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "started": self.started,
            "losses": list(self.losses),
            "rounds": list(self.rounds),
            "labels_file": self.labels_file,
            "start_warned": self.start_warned,
        }


def last_checkpoint(run_dir: Path) -> Path:
    return run_dir / LAST


def final_checkpoint_name(cfg: TrainConfig, model_name: str) -> str:
    """Released-style file name, so the label type can be read from it too."""
    if cfg.labels == "full":
        return f"{model_name}_full.pth.tar"
    if cfg.labels in FIXED_LABELS:  # LCM pseudo-mask baselines
        return f"{model_name}_LCM_{cfg.labels}.pth.tar"
    return f"{model_name}_LESPS_{cfg.labels}.pth.tar"


def resolve_run(cfg: TrainConfig) -> tuple[TrainConfig, Path]:
    """The run folder and, when resuming, the run's own config (nothing is written yet).

    Raises:
        ConfigError: resuming a folder without a run, starting over a run that has checkpoints, no dataset.
    """
    if cfg.resume is not None:
        run_dir = cfg.resume
        if not (run_dir / "config.json").is_file() or not last_checkpoint(run_dir).is_file():
            raise ConfigError(
                f"{run_dir}: no resumable run here (needs config.json and {LAST})",
                hint="start a new run with --out, or point --resume at a run folder",
            )
        cfg = cfg.resumed_from(TrainConfig.from_json(run_dir / "config.json"))
    else:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        run_dir = cfg.out or Path("runs") / f"{cfg.model}_{cfg.labels}_{stamp}"
        check_new_run(cfg, run_dir)
    if cfg.data is None:
        raise ConfigError("no dataset given", hint="pass --data DATASET_DIR")
    return cfg, run_dir


@contextmanager
def hold_run(run_dir: Path | None) -> Iterator[None]:
    """Create `run_dir` and hold its lock while the block runs (None: hold nothing, DDP's other ranks).

    Two processes training one folder (a `--resume` started twice, a scheduler's retry, two runs given
    the same `--out`) would overwrite each other's checkpoints and interleave the run log; the second
    one stops here instead, before it writes anything. The kernel drops the lock when its holder
    exits, a kill included, so a stale lock never blocks a resume.

    Raises:
        ConfigError: another live process holds the run.
    """
    if run_dir is None:
        yield
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    if fcntl is None:  # pragma: no cover - not POSIX
        yield
        return
    fd = os.open(run_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise ConfigError(
                f"{run_dir}: another lesps train (pid {holder}) is training this run folder",
                hint="wait for it to finish or stop it; one process trains a run folder at a time",
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor drops the flock


def check_new_run(cfg: TrainConfig, run_dir: Path) -> None:
    """A new run (not a resume) may not start over a folder that already holds a run's checkpoint."""
    if cfg.resume is None and last_checkpoint(run_dir).exists():
        raise ConfigError(
            f"{run_dir}: already holds a run",
            hint=f"continue it with --resume {run_dir}, or pick another --out",
        )


def write_run_config(cfg: TrainConfig, run_dir: Path) -> None:
    """Create the run folder and write its config.json (the options a resume continues with)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(run_dir / "config.json", {**cfg.to_dict(), "resume": None, "out": str(run_dir)})


def save_round_labels(run_dir: Path, index: int, names: list[str], labels: list[np.ndarray]) -> str:
    """Write round `index`'s labels; returns the path relative to the run folder."""
    rel = f"labels/round_{index:03d}.npz"
    with atomic_path(run_dir / rel) as tmp:
        np.savez_compressed(
            tmp, **{name: lab.astype(np.float32) for name, lab in zip(names, labels, strict=True)}
        )
    return rel


def load_round_labels(run_dir: Path, rel: str, names: list[str]) -> list[np.ndarray]:
    path = run_dir / rel
    try:
        with np.load(path) as npz:
            return [npz[name] for name in names]
    except (OSError, KeyError, ValueError) as err:
        raise CheckpointError(f"{path}: evolved labels unreadable or incomplete ({err})") from err


def read_resume_state(run_dir: Path, map_location: str = "cpu") -> Checkpoint:
    """`<run>/checkpoints/last.pth.tar`: the model plus its training entries in `extra`."""
    ckpt = load_checkpoint(last_checkpoint(run_dir), map_location=map_location)
    missing = {"epoch", "optimizer", "scheduler", "train_state"} - set(ckpt.extra)
    if missing:
        raise CheckpointError(
            f"{ckpt.path}: not a resumable training checkpoint (no {', '.join(sorted(missing))})"
        )
    return ckpt


def align_optimizer_state(
    saved: dict[str, Any], saved_names: list[str], names: list[str], path: Path
) -> dict[str, Any]:
    """`saved` (an optimizer state_dict over parameters `saved_names`) re-indexed to `names`' order.

    torch keys optimizer state by parameter position, so a model whose layers were declared in another
    order since the checkpoint was written would get each moment tensor on the wrong parameter (a shape
    error at the first step, or silently wrong moments where shapes agree). Matching by name keeps a
    resumed run exactly where it stopped.
    """
    if saved_names == names:
        return saved
    groups = saved["param_groups"]
    if sorted(saved_names) != sorted(names) or len(groups) != 1:
        absent = sorted(set(names) - set(saved_names)) or sorted(set(saved_names) - set(names))
        example = f"; e.g. {absent[0]!r} is in only one of them" if absent else ""
        raise CheckpointError(
            f"{path}: its optimizer state is for other parameters than this model's "
            f"({len(saved_names)} saved, {len(names)} now{example}); start a new run or use the code that wrote it"
        )
    old_index = {name: i for i, name in enumerate(saved_names)}
    order = [old_index[name] for name in names]
    state = {new: saved["state"][old] for new, old in enumerate(order) if old in saved["state"]}
    return {"state": state, "param_groups": [{**groups[0], "params": list(range(len(names)))}]}


def saved_parameter_names(ckpt: Checkpoint, names: list[str]) -> list[str]:
    """Parameter names in the order the checkpoint's optimizer state lists them.

    Recorded as `param_names` by this version; for older checkpoints, the file's weight keys kept to
    parameters (state_dict order is registration order, the order the optimizer was built in).
    """
    recorded = ckpt.extra.get("param_names")
    if recorded is not None:
        return list(recorded)
    current = set(names)
    return [name for name in ckpt.weight_names if name in current]
