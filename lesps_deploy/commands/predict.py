"""`lesps predict`: detection on images, videos, cameras and streams, optionally tracked (`--track`)."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Annotated

import typer

from lesps_deploy.apis.prediction import PredictConfig
from lesps_deploy.commands.common import (
    PREDICT,
    TRACK,
    DeviceOpt,
    FrameMappingOpt,
    JsonOpt,
    ModelOpt,
    NormOpt,
    ThreadsOpt,
    ThresholdOpt,
    TrustPickleOpt,
    make_console,
    results_console,
    write_json,
)
from lesps_deploy.tracking.config import TrackerConfig, format_confirm, parse_confirm

__all__ = ["predict"]


def _status_printer(live):
    """Status callback for `predict`: one live line (frames, FPS, latency) on stderr."""

    def show(st) -> None:
        live.update(
            f"[cyan]{st.frames}[/] frames  [cyan]{st.fps:.1f}[/] FPS  [cyan]{st.latency_ms:.1f}[/] ms/frame  "
            f"{st.dropped} dropped  {st.skipped} skipped  {st.elapsed_s:.0f} s"
        )

    return show


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
    device: DeviceOpt = PREDICT.device,
    backend: Annotated[
        str | None, typer.Option(help="Force a backend: torch, onnxruntime, tensorrt.")
    ] = PREDICT.backend,
    model: ModelOpt = PREDICT.model,
    norm: NormOpt = PREDICT.norm,
    threshold: ThresholdOpt = PREDICT.threshold,
    frame_mapping: FrameMappingOpt = PREDICT.frame_mapping,
    batch: Annotated[int, typer.Option(help="Frames per inference call.")] = PREDICT.batch,
    out: Annotated[Path | None, typer.Option(help="Output folder (default: runs/predict-N).")] = PREDICT.out,
    save_masks: Annotated[bool, typer.Option(help="Write masks/<frame>.png.")] = PREDICT.save_masks,
    save_overlay: Annotated[
        bool, typer.Option(help="Write overlays/<frame>.png with targets circled.")
    ] = PREDICT.save_overlay,
    save_video: Annotated[
        bool, typer.Option(help="Write annotated.avi (input fps and frame count; plays even after a kill).")
    ] = PREDICT.save_video,
    video_format: Annotated[
        str,
        typer.Option(
            help="Video container: avi (MJPEG; kill -9 loses at most a frame), mkv (mp4v, ~20x smaller; "
            "kill -9 loses up to the last MiB), mp4 (written on close)."
        ),
    ] = PREDICT.video_format,
    segment_seconds: Annotated[
        float | None,
        typer.Option(
            help="Write the video as annotated_NNN.<format> files of this many seconds, each closed as it fills."
        ),
    ] = PREDICT.segment_seconds,
    jsonl: Annotated[bool, typer.Option(help="Write detections.jsonl (one line per frame).")] = PREDICT.jsonl,
    vid_stride: Annotated[int, typer.Option(help="Keep every N-th input frame.")] = PREDICT.vid_stride,
    max_frames: Annotated[int | None, typer.Option(help="Stop after N frames.")] = PREDICT.max_frames,
    drop_frames: Annotated[
        bool | None,
        typer.Option(
            "--drop-frames/--no-drop-frames",
            help="Drop stale frames when behind (default: live sources only).",
        ),
    ] = PREDICT.drop_frames,
    show_stats: Annotated[
        bool, typer.Option(help="Draw frame index, targets and latency on overlays/video.")
    ] = PREDICT.show_stats,
    patch_size: Annotated[
        int, typer.Option(help="Tile frames whose both sides exceed this.")
    ] = PREDICT.patch_size,
    reconnect_timeout: Annotated[
        float, typer.Option(help="Seconds to retry a lost live connection.")
    ] = PREDICT.reconnect_timeout_s,
    half: Annotated[bool, typer.Option(help="PyTorch fp16 (CUDA).")] = PREDICT.half,
    channels_last: Annotated[
        bool, typer.Option(help="PyTorch channels_last memory format.")
    ] = PREDICT.channels_last,
    threads: ThreadsOpt = None,
    workers: Annotated[
        int, typer.Option(help="Concurrent inference workers (0: 2 on a multi-core CPU, 1 on GPU).")
    ] = PREDICT.workers,
    json_out: JsonOpt = None,
    json_stdout: Annotated[
        bool, typer.Option("--json-stdout", hidden=True, help="Deprecated: use --json -.")
    ] = False,
    trust_pickle: TrustPickleOpt = PREDICT.trust_pickle,
    track: Annotated[
        bool, typer.Option(help="Track targets across frames: IDs, velocities, tracks.csv (MOTChallenge).")
    ] = PREDICT.track,
    confirm: Annotated[
        str, typer.Option(help="Confirm a track after M hits in its last N frames (M/N).")
    ] = format_confirm(TRACK.confirm),
    max_age: Annotated[
        int, typer.Option(help="Missed frames a confirmed track coasts before it is lost.")
    ] = TRACK.max_age,
    gate: Annotated[
        float, typer.Option(help="Largest distance (px) from a track's prediction to its detection.")
    ] = TRACK.gate,
    low_score: Annotated[
        float | None,
        typer.Option(
            help="Second pass: confirmed tracks may take components of prob > S below the threshold."
        ),
    ] = TRACK.low_score,
    min_speed: Annotated[
        float, typer.Option(help="Do not report confirmed tracks slower than V px/frame (static clutter).")
    ] = TRACK.min_speed,
    gmc: Annotated[bool, typer.Option(help="Compensate camera motion (phase correlation).")] = TRACK.gmc,
    confirmed_only: Annotated[
        bool, typer.Option(help="Report only confirmed tracks (the false-alarm filter).")
    ] = TRACK.confirmed_only,
) -> None:
    """Detect small targets in images, videos, cameras and streams; write masks, overlays, video, JSONL."""
    from rich.live import Live

    from lesps_deploy.apis.prediction import predict, summary_table
    from lesps_deploy.threads import use_threads

    if json_stdout:  # the old flag `--json` (summary on stdout), renamed when --json took a PATH
        json_out = Path("-")
    threads = use_threads(threads)

    tracking = TrackerConfig(
        confirm=parse_confirm(confirm), max_age=max_age, gate=gate, low_score=low_score,
        min_speed=min_speed, gmc=gmc, confirmed_only=confirmed_only,
    )  # fmt: skip
    cfg = PredictConfig(
        source=source, weights=weights, device=device, backend=backend, model=model, norm=norm,
        threshold=threshold, frame_mapping=frame_mapping, batch=batch, out=out, save_masks=save_masks, save_overlay=save_overlay,
        save_video=save_video, jsonl=jsonl, video_format=video_format, segment_seconds=segment_seconds, vid_stride=vid_stride, max_frames=max_frames,
        drop_frames=drop_frames, show_stats=show_stats, patch_size=patch_size,
        reconnect_timeout_s=reconnect_timeout, half=half, channels_last=channels_last, threads=threads,
        workers=workers, trust_pickle=trust_pickle, track=track, tracking=tracking,
    )  # fmt: skip
    with Live("starting...", console=make_console(stderr=True), transient=True, refresh_per_second=4) as live:
        summary = predict(cfg, status=_status_printer(live))
    results_console(json_out).print(summary_table(summary))
    write_json(json_out, summary.to_dict())
    # Skipped frames were each said once in the log as they happened (and are in summary.json).
    if summary.interrupted:  # the shell's code for a run ended by a signal: 128 + its number (Ctrl-C: 130)
        raise typer.Exit(128 + signal.Signals[summary.stopped_by or "SIGINT"].value)
