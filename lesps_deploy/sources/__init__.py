"""Frame sources: images, folders, globs, list files, videos, cameras, RTSP and HTTP MJPEG streams.

Below the runtime, so `Detector.stream("video.mp4")` opens a SOURCE string with the same opener as
`lesps predict`; `lesps_deploy.streams` (pipeline, sinks) offers these names too.
"""

from lesps_deploy._lazy import lazy_face

_LAZY = """
    .base:     Frame FrameSource ReconnectPolicy SourceStats
    .live:     CaptureSource MjpegSource
    .sources:  SOURCE_KINDS ImageListSource VideoFileSource open_source source_kind
"""

__getattr__, __dir__, __all__ = lazy_face(__name__, _LAZY)
