"""`lesps benchmark`: latency, throughput, memory and accuracy per artifact."""

from __future__ import annotations

from dataclasses import replace

import typer

from lesps_deploy.benchmark.config import BenchmarkConfig
from lesps_deploy.commands.common import json_to_stdout, results_console, write_json
from lesps_deploy.options.typer_command import command

__all__ = ["benchmark"]


def _benchmark(cfg: BenchmarkConfig) -> None:
    """Latency, throughput, memory and accuracy of every backend x precision x batch x size that applies here."""
    from lesps_deploy.benchmark import benchmark_tables, compare_table, run_benchmark

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
