"""Triton Inference Server model repository: `<repo>/<name>/config.pbtxt` + `<repo>/<name>/1/model.*`.

The config names the platform (onnxruntime_onnx or tensorrt_plan), the input/output tensors with
their dims (-1 where dynamic), max_batch_size, dynamic batching and the instance group, and carries
the lesps-deploy metadata as string parameters so clients can normalize and threshold alike.
A TensorRT model gets the bare plan (Triton deserializes `model.plan` directly, so our header is
stripped and its content moves to the parameters).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from lesps_deploy.errors import ConfigError, ExportError
from lesps_deploy.formats import strip_suffix
from lesps_deploy.metadata import ModelMeta

__all__ = [
    "TritonModel",
    "PLATFORM_FILES",
    "model_name",
    "config_pbtxt",
    "write_model_repository",
    "meta_parameters",
]

# platform -> file name Triton expects inside the version folder
PLATFORM_FILES: dict[str, str] = {"onnxruntime_onnx": "model.onnx", "tensorrt_plan": "model.plan"}
_NAME_OK = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class TritonModel:
    """Everything config.pbtxt states about one model.

    Attributes:
        name: model (and folder) name.
        platform: onnxruntime_onnx or tensorrt_plan.
        input_name, output_name: tensor names.
        dims: per-sample dims (without the batch axis when max_batch_size > 0), -1 = dynamic.
        max_batch_size: 0 when the batch axis is fixed (then dims include it).
        instances: model instances per device; kind: KIND_CPU or KIND_GPU.
        parameters: string parameters (the artifact's metadata).
    """

    name: str
    platform: str
    input_name: str
    output_name: str
    dims: tuple[int, ...]
    max_batch_size: int
    instances: int = 1
    kind: str = "KIND_GPU"
    max_queue_delay_us: int = 100
    parameters: dict[str, str] = field(default_factory=dict)


def model_name(weights: str | os.PathLike[str]) -> str:
    """A Triton-safe model name from a weights file name (checkpoint suffixes dropped)."""
    name = strip_suffix(Path(weights).name)
    return _NAME_OK.sub("_", name).strip("_") or "lesps_model"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _tensor(section: str, name: str, dims: tuple[int, ...]) -> list[str]:
    return [f"{section} [", "  {", f"    name: {_quote(name)}", "    data_type: TYPE_FP32",
            f"    dims: [ {', '.join(str(d) for d in dims)} ]", "  }", "]"]  # fmt: skip


def config_pbtxt(model: TritonModel) -> str:
    """The protobuf text of Triton's ModelConfig for `model`."""
    if model.platform not in PLATFORM_FILES:
        raise ConfigError(
            f"unknown Triton platform '{model.platform}'; use one of {', '.join(PLATFORM_FILES)}"
        )
    lines = [
        f"name: {_quote(model.name)}",
        f"platform: {_quote(model.platform)}",
        f"max_batch_size: {model.max_batch_size}",
    ]
    lines += _tensor("input", model.input_name, model.dims)
    lines += _tensor("output", model.output_name, model.dims)
    if model.max_batch_size > 0:
        lines += ["dynamic_batching {", f"  max_queue_delay_microseconds: {model.max_queue_delay_us}", "}"]
    lines += [
        "instance_group [",
        "  {",
        f"    count: {model.instances}",
        f"    kind: {model.kind}",
        "  }",
        "]",
    ]
    for key, value in sorted(model.parameters.items()):
        lines += [
            "parameters {",
            f"  key: {_quote(key)}",
            f"  value: {{ string_value: {_quote(value)} }}",
            "}",
        ]
    return "\n".join(lines) + "\n"


def write_model_repository(repo: Path, model: TritonModel, payload: bytes, force: bool = False) -> Path:
    """Write `<repo>/<name>/` (config.pbtxt, 1/model.*) and return that folder.

    The folder is assembled beside its final place and renamed in, so a failed export never
    leaves a half-written model that Triton would try to load.

    Raises:
        ExportError: the model folder exists and `force` is False.
    """
    target = repo / model.name
    if target.exists() and not force:
        raise ExportError(f"{target}: already exists", hint="pass --force to replace it")
    repo.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{model.name}.", dir=repo))
    try:
        (staging / "1").mkdir()
        (staging / "1" / PLATFORM_FILES[model.platform]).write_bytes(payload)
        (staging / "config.pbtxt").write_text(config_pbtxt(model), encoding="utf-8")
        if target.exists():
            old = target.with_name(f".{model.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
            shutil.rmtree(old)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def meta_parameters(meta: ModelMeta, **more: str) -> dict[str, str]:
    """Metadata as Triton string parameters (keys prefixed 'lesps.')."""
    return {f"lesps.{k}": v for k, v in {**meta.to_strings(), **more}.items()}
