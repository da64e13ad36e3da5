"""`ExportConfig` (the options of `lesps export`), their validation against the format table, and results.

Light on purpose (no torch, no onnx): the CLI reads its defaults from `ExportConfig`'s fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lesps_deploy.errors import ConfigError, LespsError
from lesps_deploy.formats import (
    CHECKPOINT,
    CHECKPOINT_SUFFIXES,
    OPTION_FLAGS,
    ArtifactFormat,
    export_format_names,
    format_for_path,
    formats_help,
    get_export_format,
)
from lesps_deploy.metadata import ModelMeta
from lesps_deploy.options import (
    Role,
    check_paths,
    force_option,
    json_option,
    name_of,
    option,
    say,
    threads_option,
    validate,
)
from lesps_deploy.runtime import options as shared

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
    "FORMAT_DEFAULTS",
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
# format -> (imgsz, batch) used when --imgsz / --batch are not given
FORMAT_DEFAULTS: dict[str, tuple[tuple[int, int], int]] = {
    "onnx": ((256, 256), 1),
    "engine": ((512, 512), 1),
    "triton": ((256, 256), 8),
}


@dataclass(frozen=True)
class ExportConfig:
    """Options of `lesps export`: each field declares its flag, help and domain (None: the format's default).

    Built means checked: the domains, then the rules between options and the format's row.
    """

    weights: Path = shared.weights_option(argument=True)
    format: str = option(
        "onnx", formats_help(), flag="--format", short="-f", choices=tuple(export_format_names())
    )
    out: Path | None = option(
        None, "Output file (Triton: repository folder).", flag="--out", short="-o", role=Role.OUTPUT
    )
    model: str | None = shared.model_option()
    norm: str | None = shared.norm_option()
    imgsz: tuple[int, int] | None = option(
        None, "H W, multiples of 32 (trace / profile opt size).", gt=0, multiple_of=32
    )
    batch: int | None = shared.batch_option(None, "Batch (engine profile max; Triton max_batch_size).")
    dynamic: bool | None = option(None, "Dynamic batch/H/W (default).", negative="--static")
    half: bool = option(False, "FP16 (ONNX: FP16 graph, float32 input/output; engine: GPU).")
    int8: bool = option(False, "INT8 (ONNX: QDQ graph; engine), calibrated on --calib-data.")
    calib_data: Path | None = option(
        None, "Dataset folder of INT8 calibration images.", role=Role.INPUT_DIR, noun="dataset folder"
    )
    calib_images: int = option(300, "Calibration images (>= 300 recommended).", ge=1)
    calib_method: str = option(
        DEFAULT_CALIB_METHOD,
        "minmax, percentile or entropy (entropy clips small targets).",
        choices=CALIB_METHODS,
    )
    calib_percentile: float = option(
        99.999, "Percentile of |activation| kept by --calib-method percentile.", gt=50.0, le=100.0
    )
    calib_split: str = option("train", "Split of --calib-data to calibrate on (never the evaluated one).")
    int8_budget: float = option(
        DEFAULT_INT8_BUDGET,
        "INT8: keep the most sensitive Convs in float until IoU and Pd on the calibration frames "
        "are within this many points of FP32 (0: all INT8).",
        ge=0,
    )
    threshold: float | None = shared.threshold_option(
        help="Probability threshold recorded in the artifact (default: the source's, else 0.5)."
    )
    opset: int = option(17, "ONNX opset (>= 17).", ge=17)
    simplify: bool = option(False, "Simplify with onnxslim (extra 'simplify'), parity re-checked.")
    workspace: float | None = option(None, "TensorRT workspace limit in GiB.", gt=0)
    verify: Path | None = option(
        None, "Dataset: parity on real images and split counts.", role=Role.INPUT_DIR, noun="dataset folder"
    )
    instances: int = option(1, "Triton instances per device.", ge=1)
    device: str | None = shared.device_option(None, "cpu or cuda[:N] (default: per format).")
    force: bool = force_option("Overwrite an existing output.")
    trust_pickle: bool = shared.trust_pickle_option()
    frame_mapping: str | None = shared.frame_mapping_option()
    max_drop: float = option(
        DEFAULT_MAX_DROP, "FP16/INT8: refuse the artifact when IoU or Pd drops more (points).", ge=0
    )
    keep_degraded: bool = option(False, "Write an FP16/INT8 artifact even beyond --max-drop.")
    json_out: Path | None = json_option()
    threads: int | None = threads_option()

    def __post_init__(self) -> None:
        validate(self)
        _check_relations(self)

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


def _check_relations(cfg: ExportConfig) -> None:
    """The rules between options and the format's row (each value's own domain is declared)."""
    fmt = get_export_format(cfg.format)
    on = f"{say('format', fmt.name)}"
    for name in _given(cfg):
        if not fmt.accepts(name):
            raise ConfigError(f"{say(name, getattr(cfg, name))} does not apply to {on}")
    device = export_device(cfg, fmt)
    half, int8 = say("half", True), say("int8", True)
    if cfg.half and cfg.int8:
        raise ConfigError(f"{half} and {int8} are exclusive (INT8 engines already fall back to FP16 layers)")
    if cfg.int8 and cfg.calib_data is None:
        hint = f"add {name_of('calib_data')} DATASET_DIR (300+ images)"
        raise ConfigError(f"{int8} needs calibration images", hint=hint)
    calib_options = (
        "calib_data",
        "calib_images",
        "calib_method",
        "calib_percentile",
        "calib_split",
        "int8_budget",
    )
    if not cfg.int8 and set(calib_options) & set(_given(cfg)):
        raise ConfigError(f"{', '.join(name_of(n) for n in calib_options)} only apply with {int8}")
    if cfg.half and not device.startswith("cuda") and not fmt.cpu:
        raise ConfigError(f"{half} needs a GPU; {say('device', device)} cannot build an FP16 {fmt.name}")
    _check_calibration_split(cfg)
    if device == "cpu" and not fmt.cpu:
        raise ConfigError(f"{on} is built on a GPU; use {say('device', 'cuda')}")
    suffix = source_kind(cfg.weights)
    if suffix != CHECKPOINT and fmt.name == "onnx":
        raise ConfigError(
            f"{cfg.weights}: {on} needs a PyTorch checkpoint ({', '.join(CHECKPOINT_SUFFIXES)})"
        )
    if suffix == "engine" and fmt.name != "triton":
        raise ConfigError(f"{cfg.weights}: an engine can only be packaged with {say('format', 'triton')}")


def validate_config(cfg: ExportConfig) -> ArtifactFormat:
    """The format row of a config (built configs are checked: see `ExportConfig`)."""
    return get_export_format(cfg.format)


def check_inputs(cfg: ExportConfig) -> None:
    """Files, checked in milliseconds before the model loads (an export takes seconds)."""
    from lesps_deploy.data.dataset import read_split

    check_paths(cfg)
    if cfg.verify is not None:
        read_split(cfg.verify, "test")  # the split --verify evaluates


def _check_calibration_split(cfg: ExportConfig) -> None:
    """Calibrating on the split that --verify evaluates would hide what quantization costs."""
    if not cfg.int8 or cfg.calib_data is None or cfg.verify is None:
        return
    same_dir = Path(cfg.calib_data).resolve() == Path(cfg.verify).resolve()
    if same_dir and cfg.calib_split == "test":
        raise ConfigError(
            f"{cfg.calib_data}: {say('calib_split', 'test')} is the split {name_of('verify')} evaluates",
            hint=f"calibrate on another split ({say('calib_split', 'train')}, the default)",
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
    if fmt.name == "triton":
        return cfg.weights.parent / "triton_models"
    return cfg.weights.with_name(model_name(cfg.weights) + fmt.suffix)
