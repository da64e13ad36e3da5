"""Typed errors. Every message is one line naming the file (when there is one) and the fix.

`cli.py` maps each class to a red line plus a hint; the traceback shows only with LESPS_DEBUG=1.
"""

from __future__ import annotations

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
