"""Frame sources from a SOURCE string: image, folder, glob, list file, video file, camera, RTSP, HTTP.

`open_source(spec)` walks `SOURCE_KINDS` (a table of (name, test, factory) rows) and opens the first
kind whose test matches. File sources never drop frames; live ones (camera, rtsp, http) may.

Example:
    >>> with open_source("clip.mp4", stride=2) as src:
    ...     for frame in src:
    ...         print(frame.index, frame.image.shape)
"""

from __future__ import annotations

import glob as globlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2

from lesps_deploy.data import IMAGE_SUFFIXES, read_image
from lesps_deploy.errors import LespsError, SourceError
from lesps_deploy.sources.base import Frame, FrameSource, ReconnectPolicy
from lesps_deploy.sources.live import CaptureSource, MjpegSource

__all__ = [
    "VIDEO_SUFFIXES",
    "SourceKind",
    "SOURCE_KINDS",
    "ImageListSource",
    "VideoFileSource",
    "open_source",
    "source_kind",
]

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".m4v", ".mpg", ".mpeg", ".wmv", ".webm", ".ts", ".flv")
_NETWORK_VIDEO_SUFFIXES = (*VIDEO_SUFFIXES, ".m3u8")
# Consecutive undecodable frames after which a video file is treated as ended (a truncated tail).
_MAX_BAD_RUN = 25


class ImageListSource(FrameSource):
    """Still images read like the evaluator reads them (PIL `convert('I')`: luma, 16-bit kept)."""

    def __init__(self, paths: list[Path], name: str, stride: int = 1) -> None:
        super().__init__(name, stride)
        self.paths = paths[:: self.stride]
        self.frame_count = len(self.paths)

    def _frames(self) -> Iterator[Frame]:
        for i, path in enumerate(self.paths):
            try:
                image = read_image(path)
            except LespsError as err:
                self.stats.skip(str(err))
                continue
            yield Frame(image, i * self.stride, time.time(), path.stem)


class VideoFileSource(FrameSource):
    """A video file (or a network video URL) decoded by OpenCV/FFmpeg; every frame is kept."""

    def __init__(self, path: str | Path, stride: int = 1) -> None:
        target = str(path)
        super().__init__(Path(target).stem if "://" not in target else target.rsplit("/", 1)[-1], stride)
        self.path = target
        self._cap = cv2.VideoCapture(target, cv2.CAP_FFMPEG)
        if not self._cap.isOpened():
            raise SourceError(f"{target}: cannot open video (unknown format or corrupt file)")
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.fps = fps if fps and 0 < fps < 1000 else None
        self.frame_count = count if count > 0 else None

    def _frames(self) -> Iterator[Frame]:
        index = 0
        bad: list[int] = []  # wanted frames of the current run of undecodable ones
        bad_run = 0
        while self._cap is not None and not self.stopped:
            wanted = index % self.stride == 0
            # grab() skips strided frames without the colour conversion and copy of retrieve()
            ok = self._cap.grab()
            image = self._cap.retrieve()[1] if ok and wanted else None
            if not ok or (wanted and image is None):
                if self.frame_count is None or index >= self.frame_count or bad_run >= _MAX_BAD_RUN:
                    break
                bad_run += 1
                if wanted:
                    bad.append(index)
                index += 1
                continue
            for lost in bad:  # frames the video recovered from: each was a corrupt frame of its own
                self.stats.skip(f"{self.path} frame {lost}: undecodable frame")
            bad, bad_run = [], 0
            if wanted:
                yield Frame(image, index, time.time(), f"{self.name}_{index:06d}")
            index += 1
        self._say_truncated(bad, index)

    def _say_truncated(self, bad: list[int], index: int) -> None:
        """One line for the frames the header promised past the last decodable one (a truncated file)."""
        if self.stopped:
            return
        missing = (
            len(range(bad[0] if bad else index, self.frame_count or 0, self.stride))
            if self.frame_count
            else 0
        )
        if missing:
            first = bad[0] if bad else index
            self.stats.skip_many(
                missing,
                f"{self.path}: truncated or damaged after frame {first - 1}: {missing} of the "
                f"{self.frame_count} frames its header lists could not be decoded",
            )

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def _list_file_paths(path: Path) -> list[Path]:
    """Paths listed one per line (relative ones are relative to the list file); '#' starts a comment."""
    paths = []
    for line in path.read_text(encoding="utf-8").splitlines():
        entry = line.split("#", 1)[0].strip()
        if entry:
            p = Path(entry).expanduser()
            paths.append(p if p.is_absolute() else path.parent / p)
    return paths


