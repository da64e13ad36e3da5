"""The ONNX graph of a PyTorch checkpoint, exported once and cached by the checkpoint file's sha256.

`lesps evaluate` of a checkpoint on the CPU runs through ONNX Runtime. The first run exports the
checkpoint to `$XDG_CACHE_HOME/lesps-deploy/onnx/<sha256[:16]>-<key>.onnx` (atomic write); later runs
of the same file find it there and never import torch: the cached file carries the checkpoint's
metadata. The key covers everything that changes the exported bytes: the file's sha256, the model
override, the opset, the exporter version, and the lesps-deploy and torch versions (torch's read from its package metadata,
without importing it).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from importlib import metadata as package_metadata
from pathlib import Path

from lesps_deploy.io import atomic_write_text, cache_dir, sha256_file
from lesps_deploy.metadata import __version__

__all__ = ["EXPORT_OPSET", "EXPORTER_VERSION", "onnx_cache_path", "cached_onnx"]

logger = logging.getLogger(__name__)

EXPORT_OPSET = 17
# Bump when what an export writes changes (graph or embedded metadata) within one package version.
EXPORTER_VERSION = 2  # 2: metadata carries input_bits


def _torch_version() -> str | None:
    try:
        return package_metadata.version("torch")
    except package_metadata.PackageNotFoundError:
        return None


def onnx_cache_path(
    weights: str | os.PathLike[str],
    model: str | None = None,
    opset: int = EXPORT_OPSET,
    root: Path | None = None,
    sha256: str | None = None,
) -> Path:
    """Where the ONNX export of `weights` is (or will be) cached; reads the file to hash it."""
    sha256 = sha256 or sha256_file(weights)
    key = {
        "sha256": sha256,
        "model": model,
        "opset": opset,
        "exporter": EXPORTER_VERSION,
        "lesps_deploy": __version__,
        "torch": _torch_version(),
    }
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    return (root or cache_dir("onnx")) / f"{sha256[:16]}-{digest}.onnx"


def cached_onnx(
    weights: str | os.PathLike[str],
    model: str | None = None,
    opset: int = EXPORT_OPSET,
    root: Path | None = None,
    trust_pickle: bool = False,
) -> Path:
    """The cached ONNX export of checkpoint `weights`, exported now when it is not cached yet.

    Args:
        weights: PyTorch checkpoint file.
        model: model name override (as `load_checkpoint` takes it).
        opset: ONNX opset of the export.
        root: cache folder (default `~/.cache/lesps-deploy/onnx`).
        trust_pickle: allow full unpickling of a checkpoint that safe loading refuses (on a miss).

    Raises:
        CheckpointError, ModelError: the checkpoint cannot be loaded.
        ExportError: the export failed.
    """
    path = onnx_cache_path(weights, model, opset, root)
    note = path.with_suffix(".release.txt")  # what load_checkpoint said of the file, for later hits
    if path.is_file():
        # A hit never loads the checkpoint (nor torch), so the release it was recognised as is said here.
        if note.is_file():
            logger.info("%s: recognised the %s", weights, note.read_text(encoding="utf-8").strip())
        logger.debug("%s: cached ONNX %s", weights, path)
        return path
    from lesps_deploy.models.checkpoint import load_checkpoint
    from lesps_deploy.models.releases import find_release

    from .onnx import module_to_onnx

    ckpt = load_checkpoint(weights, model=model, trust_pickle=trust_pickle)
    meta = dataclasses.replace(ckpt.meta, source_sha256=ckpt.sha256)
    logger.debug("%s: exporting to the ONNX cache %s", weights, path)
    release = find_release(ckpt.sha256)
    if release is not None:
        atomic_write_text(note, release.describe() + "\n")
    return module_to_onnx(ckpt.model.eval(), meta, path, opset=opset)
