"""`lesps` command line: parses options, calls one library function per command, prints results.

No logic lives here. Heavy imports happen inside each command so `lesps --help` stays fast.
Results go to stdout (tables, JSON); logs and progress go to stderr.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from lesps_deploy.tracking.config import TrackerConfig, format_confirm

app = typer.Typer(
    name="lesps",
    help="LESPS infrared small target detection: point labels -> training -> export -> real-time detection.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="Dataset tools (synthetic infrared data).", no_args_is_help=True)
app.add_typer(data_app, name="data")

# Options shared by several commands, defined once.
WeightsArg = Annotated[
    Path, typer.Argument(help="Weights: .pth/.pth.tar/.pt checkpoint, .onnx or .engine file.")
]
DataOpt = Annotated[Path, typer.Option("--data", help="Dataset folder (images/, masks/, img_idx/).")]
ModelOpt = Annotated[
    str | None,
    typer.Option("--model", help="Model name (ACM, ALCNet, DNANet); detected from the weights when omitted."),
]
NormOpt = Annotated[
    str | None,
    typer.Option(
        "--norm",
        help="Normalization: a preset (NUAA-SIRST, NUDT-SIRST, IRSTD-1K, SIRST3, NUDT-SIRST-Sea), 'auto', or MEAN,STD.",
    ),
]
DeviceOpt = Annotated[str, typer.Option("--device", help="cpu, cuda or cuda:N.")]
FaRuleOpt = Annotated[
    str,
    typer.Option(
        "--fa-rule",
        help="False-alarm rule: 'current' (the authors' code today) or '2023' (to compare with papers "
        "evaluated with the 2023 LESPS/BasicIRSTD code).",
    ),
]
TrustPickleOpt = Annotated[
    bool,
    typer.Option(
        "--trust-pickle",
        help="Fully unpickle a checkpoint that safe loading refuses (this can run code from the file; "
        "only for files you trust). Known LESPS releases and our own checkpoints never need it.",
    ),
]
ThresholdOpt = Annotated[
    float | None,
    typer.Option("--threshold", help="Probability threshold (default: from the artifact, else 0.5)."),
]


def _console(stderr: bool = False):
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # Piped or captured output (CI logs, `| tee`) gets wide tables instead of rich's 80-column default.
    return Console(stderr=stderr, width=None if stream.isatty() or os.environ.get("COLUMNS") else 200)


def _setup_logging(verbose: bool = False) -> None:
    from rich.logging import RichHandler

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=_console(stderr=True), show_path=False, show_time=False)],
        force=True,
    )


@app.callback()
def _root(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False) -> None:
    _setup_logging(verbose)


# ---------------------------------------------------------------- evaluate
@app.command()
def evaluate(
    weights: WeightsArg,
    data: DataOpt,
    split: Annotated[str, typer.Option(help="Split list img_idx/<split>_<name>.txt.")] = "test",
    model: ModelOpt = None,
    norm: NormOpt = None,
    threshold: ThresholdOpt = None,
    patch_size: Annotated[int, typer.Option(help="Tile frames whose both sides exceed this.")] = 1024,
    mask_threshold: Annotated[
        int | None,
        typer.Option(
            help="Use one rule 'mask value > N' for IoU and Pd/Fa (default: the reference's mixed rule)."
        ),
    ] = None,
    fa_rule: FaRuleOpt = "current",
    device: DeviceOpt = "cpu",
    backend: Annotated[
        str | None,
        typer.Option(
            help="torch, onnxruntime or tensorrt (default: from the suffix; CPU checkpoints run via ONNX Runtime)."
        ),
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Images per forward pass (grouped by padded size).")] = 1,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the results as JSON here.")] = None,
    per_image: Annotated[Path | None, typer.Option(help="Write per-image counts as CSV here.")] = None,
    skip_bad: Annotated[bool, typer.Option(help="Exit 0 even when some images could not be read.")] = False,
    trust_pickle: TrustPickleOpt = False,
) -> None:
    """Evaluate weights on a dataset split: IoU, nIoU, Pd, Fa with the reference semantics."""
    from lesps_deploy.evaluate import EvalConfig, evaluate_weights, results_table

    cfg = EvalConfig(
        weights=weights,
        data=data,
        split=split,
        model=model,
        norm=norm,
        threshold=threshold,
        patch_size=patch_size,
        mask_threshold=mask_threshold,
        fa_rule=fa_rule,  # type: ignore[arg-type]
        device=device,
        backend=backend,
        batch_size=batch_size,
        json_out=json_out,
        per_image=per_image,
        trust_pickle=trust_pickle,
    )
    report = evaluate_weights(cfg, progress=True)
    _console().print(results_table([report.summary]))
    for bad in report.bad:
        _console(stderr=True).print(f"[red]skipped[/] {bad}")
    if report.bad and not skip_bad:
        raise typer.Exit(1)


# ---------------------------------------------------------------- labels (issue 3)
def _labels_from_points(dataset_dir: Path, points: Path, kind: str, json_out: Path | None) -> None:
    from lesps_deploy.io import atomic_write_json
    from lesps_deploy.training import labels_from_points, point_import_table

    report = labels_from_points(dataset_dir, points, kind, progress=True)
    for line in report.errors:
        _console(stderr=True).print(f"[red]skipped[/] {line}", highlight=False)
    for line in report.duplicates:
        _console(stderr=True).print(f"[yellow]duplicate[/] {line}", highlight=False)
    _console().print(point_import_table(report))
    if json_out:
        atomic_write_json(json_out, report.to_dict())
    if report.errors:
        raise typer.Exit(1)


@app.command()
def labels(
    dataset_dir: Annotated[Path, typer.Argument(help="Dataset folder with masks/ (and images/, img_idx/).")],
    type_: Annotated[str, typer.Option("--type", help="Point label type: centroid or coarse.")] = "centroid",
    seed: Annotated[int, typer.Option(help="Seed of the coarse point offsets.")] = 0,
    from_points: Annotated[
        Path | None,
        typer.Option(
            "--from-points",
            help="Make the labels from clicked points instead of masks: a CSV (image,x,y), a COCO keypoints "
            "JSON, a LabelMe JSON or a folder of them (x = column, y = row; pixel = floor).",
        ),
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="With --from-points: write the summary as JSON here.")
    ] = None,
) -> None:
    """Make single-point labels (masks_centroid/ or masks_coarse/) from the full masks or a point file."""
    from lesps_deploy.training import make_point_labels

    if from_points is not None:
        return _labels_from_points(dataset_dir, from_points, type_, json_out)
    report = make_point_labels(dataset_dir, type_, seed=seed, progress=True)
    for line in report.errors:
        _console(stderr=True).print(f"[red]skipped[/] {line}", highlight=False)
    _console().print(f"wrote {report.written} {type_} labels ({report.targets} targets) to {report.out_dir}")
    if report.errors:
        raise typer.Exit(1)


# ---------------------------------------------------------------- train (issue 3)
@app.command()
def train(
    model: Annotated[str | None, typer.Option("--model", help="ACM, ALCNet or DNANet.")] = None,
    data: Annotated[
        Path | None, typer.Option("--data", help="Dataset folder (images/, masks*/, img_idx/).")
    ] = None,
    labels: Annotated[
        str, typer.Option("--labels", help="Supervision: centroid, coarse (LESPS) or full masks.")
    ] = "centroid",
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = 400,
    batch_size: Annotated[int, typer.Option(help="Batch size (split over torchrun processes).")] = 16,
    patch_size: Annotated[int, typer.Option(help="Random crop size.")] = 256,
    lr: Annotated[float, typer.Option(help="Adam learning rate.")] = 5e-4,
    milestones: Annotated[str, typer.Option(help="MultiStepLR epochs, comma separated.")] = "200,300",
    gamma: Annotated[float, typer.Option(help="MultiStepLR factor.")] = 0.1,
    tloss: Annotated[
        float, typer.Option(help="Evolution starts after the first epoch with mean loss below this.")
    ] = 10.0,
    tb: Annotated[float, typer.Option(help="Evolution threshold Tb.")] = 0.5,
    k: Annotated[float, typer.Option(help="Evolution threshold k.")] = 0.5,
    evolve_every: Annotated[int, typer.Option(help="Evolution period in epochs.")] = 5,
    norm: NormOpt = None,
    device: Annotated[str, typer.Option("--device", help="auto, cpu, cuda or cuda:N.")] = "auto",
    amp: Annotated[bool, typer.Option("--amp", help="Mixed precision.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of initialisation, shuffling and crops.")] = 42,
    out: Annotated[
        Path | None, typer.Option(help="Run folder (default runs/<model>_<labels>_<time>).")
    ] = None,
    resume: Annotated[Path | None, typer.Option(help="Continue the run in this folder.")] = None,
    eval_every: Annotated[int, typer.Option(help="Test metrics every N epochs (0: at the end only).")] = 10,
    num_workers: Annotated[int, typer.Option(help="DataLoader workers.")] = 0,
    limit: Annotated[int | None, typer.Option(help="Train on the first N train images only.")] = None,
    prior: Annotated[
        float | None,
        typer.Option(help="Init output biases to logit(P), e.g. 0.01 (not in the paper; faster short runs)."),
    ] = None,
    fa_rule: FaRuleOpt = "current",
) -> None:
    """Train with LESPS point supervision (or full masks); resumable, runs under torchrun for DDP."""
    from lesps_deploy.errors import ConfigError
    from lesps_deploy.evaluate import results_table
    from lesps_deploy.training import TrainConfig
    from lesps_deploy.training import train as run_training

    if resume is None and (model is None or data is None):
        raise ConfigError("--model and --data are required", hint="or continue a run with --resume RUN_DIR")
    try:
        steps = tuple(int(m) for m in milestones.split(",") if m.strip())
    except ValueError:
        raise ConfigError(f"--milestones {milestones!r}: expected epochs like 200,300") from None
    cfg = TrainConfig(
        model=model or "DNANet",
        data=data,
        labels=labels,
        epochs=epochs,
        batch_size=batch_size,
        patch_size=patch_size,
        lr=lr,
        milestones=steps,
        gamma=gamma,
        tloss=tloss,
        tb=tb,
        k=k,
        evolve_every=evolve_every,
        norm=norm or "auto",
        device=device,
        amp=amp,
        seed=seed,
        out=out,
        resume=resume,
        eval_every=eval_every,
        num_workers=num_workers,
        limit=limit,
        prior=prior,
        fa_rule=fa_rule,
    )
    result = run_training(cfg, progress=True)
    for r in result.rounds:
        iou = "not available (no full masks)" if r.label_iou is None else f"{100 * r.label_iou:.2f}"
        _console(stderr=True).print(
            f"evolution round {r.index} (epoch {r.epoch}): label IoU {iou}", highlight=False
        )
    if result.metrics:
        _console().print(
            results_table([{**result.metrics, "weights": str(result.checkpoint)}], title="Test split")
        )
    _console().print(f"checkpoint: {result.checkpoint}")


# ---------------------------------------------------------------- export (issue 4)
def _export_formats_help() -> str:
    from lesps_deploy.export.formats import formats_help

    return formats_help()


@app.command("export")
def export_cmd(
    weights: WeightsArg,
    fmt: Annotated[str, typer.Option("--format", "-f", help=_export_formats_help())] = "onnx",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Output file (Triton: repository folder).")
    ] = None,
    model: ModelOpt = None,
    norm: NormOpt = None,
    imgsz: Annotated[
        tuple[int, int] | None, typer.Option(help="H W, multiples of 32 (trace / profile opt size).")
    ] = None,
    batch: Annotated[
        int | None, typer.Option(help="Batch (engine profile max; Triton max_batch_size).")
    ] = None,
    dynamic: Annotated[
        bool | None, typer.Option("--dynamic/--static", help="Dynamic batch/H/W (default).")
    ] = None,
    half: Annotated[bool, typer.Option(help="FP16 engine (GPU).")] = False,
    int8: Annotated[bool, typer.Option(help="INT8 engine, calibrated on --calib-data.")] = False,
    calib_data: Annotated[
        Path | None, typer.Option(help="Dataset folder of INT8 calibration images.")
    ] = None,
    calib_images: Annotated[int, typer.Option(help="Calibration images (>= 300 recommended).")] = 300,
    calib_method: Annotated[str, typer.Option(help="entropy or minmax.")] = "entropy",
    opset: Annotated[int, typer.Option(help="ONNX opset (>= 17).")] = 17,
    simplify: Annotated[
        bool, typer.Option(help="Simplify with onnxslim (extra 'simplify'), parity re-checked.")
    ] = False,
    workspace: Annotated[float | None, typer.Option(help="TensorRT workspace limit in GiB.")] = None,
    verify: Annotated[
        Path | None, typer.Option(help="Dataset: parity on real images and split counts.")
    ] = None,
    instances: Annotated[int, typer.Option(help="Triton instances per device.")] = 1,
    device: Annotated[
        str | None, typer.Option("--device", help="cpu or cuda[:N] (default: per format).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing output.")] = False,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the export report as JSON here.")
    ] = None,
    trust_pickle: TrustPickleOpt = False,
) -> None:
    """Export weights to ONNX, a TensorRT engine or a Triton repository, and check parity with PyTorch."""
    from lesps_deploy.export import ExportConfig, export_weights
    from lesps_deploy.io import atomic_write_json

    cfg = ExportConfig(
        weights=weights,
        format=fmt,
        out=out,
        model=model,
        norm=norm,
        imgsz=imgsz,
        batch=batch,
        dynamic=dynamic,
        half=half,
        int8=int8,
        calib_data=calib_data,
        calib_images=calib_images,
        calib_method=calib_method,
        opset=opset,
        simplify=simplify,
        workspace=workspace,
        verify=verify,
        instances=instances,
        device=device,
        force=force,
        trust_pickle=trust_pickle,
    )
    result = export_weights(cfg)
    console = _console()
    console.print(f"[green]wrote[/] {result.path} ({result.format}, {result.seconds:.1f} s)", highlight=False)
    for label, report in result.parity:
        for line in report.lines():
            console.print(f"  parity {label}: {line}", highlight=False)
    if json_out:
        atomic_write_json(json_out, result.to_dict())
    if not result.ok:
        _console(stderr=True).print("[red]parity check failed[/]: the artifact differs from PyTorch")
        raise typer.Exit(1)


# ---------------------------------------------------------------- predict (issue 5, tracking issue 16)
_TRACK = TrackerConfig()  # the tracking options' defaults (not retyped here)


def _status_printer(live):
    """Status callback for `predict`: one live line (frames, FPS, latency) on stderr."""

    def show(st) -> None:
        live.update(
            f"[cyan]{st.frames}[/] frames  [cyan]{st.fps:.1f}[/] FPS  [cyan]{st.latency_ms:.1f}[/] ms/frame  "
            f"{st.dropped} dropped  {st.skipped} skipped  {st.elapsed_s:.0f} s"
        )

    return show


@app.command()
def predict(
    source: Annotated[
        str,
        typer.Argument(
            help="Image, folder, glob, .txt list, video, camera index, rtsp:// or http(s):// URL."
        ),
    ],
    weights: Annotated[
        Path, typer.Option("--weights", "-w", help="Weights: .pth/.pth.tar/.pt, .onnx or .engine.")
    ],
    device: DeviceOpt = "cpu",
    backend: Annotated[
        str | None, typer.Option(help="Force a backend: torch, onnxruntime, tensorrt.")
    ] = None,
    model: ModelOpt = None,
    norm: NormOpt = None,
    threshold: ThresholdOpt = None,
    batch: Annotated[int, typer.Option(help="Frames per inference call.")] = 1,
    out: Annotated[Path | None, typer.Option(help="Output folder (default: runs/predict-N).")] = None,
    save_masks: Annotated[bool, typer.Option(help="Write masks/<frame>.png.")] = False,
    save_overlay: Annotated[
        bool, typer.Option(help="Write overlays/<frame>.png with targets circled.")
    ] = False,
    save_video: Annotated[
        bool, typer.Option(help="Write annotated.mp4 (input fps and frame count).")
    ] = False,
    jsonl: Annotated[bool, typer.Option(help="Write detections.jsonl (one line per frame).")] = True,
    vid_stride: Annotated[int, typer.Option(help="Keep every N-th input frame.")] = 1,
    max_frames: Annotated[int | None, typer.Option(help="Stop after N frames.")] = None,
    drop_frames: Annotated[
        bool | None,
        typer.Option(
            "--drop-frames/--no-drop-frames",
            help="Drop stale frames when behind (default: live sources only).",
        ),
    ] = None,
    show_stats: Annotated[
        bool, typer.Option(help="Draw frame index, targets and latency on overlays/video.")
    ] = False,
    patch_size: Annotated[int, typer.Option(help="Tile frames whose both sides exceed this.")] = 1024,
    reconnect_timeout: Annotated[float, typer.Option(help="Seconds to retry a lost live connection.")] = 30.0,
    half: Annotated[bool, typer.Option(help="PyTorch fp16 (CUDA).")] = False,
    channels_last: Annotated[bool, typer.Option(help="PyTorch channels_last memory format.")] = False,
    threads: Annotated[
        int, typer.Option(help="Inference threads, ONNX Runtime or PyTorch (0: default).")
    ] = 0,
    workers: Annotated[
        int, typer.Option(help="Concurrent inference workers (0: 2 on a multi-core CPU, 1 on GPU).")
    ] = 0,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON on stdout.")] = False,
    trust_pickle: TrustPickleOpt = False,
    track: Annotated[
        bool, typer.Option(help="Track targets across frames: IDs, velocities, tracks.csv (MOTChallenge).")
    ] = False,
    confirm: Annotated[
        str, typer.Option(help="Confirm a track after M hits in its last N frames (M/N).")
    ] = format_confirm(_TRACK.confirm),
    max_age: Annotated[
        int, typer.Option(help="Missed frames a confirmed track coasts before it is lost.")
    ] = _TRACK.max_age,
    gate: Annotated[
        float, typer.Option(help="Largest distance (px) from a track's prediction to its detection.")
    ] = _TRACK.gate,
    low_score: Annotated[
        float | None,
        typer.Option(
            help="Second pass: confirmed tracks may take components of prob > S below the threshold."
        ),
    ] = _TRACK.low_score,
    min_speed: Annotated[
        float, typer.Option(help="Do not report confirmed tracks slower than V px/frame (static clutter).")
    ] = _TRACK.min_speed,
    gmc: Annotated[bool, typer.Option(help="Compensate camera motion (phase correlation).")] = _TRACK.gmc,
    confirmed_only: Annotated[
        bool, typer.Option(help="Report only confirmed tracks (the false-alarm filter).")
    ] = _TRACK.confirmed_only,
) -> None:
    """Detect small targets in images, videos, cameras and streams; write masks, overlays, video, JSONL."""
    import json

    from rich.live import Live

    from lesps_deploy.predict import PredictConfig, run_predict, summary_table
    from lesps_deploy.tracking import parse_confirm

    tracking = TrackerConfig(
        confirm=parse_confirm(confirm), max_age=max_age, gate=gate, low_score=low_score,
        min_speed=min_speed, gmc=gmc, confirmed_only=confirmed_only,
    )  # fmt: skip

    cfg = PredictConfig(
        source=source, weights=weights, device=device, backend=backend, model=model, norm=norm,
        threshold=threshold, batch=batch, out=out, save_masks=save_masks, save_overlay=save_overlay,
        save_video=save_video, jsonl=jsonl, vid_stride=vid_stride, max_frames=max_frames,
        drop_frames=drop_frames, show_stats=show_stats, patch_size=patch_size,
        reconnect_timeout_s=reconnect_timeout, half=half, channels_last=channels_last, threads=threads,
        workers=workers, trust_pickle=trust_pickle, track=track, tracking=tracking,
    )  # fmt: skip
    with Live("starting...", console=_console(stderr=True), transient=True, refresh_per_second=4) as live:
        summary = run_predict(cfg, status=_status_printer(live))
    if json_out:
        typer.echo(json.dumps(summary.to_dict()))
    else:
        _console().print(summary_table(summary))
    for err in summary.errors:
        _console(stderr=True).print(f"[yellow]skipped[/] {err}", highlight=False)


# ---------------------------------------------------------------- benchmark (issue 6)
@app.command()
def benchmark(
    weights: Annotated[
        Path,
        typer.Option("--weights", "-w", help="PyTorch checkpoint; other artifacts are exported from it."),
    ],
    backends: Annotated[
        str, typer.Option(help="Comma list: torch, onnxruntime, tensorrt.")
    ] = "torch,onnxruntime",
    precision: Annotated[
        str,
        typer.Option(help="Comma list: fp32, fp16, int8 (unsupported combinations are listed as skipped)."),
    ] = "fp32",
    batch: Annotated[str, typer.Option(help="Comma list of batch sizes.")] = "1",
    imgsz: Annotated[
        str, typer.Option(help="Comma list of square frame sides (reference padding: 256 runs as 288).")
    ] = "256",
    device: DeviceOpt = "cpu",
    model: ModelOpt = None,
    norm: NormOpt = None,
    threshold: ThresholdOpt = None,
    warmup: Annotated[
        int, typer.Option(help="Warm-up calls per combination (also capped by --max-warmup-seconds).")
    ] = 20,
    max_warmup_seconds: Annotated[float, typer.Option(help="Warm-up time cap per combination.")] = 3.0,
    runs: Annotated[int, typer.Option(help="Timed calls per combination (capped by --max-seconds).")] = 200,
    max_seconds: Annotated[
        float, typer.Option(help="Timing cap per combination (at least 5 calls are timed).")
    ] = 10.0,
    min_seconds: Annotated[
        float | None, typer.Option(help="Time each combination for this long instead of --runs.")
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data", help="Dataset folder: adds IoU/nIoU/Pd/Fa per artifact and the change vs torch fp32."
        ),
    ] = None,
    split: Annotated[str, typer.Option(help="Split evaluated with --data.")] = "test",
    fa_rule: FaRuleOpt = "current",
    threads: Annotated[
        int, typer.Option(help="PyTorch and ONNX Runtime CPU threads (0: their defaults).")
    ] = 0,
    cache_dir: Annotated[
        Path | None, typer.Option(help="Exported artifacts cache (default ~/.cache/lesps-deploy/benchmark).")
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write rows, raw timings, environment and config as JSON.")
    ] = None,
    markdown: Annotated[Path | None, typer.Option(help="Write the report as Markdown.")] = None,
    plot: Annotated[
        Path | None, typer.Option(help="Write a latency vs throughput PNG (needs matplotlib).")
    ] = None,
    compare: Annotated[
        Path | None, typer.Option(help="An earlier --json report: print the change against it.")
    ] = None,
    trust_pickle: TrustPickleOpt = False,
) -> None:
    """Latency, throughput, memory and accuracy of every backend x precision x batch x size that applies here."""
    from lesps_deploy.benchmark import (
        BenchmarkConfig,
        benchmark_tables,
        compare_table,
        parse_list,
        run_benchmark,
    )

    cfg = BenchmarkConfig(
        weights=weights, backends=parse_list(backends, str, "--backends"),
        precisions=parse_list(precision, str, "--precision"), batches=parse_list(batch, int, "--batch"),
        imgsz=parse_list(imgsz, int, "--imgsz"), device=device, model=model, norm=norm, threshold=threshold,
        warmup=warmup, max_warmup_seconds=max_warmup_seconds, runs=runs, max_seconds=max_seconds,
        min_seconds=min_seconds, data=data, split=split, fa_rule=fa_rule, cache_dir=cache_dir, json_out=json_out,
        markdown_out=markdown, plot_out=plot, compare=compare, threads=threads, trust_pickle=trust_pickle,
    )  # fmt: skip
    report = run_benchmark(cfg, progress=True)
    console = _console()
    for table in benchmark_tables(report):
        console.print(table)
    if report.comparison:
        console.print(compare_table(report.comparison))
    if not report.ok_rows:
        raise typer.Exit(1)


# ---------------------------------------------------------------- data synth / demo (issue 7)
@data_app.command("synth")
def data_synth(
    out_dir: Annotated[
        Path, typer.Argument(help="Dataset folder to write (its name becomes the split-list name).")
    ],
    images: Annotated[int, typer.Option(help="Number of frames.")] = 400,
    size: Annotated[int, typer.Option(help="Side of the square frames in pixels.")] = 256,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed writes the same dataset.")] = 0,
    video: Annotated[
        int, typer.Option("--video", help="Also write video.mp4 with N frames of moving targets.")
    ] = 0,
    train_fraction: Annotated[float, typer.Option(help="Share of frames in the train list.")] = 0.5,
    bit16: Annotated[
        float, typer.Option("--bit16", help="Share of frames saved as 16-bit PNG (full 0-65535 range).")
    ] = 0.0,
    hard_fraction: Annotated[float, typer.Option(help="Share of dim targets (signal-to-clutter 2-4).")] = 0.1,
    edge_fraction: Annotated[
        float, typer.Option(help="Share of targets next to strong clutter edges.")
    ] = 0.3,
    point_fraction: Annotated[
        float | None,
        typer.Option(help="Share of Gaussian point targets (the rest are extended); default: half."),
    ] = None,
    min_area: Annotated[int, typer.Option(help="Smallest target mask area in pixels.")] = 1,
    max_area: Annotated[int, typer.Option(help="Largest target mask area in pixels.")] = 80,
    contrast: Annotated[
        tuple[float, float],
        typer.Option(help="Range (8-bit grey levels) of the least peak rise of a visible target."),
    ] = (12.0, 30.0),
    overwrite: Annotated[bool, typer.Option(help="Write into a folder that already holds images.")] = False,
) -> None:
    """Write a synthetic infrared small-target dataset (images, masks, centroid labels, split lists)."""
    from rich.progress import Progress

    from lesps_deploy.data.synth import SynthConfig, make_dataset

    cfg = SynthConfig(
        images=images,
        size=size,
        seed=seed,
        train_fraction=train_fraction,
        video_frames=video,
        bit16_fraction=bit16,
        hard_fraction=hard_fraction,
        edge_fraction=edge_fraction,
        point_fraction=point_fraction,
        min_area=min_area,
        max_area=max_area,
        contrast=contrast,
        overwrite=overwrite,
    )
    with Progress(console=_console(stderr=True), transient=True) as bar:
        task = bar.add_task("synthesizing", total=images)
        summary = make_dataset(out_dir, cfg, progress=lambda done, total: bar.update(task, completed=done))
    console = _console()
    console.print(
        f"wrote {summary.images} images ({summary.train} train, {summary.test} test, {summary.bit16} 16-bit) "
        f"with {summary.targets} targets to {summary.root} in {summary.seconds:.1f} s"
    )
    if summary.video is not None:
        console.print(
            f"video: {summary.video.path} ({summary.video.frames} frames), truth: {summary.video.truth}"
        )


def _demo_step_panel(number: int, total: int, step) -> None:
    """Before each demo step: a panel on stderr with what the step does."""
    from rich.panel import Panel

    title = f"[bold]step {number}/{total}: {step.title}[/]"
    _console(stderr=True).print(Panel(step.explanation, title=title, title_align="left", border_style="cyan"))


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Output folder of the demo.")] = Path("runs/demo"),
    quick: Annotated[bool, typer.Option(help="Tiny sizes: every step in seconds, no accuracy.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic data and the training.")] = 0,
    force: Annotated[bool, typer.Option(help="Replace an earlier demo's output folder.")] = False,
    device: Annotated[str, typer.Option("--device", help="Training device: cpu, cuda or cuda:N.")] = "cpu",
) -> None:
    """The whole flow on synthetic data: data, point labels, LESPS training, evaluation, ONNX, benchmark, video."""
    from lesps_deploy.demo import DemoConfig, run_demo

    summary = run_demo(
        DemoConfig(out=out, quick=quick, seed=seed, force=force, device=device),
        progress=True,
        on_step=_demo_step_panel,
    )
    m = summary.metrics
    bar = "meets" if summary.detects else "is below"
    _console().print(
        f"test split ({m['images']} images): IoU {100 * m['IoU']:.1f} %  nIoU {100 * m['nIoU']:.1f} %  "
        f"Pd {100 * m['Pd']:.1f} % ({m['detected']}/{m['targets']})  Fa {1e6 * m['Fa']:.2f}e-6\n"
        f"the model {bar} the demo bar (Pd >= 90 %, IoU >= 50 %)\n"
        f"ONNX parity: max |prob diff| {summary.parity_max_abs_diff:.2g} ({'ok' if summary.parity_ok else 'FAILED'})\n"
        f"demo finished in {summary.seconds:.0f} s; report: {summary.report_md} ({summary.report_html.name} alongside)",
        highlight=False,
        soft_wrap=True,
    )
    if not summary.parity_ok:
        raise typer.Exit(1)


def main() -> None:
    """Console entry point: maps library errors to one red line plus a hint."""
    from rich.markup import escape

    from lesps_deploy.errors import LespsError

    try:
        app(standalone_mode=True)
    except LespsError as err:
        if os.environ.get("LESPS_DEBUG") == "1":
            raise
        console = _console(stderr=True)
        # Messages are plain text: escape them so "lesps-deploy[tensorrt]" is not read as rich markup.
        console.print(f"[bold red]error:[/] {escape(str(err))}", highlight=False, soft_wrap=True)
        if err.hint:
            console.print(f"[yellow]hint:[/] {escape(err.hint)}", highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
