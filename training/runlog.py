"""Run logs: `metrics.jsonl` (every event), `metrics.csv` (one row per epoch), TensorBoard if installed."""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any

from lesps_deploy.io import json_text

__all__ = ["RunLog", "CSV_COLUMNS"]

log = logging.getLogger(__name__)

CSV_COLUMNS = ("epoch", "loss", "lr", "seconds", "rounds", "label_iou", "IoU", "nIoU", "Pd", "Fa")


class RunLog:
    """Appends events of one run; inactive (writes nothing) on non-main processes.

    Args:
        run_dir: run folder.
        active: False on DDP ranks other than 0.
        resume_epoch: when resuming, drop logged events of epochs after this one (they were lost
            with the process and will be run again).
    """

    def __init__(self, run_dir: Path, active: bool = True, resume_epoch: int | None = None) -> None:
        self.jsonl = run_dir / "metrics.jsonl"
        self.csv = run_dir / "metrics.csv"
        self.active = active
        self._tb = None
        if not active:
            return
        if resume_epoch is not None:
            self._truncate(resume_epoch)
        if not self.csv.exists():
            with open(self.csv, "w", newline="", encoding="utf-8") as f:
                csv.writer(f).writerow(CSV_COLUMNS)
        self._tb = _tensorboard(run_dir / "tensorboard")

    def _truncate(self, epoch: int) -> None:
        if self.jsonl.exists():
            keep = [
                line
                for line in self.jsonl.read_text(encoding="utf-8").splitlines()
                if line.strip() and json.loads(line).get("epoch", 0) <= epoch
            ]
            self.jsonl.write_text("".join(line + "\n" for line in keep), encoding="utf-8")
        if self.csv.exists():
            with open(self.csv, newline="", encoding="utf-8") as f:
                rows = list(csv.DictReader(f))
            with open(self.csv, "w", newline="", encoding="utf-8") as f:
                writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
                writer.writeheader()
                writer.writerows(r for r in rows if int(r["epoch"]) <= epoch)

    def event(self, kind: str, **fields: Any) -> None:
        """One JSON line `{"event": kind, ...}`; numbers also go to TensorBoard."""
        if not self.active:
            return
        with open(self.jsonl, "a", encoding="utf-8") as f:
            f.write(json_text({"event": kind, **fields}) + "\n")
        if self._tb is not None and "epoch" in fields:
            for key, value in fields.items():
                if isinstance(value, int | float) and not isinstance(value, bool) and key != "epoch":
                    self._tb.add_scalar(f"{kind}/{key}", value, fields["epoch"])
            self._tb.flush()

    def epoch_row(self, row: dict[str, Any]) -> None:
        """One CSV row per epoch (missing columns left empty)."""
        if not self.active:
            return
        with open(self.csv, "a", newline="", encoding="utf-8") as f:
            csv.writer(f).writerow(["" if row.get(c) is None else row[c] for c in CSV_COLUMNS])

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
            self._tb = None


def _tensorboard(path: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional: logs stay in JSONL/CSV
        log.debug("tensorboard not installed; no event files")
        return None
    return SummaryWriter(str(path))
