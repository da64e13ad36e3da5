"""`lesps predict`: detection on images, videos, cameras and streams, optionally tracked (`--track`)."""

from __future__ import annotations

import signal

import typer

from lesps_deploy.apis.prediction import PredictConfig
from lesps_deploy.commands.common import json_to_stdout, make_console, results_console, write_json
from lesps_deploy.options.typer_command import command

__all__ = ["predict"]


def _status_printer(live):
    """Status callback for `predict`: one live line (frames, FPS, latency) on stderr."""

    def show(st) -> None:
        live.update(
            f"[cyan]{st.frames}[/] frames  [cyan]{st.fps:.1f}[/] FPS  [cyan]{st.latency_ms:.1f}[/] ms/frame  "
            f"{st.dropped} dropped  {st.skipped} skipped  {st.elapsed_s:.0f} s"
        )

    return show


def _predict(cfg: PredictConfig) -> None:
    """Detect small targets in images, videos, cameras and streams; write masks, overlays, video, JSONL."""
    from rich.live import Live

    from lesps_deploy.apis.prediction import run_predict, summary_table

    with Live("starting...", console=make_console(stderr=True), transient=True, refresh_per_second=4) as live:
        summary = run_predict(cfg, status=_status_printer(live))
    results_console(cfg.json_out).print(summary_table(summary))
    if json_to_stdout(cfg.json_out):
        write_json(cfg.json_out, summary.to_dict())
    # Skipped frames were each said once in the log as they happened (and are in summary.json).
    if summary.interrupted:  # the shell's code for a run ended by a signal: 128 + its number (Ctrl-C: 130)
        raise typer.Exit(128 + signal.Signals[summary.stopped_by or "SIGINT"].value)


predict = command("predict", PredictConfig, _predict)
