"""Output sinks: mask PNGs, overlay PNGs, an annotated video, `detections.jsonl` and `tracks.csv`.

A run may be killed at any moment (kill -9, a power cut), so each output is written in the form that
survives it:
- PNGs (masks, overlays) are atomic per file (`atomic_path`): a file is whole or absent.
- `detections.jsonl` and `tracks.csv` are written in their final place, one `write` per frame: a
  killed run leaves valid JSONL / CSV up to the last frame written.
- The video goes straight to its final name when the container is streamable (AVI, Matroska: a
  reader needs no index written at the end), so a killed run leaves a playable file. What a kill -9
  loses depends on the writer (measured with OpenCV 5.0 here, 640x512 at 25 fps):
  - AVI (the default): Motion-JPEG written by `streams.avi.MjpegAviWriter`, one unbuffered write per
    frame and headers rewritten after each, so a kill loses at most the frame being written (killed
    after 1, 37 and 150 frames: all of them read back). MJPEG is big (about 28 KB a noisy 640x512
    frame at quality 90), and AVI 1.0 readers stop at 4 GiB, so a single-file video continues in
    `<stem>_001.avi`, ... past `MAX_FILE_BYTES`. (OpenCV's own MJPEG writer holds a 32 KiB block,
    FFmpeg's AVI muxer more: both lose frames to a kill.)
  - Matroska (mp4v through FFmpeg): about 20x smaller, but FFmpeg hands the data to the file in chunks
    of up to 1 MiB, so a kill loses the last chunk: seconds of video when frames compress well.
  - MP4/MOV need their index (moov atom) written on close: they are written under a temporary name and
    renamed when closed; a killed run leaves no video.
  With `segment_seconds`, the video is a series of files each closed (and renamed) as it fills,
  which bounds what a kill loses in time for any container and frame size.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np

from lesps_deploy.data import write_mask_png
from lesps_deploy.errors import ConfigError
from lesps_deploy.io import atomic_path, json_text
from lesps_deploy.runtime.results import Result
from lesps_deploy.sources.base import Frame
from lesps_deploy.streams.avi import MjpegAviWriter
from lesps_deploy.tracking.mot import mot_rows

__all__ = [
    "Sink",
    "MaskSink",
    "OverlaySink",
    "VideoSink",
    "letterbox",
    "JsonlSink",
    "TracksSink",
    "DEFAULT_VIDEO_FPS",
    "STREAMABLE_CONTAINERS",
    "MAX_FILE_BYTES",
]

log = logging.getLogger(__name__)

DEFAULT_VIDEO_FPS = 25.0
# container -> mp4v through OpenCV's FFmpeg writer; AVI is written by `streams.avi.MjpegAviWriter`.
_FOURCC = {".avi": "MJPG", ".mkv": "mp4v", ".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v"}
# Containers a reader can play without an index written on close: after kill -9, FFmpeg (OpenCV)
# read back every frame that had reached the file, from Matroska and from AVI (tested, see the
# module docstring); an MP4 without its moov atom would not open at all.
STREAMABLE_CONTAINERS = (".avi", ".mkv")
# A single-file AVI continues in a new file past this (AVI 1.0 readers stop at 4 GiB).
MAX_FILE_BYTES = 1 << 30
_SIZE_CHECK_FRAMES = 32  # frames between file size checks


@runtime_checkable
class Sink(Protocol):
    """Receives every processed frame in order (from the pipeline's writer thread)."""

    needs_overlay: bool

    def write(self, frame: Frame, result: Result, overlay: np.ndarray | None) -> None: ...

    def close(self) -> None: ...


class _UniqueNames:
    """File stems that never collide (two list entries `a/x.png` and `b/x.png` both named x)."""

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def __call__(self, frame: Frame) -> str:
        name = frame.name or f"frame_{frame.index:06d}"
        if name in self._seen:
            name = f"{name}_{frame.index:06d}"
        self._seen.add(name)
        return name


class MaskSink:
    """Binary masks as 0/255 PNGs, `<dir>/<frame name>.png`."""

    needs_overlay = False

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._names = _UniqueNames()

    def write(self, frame: Frame, result: Result, overlay: np.ndarray | None) -> None:
        write_mask_png(self.folder / f"{self._names(frame)}.png", result.mask)

    def close(self) -> None:
        pass


class OverlaySink:
    """Annotated frames (mask tint, targets circled) as PNGs, `<dir>/<frame name>.png`."""

    needs_overlay = True

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._names = _UniqueNames()

    def write(self, frame: Frame, result: Result, overlay: np.ndarray | None) -> None:
        path = self.folder / f"{self._names(frame)}.png"
        # Encoded in memory, written as bytes: cv2.imwrite on a full disk only returns False (and libpng
        # prints to stderr), while a file write raises the OSError that names the file and the cause.
        ok, data = cv2.imencode(".png", overlay)
        if not ok:
            raise OSError(f"{path}: OpenCV could not encode the overlay as PNG")
        with atomic_path(path) as tmp:
            tmp.write_bytes(data.tobytes())

    def close(self) -> None:
        pass


def letterbox(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`image` scaled by one factor to fit `size` (width, height), centred on black."""
    width, height = size
    h, w = image.shape[:2]
    scale = min(width / w, height / h)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    scaled = cv2.resize(image, (new_w, new_h), interpolation=interp)
    out = np.zeros((height, width, *image.shape[2:]), image.dtype)
    top, left = (height - new_h) // 2, (width - new_w) // 2
    out[top : top + new_h, left : left + new_w] = scaled.reshape(new_h, new_w, *image.shape[2:])
    return out


class VideoSink:
    """Annotated video, opened on the first frame (its size); see the module docstring for kills.

    Frames of another size (a folder of mixed images) are letterboxed into the first frame's size:
    scaled by one factor to fit, centred, the margins black, so no frame is distorted; said once.

    Args:
        path: output video (.avi -> MJPG, .mkv -> mp4v: streamable; .mp4/.mov/.m4v -> mp4v, renamed
            into place on close).
        fps: frame rate to write (the input's, divided by the stride).
        segment_seconds: write `<stem>_000<suffix>`, `<stem>_001<suffix>`, ... of this many seconds of
            video each, every one closed as it fills (None or 0: one file).
    """

    needs_overlay = True

    def __init__(
        self, path: str | Path, fps: float | None = None, segment_seconds: float | None = None
    ) -> None:
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in _FOURCC:
            raise ConfigError(f"{self.path}: unsupported video container; use one of {', '.join(_FOURCC)}")
        if segment_seconds is not None and segment_seconds < 0:
            raise ConfigError(f"segment length {segment_seconds} s must be >= 0 (0: one file)")
        self.fps = float(fps) if fps and fps > 0 else DEFAULT_VIDEO_FPS
        self.streamable = suffix in STREAMABLE_CONTAINERS
        self.segment_frames = max(1, round(segment_seconds * self.fps)) if segment_seconds else 0
        self.frames = 0
        self.files: list[Path] = []  # the files written so far (segments in order)
        self._stack = contextlib.ExitStack()
        self._writer: cv2.VideoWriter | None = None
        self._size: tuple[int, int] | None = None
        self._in_file = 0
        self._said_letterbox = False

    def file_path(self, index: int) -> Path:
        """The file of segment `index` (`path` itself for the first file without segments)."""
        if not self.segment_frames and index == 0:
            return self.path
        return self.path.with_name(f"{self.path.stem}_{index:03d}{self.path.suffix}")

    def _open(self) -> None:
        path = self.file_path(len(self.files))
        # A streamable file plays while it grows; an MP4 only once its index is written on close.
        target = path if self.streamable else self._stack.enter_context(atomic_path(path))
        code = _FOURCC[self.path.suffix.lower()]
        if code == "MJPG":  # every frame reaches the file as it is written (streams.avi)
            writer: Any = MjpegAviWriter(target, self.fps, self._size)
        else:
            writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*code), self.fps, self._size)
        if not writer.isOpened():
            raise OSError(f"{path}: OpenCV cannot open a video writer ({code})")
        self._writer, self._in_file = writer, 0
        self.files.append(path)

    def write(self, frame: Frame, result: Result, overlay: np.ndarray | None) -> None:
        if overlay is None:
            return
        if self._size is None:
            self._size = (overlay.shape[1], overlay.shape[0])
        if self._writer is None:
            self._open()
        if (overlay.shape[1], overlay.shape[0]) != self._size:
            if not self._said_letterbox:
                self._said_letterbox = True
                log.warning(
                    "%s: frame %s is %dx%d, the video %dx%d (its first frame's size): frames of another size "
                    "are letterboxed (scaled to fit, centred, black margins)",
                    self.path, frame.name, overlay.shape[1], overlay.shape[0], *self._size,
                )  # fmt: skip
            overlay = letterbox(overlay, self._size)
        self._writer.write(overlay)  # type: ignore[union-attr]
        self.frames += 1
        self._in_file += 1
        if self.segment_frames and self._in_file >= self.segment_frames or self._too_big():
            self._finish_file()

    def _too_big(self) -> bool:
        """A single-file AVI past MAX_FILE_BYTES (checked every few frames): continue in a new file."""
        if self.segment_frames or self._in_file % _SIZE_CHECK_FRAMES or self.path.suffix.lower() != ".avi":
            return False
        return self.files[-1].stat().st_size >= MAX_FILE_BYTES

    def _finish_file(self) -> None:
        if self._writer is not None:
            self._writer.release()  # finishes the container (MP4: the moov atom), so the file plays
            self._writer = None
        self._stack.close()  # MP4/MOV: renames the temporary file onto its name

    def close(self) -> None:
        self._finish_file()


class _LinesSink:
    """A text file written in its final place, each frame's lines in one `write` (no buffer to lose).

    A killed run leaves every line written before the kill; a line is never cut, because each goes to
    the file in a single unbuffered write. An existing file of the same name is replaced.
    """

    needs_overlay = False

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.lines = 0
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)

    def _lines(self, result: Result) -> list[str]:
        raise NotImplementedError

    def write(self, frame: Frame, result: Result, overlay: np.ndarray | None) -> None:
        if self._fd is None:
            return
        lines = self._lines(result)
        if not lines:
            return
        data = "".join(f"{line}\n" for line in lines).encode("utf-8")
        while data:  # a regular file takes it whole; the loop only guards against a short write
            data = data[os.write(self._fd, data) :]
        self.lines += len(lines)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class JsonlSink(_LinesSink):
    """`detections.jsonl`: one JSON object per processed frame, written line by line in place."""

    def _lines(self, result: Result) -> list[str]:
        return [json_text(result.to_dict(), compact=True)]


class TracksSink(_LinesSink):
    """`tracks.csv`: MOTChallenge rows of the tracked targets (`lesps_deploy.tracking.mot`)."""

    def _lines(self, result: Result) -> list[str]:
        return mot_rows(result)
