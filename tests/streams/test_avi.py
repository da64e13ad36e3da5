"""`MjpegAviWriter`: a closed file is a complete indexed AVI; a killed writer's file still plays whole."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from lesps_deploy.streams.avi import MjpegAviWriter


def _frames(n: int, size: tuple[int, int] = (96, 80)) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        frame = rng.integers(40, 80, (size[1], size[0], 3), dtype=np.uint8)
        cv2.circle(frame, (5 + 3 * i, 40), 4, (255, 255, 255), -1)
        out.append(frame)
    return out


def _read(path: Path) -> tuple[list[np.ndarray], float, int]:
    # Imported here: a child process imports this module with tests/streams first on its path.
    from conftest import read_video

    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    fps, count = cap.get(cv2.CAP_PROP_FPS), int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.release()
    return read_video(path, cv2.CAP_FFMPEG), fps, count


def test_closed_file_reads_back_every_frame_with_fps_count_and_index(tmp_path: Path) -> None:
    path = tmp_path / "v.avi"
    frames = _frames(20)
    writer = MjpegAviWriter(path, 12.5, (96, 80))
    for frame in frames:
        writer.write(frame)
    writer.release()
    writer.release()  # idempotent
    back, fps, count = _read(path)
    assert (len(back), fps, count) == (20, 12.5, 20)

    def blur(image: np.ndarray) -> np.ndarray:  # JPEG drops the pixel noise; the picture stays
        return cv2.GaussianBlur(image, (9, 9), 0).astype(float)

    assert max(float(np.abs(blur(a) - blur(b)).mean()) for a, b in zip(back, frames, strict=True)) < 3
    raw = path.read_bytes()
    assert raw[:4] == b"RIFF" and int.from_bytes(raw[4:8], "little") == len(raw) - 8 and b"idx1" in raw
    with pytest.raises(ValueError, match="closed"):
        writer.write(frames[0])


@pytest.mark.parametrize("n", [1, 7, 30])
def test_a_killed_writer_leaves_every_written_frame_playable(tmp_path: Path, n: int) -> None:
    """The writer process ends with os._exit (what SIGKILL does to buffers: nothing is flushed or closed)."""
    path = tmp_path / "killed.avi"
    code = (
        "import os, sys, numpy as np\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from test_avi import _frames\n"
        "from lesps_deploy.streams.avi import MjpegAviWriter\n"
        f"w = MjpegAviWriter({str(path)!r}, 25.0, (96, 80))\n"
        f"[w.write(f) for f in _frames({n})]\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    back, fps, count = _read(path)
    assert (len(back), fps, count) == (n, 25.0, n)
    assert b"idx1" not in path.read_bytes()
