"""Typed errors. Every message is one line naming the file (when there is one) and the fix.

`cli.py` maps each class to a red line plus a hint; the traceback shows only with LESPS_DEBUG=1.
"""

from __future__ import annotations

import importlib.util

__all__ = [
    "LespsError",
    "DataError",
    "FrameTypeError",
    "FrameShapeError",
    "CheckpointError",
    "ModelError",
    "ExportError",
    "BackendError",
    "SourceError",
    "MissingDependencyError",
    "ConfigError",
    "OPTIONAL_MODULES",
    "missing_extra",
    "require_optional",
]


class LespsError(Exception):
    """Base class of every error the library raises on purpose."""

    hint: str | None = None

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint


class DataError(LespsError):
    """A dataset, image, mask or split list is missing, unreadable or inconsistent."""


class FrameTypeError(DataError, TypeError):
    """A frame that is not a numeric array: a `TypeError` to Python callers, a skipped frame in a batch."""


class FrameShapeError(DataError, ValueError):
    """A frame of a shape no model takes: a `ValueError` to Python callers, a skipped frame in a batch."""


class CheckpointError(LespsError):
    """A weights file cannot be read or does not fit any known model."""


class ModelError(LespsError):
    """Unknown model name or an input the model cannot take."""


class ExportError(LespsError):
    """An export cannot be done with the given options."""


class BackendError(LespsError):
    """An inference backend cannot load or run an artifact."""


class SourceError(LespsError):
    """A frame source (file, camera, stream) cannot be opened or read."""


class ConfigError(LespsError):
    """Options that contradict each other or are out of range."""


class MissingDependencyError(LespsError):
    """An optional dependency is not installed; the message names the extra to install."""

    def __init__(self, package: str, extra: str, purpose: str, hint: str | None = None) -> None:
        super().__init__(
            f"{package} is required for {purpose}; install it with: pip install 'lesps-deploy[{extra}]'",
            hint,
        )
        self.package = package
        self.extra = extra


# Optional top-level modules -> (the extra that installs them, what needs them). The base install runs
# artifacts without any of them; a command that reaches one that is not installed stops with one line
# naming the extra (`missing_extra`, applied by the CLI's error boundary).
OPTIONAL_MODULES: dict[str, tuple[str, str]] = {
    "torch": ("train", "training, .pth checkpoints and export from PyTorch"),
    "onnxruntime": ("cpu", "ONNX models ('lesps-deploy[gpu]' on a CUDA machine)"),
    "tensorrt": ("tensorrt", "TensorRT engines (on Jetson TensorRT comes with JetPack)"),
    "onnxslim": ("simplify", "--simplify"),
    "matplotlib": ("plot", "benchmark plots"),
    "motmetrics": ("bench", "MOT metrics"),
    "tritonclient": ("serve", "Triton serving"),
    "pytriton": ("serve", "Triton serving"),
}


def missing_extra(err: ImportError) -> MissingDependencyError | None:
    """The one-line error for an optional module that is not installed; None for any other import error."""
    package = (err.name or "").partition(".")[0]
    if not isinstance(err, ModuleNotFoundError) or package not in OPTIONAL_MODULES:
        return None
    extra, purpose = OPTIONAL_MODULES[package]
    return MissingDependencyError(package, extra, purpose)


def require_optional(package: str) -> None:
    """Before a command writes anything: raise the one-line `missing_extra` error when `package` is absent."""
    if importlib.util.find_spec(package) is None:
        missing = missing_extra(ModuleNotFoundError(f"No module named {package!r}", name=package))
        raise missing or MissingDependencyError(package, package, "this command")
