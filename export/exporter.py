"""`export_weights(ExportConfig)`: one call from weights to a verified deployable artifact.

validate options against the format table -> load the checkpoint -> ONNX (-> engine | Triton
repository) -> parity with PyTorch (synthetic frames, or real frames and split counts with
`verify`). Every file is assembled in a temporary place and renamed in at the end.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import tempfile
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from lesps_deploy.data import Norm, resolve_norm
from lesps_deploy.errors import ConfigError, ExportError
from lesps_deploy.metadata import ModelMeta

from .formats import OPTION_FLAGS, ExportFormat, get_format
from .parity import ParityReport, check_parity

__all__ = ["ExportConfig", "ExportResult", "validate_config", "output_path", "export_weights", "TOLERANCES"]

logger = logging.getLogger(__name__)

CHECKPOINT_SUFFIXES = (".pth.tar", ".pth", ".pt", ".ckpt")
# max abs probability difference allowed against PyTorch FP32, per artifact precision
TOLERANCES: dict[str, float] = {"fp32": 1e-4, "fp16": 2e-2, "int8": 0.15}
_DEFAULTS = {"onnx": ((256, 256), 1), "engine": ((512, 512), 1), "triton": ((256, 256), 8)}


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
    calib_method: str = "entropy"
    opset: int = 17
    simplify: bool = False
    workspace: float | None = None
    verify: Path | None = None
    instances: int = 1
    device: str | None = None
    force: bool = False
    trust_pickle: bool = False


@dataclass(frozen=True)
class ExportResult:
    """What was written and how it compares with PyTorch."""

    format: str
    path: Path
    meta: ModelMeta
    seconds: float
    parity: tuple[tuple[str, ParityReport], ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(report.ok for _, report in self.parity)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format, "path": str(self.path), "model": self.meta.model, "seconds": self.seconds,
            "parity": {label: report.to_dict() for label, report in self.parity}, "ok": self.ok, **self.details,
        }  # fmt: skip


def _given(cfg: ExportConfig) -> list[str]:
    """Options set away from their defaults."""
    return [f.name for f in fields(cfg) if f.name in OPTION_FLAGS and getattr(cfg, f.name) != f.default]


def _check_ranges(cfg: ExportConfig) -> None:
    if cfg.imgsz is not None and (len(cfg.imgsz) != 2 or any(s <= 0 or s % 32 for s in cfg.imgsz)):
        raise ConfigError(f"--imgsz {cfg.imgsz}: height and width must be positive multiples of 32")
    checks = (
        (cfg.batch is not None and cfg.batch < 1, f"--batch {cfg.batch}: must be >= 1"),
        (cfg.opset < 17, f"--opset {cfg.opset}: must be >= 17"),
        (cfg.calib_images < 1, f"--calib-images {cfg.calib_images}: must be >= 1"),
        (
            cfg.calib_method not in ("entropy", "minmax"),
            f"--calib-method {cfg.calib_method}: use entropy or minmax",
        ),
        (cfg.workspace is not None and cfg.workspace <= 0, f"--workspace {cfg.workspace}: must be > 0 GiB"),
        (cfg.instances < 1, f"--instances {cfg.instances}: must be >= 1"),
    )
    for bad, message in checks:
        if bad:
            raise ConfigError(message)


def validate_config(cfg: ExportConfig) -> ExportFormat:
    """Check `cfg` against its format row; returns the row.

    Raises:
        ConfigError: an option the format does not take, contradicting options, or out-of-range values.
    """
    fmt = get_format(cfg.format)
    for name in _given(cfg):
        if not fmt.accepts(name):
            raise ConfigError(f"{OPTION_FLAGS[name]} does not apply to --format {fmt.name}")
    _check_ranges(cfg)
    device = _device(cfg, fmt)
    if cfg.half and cfg.int8:
        raise ConfigError("--half and --int8 are exclusive (INT8 engines already fall back to FP16 layers)")
    if cfg.int8 and cfg.calib_data is None:
        raise ConfigError(
            "--int8 needs calibration images", hint="add --calib-data DATASET_DIR (300+ images)"
        )
    if not cfg.int8 and {"calib_data", "calib_images", "calib_method"} & set(_given(cfg)):
        raise ConfigError("--calib-data/--calib-images/--calib-method only apply with --int8")
    if cfg.half and not device.startswith("cuda"):
        raise ConfigError(f"--half needs a GPU; --device {device} cannot build an FP16 {fmt.name}")
    if device == "cpu" and not fmt.cpu:
        raise ConfigError(f"--format {fmt.name} is built on a GPU; use --device cuda")
    suffix = _source_kind(cfg.weights)
    if suffix != "checkpoint" and fmt.name == "onnx":
        raise ConfigError(
            f"{cfg.weights}: --format onnx needs a PyTorch checkpoint ({', '.join(CHECKPOINT_SUFFIXES)})"
        )
    if suffix == "engine" and fmt.name != "triton":
        raise ConfigError(f"{cfg.weights}: an engine can only be packaged with --format triton")
    return fmt


def _device(cfg: ExportConfig, fmt: ExportFormat) -> str:
    return cfg.device or ("cpu" if fmt.cpu else "cuda")


def _source_kind(weights: Path) -> str:
    name = weights.name.lower()
    if name.endswith(CHECKPOINT_SUFFIXES):
        return "checkpoint"
    for kind in ("onnx", "engine", "plan"):
        if name.endswith(f".{kind}"):
            return "engine" if kind == "plan" else kind
    raise ConfigError(f"{weights}: unknown weights suffix; expected a checkpoint, .onnx or .engine")


def output_path(cfg: ExportConfig, fmt: ExportFormat) -> Path:
    """`--out`, else beside the weights: <stem><suffix>, or <dir>/triton_models for a repository."""
    if cfg.out is not None:
        return Path(cfg.out)
    if fmt.name == "triton":
        return cfg.weights.parent / "triton_models"
    from .triton import model_name

    return cfg.weights.with_name(model_name(cfg.weights) + fmt.suffix)


def export_weights(cfg: ExportConfig) -> ExportResult:
    """Export `cfg.weights` to `cfg.format` and check parity with PyTorch.

    Raises:
        ConfigError: invalid options (see `validate_config`), or an unknown normalization.
        ExportError: the output exists without `force`, or the export itself failed.
        CheckpointError: the weights cannot be loaded.
        MissingDependencyError: TensorRT / onnxslim missing for the requested format/option.
    """
    from .pipelines import PIPELINES, Job

    start = time.perf_counter()
    fmt = validate_config(cfg)
    out = output_path(cfg, fmt)
    if fmt.name != "triton" and out.exists() and not cfg.force:
        raise ExportError(f"{out}: already exists", hint="pass --force to overwrite it")
    if fmt.name == "engine":
        from .tensorrt import import_tensorrt

        import_tensorrt()  # fail before the slow part when TensorRT is missing
    imgsz, batch = _DEFAULTS[fmt.name]
    job = Job(
        cfg=cfg, fmt=fmt, out=out, device=_device(cfg, fmt), imgsz=tuple(cfg.imgsz or imgsz),
        batch=cfg.batch or batch, dynamic=True if cfg.dynamic is None else cfg.dynamic,
    )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix=".lesps-export-", dir=_tmp_parent(out)) as tmp:
        path, parity, details = PIPELINES[fmt.name](job, Path(tmp))
    seconds = round(time.perf_counter() - start, 2)
    return ExportResult(fmt.name, path, job.meta, seconds, tuple(parity), details)


def _tmp_parent(out: Path) -> str:
    parent = out.parent if out.suffix else out
    parent.mkdir(parents=True, exist_ok=True)
    return str(parent)


def resolve_meta(meta: ModelMeta, norm_spec: str | None, dataset: Path | None) -> tuple[ModelMeta, Norm]:
    """Meta with a known normalization: `--norm` wins over the checkpoint's own.

    Raises:
        ConfigError: neither gives one (the hint names the released checkpoints' preset).
    """
    if norm_spec is not None:
        norm = resolve_norm(norm_spec, dataset)
    elif meta.mean is not None and meta.std is not None:
        norm = Norm(meta.mean, meta.std)
    else:
        raise ConfigError(
            "the checkpoint carries no normalization, so the exported model would not know it",
            hint="pass --norm PRESET|auto|MEAN,STD (the released LESPS checkpoints use --norm SIRST3)",
        )
    return dataclasses.replace(meta, mean=norm.mean, std=norm.std), norm


def run_parity(
    label: str,
    reference: Any,
    artifact_path: Path,
    job: Any,
    precision: str = "fp32",
    backend: str | None = None,
) -> tuple[str, ParityReport]:
    """Parity of one artifact file against the PyTorch reference module."""
    from lesps_deploy.runtime.base import load_runtime

    device = "cpu" if backend == "onnxruntime" or artifact_path.suffix == ".onnx" else job.device
    with load_runtime(artifact_path, device=device, backend=backend) as artifact:
        report = check_parity(
            reference, artifact, job.norm, dataset_dir=job.cfg.verify, counts=job.cfg.verify is not None,
            tolerance=TOLERANCES[precision], strict_counts=precision == "fp32",
        )  # fmt: skip
    if not report.ok:
        logger.warning("%s parity check failed: %s", label, "; ".join(report.lines()))
    return label, report


def move_into_place(src: Path, dst: Path) -> Path:
    """Rename a finished file onto its final path (same filesystem: atomic)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.replace(src, dst)
    return dst
