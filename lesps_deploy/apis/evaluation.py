"""`lesps evaluate` as a library call: any weights file over a dataset split, IoU, nIoU, Pd, Fa.

A PyTorch checkpoint on the CPU runs through ONNX Runtime, from an ONNX export cached by the file's
sha256 (`lesps_deploy.export.onnx_cache`): a second evaluation of the same file neither exports nor
imports torch. `.onnx` and `.engine` files load their own backend; none of this module's imports pulls
torch in.

The report names the backend and precision that produced its numbers (`report.backend`,
`report.precision`).

Example:
    >>> from lesps_deploy import evaluate
    >>> report = evaluate("ACM_LESPS_centroid.pth.tar", "datasets/NUAA-SIRST", norm="SIRST3")
    >>> report.iou, report.pd, report.fa, report.backend
"""

from __future__ import annotations

import csv
import dataclasses
import io
import logging
from dataclasses import MISSING, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lesps_deploy.errors import CheckpointError, ConfigError, ModelError
from lesps_deploy.formats import CHECKPOINT_SUFFIXES, backend_names
from lesps_deploy.io import atomic_write_json, atomic_write_text
from lesps_deploy.metrics.rules import FaRule, fa_rule_option, strict_masks_option
from lesps_deploy.metrics.segmentation import percent_text
from lesps_deploy.options import (
    Role,
    check_multiple,
    check_paths,
    force_option,
    json_option,
    option,
    threads_option,
    validate,
)
from lesps_deploy.runtime import options as shared
from lesps_deploy.runtime.base import Backend, load_runtime
from lesps_deploy.threads import current_threads

if TYPE_CHECKING:
    from lesps_deploy.metrics.report import EvalReport

