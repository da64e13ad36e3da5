"""The `Backend` protocol and `load_runtime`: one interface over .pth, .onnx and .engine files.

Which backend opens a file comes from the artifact format table (`lesps_deploy.formats`), by suffix.

A backend takes a normalized, padded float32 batch `(N, 1, H, W)` (H, W multiples of
`meta.pad_multiple`) and returns sigmoid probabilities of the same shape. Pre/postprocessing
(normalize, pad, crop, threshold, components) lives outside the backends so that every backend
is fed and read identically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from lesps_deploy.errors import BackendError
from lesps_deploy.formats import format_for_backend, format_for_path
from lesps_deploy.metadata import ModelMeta
from lesps_deploy.urls import is_server_url

__all__ = ["Backend", "FrameBackend", "Closeable", "backend_for_path", "load_runtime"]


@runtime_checkable
class Backend(Protocol):
    """A loaded artifact ready to run. Use as a context manager or call `close()`."""

    name: str
    device: str
    meta: ModelMeta

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """Probabilities `(N,1,H,W)` float32 for a normalized padded batch `(N,1,H,W)` float32."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Backend: ...

    def __exit__(self, *exc: object) -> None: ...


@runtime_checkable
class FrameBackend(Backend, Protocol):
    """A backend that takes raw frames and pre/postprocesses them itself (a model server).

    `run_frames` (`lesps_deploy.runtime.processing`) hands such a backend the frames as they are, with
    the client's settings, which it refuses (ConfigError) where they differ from its own.
    """

    def run_frames(
        self, frames: Any, norm: Any, batch_size: int, patch_size: int | None, mapper: Any
    ) -> Any: ...


class Closeable:
    """Context-manager support for classes with a `close()` method."""

    def close(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def __enter__(self):  # noqa: ANN204 - returns the subclass instance
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def backend_for_path(path: str | Path) -> str:
    """Name of the backend that opens `path`, chosen by its suffix only (see `lesps_deploy.formats`)."""
    return format_for_path(path).backend


def load_runtime(
    path: str | Path, device: str = "cpu", backend: str | None = None, **options: Any
) -> Backend:
    """Load `path` with the backend chosen by its suffix (or `backend` by name).

    Args:
        path: .pth/.pth.tar/.pt checkpoint, .onnx model or .engine file, or a served model's URL
            (http://HOST:PORT/MODEL, grpc://HOST:PORT/MODEL).
        device: "cpu", "cuda" or "cuda:N".
        backend: force a backend by name ("torch", "onnxruntime", "tensorrt").
        **options: backend-specific options (e.g. `model`, `norm` overrides, `half`, `providers`).

    Raises:
        BackendError: unknown suffix/backend; CheckpointError and friends from the backend itself.
    """
    if is_server_url(path):
        return format_for_path(path).load_class()(str(path), device=device, **options)
    path = Path(path)
    if not path.exists():
        raise BackendError(f"{path}: file not found")
    row = format_for_backend(backend) if backend else format_for_path(path)
    return row.load_class()(path, device=device, **options)
