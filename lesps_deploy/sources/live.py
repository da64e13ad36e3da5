"""Live sources: cameras and RTSP through OpenCV, HTTP(S) MJPEG through our own multipart reader.

A lost connection is retried with exponential backoff (`ReconnectPolicy`) for a bounded time, then the
source ends cleanly so the pipeline can write its summary. The first connection is made when the
source is created, and failing it is an error: a wrong URL or camera index should say so at once,
before any output is created, rather than retry.
"""

from __future__ import annotations

import http.client
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import cv2
import numpy as np

from lesps_deploy.errors import SourceError
from lesps_deploy.sources.base import Frame, FrameSource, ReconnectPolicy

__all__ = ["LiveSource", "CaptureSource", "MjpegSource", "decode_image_bytes"]

log = logging.getLogger(__name__)

# Network errors that mean "the connection is gone": retry, never crash the run.
_LOST = (OSError, EOFError, http.client.HTTPException, urllib.error.URLError, TimeoutError)


def decode_image_bytes(data: bytes) -> np.ndarray | None:
    """Decode an encoded image (JPEG/PNG, 8 or 16 bit) with OpenCV; None when corrupt."""
    if not data:
        return None
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)


class LiveSource(FrameSource):
    """A source that connects, reads until the connection drops, and reconnects with backoff.

    Subclasses implement `_connect()` (raise `SourceError` or a network error on failure),
    `_read_images()` (yield decoded images or None for a corrupt one; return when the connection is
    lost) and `_disconnect()`.
    """

    live = True

    def __init__(self, name: str, stride: int = 1, reconnect: ReconnectPolicy | None = None) -> None:
        super().__init__(name, stride)
        self.reconnect = reconnect or ReconnectPolicy()
        self._connected = False

    def _connect(self) -> None:
        raise NotImplementedError

    def _read_images(self) -> Iterator[np.ndarray | None]:
        raise NotImplementedError

    def _disconnect(self) -> None:
        raise NotImplementedError

    def connect(self) -> None:
        """First connection (subclasses call it at the end of `__init__`, so a bad URL fails at once).

        Raises:
            SourceError: the source cannot be reached; no retry, the address is probably wrong.
        """
        try:
            self._connect()
        except _LOST as err:
            raise SourceError(f"{self.name}: cannot connect ({err})") from err
        self._connected = True

    def _frames(self) -> Iterator[Frame]:
        if not self._connected:
            self.connect()
        index = 0
        while not self.stopped:
            for image in self._safe_read():
                if self.stopped:
                    return
                index += 1
                if (index - 1) % self.stride:
                    continue
                if image is None:
                    self.stats.skip(f"{self.name} frame {index - 1}: corrupt frame")
                    continue
                yield Frame(image, index - 1, time.time(), f"{self.name}_{index - 1:06d}")
            if self.stopped or not self._reconnect():
                return

    def _safe_read(self) -> Iterator[np.ndarray | None]:
        try:
            yield from self._read_images()
        except _LOST as err:
            log.warning("%s: connection lost (%s)", self.name, err)
        finally:
            self._disconnect()

    def _reconnect(self) -> bool:
        """Retry with backoff until connected (True) or out of time / stopped (False)."""
        self.stats.disconnects += 1
        deadline = time.monotonic() + self.reconnect.timeout_s
        for failed, delay in enumerate(self.reconnect.delays()):
            wait = min(delay, deadline - time.monotonic())
            if failed == self.reconnect.max_attempts or wait <= 0 or self._stop.wait(wait):
                break
            self.stats.reconnect_attempts += 1
            try:
                self._connect()
            except (SourceError, *_LOST) as err:
                log.info(
                    "%s: reconnect attempt %d failed (%s)", self.name, self.stats.reconnect_attempts, err
                )
                continue
            self.stats.reconnects += 1
            log.info("%s: reconnected", self.name)
            return True
        self.stats.gave_up = not self.stopped
        if self.stats.gave_up:
            log.warning(
                "%s: no connection for %.1f s, ending the stream", self.name, self.reconnect.timeout_s
            )
        return False


