"""`lesps doctor`: what this install found, and one line per problem (exit 1 when there is one)."""

from __future__ import annotations

import typer

from lesps_deploy.apis.doctor import DoctorConfig
from lesps_deploy.commands.common import make_console, results_console, write_json
from lesps_deploy.options.typer_command import command

__all__ = ["doctor"]


def _doctor(cfg: DoctorConfig) -> None:
    """Print Python, ONNX Runtime, TensorRT, CUDA, torch and Jetson facts, and one line per problem."""
    from rich.markup import escape

    from lesps_deploy.apis.doctor import doctor as run_doctor

    report = run_doctor()
    console = results_console(cfg.json_out)
    for line in report.lines():
        style = "[yellow]" if line.startswith("problem:") else ""
        console.print(f"{style}{escape(line)}", highlight=False, soft_wrap=True)
    write_json(cfg.json_out, report.to_json())
    if report.problems:
        make_console(stderr=True).print(f"{len(report.problems)} problem(s) found", highlight=False)
        raise typer.Exit(1)


doctor = command("doctor", DoctorConfig, _doctor)