def _glob_paths(pattern: str) -> list[Path]:
    return sorted(
        Path(p) for p in globlib.glob(pattern, recursive=True) if Path(p).suffix.lower() in IMAGE_SUFFIXES
    )


def _nonempty(paths: list[Path], spec: str) -> list[Path]:
    if not paths:
        raise SourceError(f"{spec}: no images found (expected {', '.join(IMAGE_SUFFIXES)})")
    return paths


def _is_url(spec: str, *schemes: str) -> bool:
    return spec.lower().startswith(tuple(f"{s}://" for s in schemes))


def _open_http(spec: str, stride: int, reconnect: ReconnectPolicy) -> FrameSource:
    path = spec.split("?", 1)[0].lower()
    if path.endswith(_NETWORK_VIDEO_SUFFIXES):
        return VideoFileSource(spec, stride)
    return MjpegSource(spec, stride, reconnect)


@dataclass(frozen=True)
class SourceKind:
    """One row of the source table: a name, a test on the SOURCE string, and how to open it."""

    name: str
    matches: Callable[[str], bool]
    open: Callable[[str, int, ReconnectPolicy], FrameSource]


SOURCE_KINDS: tuple[SourceKind, ...] = (
    SourceKind("camera", lambda s: s.strip().isdigit(), lambda s, k, r: CaptureSource(int(s), k, r)),
    SourceKind("rtsp", lambda s: _is_url(s, "rtsp", "rtsps", "rtmp", "udp", "tcp"), CaptureSource),
    SourceKind("http", lambda s: _is_url(s, "http", "https"), _open_http),
    SourceKind("folder", lambda s: Path(s).is_dir(), lambda s, k, r: ImageListSource(_nonempty(_image_files(Path(s)), s), Path(s).name, k)),
    SourceKind("video", lambda s: Path(s).is_file() and s.lower().endswith(VIDEO_SUFFIXES), lambda s, k, r: VideoFileSource(s, k)),
    SourceKind("image", lambda s: Path(s).is_file() and s.lower().endswith(IMAGE_SUFFIXES), lambda s, k, r: ImageListSource([Path(s)], Path(s).stem, k)),
    SourceKind("list", lambda s: Path(s).is_file() and s.lower().endswith((".txt", ".lst")), lambda s, k, r: ImageListSource(_nonempty(_list_file_paths(Path(s)), s), Path(s).stem, k)),
    SourceKind("glob", lambda s: any(c in s for c in "*?["), lambda s, k, r: ImageListSource(_nonempty(_glob_paths(s), s), "glob", k)),
)  # fmt: skip


def source_kind(spec: str | int | Path) -> SourceKind:
    """The table row that handles `spec`.

    Raises:
        SourceError: nothing matches (e.g. a missing file), with the accepted forms in the hint.
    """
    text = str(spec)
    for kind in SOURCE_KINDS:
        if kind.matches(text):
            return kind
    what = "file not found" if not Path(text).exists() else "unsupported file type"
    raise SourceError(
        f"{text}: {what}",
        hint="SOURCE is an image, a folder, a glob, a .txt list of paths, a video file, a camera index, "
        "or an rtsp:// / http(s):// URL",
    )


def open_source(
    spec: str | int | Path, stride: int = 1, reconnect: ReconnectPolicy | None = None
) -> FrameSource:
    """Open a frame source from a SOURCE string (see `SOURCE_KINDS`).

    Args:
        spec: image, folder, glob, list file, video file, camera index, rtsp:// or http(s):// URL.
        stride: keep every `stride`-th frame (`--vid-stride`).
        reconnect: backoff policy for live sources.

    Raises:
        SourceError: unknown or unopenable source.
    """
    kind = source_kind(spec)
    source = kind.open(str(spec), stride, reconnect or ReconnectPolicy())
    log.debug("opened %s source %s", kind.name, source.name)
    return source
