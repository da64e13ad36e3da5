"""`ExportConfig` (the options of `lesps export`), their validation against the format table, and results.

Light on purpose (no torch, no onnx): the CLI reads its defaults from `ExportConfig`'s fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lesps_deploy.data.bit_depth import check_frame_mapping
from lesps_deploy.errors import ConfigError, DataError, LespsError
from lesps_deploy.formats import (
    CHECKPOINT,
    EXPORT_FORMATS,
    INT8_OPTIONS,
    OPTION_FLAGS,
    ArtifactFormat,
    format_for_name,
    format_for_path,
    get_export_format,
)
from lesps_deploy.metadata import ModelMeta

from .triton import model_name

if TYPE_CHECKING:
    from .gate import DetectionParity
    from .parity import ParityReport

__all__ = [
    "ExportConfig",
    "ExportResult",
    "validate_config",
    "check_inputs",
    "output_path",
    "source_kind",
    "export_device",
    "TOLERANCES",
    "CALIB_METHODS",
    "DEFAULT_CALIB_METHOD",
    "DEFAULT_MAX_DROP",
    "DEFAULT_INT8_BUDGET",
]

# max abs probability difference allowed against PyTorch FP32, per artifact precision
TOLERANCES: dict[str, float] = {"fp32": 1e-4, "fp16": 2e-2, "int8": 0.15}
CALIB_METHODS = ("minmax", "percentile", "entropy")
# Chosen by measurement on the five releases (README "Precision": 213 NUAA-SIRST train frames calibrate,
# test evaluated): percentile 99.999 stays within 0.8 IoU/Pd points of FP32 on four of them, minmax
# loses 1.5 (ACM_full) and 1.1 (ALCNet_LESPS_centroid) Pd points; ALCNet_full loses ~3 IoU with both.
# Not entropy: it clips the rare high activations, and in this field those are the targets.
DEFAULT_CALIB_METHOD = "percentile"
# An FP16/INT8 artifact whose IoU or Pd drops more than this many points is not written.
DEFAULT_MAX_DROP = 2.0
# INT8: Convs are kept in float (most sensitive first) until IoU and Pd on the calibration frames are
# within this many points of FP32 (export.mixed_precision); 1.0 is the bar the releases are held to.
DEFAULT_INT8_BUDGET = 1.0


@dataclass(frozen=True)
class ExportConfig:
    """Options of `lesps export`, one to one (None: the format's default)."""

    weights: Path
    format: str = "onnx"
    out: Path | None = None
    model: str | None = None
    norm: str | None = None
    imgsz: tuple[int, int] | None = None
    batch: int | None = None
    dynamic: bool | None = None
    half: bool = False
    int8: bool = False
    calib_data: Path | None = None
    calib_images: int = 300
    calib_method: str = DEFAULT_CALIB_METHOD
    calib_percentile: float = 99.999
    calib_split: str = "train"
    int8_budget: float = DEFAULT_INT8_BUDGET
    threshold: float | None = None
    opset: int = 17
    simplify: bool = False
    workspace: float | None = None
    verify: Path | None = None
    instances: int = 1
    device: str | None = None
    force: bool = False
    trust_pickle: bool = False
    frame_mapping: str | None = None
    max_drop: float = DEFAULT_MAX_DROP
    keep_degraded: bool = False

    @property
    def precision(self) -> str:
        return "int8" if self.int8 else "fp16" if self.half else "fp32"


@dataclass(frozen=True)
class ExportResult:
    """What was written and how it compares with PyTorch."""

    format: str
    path: Path
    meta: ModelMeta
    seconds: float
    parity: tuple[tuple[str, ParityReport], ...] = ()
    details: dict[str, Any] = field(default_factory=dict)
    gate: DetectionParity | None = None

    @property
    def ok(self) -> bool:
        gate_ok = self.gate is None or self.gate.passed or bool(self.details.get("kept_degraded"))
        return all(report.ok for _, report in self.parity) and gate_ok

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format, "path": str(self.path), "model": self.meta.model, "seconds": self.seconds,
            "parity": {label: report.to_dict() for label, report in self.parity}, "ok": self.ok,
            "precision": self.meta.precision, "gate": None if self.gate is None else self.gate.to_dict(),
            **self.details,
        }  # fmt: skip


def _given(cfg: ExportConfig) -> list[str]:
    """Options set away from their defaults."""
    return [f.name for f in fields(cfg) if f.name in OPTION_FLAGS and getattr(cfg, f.name) != f.default]


def _check_ranges(cfg: ExportConfig) -> None:
    from lesps_deploy.metrics.rules import check_threshold

    check_threshold(cfg.threshold)
    # Before the model loads: the pad multiple every registered model declares (its metadata's default);
    # the export checks the loaded model's own again (`export.onnx`).
    multiple = ModelMeta.pad_multiple
    if cfg.imgsz is not None and (len(cfg.imgsz) != 2 or any(s <= 0 or s % multiple for s in cfg.imgsz)):
        raise ConfigError(f"--imgsz {cfg.imgsz}: height and width must be positive multiples of {multiple}")
    checks = (
        (cfg.batch is not None and cfg.batch < 1, f"--batch {cfg.batch}: must be >= 1"),
        (cfg.opset < 17, f"--opset {cfg.opset}: must be >= 17"),
        (cfg.calib_images < 1, f"--calib-images {cfg.calib_images}: must be >= 1"),
        (
            cfg.calib_method not in CALIB_METHODS,
            f"--calib-method {cfg.calib_method}: use {', '.join(CALIB_METHODS)}",
        ),
        (
            not 50.0 < cfg.calib_percentile <= 100.0,
            f"--calib-percentile {cfg.calib_percentile}: use a percentile in (50, 100]",
        ),
        (cfg.max_drop < 0, f"--max-drop {cfg.max_drop}: must be >= 0 points"),
        (cfg.int8_budget < 0, f"--int8-budget {cfg.int8_budget}: must be >= 0 points (0: no float fallback)"),
        (cfg.workspace is not None and cfg.workspace <= 0, f"--workspace {cfg.workspace}: must be > 0 GiB"),
        (cfg.instances < 1, f"--instances {cfg.instances}: must be >= 1"),
    )
    for bad, message in checks:
        if bad:
            raise ConfigError(message)


