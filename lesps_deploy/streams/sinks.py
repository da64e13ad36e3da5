"""Output sinks: mask PNGs, overlay PNGs, an annotated video, `detections.jsonl` and `tracks.csv`.

Every file is written atomically: PNGs through `atomic_path`, and the video and JSONL to a temporary
name beside the target that `close()` renames into place, so an interrupted run (Ctrl-C) still leaves
a playable video and a JSONL of complete lines, and a crashed one leaves no half file under the name.
"""

from __future__ import annotations

import contextlib
import json
import logging
from pathlib import Path
from typing import IO, Protocol, runtime_checkable

import cv2
import numpy as np

from lesps_deploy.data import write_mask_png
from lesps_deploy.errors import ConfigError
from lesps_deploy.io import atomic_path
from lesps_deploy.runtime.results import Result
from lesps_deploy.streams.base import Frame
from lesps_deploy.tracking.mot import mot_rows

__all__ = ["Sink", "MaskSink", "OverlaySink", "VideoSink", "JsonlSink", "TracksSink", "DEFAULT_VIDEO_FPS"]

log = logging.getLogger(__name__)

DEFAULT_VIDEO_FPS = 25.0
_FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "mp4v"}


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
        with atomic_path(self.folder / f"{self._names(frame)}.png") as tmp:
            if not cv2.imwrite(str(tmp), overlay):
                raise OSError(f"{tmp}: OpenCV could not write the overlay")

    def close(self) -> None:
        pass


class VideoSink:
    """Annotated video; opened on the first frame (its size), renamed into place on `close()`.

    Frames of another size (a folder of mixed images) are resized to the first frame's size.

    Args:
        path: output video (.mp4 -> mp4v, .avi -> MJPG).
        fps: frame rate to write (the input's, divided by the stride).
    """

    needs_overlay = True

    def __init__(self, path: str | Path, fps: float | None = None) -> None:
        self.path = Path(path)
        if self.path.suffix.lower() not in _FOURCC:
            raise ConfigError(f"{self.path}: unsupported video container; use one of {', '.join(_FOURCC)}")
        self.fps = float(fps) if fps and fps > 0 else DEFAULT_VIDEO_FPS
        self.frames = 0
        self._stack = contextlib.ExitStack()
        self._writer: cv2.VideoWriter | None = None
        self._size: tuple[int, int] | None = None

    def _open(self, width: int, height: int) -> None:
        tmp = self._stack.enter_context(atomic_path(self.path))
        fourcc = cv2.VideoWriter_fourcc(*_FOURCC[self.path.suffix.lower()])
        writer = cv2.VideoWriter(str(tmp), fourcc, self.fps, (width, height))
        if not writer.isOpened():
            raise OSError(
                f"{self.path}: OpenCV cannot open a video writer ({_FOURCC[self.path.suffix.lower()]})"
            )
        self._writer, self._size = writer, (width, height)

    def write(self, frame: Frame, result: Result, overlay: np.ndarray | None) -> None:
        if overlay is None:
            return
        if self._writer is None:
            self._open(overlay.shape[1], overlay.shape[0])
        if (overlay.shape[1], overlay.shape[0]) != self._size:
            overlay = cv2.resize(overlay, self._size, interpolation=cv2.INTER_AREA)
        self._writer.write(overlay)  # type: ignore[union-attr]
        self.frames += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()  # finishes the container (moov atom), so the file plays
            self._writer = None
        self._stack.close()  # renames the temporary file onto `path`


class _LinesSink:
    """A text file written line by line to a temporary name, flushed per frame, renamed on `close()`."""

    needs_overlay = False

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.lines = 0
        self._stack = contextlib.ExitStack()
        tmp = self._stack.enter_context(atomic_path(self.path))
        self._file: IO[str] | None = self._stack.enter_context(open(tmp, "w", encoding="utf-8"))  # noqa: SIM115

    def _lines(self, result: Result) -> list[str]:
        raise NotImplementedError

    def write(self, frame: Frame, result: Result, overlay: np.ndarray | None) -> None:
        if self._file is None:
            return
        lines = self._lines(result)
        if lines:
            self._file.write("".join(f"{line}\n" for line in lines))
            self._file.flush()
        self.lines += len(lines)

    def close(self) -> None:
        self._file = None
        self._stack.close()  # closes the file, then renames it onto `path`


class JsonlSink(_LinesSink):
    """`detections.jsonl`: one JSON object per processed frame, flushed line by line."""

    def _lines(self, result: Result) -> list[str]:
        return [json.dumps(result.to_dict(), separators=(",", ":"))]


class TracksSink(_LinesSink):
    """`tracks.csv`: MOTChallenge rows of the tracked targets (`lesps_deploy.tracking.mot`)."""

    def _lines(self, result: Result) -> list[str]:
        return mot_rows(result)
