"""The declarative table of export formats: one frozen row per format, looked up by name.

The table drives option validation in `export_weights`, the choices and `--help` text of
`lesps export`, and the benchmark's list of artifacts. A format accepts only the options its row
names; anything else is a one-line `ConfigError`.
"""

from __future__ import annotations

from dataclasses import dataclass

from lesps_deploy.errors import ConfigError

__all__ = ["ExportFormat", "EXPORT_FORMATS", "OPTION_FLAGS", "get_format", "format_names", "formats_help"]

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
    "opset": "--opset",
    "simplify": "--simplify",
    "workspace": "--workspace",
    "verify": "--verify",
    "instances": "--instances",
}

_ONNX_OPTIONS = frozenset({"imgsz", "batch", "dynamic", "opset", "simplify", "verify"})
_ENGINE_OPTIONS = _ONNX_OPTIONS | {"half", "int8", "calib_data", "calib_images", "calib_method", "workspace"}


@dataclass(frozen=True)
class ExportFormat:
    """One export format.

    Attributes:
        name: `--format` value.
        suffix: file suffix of the artifact ('' for a directory).
        backend: runtime backend name that loads the artifact (see runtime.base.BACKENDS).
        options: ExportConfig fields this format accepts beyond the common ones.
        cpu, gpu: where the export itself can run.
        extra: pip extra holding the optional dependency ('' when none).
        description: one line for `--help` and the README.
    """

    name: str
    suffix: str
    backend: str
    options: frozenset[str]
    cpu: bool
    gpu: bool
    extra: str
    description: str

    def accepts(self, option: str) -> bool:
        return option in self.options


EXPORT_FORMATS: tuple[ExportFormat, ...] = (
    ExportFormat(
        "onnx",
        ".onnx",
        "onnxruntime",
        _ONNX_OPTIONS,
        cpu=True,
        gpu=True,
        extra="",
        description="ONNX (opset >= 17, dynamic batch/size, metadata embedded) for ONNX Runtime",
    ),
    ExportFormat(
        "engine",
        ".engine",
        "tensorrt",
        _ENGINE_OPTIONS,
        cpu=False,
        gpu=True,
        extra="tensorrt",
        description="TensorRT engine (FP32/FP16/INT8) with a JSON header, for one GPU and TensorRT version",
    ),
    ExportFormat(
        "triton",
        "",
        "triton",
        _ONNX_OPTIONS | {"instances"},
        cpu=True,
        gpu=True,
        extra="",
        description="Triton model repository (<out>/<name>/config.pbtxt + 1/model.onnx or model.plan)",
    ),
)


def get_format(name: str) -> ExportFormat:
    """The row called `name`.

    Raises:
        ConfigError: unknown format; the message lists the valid names.
    """
    for row in EXPORT_FORMATS:
        if row.name == name.lower():
            return row
    raise ConfigError(f"unknown export format '{name}'; choose one of: {', '.join(format_names())}")


def format_names() -> list[str]:
    return [row.name for row in EXPORT_FORMATS]


def formats_help() -> str:
    """`--format` help text built from the table."""
    return "; ".join(f"{row.name}: {row.description}" for row in EXPORT_FORMATS)
