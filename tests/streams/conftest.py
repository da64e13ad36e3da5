"""Fixtures for stream tests: synthetic infrared-like videos with moving point targets, a real MJPEG HTTP
server on 127.0.0.1 (stands in for a network camera), a tiny real PyTorch detector, the official ACM as
.pth and .onnx, and `invoke_predict` (the `lesps predict` command through CliRunner).

Video backgrounds are NUAA-SIRST frames (resized), so the network sees the clutter it was trained on;
targets are small Gaussian blobs moving along straight lines.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from typer.testing import CliRunner, Result

from lesps_deploy.cli import app
from lesps_deploy.data import find_image, read_image, read_split
from lesps_deploy.metadata import ModelMeta
from lesps_deploy.runtime.detector import Detector
from lesps_deploy.runtime.torch_backend import TorchBackend


def _blob(h: int, w: int, x: float, y: float, sigma: float) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2))


def make_frames(
    backgrounds: Sequence[np.ndarray], n: int = 60, size: tuple[int, int] = (256, 320), seed: int = 0
):
    """`n` BGR uint8 frames (H, W = size): backgrounds cross-faded, 3 blobs moving across."""
    h, w = size
    rng = np.random.default_rng(seed)
    bgs = [cv2.resize(b.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA) for b in backgrounds]
    starts = rng.uniform([20, 20], [w - 20, h - 20], size=(3, 2))
    speeds = rng.uniform(-2.0, 2.0, size=(3, 2))
    frames = []
    for i in range(n):
        k = i * (len(bgs) - 1) / max(1, n - 1)
        lo = int(np.floor(k))
        hi = min(lo + 1, len(bgs) - 1)
        img = bgs[lo] * (1 - (k - lo)) + bgs[hi] * (k - lo)
        for (x0, y0), (vx, vy) in zip(starts, speeds, strict=True):
            x, y = (x0 + vx * i) % w, (y0 + vy * i) % h
            img = img + 120.0 * _blob(h, w, x, y, 1.6)
        gray = np.clip(img, 0, 255).astype(np.uint8)
        frames.append(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR))
    return frames


def write_video(path: Path, frames: Sequence[np.ndarray], fps: float = 25.0) -> Path:
    h, w = frames[0].shape[:2]
    fourcc = cv2.VideoWriter_fourcc(*("MJPG" if path.suffix == ".avi" else "mp4v"))
    writer = cv2.VideoWriter(str(path), fourcc, fps, (w, h))
    assert writer.isOpened()
    for f in frames:
        writer.write(f)
    writer.release()
    return path


def invoke_predict(*args: object) -> Result:
    """`lesps predict ARGS` through CliRunner: a library error is raised as itself, any other exit fails."""
    result = CliRunner().invoke(app, ["predict", *map(str, args)])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return result


class MjpegServer:
    """A real MJPEG HTTP server on 127.0.0.1 for tests.

    Each accepted connection plays the next entry of `plan` (frames to send before cutting the
    connection in the middle of a part). Connections beyond the plan get a 503 and are closed, so a
    client sees its reconnect attempts fail until it gives up.

    Args:
        frames: encoded frames (JPEG bytes) served in a loop.
        plan: frames per connection before the cut.
        fps: send rate.
        content_length: send Content-Length headers (else parts end at the next boundary).
    """

    def __init__(
        self, frames: Sequence[bytes], plan: Sequence[int], fps: float = 50.0, content_length: bool = True
    ):
        self.frames, self.plan, self.fps, self.content_length = list(frames), list(plan), fps, content_length
        self.connections = 0
        self.refused = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server API)
                with server._lock:
                    conn = server.connections
                    server.connections += 1
                if conn >= len(server.plan):
                    server.refused += 1
                    self.send_error(503, "stream over")
                    return
                server._serve(self, server.plan[conn], conn)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/stream.mjpg"
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def _serve(self, h: BaseHTTPRequestHandler, count: int, conn: int) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        h.end_headers()
        try:
            for i in range(count + 1):
                data = self.frames[(conn * 1000 + i) % len(self.frames)]
                head = b"--frame\r\nContent-Type: image/jpeg\r\n"
                if self.content_length:
                    head += f"Content-Length: {len(data)}\r\n".encode()
                part = head + b"\r\n" + data + b"\r\n"
                if i == count:  # the cut: half a part, then the socket goes away
                    h.wfile.write(part[: len(part) // 2])
                    h.wfile.flush()
                    break
                h.wfile.write(part)
                h.wfile.flush()
                threading.Event().wait(1.0 / self.fps)
        except OSError:
            return
        finally:
            h.close_connection = True
            with contextlib.suppress(OSError):
                h.connection.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> MjpegServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class LocalContrast(nn.Module):
    """A parameter-free stand-in network: high probability where a pixel outshines its 5x5 mean."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(4.0 * (x - F.avg_pool2d(x, 5, 1, 2)) - 3.0)


@pytest.fixture
def tiny_detector() -> Detector:
    meta = ModelMeta(model="LocalContrast", mean=90.0, std=40.0)
    return Detector.from_backend(TorchBackend.from_module(LocalContrast(), meta), batch_size=4)


@pytest.fixture(scope="session")
def tiny_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`LocalContrast` as a real ONNX file with its metadata (no ../shared needed)."""
    from lesps_deploy.export.onnx import module_to_onnx

    meta = ModelMeta(model="LocalContrast", mean=90.0, std=40.0)
    return module_to_onnx(LocalContrast(), meta, tmp_path_factory.mktemp("tiny") / "local_contrast.onnx")


@pytest.fixture(scope="session")
def small_frames() -> list[np.ndarray]:
    """12 BGR 64x80 frames with moving blobs on a flat background (no ../shared needed)."""
    return make_frames([np.full((64, 80), 90.0), np.full((64, 80), 70.0)], n=12, size=(64, 80))


@pytest.fixture
def mjpeg_server() -> Iterator[Callable[..., MjpegServer]]:
    """Factory: `mjpeg_server(frames, plan, fps=50, content_length=True)` -> a running server."""
    started: list[MjpegServer] = []

    def start(*args: object, **kwargs: object) -> MjpegServer:
        server = MjpegServer(*args, **kwargs).__enter__()
        started.append(server)
        return server

    yield start
    for server in started:
        server.__exit__()


@pytest.fixture
def jpeg_frames() -> list[bytes]:
    """10 JPEG frames 48x64; frame 3 is corrupt."""
    out = [cv2.imencode(".jpg", np.full((48, 64), 20 * i, np.uint8))[1].tobytes() for i in range(10)]
    out[3] = b"\xff\xd8 not a jpeg"
    return out


@pytest.fixture(scope="session")
def small_video(tmp_path_factory: pytest.TempPathFactory, small_frames: list[np.ndarray]) -> Path:
    return write_video(tmp_path_factory.mktemp("video") / "small.avi", small_frames, fps=10.0)


@pytest.fixture(scope="session")
def nuaa_video(tmp_path_factory: pytest.TempPathFactory, nuaa_dir: Path) -> Path:
    """The acceptance clip: 60 frames 320x256, 25 fps, three targets moving over NUAA-SIRST scenes."""
    names = read_split(nuaa_dir, "test")[:3]
    frames = make_frames([read_image(find_image(nuaa_dir, n)) for n in names], n=60, size=(256, 320))
    return write_video(tmp_path_factory.mktemp("video") / "nuaa_clip.mp4", frames, fps=25.0)


@pytest.fixture(autouse=True, scope="module")
def _one_thread(one_torch_thread: None) -> None:
    """Every module here runs PyTorch with one thread (see tests/conftest.py)."""
