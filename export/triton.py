"""Triton Inference Server model repository: `<repo>/<model>/config.pbtxt` + `<repo>/<model>/1/...`.

One export writes up to three models that serve the same network:

- `<name>`: the Python backend running ONNX Runtime on `1/model.onnx` with the library's own pre and
  post processing (`lesps_deploy.serving`); it runs on the server `pip install 'lesps-deploy[serve]'`
  brings (Python backend only) and on CPU-only hosts. Clients send raw uint8/uint16 frames and get
  probabilities and targets back (`lesps_deploy.runtime.triton_protocol`).
- `<name>_net`: the bare network on Triton's `onnxruntime` or `tensorrt` backend (normalized, padded
  float32 in, probabilities out), for NVIDIA's containers and GPUs.
- `<name>_pipeline`: the same frames-in interface as `<name>`, a Python model that calls `<name>_net`
  for the network (Triton's business logic scripting), so the network runs on the GPU backend.

Every config carries the artifact's metadata as `lesps.<key>` string parameters and the serving
settings as `serve.<key>` ones. A TensorRT network gets the bare plan (Triton deserializes
`model.plan` directly, so our header is stripped and its content moves to the parameters).
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
    "TensorSpec",
    "TritonModel",
    "PLATFORM_FILES",
    "MODEL_PY",
    "model_name",
    "network_name",
    "pipeline_name",
    "config_pbtxt",
    "network_model",
    "frames_model",
    "write_model_repository",
    "meta_parameters",
]

# platform -> file name Triton expects inside the version folder
PLATFORM_FILES: dict[str, str] = {"onnxruntime_onnx": "model.onnx", "tensorrt_plan": "model.plan"}
BACKENDS = ("python",)
_NAME_OK = re.compile(r"[^A-Za-z0-9_.-]+")

# The Python-backend model file: the library's class, so the server runs the library's own processing.
MODEL_PY = '''"""Served lesps model (written by `lesps export --format triton`); needs lesps-deploy in the server's Python."""

import os
import sys

# Triton's Python backend stub starts its interpreter without reading PYTHONPATH; honour it as Python would.
for _entry in reversed(os.environ.get("PYTHONPATH", "").split(os.pathsep)):
    if _entry and _entry not in sys.path:
        sys.path.insert(0, _entry)

