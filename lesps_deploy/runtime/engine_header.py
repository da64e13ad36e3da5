"""The `.engine` file layout: magic, uint32 length, JSON header, then the TensorRT plan.

The header carries the ONNX metadata (normalization, threshold, names...) plus where and how the
plan was built, so the runtime needs no other flag and can say in one sentence why an engine built
by another TensorRT version or GPU cannot be loaded (a plan is tied to both).

Layout: ``b"LESPSENG"`` | little-endian uint32 N | N bytes of UTF-8 JSON | serialized plan.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lesps_deploy.errors import BackendError
from lesps_deploy.io import atomic_path, json_text
from lesps_deploy.metadata import ModelMeta

__all__ = [
    "ENGINE_MAGIC",
    "EngineHeader",
    "write_engine",
    "read_engine",
    "read_header",
    "update_engine_meta",
    "compatibility_problem",
]

ENGINE_MAGIC = b"LESPSENG"
_LEN = struct.Struct("<I")
_MAX_HEADER = 1 << 20  # a header is a few hundred bytes; anything larger is a corrupt file


@dataclass(frozen=True)
class EngineHeader:
    """What an engine was built from and for.

    Attributes:
        meta: ModelMeta string form (the same keys as the ONNX metadata_props).
        tensorrt_version: `tensorrt.__version__` of the builder.
        gpu_name: CUDA device name the plan was built on.
        compute_capability: "major.minor" of that GPU.
        precision: fp32, fp16 or int8.
        profile: optimization profile {"min": [N,C,H,W], "opt": [...], "max": [...]}.
        extra: anything else (build time, calibration images...).
    """

    meta: dict[str, str]
    tensorrt_version: str
    gpu_name: str
    compute_capability: str
    precision: str
    profile: dict[str, list[int]]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def model_meta(self) -> ModelMeta:
        return ModelMeta.from_strings(self.meta)

    def to_json(self) -> bytes:
        return json_text(asdict(self), sort_keys=True).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes, path: str | os.PathLike[str] = "<engine>") -> EngineHeader:
        try:
            data = json.loads(raw.decode("utf-8"))
            return cls(**data)
        except (UnicodeDecodeError, json.JSONDecodeError, TypeError) as err:
            raise BackendError(f"{path}: corrupt engine header ({err})") from err


def write_engine(path: str | os.PathLike[str], header: EngineHeader, plan: bytes) -> Path:
    """Write header + plan atomically to `path` and return it."""
    raw = header.to_json()
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(ENGINE_MAGIC + _LEN.pack(len(raw)) + raw)
        f.write(plan)
        f.flush()
        os.fsync(f.fileno())
    return Path(path)


def update_engine_meta(path: str | os.PathLike[str], meta: ModelMeta) -> EngineHeader:
    """Rewrite an engine file's header with `meta` (e.g. the precision gate's deltas), plan unchanged."""
    import dataclasses

    header, plan = read_engine(path)
    header = dataclasses.replace(header, meta=meta.to_strings())
    write_engine(path, header, plan)
    return header


def _read_prefix(f, path: str | os.PathLike[str]) -> EngineHeader:
    magic = f.read(len(ENGINE_MAGIC))
    if magic != ENGINE_MAGIC:
        raise BackendError(
            f"{path}: not a lesps-deploy engine (no header); it may be a bare TensorRT plan",
            hint="re-export it with 'lesps export WEIGHTS --format engine'",
        )
    size_raw = f.read(_LEN.size)
    if len(size_raw) != _LEN.size:
        raise BackendError(f"{path}: truncated engine header")
    (size,) = _LEN.unpack(size_raw)
    if size > _MAX_HEADER:
        raise BackendError(f"{path}: corrupt engine header (claims {size} bytes)")
    raw = f.read(size)
    if len(raw) != size:
        raise BackendError(f"{path}: truncated engine header")
    return EngineHeader.from_json(raw, path)


def read_header(path: str | os.PathLike[str]) -> EngineHeader:
    """Only the header of an engine file (cheap: the plan is not read)."""
    with open(path, "rb") as f:
        return _read_prefix(f, path)


def read_engine(path: str | os.PathLike[str]) -> tuple[EngineHeader, bytes]:
    """Header and plan bytes of an engine file.

    Raises:
        BackendError: no magic, truncated or corrupt header, or an empty plan.
    """
    with open(path, "rb") as f:
        header = _read_prefix(f, path)
        plan = f.read()
    if not plan:
        raise BackendError(f"{path}: engine file has a header but no TensorRT plan")
    return header, plan


def compatibility_problem(
    path: str | os.PathLike[str],
    header: EngineHeader,
    tensorrt_version: str,
    gpu_name: str,
    compute_capability: str,
) -> str | None:
    """One sentence saying why the plan cannot run here, or None when it was built here.

    A plan is specific to the TensorRT version and the GPU (compute capability) it was built with.
    """
    built = f"TensorRT {header.tensorrt_version} on {header.gpu_name} (sm {header.compute_capability})"
    here = f"TensorRT {tensorrt_version} on {gpu_name} (sm {compute_capability})"
    if header.tensorrt_version != tensorrt_version or header.compute_capability != compute_capability:
        return f"{path}: engine built with {built}, this machine has {here}; re-run 'lesps export --format engine' here"
    return None
