"""Streams: frame sources (files, cameras, RTSP, HTTP MJPEG), output sinks, drawing and the pipeline."""

from lesps_deploy._lazy import lazy_face

_LAZY = """
    .base:     Frame FrameSource ReconnectPolicy SourceStats
    .live:     CaptureSource MjpegSource
    .pipeline: PipelineOptions PipelineStats PipelineStatus run_pipeline
    .sinks:    JsonlSink MaskSink OverlaySink Sink TracksSink VideoSink
    .sources:  SOURCE_KINDS ImageListSource VideoFileSource open_source
    .viz:      draw_result to_display
"""

__getattr__, __dir__, __all__ = lazy_face(__name__, _LAZY)
