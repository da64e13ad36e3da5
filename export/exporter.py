"""`export_weights(ExportConfig)`: one call from weights to a verified deployable artifact.

validate options against the format table -> load the checkpoint -> ONNX (-> engine | Triton
repository) -> parity with PyTorch (synthetic frames, or real frames and split counts with
`verify`). Every file is assembled in a temporary place and renamed in at the end.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from lesps_deploy.errors import ExportError

from .config import (
    FORMAT_DEFAULTS,
    ExportConfig,
    ExportResult,
    check_inputs,
    export_device,
    output_path,
    validate_config,
)
from .pipelines import PIPELINES, Job

__all__ = ["export_weights"]

logger = logging.getLogger(__name__)


def export_weights(cfg: ExportConfig) -> ExportResult:
    """Export `cfg.weights` to `cfg.format` and check parity with PyTorch.

    Raises:
        ConfigError: invalid options (see `validate_config`), or an unknown normalization.
        ExportError: the output exists without `force`, or the export itself failed.
        CheckpointError: the weights cannot be loaded.
        MissingDependencyError: TensorRT / onnxslim missing for the requested format/option.
    """
    start = time.perf_counter()
    fmt = validate_config(cfg)
    out = output_path(cfg, fmt)
    if fmt.name != "triton" and out.exists() and not cfg.force:
        raise ExportError(f"{out}: already exists", hint="pass --force to overwrite it")
    if fmt.name == "engine":
        from .tensorrt import import_tensorrt

        import_tensorrt()  # fail before the slow part when TensorRT is missing
    check_inputs(cfg)  # files and --norm, before the weights load
    imgsz, batch = FORMAT_DEFAULTS[fmt.name]
    job = Job(
        cfg=cfg, fmt=fmt, out=out, device=export_device(cfg, fmt), imgsz=tuple(cfg.imgsz or imgsz),
        batch=cfg.batch or batch, dynamic=True if cfg.dynamic is None else cfg.dynamic,
    )  # fmt: skip
    with _as_output_error(out), tempfile.TemporaryDirectory(prefix=_WORK_PREFIX, dir=_tmp_parent(out)) as tmp:
        path, parity, details = PIPELINES[fmt.name](job, Path(tmp))
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
