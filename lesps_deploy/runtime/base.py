"""The `Backend` protocol and `load_runtime`: one interface over .pth, .onnx and .engine files.

A backend takes a normalized, padded float32 batch `(N, 1, H, W)` (H, W multiples of
`meta.pad_multiple`) and returns sigmoid probabilities of the same shape. Pre/postprocessing
(normalize, pad, crop, threshold, components) lives outside the backends so that every backend
is fed and read identically.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from lesps_deploy.errors import BackendError
from lesps_deploy.metadata import ModelMeta

__all__ = ["Backend", "BackendSpec", "BACKENDS", "Closeable", "backend_for_path", "load_runtime"]


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


class Closeable:
    """Context-manager support for classes with a `close()` method."""

    def close(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def __enter__(self):  # noqa: ANN204 - returns the subclass instance
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class BackendSpec:
    """One row of the backend table: name, file suffixes, and where its class lives."""

    name: str
    suffixes: tuple[str, ...]
    target: str  # "module:Class", imported lazily so optional dependencies stay optional

    def load_class(self) -> type:
        module, _, cls = self.target.partition(":")
        return getattr(importlib.import_module(module), cls)


BACKENDS: tuple[BackendSpec, ...] = (
    BackendSpec(
        "torch", (".pth.tar", ".pth", ".pt", ".ckpt"), "lesps_deploy.runtime.torch_backend:TorchBackend"
    ),
    BackendSpec("onnxruntime", (".onnx",), "lesps_deploy.runtime.onnx_backend:OnnxRuntimeBackend"),
    BackendSpec("tensorrt", (".engine", ".plan"), "lesps_deploy.runtime.tensorrt_backend:TensorRTBackend"),
)


def _spec_by_name(name: str) -> BackendSpec:
    for spec in BACKENDS:
        if spec.name == name:
            return spec
    raise BackendError(f"unknown backend '{name}'; choose one of: {', '.join(s.name for s in BACKENDS)}")


def backend_for_path(path: str | Path) -> BackendSpec:
    """The backend row whose suffix matches `path` (by suffix only)."""
    name = Path(path).name.lower()
    for spec in BACKENDS:
        if any(name.endswith(suffix) for suffix in spec.suffixes):
            return spec
    known = ", ".join(s for spec in BACKENDS for s in spec.suffixes)
    raise BackendError(f"{path}: unknown weights suffix; expected one of {known}")


def load_runtime(
    path: str | Path, device: str = "cpu", backend: str | None = None, **options: Any
) -> Backend:
    """Load `path` with the backend chosen by its suffix (or `backend` by name).

    Args:
        path: .pth/.pth.tar/.pt checkpoint, .onnx model or .engine file.
        device: "cpu", "cuda" or "cuda:N".
        backend: force a backend by name ("torch", "onnxruntime", "tensorrt").
        **options: backend-specific options (e.g. `model`, `norm` overrides, `half`, `providers`).

    Raises:
        BackendError: unknown suffix/backend; CheckpointError and friends from the backend itself.
    """
    path = Path(path)
    if not path.exists():
        raise BackendError(f"{path}: file not found")
    spec = _spec_by_name(backend) if backend else backend_for_path(path)
    return spec.load_class()(path, device=device, **options)
