"""`lesps benchmark`: latency, throughput, memory and accuracy per artifact."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lesps_deploy.benchmark.config import BenchmarkConfig
from lesps_deploy.commands.common import (
    BENCH,
    DeviceOpt,
    FaRuleOpt,
    JsonOpt,
    ModelOpt,
    NormOpt,
    ThreadsOpt,
    ThresholdOpt,
    TrustPickleOpt,
    csv_default,
    json_to_stdout,
    results_console,
    write_json,
)

__all__ = ["benchmark"]


def benchmark(
    weights: Annotated[
        Path,
        typer.Option(
            "--weights",
            "-w",
            help="PyTorch checkpoint; other artifacts are exported from it. With --clients: also an .onnx, a "
            "Triton repository or a served model's http:// / grpc:// URL.",
        ),
    ],
    backends: Annotated[str, typer.Option(help="Comma list: torch, onnxruntime, tensorrt.")] = csv_default(
        BENCH.backends
    ),
    precision: Annotated[
        str,
        typer.Option(help="Comma list: fp32, fp16, int8 (unsupported combinations are listed as skipped)."),
    ] = csv_default(BENCH.precisions),
    batch: Annotated[str, typer.Option(help="Comma list of batch sizes.")] = csv_default(BENCH.batches),
    imgsz: Annotated[
        str, typer.Option(help="Comma list of square frame sides (reference padding: 256 runs as 288).")
    ] = csv_default(BENCH.imgsz),
    device: DeviceOpt = BENCH.device,
    model: ModelOpt = BENCH.model,
    norm: NormOpt = BENCH.norm,
    threshold: ThresholdOpt = BENCH.threshold,
    warmup: Annotated[
        int, typer.Option(help="Warm-up calls per combination (also capped by --max-warmup-seconds).")
    ] = BENCH.warmup,
    max_warmup_seconds: Annotated[
        float, typer.Option(help="Warm-up time cap per combination.")
    ] = BENCH.max_warmup_seconds,
    runs: Annotated[
        int, typer.Option(help="Timed calls per combination (capped by --max-seconds).")
    ] = BENCH.runs,
    max_seconds: Annotated[
        float, typer.Option(help="Timing cap per combination (at least 5 calls are timed).")
    ] = BENCH.max_seconds,
    min_seconds: Annotated[
        float | None, typer.Option(help="Time each combination for this long instead of --runs.")
    ] = BENCH.min_seconds,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data", help="Dataset folder: adds IoU/nIoU/Pd/Fa per artifact and the change vs torch fp32."
        ),
    ] = BENCH.data,
    split: Annotated[str, typer.Option(help="Split evaluated with --data.")] = BENCH.split,
    fa_rule: FaRuleOpt = BENCH.fa_rule,
    threads: ThreadsOpt = None,
    cache_dir: Annotated[
        Path | None, typer.Option(help="Exported artifacts cache (default ~/.cache/lesps-deploy/benchmark).")
    ] = BENCH.cache_dir,
    json_out: JsonOpt = BENCH.json_out,
    markdown: Annotated[Path | None, typer.Option(help="Write the report as Markdown.")] = BENCH.markdown_out,
    plot: Annotated[
        Path | None, typer.Option(help="Write a latency vs throughput PNG (needs matplotlib).")
    ] = BENCH.plot_out,
    compare: Annotated[
        Path | None, typer.Option(help="An earlier --json report: print the change against it.")
    ] = BENCH.compare,
    trust_pickle: TrustPickleOpt = BENCH.trust_pickle,
    clients: Annotated[
        int,
        typer.Option(
            help="Serving benchmark instead: N concurrent clients of the model on a Triton server against "
            "in-process ONNX Runtime, --max-seconds each (needs the serve extra)."
        ),
    ] = 0,
    frame_size: Annotated[str, typer.Option(help="Serving benchmark frame size WxH.")] = "640x512",
    protocol: Annotated[str, typer.Option(help="Serving benchmark protocol: grpc or http.")] = "grpc",
) -> None:
    """Latency, throughput, memory and accuracy of every backend x precision x batch x size that applies here."""
    from lesps_deploy.benchmark import (
        benchmark_tables,
        compare_table,
        parse_list,
        run_benchmark,
    )
    from lesps_deploy.threads import use_threads

    threads = use_threads(threads)
    if clients:
        from lesps_deploy.benchmark.serving import serving_command

        report_text, data_out = serving_command(weights, clients, frame_size, max_seconds, protocol, norm)
        results_console(json_out).print(report_text, highlight=False, soft_wrap=True)
        write_json(json_out, data_out)
        return

    cfg = BenchmarkConfig(
        weights=weights, backends=parse_list(backends, str, "--backends"),
        precisions=parse_list(precision, str, "--precision"), batches=parse_list(batch, int, "--batch"),
        imgsz=parse_list(imgsz, int, "--imgsz"), device=device, model=model, norm=norm, threshold=threshold,
        warmup=warmup, max_warmup_seconds=max_warmup_seconds, runs=runs, max_seconds=max_seconds,
        min_seconds=min_seconds, data=data, split=split, fa_rule=fa_rule, cache_dir=cache_dir,
        json_out=None if json_to_stdout(json_out) else json_out,
        markdown_out=markdown, plot_out=plot, compare=compare, threads=threads, trust_pickle=trust_pickle,
    )  # fmt: skip
    report = run_benchmark(cfg, progress=True)
    if json_to_stdout(json_out):
        write_json(json_out, report.to_dict())
    console = results_console(json_out)
    for table in benchmark_tables(report):
        console.print(table)
    if report.comparison:
        console.print(compare_table(report.comparison))
    if not report.ok_rows:
        raise typer.Exit(1)
