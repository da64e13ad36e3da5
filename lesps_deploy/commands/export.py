"""`lesps export`: ONNX, TensorRT engines, Triton repositories, with parity against PyTorch."""

from __future__ import annotations

import typer

from lesps_deploy.commands.common import make_console, results_console, write_json
from lesps_deploy.export.config import ExportConfig
from lesps_deploy.options.typer_command import command

__all__ = ["export_cmd"]


def _export(cfg: ExportConfig) -> None:
    """Export weights to ONNX, a TensorRT engine or a Triton repository, and check parity with PyTorch."""
    from lesps_deploy.export.exporter import export_weights

    result = export_weights(cfg)
    console = results_console(cfg.json_out)
    console.print(
        f"[green]wrote[/] {result.path} ({result.format} {result.meta.precision}, {result.seconds:.1f} s)",
        highlight=False,
    )
    for label, report in result.parity:
        for line in report.lines():
            console.print(f"  parity {label}: {line}", highlight=False)
    for line in result.gate.lines() if result.gate else []:
        console.print(f"  detections {line}", highlight=False)
    write_json(cfg.json_out, result.to_dict())
    if not result.ok:
        make_console(stderr=True).print("[red]parity check failed[/]: the artifact differs from PyTorch")
        raise typer.Exit(1)


export_cmd = command("export", ExportConfig, _export)
