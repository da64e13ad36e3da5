"""`lesps evaluate`: IoU, nIoU, Pd, Fa of any weights file on a dataset split."""

from __future__ import annotations

from dataclasses import replace

import typer

from lesps_deploy.apis.evaluation import EvalConfig
from lesps_deploy.commands.common import json_to_stdout, results_console, write_json
from lesps_deploy.options.typer_command import command

__all__ = ["evaluate"]


def _evaluate(cfg: EvalConfig) -> None:
    """Evaluate weights on a dataset split: IoU, nIoU, Pd, Fa with the reference semantics."""
    from lesps_deploy.apis.evaluation import evaluate_weights, results_table

    stdout = json_to_stdout(cfg.json_out)
    report = evaluate_weights(replace(cfg, json_out=None) if stdout else cfg, progress=True)
    results_console(cfg.json_out).print(results_table([report.summary]))
    if stdout:
        write_json(cfg.json_out, report.summary)
    # Unreadable images were each said once in the log as they were skipped.
    if report.bad and not cfg.skip_bad:
        raise typer.Exit(1)


evaluate = command("evaluate", EvalConfig, _evaluate)