class CaptureSource(LiveSource):
    """Camera index or RTSP (or any FFmpeg URL) through `cv2.VideoCapture`.

    Args:
        target: camera index (int) or URL.
        open_timeout_s, read_timeout_s: FFmpeg timeouts so a dead stream cannot block forever.
    """

    def __init__(
        self,
        target: int | str,
        stride: int = 1,
        reconnect: ReconnectPolicy | None = None,
        open_timeout_s: float = 10.0,
        read_timeout_s: float = 5.0,
    ) -> None:
        name = f"camera{target}" if isinstance(target, int) else _url_name(str(target))
        super().__init__(name, stride, reconnect)
        self.target = target
        self._params = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(open_timeout_s * 1000),
            cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(read_timeout_s * 1000),
        ]  # fmt: skip
        self._cap: cv2.VideoCapture | None = None
        self.connect()

    def _connect(self) -> None:
        api = cv2.CAP_ANY if isinstance(self.target, int) else cv2.CAP_FFMPEG
        cap = cv2.VideoCapture(self.target, api, self._params)
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"{self.target}: cannot open capture")
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # keep the driver queue short: we want the newest frame
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = fps if fps and 0 < fps < 1000 else self.fps
        self._cap = cap

    def _read_images(self) -> Iterator[np.ndarray | None]:
        while self._cap is not None and not self.stopped:
            ok, image = self._cap.read()
            if not ok:
                log.warning("%s: read failed, connection lost", self.name)
                return
            yield image

    def _disconnect(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def close(self) -> None:
        self._disconnect()


class MjpegSource(LiveSource):
    """HTTP(S) camera: `multipart/x-mixed-replace` MJPEG, or a JPEG/PNG snapshot URL polled per frame.

    Our own reader (not OpenCV) so that timeouts, lost connections and corrupt parts are ours to
    handle: each part is decoded by `cv2.imdecode`, a part that does not decode is skipped.
    """

    def __init__(
        self, url: str, stride: int = 1, reconnect: ReconnectPolicy | None = None, timeout_s: float = 5.0
    ) -> None:
        super().__init__(_url_name(url), stride, reconnect)
        self.url = url
        self.timeout_s = timeout_s
        self._resp: http.client.HTTPResponse | None = None
        self._boundary: bytes | None = None
        self._at_headers = False  # True when the last boundary line was read while reading a body
        self.connect()

    def _connect(self) -> None:
        resp = urllib.request.urlopen(self.url, timeout=self.timeout_s)
        ctype = resp.headers.get_content_type()
        if ctype.startswith("multipart/"):
            boundary = resp.headers.get_param("boundary")
            if not boundary:
                resp.close()
                raise SourceError(f"{self.url}: multipart stream without a boundary")
            self._boundary = b"--" + str(boundary).removeprefix("--").encode("latin-1")
            self._at_headers = False
        elif ctype.startswith("image/"):
            self._boundary = None
        else:
            resp.close()
            raise SourceError(f"{self.url}: unsupported content type {ctype!r} (expected MJPEG or an image)")
        self._resp = resp

    def _read_images(self) -> Iterator[np.ndarray | None]:
        if self._boundary is None:
            yield from self._poll_snapshots()
            return
        while self._resp is not None and not self.stopped:
            data = self._read_part(self._resp, self._boundary)
            if data is None:
                return
            yield decode_image_bytes(data)

    def _poll_snapshots(self) -> Iterator[np.ndarray | None]:
        while self._resp is not None and not self.stopped:
            data = self._resp.read()
            self._resp.close()
            yield decode_image_bytes(data)
            self._resp = None
            self._connect()

    def _read_part(self, resp: http.client.HTTPResponse, boundary: bytes) -> bytes | None:
        """Body of the next part, or None at the end of the stream."""
        if not self._at_headers:
            line = resp.readline()
            while line and not line.startswith(boundary):
                line = resp.readline()
            if not line or line.rstrip() == boundary + b"--":
                return None
        self._at_headers = False
        length = None
        while True:
            line = resp.readline()
            if not line:
                return None
            if not line.strip():
                break
            key, _, value = line.decode("latin-1").partition(":")
            if key.strip().lower() == "content-length":
                length = int(value.strip())
        if length is not None:
            data = resp.read(length)
            if len(data) < length:
                raise EOFError(f"part truncated ({len(data)} of {length} bytes)")
            return data
        return self._read_until_boundary(resp, boundary)

    def _read_until_boundary(self, resp: http.client.HTTPResponse, boundary: bytes) -> bytes | None:
        """Body of a part without Content-Length: it ends at the next boundary line."""
        chunks: list[bytes] = []
        while True:
            line = resp.readline()
            if not line:
                return None
            if line.startswith(boundary):
                # That line opens the next part: its headers come next.
                self._at_headers = line.rstrip() != boundary + b"--"
                break
            chunks.append(line)
        body = b"".join(chunks)
        return body[:-2] if body.endswith(b"\r\n") else body

    def _disconnect(self) -> None:
        if self._resp is not None:
            self._resp.close()
            self._resp = None

    def close(self) -> None:
        self._disconnect()


def _url_name(url: str) -> str:
    """A short file-name-safe name for a stream URL (host and last path part)."""
    rest = url.split("://", 1)[-1].split("@")[-1]
    safe = "".join(c if c.isalnum() or c in "-." else "_" for c in rest)
    return safe.strip("_")[:64] or "stream"
