"""`lesps benchmark`: latency, throughput, memory and accuracy across backends, precisions, batches, sizes.

Example:
    >>> from lesps_deploy.benchmark import BenchmarkConfig, run_benchmark
    >>> report = run_benchmark(BenchmarkConfig(Path("ACM.pth.tar"), norm="SIRST3", batches=(1, 4)))
    >>> [(r.backend, r.batch, r.latency_ms["p50"]) for r in report.ok_rows]
"""

from lesps_deploy._lazy import lazy_face

_LAZY = """
    .config:  PRECISIONS BenchmarkConfig parse_list
    .report:  benchmark_tables compare_reports compare_table markdown_report write_plot
    .results: BenchmarkReport Row load_report
    .runner:  run_benchmark
    lesps_deploy.timing: latency_stats
"""

__getattr__, __dir__, __all__ = lazy_face(__name__, _LAZY)
