"""Streams: frame sources (files, cameras, RTSP, HTTP MJPEG), output sinks, drawing and the pipeline."""

from lesps_deploy.streams.base import Frame, FrameSource, ReconnectPolicy, SourceStats
from lesps_deploy.streams.live import CaptureSource, MjpegSource
from lesps_deploy.streams.pipeline import PipelineOptions, PipelineStats, PipelineStatus, run_pipeline
from lesps_deploy.streams.sinks import JsonlSink, MaskSink, OverlaySink, Sink, VideoSink
from lesps_deploy.streams.sources import SOURCE_KINDS, ImageListSource, VideoFileSource, open_source
from lesps_deploy.streams.viz import draw_result, to_display

__all__ = [
    "SOURCE_KINDS",
    "CaptureSource",
    "Frame",
    "FrameSource",
    "ImageListSource",
    "JsonlSink",
    "MaskSink",
    "MjpegSource",
    "OverlaySink",
    "PipelineOptions",
    "PipelineStats",
    "PipelineStatus",
    "ReconnectPolicy",
    "Sink",
    "SourceStats",
    "VideoFileSource",
    "VideoSink",
    "draw_result",
    "open_source",
    "run_pipeline",
    "to_display",
]