def validate_config(cfg: ExportConfig) -> ArtifactFormat:
    """Check `cfg` against its format row; returns the row.

    Raises:
        ConfigError: an option the format does not take, contradicting options, or out-of-range values.
    """
    fmt = get_export_format(cfg.format)
    for name in _given(cfg):
        if not fmt.accepts(name):
            raise ConfigError(f"{OPTION_FLAGS[name]} does not apply to --format {fmt.name}")
    _check_ranges(cfg)
    check_frame_mapping(cfg.frame_mapping)
    device = export_device(cfg, fmt)
    if cfg.half and cfg.int8:
        raise ConfigError("--half and --int8 are exclusive (INT8 engines already fall back to FP16 layers)")
    if cfg.int8 and cfg.calib_data is None:
        raise ConfigError(
            "--int8 needs calibration images", hint="add --calib-data DATASET_DIR (300+ images)"
        )
    if not cfg.int8 and INT8_OPTIONS & set(_given(cfg)):
        raise ConfigError("--calib-data/--calib-*/--int8-budget only apply with --int8")
    if cfg.half and not device.startswith("cuda") and not fmt.cpu:
        raise ConfigError(f"--half needs a GPU; --device {device} cannot build an FP16 {fmt.name}")
    _check_calibration_split(cfg)
    if device == "cpu" and not fmt.cpu:
        raise ConfigError(f"--format {fmt.name} is built on a GPU; use --device cuda")
    _check_source(cfg.weights, fmt)
    return fmt


def _check_source(weights: Path, fmt: ArtifactFormat) -> None:
    """`weights` must be a kind the format is exported from (its row's `sources`)."""
    kind = source_kind(weights)
    if kind in fmt.sources:
        return
    needs = " or ".join(
        f"{'a PyTorch checkpoint' if row.name == CHECKPOINT else f'an {row.name} file'} ({', '.join(row.suffixes)})"
        for row in map(format_for_name, fmt.sources)
    )
    takers = ", ".join(row.name for row in EXPORT_FORMATS if kind in row.sources)
    raise ConfigError(
        f"{weights}: --format {fmt.name} needs {needs}; {kind} weights can only be packaged with --format {takers}"
    )


def check_inputs(cfg: ExportConfig) -> None:
    """Files and --norm, checked in milliseconds before the model loads (an export takes seconds)."""
    from lesps_deploy.data.dataset import read_split
    from lesps_deploy.data.norm import resolve_norm

    if not Path(cfg.weights).exists():
        raise DataError(f"{cfg.weights}: no such weights file")
    for flag, folder in (("--verify", cfg.verify), ("--calib-data", cfg.calib_data)):
        if folder is not None and not Path(folder).is_dir():
            raise DataError(f"{flag} {folder}: no such dataset folder")
    if cfg.verify is not None:
        read_split(cfg.verify, "test")  # the split --verify evaluates
    if cfg.norm is not None and cfg.norm.strip().lower() != "auto":
        resolve_norm(cfg.norm)  # parse only; bit depth is checked against the model later


def _check_calibration_split(cfg: ExportConfig) -> None:
    """Calibrating on the split that --verify evaluates would hide what quantization costs."""
    if not cfg.int8 or cfg.calib_data is None or cfg.verify is None:
        return
    same_dir = Path(cfg.calib_data).resolve() == Path(cfg.verify).resolve()
    if same_dir and cfg.calib_split == "test":
        raise ConfigError(
            f"{cfg.calib_data}: --calib-split test is the split --verify evaluates",
            hint="calibrate on another split (--calib-split train, the default)",
        )


def export_device(cfg: ExportConfig, fmt: ArtifactFormat) -> str:
    """`--device`, else where the format is built (CPU when it can be)."""
    return cfg.device or ("cpu" if fmt.cpu else "cuda")


def source_kind(weights: Path) -> str:
    """What `weights` is: 'checkpoint', 'onnx' or 'engine' (by suffix, from the format table)."""
    try:
        return format_for_path(weights).name
    except LespsError:
        raise ConfigError(
            f"{weights}: unknown weights suffix; expected a checkpoint, .onnx or .engine"
        ) from None


def output_path(cfg: ExportConfig, fmt: ArtifactFormat) -> Path:
    """`--out`, else beside the weights: <stem><suffix>, or <dir>/triton_models for a repository."""
    if cfg.out is not None:
        return Path(cfg.out)
    if fmt.is_directory:
        return cfg.weights.parent / fmt.default_out
    return cfg.weights.with_name(model_name(cfg.weights) + fmt.suffix)
