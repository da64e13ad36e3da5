"""Streams: output sinks, drawing and the pipeline; frame sources (from `lesps_deploy.sources`) too."""

from lesps_deploy._lazy import lazy_face

_LAZY = """
    lesps_deploy.sources.base:    Frame FrameSource ReconnectPolicy SourceStats
    lesps_deploy.sources.live:    CaptureSource MjpegSource
    lesps_deploy.sources.sources: SOURCE_KINDS ImageListSource VideoFileSource open_source
    .pipeline: PipelineOptions PipelineStats PipelineStatus run_pipeline
    .sinks:    JsonlSink MaskSink OverlaySink Sink TracksSink VideoSink
    .viz:      draw_result to_display
"""

__getattr__, __dir__, __all__ = lazy_face(__name__, _LAZY)
