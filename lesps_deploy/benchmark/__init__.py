"""`lesps benchmark`: latency, throughput, memory and accuracy across backends, precisions, batches, sizes.

Example:
    >>> from lesps_deploy.benchmark import BenchmarkConfig, run_benchmark
    >>> report = run_benchmark(BenchmarkConfig(Path("ACM.pth.tar"), norm="SIRST3", batches=(1, 4)))
    >>> [(r.backend, r.batch, r.latency_ms["p50"]) for r in report.ok_rows]
"""

from lesps_deploy.benchmark.config import PRECISIONS, BenchmarkConfig, parse_list
from lesps_deploy.benchmark.report import (
    benchmark_tables,
    compare_reports,
    compare_table,
    markdown_report,
    write_plot,
)
from lesps_deploy.benchmark.results import BenchmarkReport, Row, load_report
from lesps_deploy.benchmark.runner import run_benchmark
from lesps_deploy.benchmark.timing import latency_stats

__all__ = [
    "PRECISIONS",
    "BenchmarkConfig",
    "BenchmarkReport",
    "Row",
    "benchmark_tables",
    "compare_reports",
    "compare_table",
    "latency_stats",
    "load_report",
    "markdown_report",
    "parse_list",
    "run_benchmark",
    "write_plot",
]
