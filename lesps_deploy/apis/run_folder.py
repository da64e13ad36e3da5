"""A predict run's output folder: claiming it, a live `summary.json`, and finding runs that were killed.

`summary.json` carries the run's `state`: "running" while it runs (rewritten atomically every few
seconds with the counts so far, the process id, host and time of the update), then "complete",
"interrupted" (Ctrl-C) or "failed". A summary still saying "running" whose process is gone belongs
to a run that was killed (kill -9, a power cut): the next run in that folder, or the next one
started beside it under the same runs folder, names it in one log line, removes the temporary
files it left (`lesps_deploy.io.find_temp_files`) and marks it "killed". Its detections.jsonl and
video need no repair: they are valid up to the kill (see `lesps_deploy.streams.sinks`).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lesps_deploy.errors import ConfigError
from lesps_deploy.io import atomic_write_json, find_temp_files

__all__ = [
    "SUMMARY_NAME",
    "RUN_STATES",
    "LiveSummary",
    "next_run_dir",
    "claim_run_dir",
    "process_fields",
]

log = logging.getLogger(__name__)

SUMMARY_NAME = "summary.json"
RUN_STATES = ("running", "complete", "interrupted", "failed", "killed")
# A "running" summary not rewritten for this long is a dead run even when its pid cannot be
# checked (another host on a shared disk). Live runs rewrite it every `snapshot_interval_s` (2 s).
STALE_AFTER_S = 120.0


def process_fields() -> dict[str, Any]:
    """Who writes a summary, and when: pid, host and the time (epoch seconds)."""
    return {"pid": os.getpid(), "host": socket.gethostname(), "updated": round(time.time(), 3)}


def _alive(summary: dict[str, Any]) -> bool:
    """Whether the process that wrote a "running" summary may still be running."""
    if time.time() - float(summary.get("updated") or 0.0) > STALE_AFTER_S:
        return False
    pid = summary.get("pid")
    if summary.get("host") != socket.gethostname() or not isinstance(pid, int):
        return True  # another machine's process, recently updated: assume it lives
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def _read_summary(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / SUMMARY_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _settle_killed(folder: Path) -> str | None:
    """Mark a killed run in `folder` as such and remove its temporary files; one line naming it.

    Raises:
        ConfigError: a live run writes in `folder`.
    """
    summary = _read_summary(folder)
    if summary is None or summary.get("state") != "running":
        return None
    if summary.get("pid") == os.getpid():
        return None
    if _alive(summary):
        raise ConfigError(
            f"{folder}: another lesps predict (pid {summary.get('pid')} on {summary.get('host')}) writes here",
            hint="choose another --out, or stop that run first",
        )
    temps = find_temp_files(folder)
    for path in temps:
        path.unlink(missing_ok=True)
    atomic_write_json(folder / SUMMARY_NAME, {**summary, "state": "killed"})
    updated = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(summary.get("updated") or 0)))
    removed = f"; removed {len(temps)} temporary file(s): {', '.join(p.name for p in temps)}" if temps else ""
    line = (
        f"{folder}: the run there was killed after {summary.get('frames', 0)} frames (last update {updated}); "
        f"its outputs are valid up to there{removed}"
    )
    log.warning("%s", line)
    return line


def claim_run_dir(out: str | Path | None, root: str | Path = "runs", prefix: str = "predict") -> Path:
    """The output folder of a new run: `out` (created if needed), else `root/prefix-N` (next free N).

    A killed run found in `out`, or beside the new folder under `root`, is settled first (named,
    its temporary files removed, its summary marked "killed").

    Raises:
        ConfigError: a live run writes in `out`.
    """
    if out is not None:
        folder = Path(out)
        _settle_killed(folder)
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    base = Path(root)
    if base.is_dir():
        for sibling in sorted(base.glob(f"{prefix}-*")):
            try:
                _settle_killed(sibling)
            except ConfigError:
                continue  # a live run beside ours is fine: we take a folder of our own
    return next_run_dir(base, prefix)


def next_run_dir(root: str | Path = "runs", prefix: str = "predict") -> Path:
    """Create and return `root/prefix-N` for the smallest free N >= 1."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    n = 1
    while True:
        path = root / f"{prefix}-{n}"
        try:
            path.mkdir()  # atomic claim: two runs started together get different folders
            return path
        except FileExistsError:
            n += 1


class LiveSummary:
    """`summary.json` rewritten atomically while a run goes on, then once more with its final state.

    Args:
        path: the summary file.
        build: (stats, state, error) -> the summary dict (stats: the pipeline's live `PipelineStats`;
            error: the one-line reason of a failed run, else None).
    """

    def __init__(self, path: Path, build: Callable[[Any, str, str | None], dict[str, Any]]) -> None:
        self.path, self.build = path, build
        self.last_stats: Any = None

    def write(self, stats: Any, state: str = "running", error: str | None = None) -> dict[str, Any]:
        """Write the summary of `stats` in `state` (with `error` when it failed); returns what was written."""
        self.last_stats = stats
        data = self.build(stats, state, error)
        atomic_write_json(self.path, data)
        return data

    def fail(self, err: BaseException) -> None:
        """Record a failed run: state "failed" and the error in one line. Never raises: the caller is
        already handling `err`, and a summary that cannot be written (a full disk) must not hide it."""
        from lesps_deploy.error_boundary import describe

        try:
            self.write(self.last_stats, "failed", describe(err).message)
        except Exception as second:  # e.g. the disk that failed the run is still full
            log.error("%s: could not record the failure (%s)", self.path, describe(second).message)
