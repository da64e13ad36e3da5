"""The table of artifact formats: one frozen row per kind of weights file, looked up by name or suffix.

The same rows decide which backend opens a file (by its suffix only), which formats `lesps export`
writes and which options each accepts (its choices and `--help` text), the benchmark's artifacts and
the checkpoint suffixes every command accepts. A format takes only the options its row names;
anything else is a one-line `ConfigError`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from lesps_deploy.errors import BackendError, ConfigError
from lesps_deploy.urls import is_server_url

__all__ = [
    "ArtifactFormat",
    "FORMATS",
    "EXPORT_FORMATS",
    "CHECKPOINT",
    "SERVED",
    "CHECKPOINT_SUFFIXES",
    "OPTION_FLAGS",
    "get_export_format",
    "export_format_names",
    "formats_help",
    "format_for_path",
    "format_for_backend",
    "backend_names",
    "strip_suffix",
]

# ExportConfig field -> the CLI flag a user typed, so errors speak the user's language.
OPTION_FLAGS: dict[str, str] = {
    "imgsz": "--imgsz",
    "batch": "--batch",
    "dynamic": "--dynamic",
    "half": "--half",
    "int8": "--int8",
    "calib_data": "--calib-data",
    "calib_images": "--calib-images",
    "calib_method": "--calib-method",
    "calib_percentile": "--calib-percentile",
    "calib_split": "--calib-split",
    "int8_budget": "--int8-budget",
    "max_drop": "--max-drop",
    "keep_degraded": "--keep-degraded",
    "threshold": "--threshold",
    "opset": "--opset",
    "simplify": "--simplify",
    "workspace": "--workspace",
    "verify": "--verify",
    "instances": "--instances",
}

_PRECISION_OPTIONS = frozenset(
    {"half", "int8", "calib_data", "calib_images", "calib_method", "calib_percentile", "calib_split"}
    | {"int8_budget", "max_drop", "keep_degraded"}
)
_BASE_OPTIONS = frozenset({"imgsz", "batch", "dynamic", "opset", "simplify", "verify", "threshold"})
_ONNX_OPTIONS = _BASE_OPTIONS | _PRECISION_OPTIONS
_ENGINE_OPTIONS = _ONNX_OPTIONS | {"workspace"}


@dataclass(frozen=True)
class ArtifactFormat:
    """One kind of artifact.

    Attributes:
        name: `--format` value (export targets) or the kind's name.
        suffixes: file suffixes, the one export writes first (empty for a directory).
        backend: runtime backend that loads the artifact ('' when none does).
        loader: "module:Class" of that backend, imported only when a file is opened.
        options: ExportConfig fields `lesps export` accepts for it; None: not an export target.
        cpu, gpu: where the export itself can run.
        extra: pip extra holding the optional dependency ('' when none).
        description: one line for `--help` and the README.
    """

    name: str
    suffixes: tuple[str, ...]
    backend: str
    loader: str
    options: frozenset[str] | None
    cpu: bool
    gpu: bool
    extra: str
    description: str

    @property
    def suffix(self) -> str:
        """The suffix an export writes ('' for a directory)."""
        return self.suffixes[0] if self.suffixes else ""

    @property
    def exportable(self) -> bool:
        return self.options is not None

    def accepts(self, option: str) -> bool:
        return option in (self.options or ())

    def load_class(self) -> type:
        """The backend class (its module is imported now, so optional dependencies stay optional)."""
        module, _, cls = self.loader.partition(":")
        return getattr(importlib.import_module(module), cls)


CHECKPOINT = "checkpoint"
SERVED = "served"

FORMATS: tuple[ArtifactFormat, ...] = (
    ArtifactFormat(
        CHECKPOINT, (".pth.tar", ".pth", ".pt", ".ckpt"), "torch",
        "lesps_deploy.runtime.torch_backend:TorchBackend", None, cpu=True, gpu=True, extra="",
        description="PyTorch checkpoint (released LESPS layout, or ours with metadata)",
    ),
    ArtifactFormat(
        "onnx", (".onnx",), "onnxruntime", "lesps_deploy.runtime.onnx_backend:OnnxRuntimeBackend",
        _ONNX_OPTIONS, cpu=True, gpu=True, extra="",
        description="ONNX (opset >= 17, dynamic batch/size, metadata embedded; FP32, FP16 or QDQ INT8) for ONNX Runtime",
    ),
    ArtifactFormat(
        "engine", (".engine", ".plan"), "tensorrt", "lesps_deploy.runtime.tensorrt_backend:TensorRTBackend",
        _ENGINE_OPTIONS, cpu=False, gpu=True, extra="tensorrt",
        description="TensorRT engine (FP32/FP16/INT8) with a JSON header, for one GPU and TensorRT version",
    ),
    ArtifactFormat(
        "triton", (), "", "", _BASE_OPTIONS | {"instances"}, cpu=True, gpu=True, extra="",
        description="Triton model repository: <name> (Python backend + ONNX Runtime, raw frames in), "
        "<name>_net (the network on the onnxruntime/tensorrt backend), <name>_pipeline (frames in, via <name>_net)",
    ),
    ArtifactFormat(
        SERVED, (), "triton", "lesps_deploy.runtime.triton_backend:TritonBackend", None, cpu=True, gpu=True,
        extra="serve", description="a model served by Triton: http://HOST:PORT/MODEL or grpc://HOST:PORT/MODEL",
    ),
)  # fmt: skip

EXPORT_FORMATS: tuple[ArtifactFormat, ...] = tuple(row for row in FORMATS if row.exportable)
CHECKPOINT_SUFFIXES: tuple[str, ...] = FORMATS[0].suffixes


def get_export_format(name: str) -> ArtifactFormat:
    """The export row called `name`.

    Raises:
        ConfigError: unknown format; the message lists the valid names.
    """
    for row in EXPORT_FORMATS:
        if row.name == name.lower():
            return row
    raise ConfigError(f"unknown export format '{name}'; choose one of: {', '.join(export_format_names())}")


def export_format_names() -> list[str]:
    return [row.name for row in EXPORT_FORMATS]


def formats_help() -> str:
    """`--format` help text built from the table."""
    return "; ".join(f"{row.name}: {row.description}" for row in EXPORT_FORMATS)


def format_for_path(path: str | Path) -> ArtifactFormat:
    """The row whose suffix `path` has (by suffix only; longest suffixes such as .pth.tar first), or the
    served-model row for an http:// or grpc:// URL.

    Raises:
        BackendError: no row has the suffix; the message lists the known ones.
    """
    if is_server_url(path):  # a served model has a URL, not a suffix
        return next(row for row in FORMATS if row.name == SERVED)
    name = Path(path).name.lower()
    for row in FORMATS:
        if row.backend and name.endswith(row.suffixes):
            return row
    known = ", ".join(s for row in FORMATS if row.backend for s in row.suffixes)
    raise BackendError(f"{path}: unknown weights suffix; expected one of {known}")


def format_for_backend(backend: str) -> ArtifactFormat:
    """The row loaded by the backend called `backend`.

    Raises:
        BackendError: unknown backend; the message lists the valid names.
    """
    for row in FORMATS:
        if row.backend and row.backend == backend:
            return row
    raise BackendError(f"unknown backend '{backend}'; choose one of: {', '.join(backend_names())}")


def backend_names() -> list[str]:
    """Backends that open files (a served model is reached by its URL, not chosen by name)."""
    return [row.backend for row in FORMATS if row.backend and row.suffixes]


def strip_suffix(filename: str) -> str:
    """`filename` without the first artifact suffix it ends with (case-insensitive)."""
    lower = filename.lower()
    for suffix in (s for row in FORMATS for s in row.suffixes):
        if lower.endswith(suffix):
            return filename[: -len(suffix)]
    return filename