__all__ = ["EvalConfig", "EvalReport", "evaluate", "results_table"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvalConfig:
    """Options of `lesps evaluate`: each field declares its flag, help and domain (`lesps_deploy.options`)."""

    weights: Path = shared.weights_option(
        "Weights: .pth/.pth.tar/.pt checkpoint, .onnx or .engine file, or a served model's http:// or grpc:// URL.",
        argument=True,
        url=True,
    )
    data: Path = shared.data_option(MISSING)
    split: str = option("test", "Split list img_idx/<split>_<name>.txt.")
    model: str | None = shared.model_option()
    norm: str | None = shared.norm_option()
    threshold: float | None = shared.threshold_option()
    patch_size: int = shared.tile_size_option()
    mask_threshold: int | None = option(
        None, "Use one rule 'mask value > N' for IoU and Pd/Fa (default: the reference's mixed rule).", ge=0
    )
    fa_rule: FaRule = fa_rule_option()
    device: str = shared.device_option()
    batch_size: int = shared.batch_option(
        1, "Images per forward pass (grouped by padded size).", renamed=("--batch-size",)
    )
    backend: str | None = option(
        None,
        "torch, onnxruntime or tensorrt (default: from the suffix; CPU checkpoints run via ONNX Runtime).",
        choices=tuple(backend_names()),
    )
    json_out: Path | None = json_option()
    per_image: Path | None = option(None, "Write per-image counts as CSV here.", role=Role.OUTPUT_FILE)
    force: bool = force_option()
    strict_masks: bool = strict_masks_option()
    frame_mapping: str | None = shared.frame_mapping_option()
    skip_bad: bool = option(False, "Exit 0 even when some images could not be read.")
    trust_pickle: bool = shared.trust_pickle_option()
    threads: int | None = threads_option()

    def __post_init__(self) -> None:
        validate(self)

    def validate_inputs(self) -> None:
        """Check the files and options a run needs, in a few ms, before the model loads (or exports).

        Raises:
            DataError: the weights file, the dataset folder or its split list is missing.
            ConfigError: an output cannot be written.
        """
        from lesps_deploy.data.dataset import read_split

        check_paths(self)
        read_split(self.data, self.split)


def _fast_path(cfg: EvalConfig) -> bool:
    """A checkpoint on the CPU with no backend forced runs through ONNX Runtime."""
    checkpoint = Path(cfg.weights).name.lower().endswith(CHECKPOINT_SUFFIXES) and Path(cfg.weights).is_file()
    return cfg.backend is None and cfg.device == "cpu" and checkpoint


def _open_backend(cfg: EvalConfig) -> Backend:
    """The backend `cfg.weights` selects; a PyTorch checkpoint on the CPU runs through ONNX Runtime.

    Why: on CPU, ONNX Runtime runs these networks ~1.6x faster than eager PyTorch, and the exported
    graph gives the reference counts exactly (tested on every released checkpoint). `backend="torch"`
    keeps eager PyTorch; a model that cannot be exported falls back to it with a warning.
    """
    options: dict[str, object] = {"model": cfg.model} if cfg.model else {}
    if cfg.trust_pickle:
        options["trust_pickle"] = True
    if not _fast_path(cfg):
        return load_runtime(cfg.weights, device=cfg.device, backend=cfg.backend, **options)
    from lesps_deploy.export.onnx_cache import cached_onnx
    from lesps_deploy.runtime.onnx_backend import OnnxRuntimeBackend

    try:
        onnx_path = cached_onnx(cfg.weights, model=cfg.model, trust_pickle=cfg.trust_pickle)
    except (CheckpointError, ModelError):
        raise
    except Exception as err:  # noqa: BLE001 - any export failure means: stay on eager PyTorch
        logger.warning("%s: evaluating with eager PyTorch (ONNX fast path unavailable: %s)", cfg.weights, err)
        return load_runtime(cfg.weights, device=cfg.device, backend="torch", **options)
    # One intra-op thread per call and one evaluation worker per core (see `evaluate`): for
    # these small frames that beats one call spread over all cores.
    fast = OnnxRuntimeBackend(onnx_path, device="cpu", threads=1)
    fast.single_threaded = True  # type: ignore[attr-defined]
    # Said at info level: the report's `backend` field records it too.
    logger.info("%s: evaluating through ONNX Runtime (CPU fast path, %s)", cfg.weights, onnx_path)
    return fast


def evaluate(
    weights: EvalConfig | str | Path,
    data: str | Path | None = None,
    *,
    progress: bool = False,
    **options: Any,
) -> EvalReport:
    """Evaluate weights on a dataset split: IoU, nIoU, Pd, Fa, and the backend and precision that ran.

    Loads the weights with the backend their suffix selects (a checkpoint on the CPU runs through
    ONNX Runtime, see `_open_backend`), evaluates, and writes `json_out` / `per_image` if asked.

    Args:
        weights: .pth/.pth.tar/.pt checkpoint, .onnx or .engine file; or a whole `EvalConfig`.
        data: dataset folder (images/, masks/, img_idx/); not with an `EvalConfig`.
        progress: show a progress bar.
        **options: any other `EvalConfig` field (split, norm, threshold, fa_rule, device, ...); with an
            `EvalConfig`, fields to replace.

    Raises:
        ConfigError: no normalization known, or no image of the split could be read.
        BackendError, CheckpointError: the weights cannot be loaded.

    Example:
        >>> report = evaluate("acm.onnx", "datasets/NUAA-SIRST", split="test")
        >>> round(100 * report.iou, 2), report.backend, report.precision
    """
    from lesps_deploy.data.bit_depth import FrameMapper
    from lesps_deploy.data.norm import model_norm
    from lesps_deploy.runtime.dataset_runner import run_dataset

    if isinstance(weights, EvalConfig):
        cfg = dataclasses.replace(weights, **options)
    elif data is None:
        raise ConfigError("evaluate: give the dataset folder (data=...)")
    else:
        cfg = EvalConfig(Path(weights), Path(data), **options)
    cfg.validate_inputs()
    with _open_backend(cfg) as backend:
        check_multiple("patch_size", cfg.patch_size, backend.meta.pad_multiple, str(cfg.weights))
        mapper = FrameMapper(backend.meta.input_bits, cfg.frame_mapping)
        norm = model_norm(cfg.norm, backend.meta, cfg.data, cfg.weights, mapper)
        # Single-threaded sessions: one per thread this process was given (`--threads`).
        workers = current_threads() if getattr(backend, "single_threaded", False) else 1
        report = run_dataset(
            backend, cfg.data, cfg.split, norm, cfg.threshold, cfg.patch_size, cfg.mask_threshold,
            cfg.batch_size, progress, workers=workers, fa_rule=cfg.fa_rule, strict_masks=cfg.strict_masks,
            frame_mapping=mapper,
        )  # fmt: skip
    report = dataclasses.replace(report, weights=str(cfg.weights))  # the file asked for, not the cache's
    if cfg.json_out:
        atomic_write_json(cfg.json_out, report.to_dict())
    if cfg.per_image:
        atomic_write_text(cfg.per_image, _per_image_csv(report.per_image))
    return report


def _per_image_csv(rows: tuple[dict[str, Any], ...]) -> str:
    buf = io.StringIO()
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return buf.getvalue()


def results_table(rows: list[dict[str, Any]], title: str = "Evaluation"):
    """Rich table: IoU/nIoU x100, Pd x100, Fa x1e-6, plus the raw counts."""
    from rich.table import Table

    mismatches = sum(r.get("mask_size_mismatches", 0) for r in rows)
    caption = (
        f"{mismatches} mask(s) of another size than their image, cropped / zero-padded as the reference does"
        if mismatches
        else None
    )
    table = Table(title=title, caption=caption)
    for col in (
        "model",
        "backend",
        "precision",
        "weights",
        "images",
        "IoU",
        "nIoU",
        "Pd",
        "Fa (1e-6)",
        "detected/targets",
        "seconds",
    ):
        table.add_column(col, justify="left" if col in ("model", "weights") else "right")
    for r in rows:
        table.add_row(
            str(r["model"]),
            str(r.get("backend", "")),
            str(r.get("precision", "fp32")),
            Path(str(r["weights"])).name,
            str(r["images"]),
            f"{100 * r['IoU']:.2f}",
            f"{100 * r['nIoU']:.2f}",
            percent_text(r["Pd"]),
            f"{1e6 * r['Fa']:.2f}",
            f"{r['detected']}/{r['targets']}",
            f"{r['seconds']:.1f}",
        )
    return table