from lesps_deploy.serving.python_model import TritonPythonModel  # noqa: E402, F401
'''


@dataclass(frozen=True)
class TensorSpec:
    """One input or output: name, Triton data type (TYPE_FP32, TYPE_UINT8, ...), per-sample dims."""

    name: str
    data_type: str
    dims: tuple[int, ...]
    optional: bool = False


@dataclass(frozen=True)
class TritonModel:
    """Everything config.pbtxt states about one model.

    Attributes:
        name: model (and folder) name.
        inputs, outputs: tensors; dims exclude the batch axis when max_batch_size > 0 (-1 = dynamic).
        max_batch_size: 0 when the batch axis is fixed (then dims include it).
        platform: onnxruntime_onnx or tensorrt_plan ('' for a backend model).
        backend: python ('' for a platform model).
        instances: model instances per device; kind: KIND_CPU or KIND_GPU.
        max_queue_delay_us: how long dynamic batching waits to fill a batch.
        parameters: string parameters (the artifact's metadata, the serving settings).
    """

    name: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    max_batch_size: int
    platform: str = ""
    backend: str = ""
    instances: int = 1
    kind: str = "KIND_CPU"
    max_queue_delay_us: int = 100
    parameters: dict[str, str] = field(default_factory=dict)


def model_name(weights: str | os.PathLike[str]) -> str:
    """A Triton-safe model name from a weights file name (checkpoint suffixes dropped)."""
    name = strip_suffix(Path(weights).name)
    return _NAME_OK.sub("_", name).strip("_") or "lesps_model"


def network_name(name: str) -> str:
    return f"{name}_net"


def pipeline_name(name: str) -> str:
    return f"{name}_pipeline"


def network_model(
    name: str, platform: str, meta: ModelMeta, dims: tuple[int, ...], max_batch_size: int,
    instances: int, kind: str, parameters: dict[str, str],
) -> TritonModel:  # fmt: skip
    """The bare network: normalized padded float32 in, probabilities out, same dims."""
    return TritonModel(
        name, (TensorSpec(meta.input_name, "TYPE_FP32", dims),), (TensorSpec(meta.output_name, "TYPE_FP32", dims),),
        max_batch_size, platform=platform, instances=instances, kind=kind, parameters=parameters,
    )  # fmt: skip


def frames_model(name: str, max_batch_size: int, instances: int, parameters: dict[str, str]) -> TritonModel:
    """A Python-backend model with the frames-in interface of `lesps_deploy.runtime.triton_protocol`."""
    from lesps_deploy.runtime.triton_protocol import MAX_TARGETS, TARGET_COLUMNS

    inputs = (
        TensorSpec("frames", "TYPE_UINT8", (-1, -1), optional=True),
        TensorSpec("frames16", "TYPE_UINT16", (-1, -1), optional=True),
    )
    outputs = (
        TensorSpec("prob", "TYPE_FP32", (-1, -1)),
        TensorSpec("targets", "TYPE_FP32", (MAX_TARGETS, len(TARGET_COLUMNS))),
        TensorSpec("count", "TYPE_INT32", (1,)),
    )
    return TritonModel(
        name, inputs, outputs, max_batch_size, backend="python", instances=instances, kind="KIND_CPU",
        parameters=parameters,
    )  # fmt: skip


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _tensors(section: str, tensors: tuple[TensorSpec, ...]) -> list[str]:
    lines = [f"{section} ["]
    for i, t in enumerate(tensors):
        lines += ["  {", f"    name: {_quote(t.name)}", f"    data_type: {t.data_type}",
                  f"    dims: [ {', '.join(str(d) for d in t.dims)} ]"]  # fmt: skip
        lines += ["    optional: true"] if t.optional else []
        lines += ["  }," if i < len(tensors) - 1 else "  }"]
    return [*lines, "]"]


def config_pbtxt(model: TritonModel) -> str:
    """The protobuf text of Triton's ModelConfig for `model`.

    Raises:
        ConfigError: neither a known platform nor a known backend.
    """
    if model.platform:
        if model.platform not in PLATFORM_FILES:
            raise ConfigError(
                f"unknown Triton platform '{model.platform}'; use one of {', '.join(PLATFORM_FILES)}"
            )
        lines = [f"name: {_quote(model.name)}", f"platform: {_quote(model.platform)}"]
    elif model.backend in BACKENDS:
        lines = [f"name: {_quote(model.name)}", f"backend: {_quote(model.backend)}"]
    else:
        raise ConfigError(f"Triton model '{model.name}': give a platform or one of the backends {BACKENDS}")
    lines.append(f"max_batch_size: {model.max_batch_size}")
    lines += _tensors("input", model.inputs)
    lines += _tensors("output", model.outputs)
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


def write_model_repository(
    repo: Path, models: list[tuple[TritonModel, dict[str, bytes]]], force: bool = False
) -> list[Path]:
    """Write `<repo>/<name>/` (config.pbtxt and `files`, paths relative to the folder) for each model.

    Each folder is assembled beside its final place and renamed in, so a failed export never leaves
    a half-written model that Triton would try to load; every folder is checked before any is written.

    Raises:
        ExportError: a model folder exists and `force` is False.
    """
    for model, _ in models:
        if (repo / model.name).exists() and not force:
            raise ExportError(f"{repo / model.name}: already exists", hint="pass --force to replace it")
    repo.mkdir(parents=True, exist_ok=True)
    return [_write_folder(repo, model, files) for model, files in models]


def _write_folder(repo: Path, model: TritonModel, files: dict[str, bytes]) -> Path:
    target = repo / model.name
    staging = Path(tempfile.mkdtemp(prefix=f".{model.name}.", dir=repo))
    try:
        for rel, data in files.items():
            (staging / rel).parent.mkdir(parents=True, exist_ok=True)
            (staging / rel).write_bytes(data)
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
