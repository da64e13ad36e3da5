"""Motion-JPEG AVI written frame by frame straight to the file, its headers kept current: kill-safe video.

OpenCV's writers hold encoded data before it reaches the file (FFmpeg's muxers up to 1 MiB, OpenCV's
own MJPEG writer a 32 KiB block), so a kill -9 loses the frames they held. Here each frame is one JPEG
(`cv2.imencode`) written as one AVI chunk with one unbuffered `os.write`, and after every chunk the
RIFF and `movi` sizes and the frame counts in the headers are rewritten in place. A killed run
therefore leaves a valid AVI (without the optional `idx1` index, which readers do without) holding
every frame written before the kill; `close` appends the index and flags it.

Layout (AVI 1.0, one video stream): RIFF 'AVI ' { LIST 'hdrl' { avih, LIST 'strl' { strh, strf } },
LIST 'movi' { '00dc' chunks }, idx1 }. AVI 1.0 readers stop at 4 GiB; `streams.sinks.VideoSink`
starts a new file well before.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import cv2
import numpy as np

__all__ = ["MjpegAviWriter", "JPEG_QUALITY"]

JPEG_QUALITY = 90  # about 20-47 KB a noisy 640x512 overlay frame
_AVIF_HASINDEX = 0x10
_AVIIF_KEYFRAME = 0x10
# Byte offsets of the fields rewritten after every frame (fixed by the header layout below).
_RIFF_SIZE, _AVIH_TOTAL_FRAMES, _STRH_LENGTH, _MOVI_SIZE, _AVIH_FLAGS = 4, 48, 140, 216, 44
_MOVI_START = 220  # the 'movi' fourcc: idx1 offsets count from here
_HEADER_BYTES = 224


def _chunk(fourcc: bytes, data: bytes) -> bytes:
    return fourcc + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")


def _header(width: int, height: int, fps: float) -> bytes:
    rate, scale = round(fps * 1000), 1000
    avih = struct.pack(
        "<10I16x", round(1e6 / fps), 0, 0, 0, 0, 0, 1, 0, width, height
    )  # µs/frame, max bytes/s, padding, flags, total frames, initial frames, streams, buffer, w, h
    strh = b"vidsMJPG" + struct.pack(
        "<IHHIIIIIIII4h", 0, 0, 0, 0, scale, rate, 0, 0, 0, 0xFFFFFFFF, 0, 0, 0, width, height
    )  # flags, priority, language, initial frames, scale, rate, start, length, buffer, quality, sample size
    strf = struct.pack("<IiiHH4sIiiII", 40, width, height, 1, 24, b"MJPG", width * height * 3, 0, 0, 0, 0)
    strl = b"strl" + _chunk(b"strh", strh) + _chunk(b"strf", strf)
    hdrl = b"hdrl" + _chunk(b"avih", avih) + _chunk(b"LIST", strl)
    head = (
        b"RIFF"
        + struct.pack("<I", 0)
        + b"AVI "
        + _chunk(b"LIST", hdrl)
        + b"LIST"
        + struct.pack("<I", 4)
        + b"movi"
    )
    assert len(head) == _HEADER_BYTES  # the offsets above depend on it
    return head


class MjpegAviWriter:
    """`cv2.VideoWriter`-like writer of a Motion-JPEG AVI that a kill -9 cannot leave unplayable.

    Args:
        path: the .avi file (replaced if it exists).
        fps: frame rate recorded in the headers.
        size: (width, height) of every frame.
        quality: JPEG quality 1-100.
    """

    def __init__(
        self, path: str | Path, fps: float, size: tuple[int, int], quality: int = JPEG_QUALITY
    ) -> None:
        self.path, self.size, self.quality = Path(path), size, quality
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        self._end = _HEADER_BYTES
        self._index: list[tuple[int, int]] = []  # (offset from 'movi', size) per frame
        os.write(self._fd, _header(size[0], size[1], fps))

    def isOpened(self) -> bool:  # noqa: N802 - the cv2.VideoWriter name
        return self._fd is not None

    def write(self, frame: np.ndarray) -> None:
        """Encode `frame` (BGR or grey, `size`) and append it; the headers then count it."""
        if self._fd is None:
            raise ValueError(f"{self.path}: writer is closed")
        ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            raise OSError(f"{self.path}: JPEG encoding failed")
        chunk = _chunk(b"00dc", jpeg.tobytes())
        os.write(self._fd, chunk)  # one unbuffered write: the chunk is in the file, or not at all
        self._index.append((self._end - _MOVI_START, len(jpeg)))
        self._end += len(chunk)
        self._update_sizes()

    def _update_sizes(self) -> None:
        fd, frames = self._fd, struct.pack("<I", len(self._index))
        os.pwrite(fd, struct.pack("<I", self._end - 8), _RIFF_SIZE)
        os.pwrite(fd, struct.pack("<I", self._end - _MOVI_START), _MOVI_SIZE)  # 'movi' and the chunks
        os.pwrite(fd, frames, _AVIH_TOTAL_FRAMES)
        os.pwrite(fd, frames, _STRH_LENGTH)

    def release(self) -> None:
        """Append the idx1 index, flag it in the main header and close the file (idempotent)."""
        if self._fd is None:
            return
        entries = b"".join(struct.pack("<4sIII", b"00dc", _AVIIF_KEYFRAME, off, n) for off, n in self._index)
        os.write(self._fd, _chunk(b"idx1", entries))
        os.pwrite(self._fd, struct.pack("<I", self._end + 8 + len(entries) - 8), _RIFF_SIZE)
        os.pwrite(self._fd, struct.pack("<I", _AVIF_HASINDEX), _AVIH_FLAGS)
        os.close(self._fd)
        self._fd = None
