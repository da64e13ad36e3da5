"""`lesps benchmark`: latency, throughput, memory and accuracy per artifact (or of a served model)."""

from __future__ import annotations

from dataclasses import replace

import typer

from lesps_deploy.benchmark.config import BenchmarkConfig
from lesps_deploy.commands.common import json_to_stdout, results_console, write_json
from lesps_deploy.options.typer_command import command

__all__ = ["benchmark"]


def _serving(cfg: BenchmarkConfig) -> None:
    from lesps_deploy.benchmark.serving import serving_command

    text, data = serving_command(
        cfg.weights, cfg.clients, cfg.frame_size, cfg.max_seconds, cfg.protocol, cfg.norm
    )
    results_console(cfg.json_out).print(text, highlight=False, soft_wrap=True)
    write_json(cfg.json_out, data)


def _benchmark(cfg: BenchmarkConfig) -> None:
    """Latency, throughput, memory and accuracy of every backend x precision x batch x size that applies here."""
    from lesps_deploy.benchmark import benchmark_tables, compare_table, run_benchmark

    if cfg.clients:
        return _serving(cfg)
    stdout = json_to_stdout(cfg.json_out)
    report = run_benchmark(replace(cfg, json_out=None) if stdout else cfg, progress=True)
    if stdout:
        write_json(cfg.json_out, report.to_dict())
    console = results_console(cfg.json_out)
    for table in benchmark_tables(report):
        console.print(table)
    if report.comparison:
        console.print(compare_table(report.comparison))
    if not report.ok_rows:
        raise typer.Exit(1)


benchmark = command("benchmark", BenchmarkConfig, _benchmark)
