"""`lesps predict` as a library call: detection on images, folders, videos, cameras and streams.

The streams and the `Detector` load inside the calls, so importing this module (the CLI does, for
`PredictConfig`'s defaults) stays light.

`predict(PredictConfig(...))` (or `predict(source, weights, **options)`) opens the source, loads a `Detector`, runs the threaded pipeline
into the chosen sinks and writes `summary.json` (frames, dropped, FPS, latency p50/p90/p99 per stage).

Output folder (default `runs/predict-N`, the next free N):
    masks/<frame>.png      binary masks (0/255)           --save-masks
    overlays/<frame>.png   frames with targets circled     --save-overlay
    annotated.avi          annotated video, input fps      --save-video (--video-format mkv|mp4; annotated_NNN.avi
                                                           with --segment-seconds)
    detections.jsonl       one line per processed frame    --jsonl
    tracks.csv             MOTChallenge rows of the tracks --track
    summary.json           always; rewritten every few seconds while the run goes on

A killed run leaves all of it usable: see `lesps_deploy.apis.run_folder` (summary states, killed
runs found by the next run) and `lesps_deploy.streams.sinks` (how each file survives a kill).

With `--track` a `lesps_deploy.tracking.Tracker` runs in source order between inference and writing:
targets gain track_id, track_state, vx, vy (`--confirmed-only`: only confirmed tracks are reported),
overlays and video draw IDs and tails, and the summary gains the track counts.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lesps_deploy.apis.run_folder import (
    SUMMARY_NAME,
    LiveSummary,
    claim_run_dir,
    next_run_dir,
    process_fields,
)
from lesps_deploy.errors import ConfigError, SourceError
from lesps_deploy.formats import backend_names
from lesps_deploy.io import atomic_write_json
from lesps_deploy.options import (
    Role,
    check_paths,
    declared,
    force_option,
    json_option,
    name_of,
    option,
    refuse,
    say,
    threads_option,
    validate,
)
from lesps_deploy.runtime import options as shared
from lesps_deploy.runtime.base import backend_for_path
from lesps_deploy.threads import available_cores, current_threads, requested_threads
from lesps_deploy.tracking.config import TrackerConfig

if TYPE_CHECKING:
    from rich.table import Table

    from lesps_deploy.runtime.detector import Detector
    from lesps_deploy.sources.base import FrameSource
    from lesps_deploy.streams.pipeline import PipelineStats, PipelineStatus
    from lesps_deploy.streams.sinks import Sink
    from lesps_deploy.tracking.tracker import Tracker

__all__ = ["PredictConfig", "PredictSummary", "predict", "next_run_dir", "summary_table"]

log = logging.getLogger(__name__)

# annotated.<--video-format>; AVI by default: a kill loses at most the frame being written (streams.sinks)
VIDEO_STEM = "annotated"
VIDEO_FORMATS = ("avi", "mkv", "mp4")
JSONL_NAME = "detections.jsonl"
TRACKS_NAME = "tracks.csv"
# Source kinds that are still images: tracking them assumes they form a sequence.
_IMAGE_KINDS = ("image", "folder", "list", "glob")


@dataclass(frozen=True)
class PredictConfig:
    """Options of `lesps predict`: each field declares its flag, help and domain (`lesps_deploy.options`).

    `tracking` holds the tracker's options (`TrackerConfig`; its flags need `track`); `threads` is
    shared out between `workers` when there are several; `workers` 0 means two on a multi-core CPU
    (measured faster than one worker with all cores), one on a GPU.
    """

    source: str = option(
        help="Image, folder, glob, .txt list, video, camera index, rtsp:// or http(s):// URL.", argument=True
    )
    weights: Path = shared.weights_option(
        "Weights: .pth/.pth.tar/.pt, .onnx or .engine, or a served model's http:// or grpc:// URL.",
        flag="--weights", short="-w", url=True,
    )  # fmt: skip
    device: str = shared.device_option()
    backend: str | None = option(
        None, "Force a backend: torch, onnxruntime, tensorrt.", choices=tuple(backend_names())
    )
    model: str | None = shared.model_option()
    norm: str | None = shared.norm_option()
    threshold: float | None = shared.threshold_option()
    frame_mapping: str | None = shared.frame_mapping_option()
    batch: int = shared.batch_option()
    out: Path | None = option(None, "Output folder (default: runs/predict-N).", role=Role.OUTPUT_DIR)
    save_masks: bool = option(False, "Write masks/<frame>.png.")
    save_overlay: bool = option(False, "Write overlays/<frame>.png with targets circled.")
    save_video: bool = option(
        False, "Write annotated.avi (input fps and frame count; plays even after a kill)."
    )
    video_format: str = option(
        "avi",
        "Video container: avi (MJPEG; kill -9 loses at most a frame), mkv (mp4v, ~20x smaller; "
        "kill -9 loses up to the last MiB), mp4 (written on close).",
        choices=VIDEO_FORMATS,
    )
    segment_seconds: float | None = option(
        None,
        "Write the video as annotated_NNN.<format> files of this many seconds, each closed as it fills.",
        gt=0,
    )
    jsonl: bool = option(True, "Write detections.jsonl (one line per frame).")
    vid_stride: int = option(1, "Keep every N-th input frame.", ge=1)
    max_frames: int | None = option(None, "Stop after N frames.", ge=1)
    drop_frames: bool | None = option(None, "Drop stale frames when behind (default: live sources only).")
    show_stats: bool = option(False, "Draw frame index, targets and latency on overlays/video.")
    patch_size: int | None = shared.tile_size_option()  # None: never tile
    reconnect_timeout_s: float = option(
        30.0, "Seconds to retry a lost live connection.", flag="--reconnect-timeout", ge=0
    )
    half: bool = option(False, "PyTorch fp16 (CUDA).")
    channels_last: bool = option(False, "PyTorch channels_last memory format.")
    threads: int | None = threads_option()
    workers: int = option(0, "Concurrent inference workers (0: 2 on a multi-core CPU, 1 on GPU).", ge=0)
    json_out: Path | None = json_option()
    force: bool = force_option("Replace an existing --json file.")
    trust_pickle: bool = shared.trust_pickle_option()
    track: bool = option(False, "Track targets across frames: IDs, velocities, tracks.csv (MOTChallenge).")
    tracking: TrackerConfig = TrackerConfig()

    def __post_init__(self) -> None:
        validate(self)
        if not self.track and self.tracking != TrackerConfig():
            names = ", ".join(name_of(f.name) for f, spec in declared(TrackerConfig) if spec.cli)
            raise ConfigError(f"tracking options ({names}) need {name_of('track')}")
        low = self.tracking.low_score
        if self.track and self.threshold is not None and low is not None and low >= self.threshold:
            raise refuse("low_score", low, f"must be below {say('threshold', self.threshold)}")


@dataclass(frozen=True)
class PredictSummary:
    """What a `lesps predict` run did (also written as summary.json)."""

    out_dir: Path
    source: str
    weights: str
    detector: str
    frames: int
    dropped: int
    skipped: int
    interrupted: bool
    wall_s: float
    fps: float
    latency_ms: dict[str, dict[str, float]]
    disconnects: int = 0
    reconnect_attempts: int = 0
    reconnects: int = 0
    gave_up: bool = False
    errors: tuple[str, ...] = ()
    outputs: dict[str, str] = field(default_factory=dict)
    tracks: dict[str, Any] | None = None
    decoded: int = 0
    rejected: int = 0
    state: str = "complete"
    stopped_by: str | None = None  # SIGINT, SIGTERM or SIGHUP when interrupted
    pid: int = 0
    host: str = ""
    updated: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["out_dir"] = str(self.out_dir)
        data["errors"] = list(self.errors)
        return data


def _workers(cfg: PredictConfig) -> int:
    """Inference workers: as asked, else 2 on a multi-core CPU and 1 on a GPU."""
    if cfg.workers:
        return cfg.workers
    # Workers do not wait on each other the way intra-op threads do, so the cores a busy neighbour
    # takes off the default thread count (threads.default_threads) leave the second worker in place.
    cores = cfg.threads or requested_threads() or available_cores()
    return 2 if cfg.device.startswith("cpu") and cores >= 2 else 1


def _threads(cfg: PredictConfig) -> int:
    """Intra-op threads per worker: the run's threads (`--threads`, else the default) shared out."""
    threads = cfg.threads or current_threads()
    if not cfg.device.startswith("cpu"):
        return threads
    return max(1, threads // _workers(cfg))


def _backend_options(cfg: PredictConfig) -> dict[str, Any]:
    opts: dict[str, Any] = {}

    if cfg.half:
        opts["half"] = True
    if cfg.channels_last:
        opts["channels_last"] = True
    if cfg.trust_pickle:
        opts["trust_pickle"] = True
    opts["threads"] = _threads(cfg)
    return opts


@contextlib.contextmanager
def _torch_threads(cfg: PredictConfig) -> Iterator[None]:
    """Apply --threads to PyTorch for this run only (its thread count is process-wide), then restore it.

    On a busy CPU, fewer intra-op threads than cores avoids OpenMP oversubscription stalls.
    """
    threads = _threads(cfg)
    if (cfg.backend or backend_for_path(cfg.weights)) != "torch":
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _make_sinks(cfg: PredictConfig, out_dir: Path, source: FrameSource) -> tuple[list[Sink], dict[str, str]]:
    from lesps_deploy.streams.sinks import JsonlSink, MaskSink, OverlaySink, TracksSink, VideoSink

    sinks: list[Sink] = []
    outputs: dict[str, str] = {}
    if cfg.save_masks:
        sinks.append(MaskSink(out_dir / "masks"))
        outputs["masks"] = str(out_dir / "masks")
    if cfg.save_overlay:
        sinks.append(OverlaySink(out_dir / "overlays"))
        outputs["overlays"] = str(out_dir / "overlays")
    if cfg.save_video:
        fps = source.fps / cfg.vid_stride if source.fps else None
        video = VideoSink(out_dir / f"{VIDEO_STEM}.{cfg.video_format}", fps, cfg.segment_seconds)
        sinks.append(video)
        outputs["video"] = str(video.file_path(0))  # with segments, the first (then _001, _002, ...)
    if cfg.jsonl:
        sinks.append(JsonlSink(out_dir / JSONL_NAME))
        outputs["detections"] = str(out_dir / JSONL_NAME)
    if cfg.track:
        sinks.append(TracksSink(out_dir / TRACKS_NAME))
        outputs["tracks"] = str(out_dir / TRACKS_NAME)
    outputs["summary"] = str(out_dir / SUMMARY_NAME)
    return sinks, outputs


def _make_tracker(cfg: PredictConfig, det: Detector, kind: str) -> Tracker | None:
    """The run's tracker (None without --track); checked against the loaded model's threshold."""
    if not cfg.track:
        return None
    from lesps_deploy.tracking.tracker import Tracker

    low = cfg.tracking.low_score
    if low is not None and low >= det.threshold:
        raise refuse(
            "low_score", low, f"must be below the detection threshold {det.threshold} of {cfg.weights}"
        )
    if kind in _IMAGE_KINDS:
        log.warning(
            "%s: tracking assumes the images are one sequence (frames of one camera); running them in %s order",
            cfg.source, "list" if kind == "list" else "name",
        )  # fmt: skip
    return Tracker(cfg.tracking)


def _summary(
    cfg: PredictConfig,
    det: Detector,
    source: FrameSource,
    stats: PipelineStats,
    out_dir: Path,
    outputs: dict,
    tracker: Tracker | None,
    state: str,
    error: str | None = None,
) -> PredictSummary:
    src = source.stats
    errors = ([error] if error else []) + src.errors + stats.errors
    wall_s = stats.wall_s or stats.elapsed_s()  # the run's length so far, while it runs
    return PredictSummary(
        out_dir=out_dir, source=cfg.source, weights=str(cfg.weights), detector=det.name,
        frames=stats.frames, dropped=stats.dropped, skipped=stats.rejected + src.skipped,
        interrupted=stats.interrupted, stopped_by=stats.stopped_by, wall_s=round(wall_s, 3),
        fps=round(stats.frames / wall_s, 2) if wall_s > 0 else 0.0, latency_ms=stats.percentiles(),
        disconnects=src.disconnects, reconnect_attempts=src.reconnect_attempts, reconnects=src.reconnects,
        gave_up=src.gave_up, errors=tuple(errors[:100]), outputs=outputs,
        tracks=tracker.stats.to_dict() if tracker is not None else None, decoded=stats.decoded,
        rejected=stats.rejected, state=state, **process_fields(),
    )  # fmt: skip


def predict(
    source: PredictConfig | str | Path,
    weights: str | Path | None = None,
    *,
    status: Callable[[PipelineStatus], None] | None = None,
    **options: Any,
) -> PredictSummary:
    """Detect targets in `source` with `weights` and write the outputs the options ask for.

    Args:
        source: image, folder, glob, list file, video, camera index, rtsp:// or http(s):// URL; or a
            whole `PredictConfig`.
        weights: .pth/.pth.tar/.pt, .onnx or .engine file; not with a `PredictConfig`.
        status: called about twice a second from the calling thread with live figures.
        **options: any other `PredictConfig` field (out, save_video, save_masks, norm, device, ...); with
            a `PredictConfig`, fields to replace.

    Returns:
        The run's summary (also in `<out>/summary.json`). Ctrl-C ends the run early with
        `interrupted=True` and every output file complete.

    Raises:
        ConfigError, SourceError, BackendError, CheckpointError: bad options, source or weights.

    Example:
        >>> summary = predict("video.mp4", "acm.onnx", save_video=True, out="runs/video")
        >>> summary.frames, summary.fps, summary.outputs["video"]
    """
    if isinstance(source, PredictConfig):
        cfg = replace(source, **options)
    elif weights is None:
        raise ConfigError("predict: give the weights file (weights=...)")
    else:
        cfg = PredictConfig(str(source), Path(weights), **options)
    check_paths(cfg)
    with _torch_threads(cfg):
        return _run(cfg, status)


def _run(cfg: PredictConfig, status: Callable[[PipelineStatus], None] | None) -> PredictSummary:
    from lesps_deploy.runtime.detector import Detector
    from lesps_deploy.sources.base import ReconnectPolicy
    from lesps_deploy.sources.sources import open_source, source_kind
    from lesps_deploy.streams.pipeline import PipelineOptions, PipelineStats, run_pipeline

    kind = source_kind(cfg.source).name  # a missing file fails here, before the model loads
    # Model first, then the source: a live stream opened before a slow model load would start with
    # seconds of stale buffered frames.
    with Detector(
        cfg.weights, device=cfg.device, backend=cfg.backend, norm=cfg.norm, threshold=cfg.threshold,
        frame_mapping=cfg.frame_mapping,
        model=cfg.model, batch_size=cfg.batch, patch_size=cfg.patch_size, **_backend_options(cfg),
    ) as det:  # fmt: skip
        tracker = _make_tracker(cfg, det, kind)
        reconnect = ReconnectPolicy(timeout_s=cfg.reconnect_timeout_s)
        with open_source(cfg.source, stride=cfg.vid_stride, reconnect=reconnect) as source:
            out_dir = claim_run_dir(cfg.out)
            sinks, outputs = _make_sinks(cfg, out_dir, source)
            opts = PipelineOptions(
                batch=cfg.batch,
                drop_frames=cfg.drop_frames,
                max_frames=cfg.max_frames,
                draw_stats=cfg.show_stats,
                workers=_workers(cfg),
            )

            def build(st: PipelineStats, state: str, error: str | None = None) -> dict[str, Any]:
                return _summary(cfg, det, source, st, out_dir, outputs, tracker, state, error).to_dict()

            live = LiveSummary(out_dir / SUMMARY_NAME, build)
            live.write(PipelineStats())  # a run killed from the start on still leaves a summary
            log.info("predict: %s -> %s with %s", cfg.source, out_dir, det.name)
            try:
                stats = run_pipeline(det, source, sinks, opts, status, tracker, snapshot=live.write)
            except BaseException as err:
                live.fail(err)
                raise
            if stats.frames == 0 and not stats.interrupted:
                # An input that yields nothing is an error, not an empty success (an empty video, a
                # folder whose every frame was refused).
                failure = _nothing_read(cfg.source, source, stats)
                live.fail(failure)
                raise failure
            state = "interrupted" if stats.interrupted else "complete"
            summary = _summary(cfg, det, source, stats, out_dir, outputs, tracker, state)
    atomic_write_json(out_dir / SUMMARY_NAME, summary.to_dict())
    if cfg.json_out is not None and str(cfg.json_out) != "-":  # '-' (stdout) is the caller's to write
        atomic_write_json(cfg.json_out, summary.to_dict())
    return summary


def _nothing_read(spec: str, source: FrameSource, stats: PipelineStats) -> SourceError:
    """The error of a run that processed no frame, naming the first reason when there is one."""
    reasons = source.stats.errors + stats.errors
    skipped = source.stats.skipped + stats.rejected
    why = f": {skipped} skipped, the first: {reasons[0]}" if reasons else " (an empty video or stream?)"
    return SourceError(f"{spec}: no frame could be read{why}")


def summary_table(summary: PredictSummary) -> Table:
    """A rich table of the run: counts, FPS, and latency p50/p90/p99 per stage."""
    from rich.table import Table

    title = (
        f"{summary.frames} frames, {summary.fps:.1f} FPS, {summary.dropped} dropped, {summary.skipped} skipped"
        + (f", interrupted ({summary.stopped_by or 'SIGINT'})" if summary.interrupted else "")
        + (f", {summary.reconnects} reconnects" if summary.disconnects else "")
    )
    caption = str(summary.out_dir)
    if summary.tracks is not None:
        tr = summary.tracks
        caption = (
            f"tracks: {tr['started']} started, {tr['confirmed']} confirmed, {tr['lost']} lost, "
            f"mean length {tr['mean_length']:.1f} frames\n{caption}"
        )
    table = Table(title=title, caption=caption)
    table.add_column("stage (ms)")
    for q in ("p50", "p90", "p99"):
        table.add_column(q, justify="right")
    for stage, pct in summary.latency_ms.items():
        table.add_row(stage, *(f"{pct[q]:.2f}" for q in ("p50", "p90", "p99")))
    return table
