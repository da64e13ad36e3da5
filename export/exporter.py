"""`export`: one call from weights to a verified deployable artifact (`lesps export` as a call).

validate options against the format table -> load the checkpoint -> ONNX (-> engine | Triton
repository) -> parity with PyTorch (synthetic frames, or real frames and split counts with
`verify`). Every file is assembled in a temporary place and renamed in at the end.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lesps_deploy.errors import ExportError

from .config import (
    ExportConfig,
    ExportResult,
    check_inputs,
    export_device,
    output_path,
    validate_config,
)
from .pipelines import Job

__all__ = ["export"]

logger = logging.getLogger(__name__)


def export(weights: ExportConfig | str | Path, format: str = "onnx", **options: Any) -> ExportResult:  # noqa: A002
    """Export weights to `format` and check parity with PyTorch.

    Args:
        weights: PyTorch checkpoint (or an .onnx file for engines/Triton, an engine for Triton); or a
            whole `ExportConfig`.
        format: onnx, engine or triton (see `lesps_deploy.formats`); not with an `ExportConfig`.
        **options: any other `ExportConfig` field (out, norm, imgsz, half, int8, verify, force, ...);
            with an `ExportConfig`, fields to replace.

    Raises:
        ConfigError: invalid options (see `validate_config`), or an unknown normalization.
        ExportError: the output exists without `force`, or the export itself failed.
        CheckpointError: the weights cannot be loaded.
        MissingDependencyError: TensorRT / onnxslim missing for the requested format/option.

    Example:
        >>> result = export("ACM_LESPS_centroid.pth.tar", "onnx", norm="SIRST3", out="acm.onnx")
        >>> result.path, result.ok
    """
    if isinstance(weights, ExportConfig):
        cfg = dataclasses.replace(weights, **options)
    else:
        cfg = ExportConfig(weights=Path(weights), format=format, **options)
    start = time.perf_counter()
    fmt = validate_config(cfg)
    out = output_path(cfg, fmt)
    # A folder format merges into an existing repository (its writer refuses a model already there).
    if not fmt.is_directory and out.exists() and not cfg.force:
        raise ExportError(f"{out}: already exists", hint="pass --force to overwrite it")
    fmt.check_preflight()  # e.g. TensorRT missing: said before the slow part
    check_inputs(cfg)  # files and --norm, before the weights load
    job = Job(
        cfg=cfg, fmt=fmt, out=out, device=export_device(cfg, fmt), imgsz=tuple(cfg.imgsz or fmt.imgsz),
        batch=cfg.batch or fmt.batch, dynamic=True if cfg.dynamic is None else cfg.dynamic,
    )  # fmt: skip
    with _as_output_error(out), tempfile.TemporaryDirectory(prefix=_WORK_PREFIX, dir=_tmp_parent(out)) as tmp:
        path, parity, details = fmt.export_pipeline()(job, Path(tmp))
    seconds = round(time.perf_counter() - start, 2)
    return ExportResult(fmt.name, path, job.meta, seconds, tuple(parity), details, job.gate)


_WORK_PREFIX = ".lesps-export-"  # the export's working folder, beside the output, removed at the end


@contextlib.contextmanager
def _as_output_error(out: Path) -> Iterator[None]:
    """An OS error in the export's working folder (disk full, read-only) names the output the user asked
    for, not the temporary folder beside it."""
    try:
        yield
    except OSError as err:
        if err.errno is not None and _WORK_PREFIX in str(err.filename or ""):
            raise OSError(err.errno, err.strerror, str(out)) from err
        raise


def _tmp_parent(out: Path) -> str:
    parent = out.parent if out.suffix else out
    parent.mkdir(parents=True, exist_ok=True)
    return str(parent)
