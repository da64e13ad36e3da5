"""Exported artifacts for the benchmark, cached by checkpoint sha256 + export options.

A cached artifact sits at `<cache>/<sha256[:16]>/<format>-<precision>-<options hash><suffix>` with a
JSON sidecar holding its options and the original build time, so a second run reuses it and still
reports how long it took to build. Anything that changes the artifact (normalization, model,
precision, profile shape, TensorRT version, GPU) is part of the options hash.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lesps_deploy.data import Norm, padded_size
from lesps_deploy.export.config import DEFAULT_CALIB_METHOD
from lesps_deploy.io import atomic_write_json
from lesps_deploy.metadata import __version__

from .config import BenchmarkConfig
from .env import package_version
from .matrix import Artifact, precision_option

__all__ = ["PreparedArtifact", "prepare_artifact", "export_options"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreparedArtifact:
    """A file ready to load: where, how big, how long it took to build and whether it came from the cache."""

    path: Path
    size_mb: float
    build_s: float | None
    cached: bool | None
    parity_max_abs_diff: float | None = None


def export_options(
    art: Artifact, cfg: BenchmarkConfig, norm: Norm, sha256: str, pad_multiple: int
) -> dict[str, Any]:
    """Everything that decides the exported bytes (and so the cache key); `pad_multiple`: the model's."""
    assert art.fmt is not None  # only called for exported artifacts (not user input)
    opts: dict[str, Any] = {
        "source_sha256": sha256,
        "format": art.fmt.name,
        "precision": art.precision,
        "model": cfg.model,
        "norm": [norm.mean, norm.std],
        "opset": 17,
        "dynamic": True,
        "lesps_deploy": __version__,
        "torch": package_version("torch"),
    }
    if not art.fmt.cpu:  # engines: the optimization profile and what they are bound to
        side = max(padded_size(s, s, pad_multiple)[0] for s in cfg.imgsz)
        opts.update(imgsz=[side, side], batch=max(cfg.batches), tensorrt=package_version("tensorrt"))
        opts.update(gpu=_gpu_name(cfg.device))
    if art.precision == "int8":
        opts.update(calib_data=str(Path(cfg.data).resolve()) if cfg.data else None)
        opts.update(calib_method=DEFAULT_CALIB_METHOD, calib_split="train")
    return opts


def _gpu_name(device: str) -> str | None:
    import torch

    if not device.startswith("cuda") or not torch.cuda.is_available():
        return None
    return torch.cuda.get_device_name(torch.device(device))


def _cache_path(art: Artifact, cfg: BenchmarkConfig, opts: dict[str, Any]) -> Path:
    digest = hashlib.sha256(json.dumps(opts, sort_keys=True).encode()).hexdigest()[:12]
    name = f"{art.fmt.name}-{art.precision}-{digest}{art.fmt.suffix}"  # type: ignore[union-attr]
    return cfg.artifact_cache / opts["source_sha256"][:16] / name


def _size_mb(path: Path) -> float:
    return round(path.stat().st_size / 2**20, 3)


def _export(
    art: Artifact, cfg: BenchmarkConfig, norm: Norm, opts: dict[str, Any], out: Path
) -> tuple[float, float | None]:
    """Run `export` onto `out`; returns (seconds, parity max abs diff)."""
    from lesps_deploy.export import ExportConfig, export

    option = precision_option(art.precision)
    export_cfg = ExportConfig(
        weights=Path(cfg.weights), format=art.fmt.name, out=out, model=cfg.model,  # type: ignore[union-attr]
        norm=f"{norm.mean},{norm.std}", imgsz=tuple(opts["imgsz"]) if "imgsz" in opts else None,
        batch=opts.get("batch"), half=option == "half", int8=option == "int8",
        calib_data=Path(cfg.data) if option == "int8" else None,
        device=None if art.fmt.cpu else cfg.device, force=True,
        keep_degraded=True,  # measured and flagged (Row.beyond_gate) rather than refused
    )  # fmt: skip
    result = export(export_cfg)
    diffs = [report.max_abs_diff for _, report in result.parity]
    if result.gate is not None:  # FP16/INT8: the artifact's own max |Δp| (parity covers its FP32 graph)
        diffs.append(result.gate.max_abs_diff)
    return result.seconds, (max(diffs) if diffs else None)


def prepare_artifact(
    art: Artifact, cfg: BenchmarkConfig, norm: Norm, sha256: str, pad_multiple: int
) -> PreparedArtifact:
    """The file to load for `art`: the user's file itself, a cached export, or a fresh export.

    Raises:
        ExportError, MissingDependencyError, ConfigError: from `export`.
    """
    if art.fmt is None or art.given:  # the checkpoint, or an artifact measured as it is
        path = Path(cfg.weights)
        return PreparedArtifact(path, _size_mb(path), None, None)
    opts = export_options(art, cfg, norm, sha256, pad_multiple)
    path = _cache_path(art, cfg, opts)
    sidecar = path.with_name(path.name + ".json")
    if path.exists() and sidecar.exists():
        info = json.loads(sidecar.read_text())
        logger.info("%s %s: cached artifact %s", art.backend, art.precision, path)
        return PreparedArtifact(
            path, _size_mb(path), info.get("build_s"), True, info.get("parity_max_abs_diff")
        )
    logger.info("%s %s: exporting %s", art.backend, art.precision, path)
    seconds, parity = _export(art, cfg, norm, opts, path)
    atomic_write_json(sidecar, {"options": opts, "build_s": seconds, "parity_max_abs_diff": parity})
    return PreparedArtifact(path, _size_mb(path), seconds, False, parity)
