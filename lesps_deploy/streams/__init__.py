"""Streams: frame sources (files, cameras, RTSP, HTTP MJPEG), output sinks, drawing and the pipeline."""

from lesps_deploy._lazy import exported_names, lazy_exports

_LAZY = {
    ".base": (
        "Frame",
        "FrameSource",
        "ReconnectPolicy",
        "SourceStats",
    ),
    ".live": (
        "CaptureSource",
        "MjpegSource",
    ),
    ".pipeline": (
        "PipelineOptions",
        "PipelineStats",
        "PipelineStatus",
        "run_pipeline",
    ),
    ".sinks": (
        "JsonlSink",
        "MaskSink",
        "OverlaySink",
        "Sink",
        "VideoSink",
    ),
    ".sources": (
        "SOURCE_KINDS",
        "ImageListSource",
        "VideoFileSource",
        "open_source",
    ),
    ".viz": (
        "draw_result",
        "to_display",
    ),
}

__all__ = exported_names(_LAZY)
__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
