"""Triton backend: a model served by Triton (`lesps serve`, or NVIDIA's server) behind the local interface.

`load_runtime("http://host:8000/MODEL")` or `grpc://host:8001/MODEL` gives a backend whose
`run_frames` sends raw gray frames (uint8 or uint16) and gets probability maps back: bit-depth
mapping, normalization, padding, tiles and cropping run on the server, from the artifact's metadata,
with the library's own code. The luma of colour frames is taken here (like `to_gray`), so the
server receives batch x H x W. Thresholding and targets run locally on the returned probabilities,
exactly as for a local backend, so `--threshold` works as usual.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lesps_deploy.data.bit_depth import FrameMapper, frame_bits
from lesps_deploy.data.images import to_gray
from lesps_deploy.data.norm import Norm, model_norm
from lesps_deploy.errors import BackendError, ConfigError, DataError
from lesps_deploy.runtime.base import Closeable
from lesps_deploy.runtime.processing import FrameOutputs, shape_batches
from lesps_deploy.runtime.triton_client import DEFAULT_TIMEOUT_S, FramesClient
from lesps_deploy.runtime.triton_protocol import ServerUrl, parse_server_url
from lesps_deploy.timing import Stopwatch

__all__ = ["TritonBackend", "wire_frame"]


def wire_frame(frame: np.ndarray) -> np.ndarray:
    """A frame as the server takes it: gray HxW uint8 (8-bit values) or uint16 (16-bit values).

    Colour frames get their luma here (`to_gray`); other types are sent when their values are whole
    numbers a uint8/uint16 holds (a decoded file's float32 8-bit values, as `read_image` gives).

    Raises:
        DataError: negative, fractional or too large values.
    """
    frame = np.asarray(frame)
    if frame.ndim == 2 and frame.dtype in (np.uint8, np.uint16):
        return frame
    gray = to_gray(frame)
    wire = gray.astype(np.uint8 if frame_bits(gray) == 8 else np.uint16)
    if gray.size and (gray.min() < 0 or gray.max() > 65535 or not np.array_equal(wire, gray)):
        raise DataError(
            f"a {frame.dtype} frame {frame.shape} with values in [{gray.min():g}, {gray.max():g}] cannot be "
            "sent to a served model: it takes whole uint8 or uint16 pixel values"
        )
    return wire


class TritonBackend(Closeable):
    """A served model as a backend (see the module docstring).

    Args:
        url: `http://host:port/MODEL` or `grpc://host:port/MODEL` (a `Path` made of it reads too).
        device: ignored (the server decides where the model runs); kept for the common signature.
        timeout_s: seconds a connection or a request may take.

    Raises:
        BackendError: server down, model unknown or not ready, or not a lesps frames model.
        MissingDependencyError: tritonclient is not installed.
    """

    name = "triton"

    def __init__(
        self, url: str | Path, device: str = "cpu", timeout_s: float = DEFAULT_TIMEOUT_S, **opts: Any
    ) -> None:
        try:
            self.url: ServerUrl = parse_server_url(url)
        except ValueError as err:
            raise BackendError(str(err)) from None
        self.timeout_s = timeout_s
        self.device = str(self.url)
        self._local = threading.local()
        self._clients: list[FramesClient] = []
        self._lock = threading.Lock()
        first = self._client()
        self.meta = first.meta
        self.params = first.params
        self.max_batch_size = first.max_batch_size

    def _client(self) -> FramesClient:
        """This thread's connection (tritonclient's HTTP client must not be shared across threads)."""
        client = getattr(self._local, "client", None)
        if client is None:
            client = FramesClient(self.url, self.timeout_s)
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        raise BackendError(
            f"{self.url}: a served model takes raw frames, not normalized batches",
            hint="use Detector/run_frames, which send frames to it",
        )

    def check_processing(self, norm: Norm | None, patch_size: int | None, mapper: FrameMapper | None) -> None:
        """Refuse client-side settings the server would not apply (it processes with its own).

        Raises:
            ConfigError: a normalization, patch size or frame mapping other than the served model's.
        """
        served = model_norm(None, self.meta, source=str(self.url))
        if norm is not None and (norm.mean, norm.std) != (served.mean, served.std):
            raise ConfigError(
                f"{self.url}: the served model normalizes with {served}; --norm {norm} cannot change it",
                hint="export a repository with that --norm, or drop the option",
            )
        if patch_size is not None and patch_size != self.params.patch_size:
            raise ConfigError(
                f"{self.url}: the served model tiles frames larger than {self.params.patch_size}; "
                f"--patch-size {patch_size} cannot change it"
            )
        if mapper is not None and mapper.chosen and mapper.mapping != self.params.frame_mapping:
            raise ConfigError(
                f"{self.url}: the served model maps frames with '{self.params.frame_mapping}'; "
                f"--frame-mapping {mapper.mapping} cannot change it"
            )

    def run_frames(
        self,
        frames: Sequence[Any],
        norm: Norm | None = None,
        batch_size: int = 1,
        patch_size: int | None = None,
        mapper: FrameMapper | None = None,
    ) -> FrameOutputs:
        """Probability maps (float32 HxW, frame size) for raw frames, computed by the server.

        Frames of one size and type go in one request of up to `batch_size` (and the model's
        max_batch_size) frames.
        """
        self.check_processing(norm, patch_size, mapper)
        n = len(frames)
        pre_ms, inf_ms = [0.0] * n, [0.0] * n
        wires = []
        for i, frame in enumerate(frames):
            with Stopwatch() as sw:
                wires.append(wire_frame(frame))
            pre_ms[i] = sw.ms
        probs: list[np.ndarray | None] = [None] * n
        keys = [(w.shape, w.dtype.str) for w in wires]
        client = self._client()
        for ids in shape_batches(keys, max(1, min(batch_size, self.max_batch_size))):  # type: ignore[arg-type]
            with Stopwatch() as sw:
                prob = client.infer(np.stack([wires[i] for i in ids]))["prob"]
            for k, i in enumerate(ids):
                probs[i] = prob[k]
                inf_ms[i] = sw.ms / len(ids)
        return FrameOutputs(probs, pre_ms, inf_ms)  # type: ignore[arg-type]

    def statistics(self) -> dict[str, Any]:
        """The server's inference statistics of this model (see `FramesClient.statistics`)."""
        return self._client().statistics()

    def close(self) -> None:
        with self._lock:
            for client in self._clients:
                client.close()
            self._clients.clear()
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"TritonBackend({self.url}, {self.meta.model})"
