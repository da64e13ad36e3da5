"""PyTorch -> ONNX with embedded metadata, and reading that metadata back.

The classic TorchScript exporter is used (`dynamo=False`): torch 2.13's default dynamo exporter
needs `onnxscript`, which is not a dependency, and the traced graph of these small CNNs is exact.
Batch, height and width are dynamic by default; height and width must be multiples of the pad
multiple (32) because the runtime pads every frame that way before the network.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import onnx

from lesps_deploy.errors import ExportError, MissingDependencyError
from lesps_deploy.io import atomic_path
from lesps_deploy.metadata import ModelMeta, __version__

if TYPE_CHECKING:  # torch loads only to export from PyTorch: reading and editing ONNX files needs none
    import torch

__all__ = [
    "MIN_OPSET",
    "export_onnx",
    "read_onnx_meta",
    "write_onnx_meta",
    "update_onnx_meta",
    "simplify_onnx",
    "onnx_io_shapes",
]

logger = logging.getLogger(__name__)

MIN_OPSET = 17


def _stamp(meta: ModelMeta) -> ModelMeta:
    """Meta with the writer's versions filled in."""
    import torch

    return dataclasses.replace(
        meta, lesps_deploy_version=__version__, torch_version=torch.__version__.split("+")[0]
    )


def write_onnx_meta(model_proto: onnx.ModelProto, meta: ModelMeta) -> None:
    """Replace `metadata_props` of `model_proto` with `meta.to_strings()`."""
    del model_proto.metadata_props[:]
    onnx.helper.set_model_props(model_proto, meta.to_strings())


def update_onnx_meta(path: str | os.PathLike[str], meta: ModelMeta) -> None:
    """Rewrite the metadata of an ONNX file (atomically)."""
    proto = onnx.load(str(path))
    write_onnx_meta(proto, meta)
    with atomic_path(path) as tmp:
        onnx.save(proto, str(tmp))


def read_onnx_meta(path: str | os.PathLike[str]) -> ModelMeta:
    """ModelMeta stored in an ONNX file's `metadata_props` (graph weights are not loaded)."""
    proto = onnx.load(str(path), load_external_data=False)
    props = {p.key: p.value for p in proto.metadata_props}
    if "model" not in props:
        raise ExportError(
            f"{path}: ONNX file carries no lesps-deploy metadata", hint="export it with 'lesps export'"
        )
    return ModelMeta.from_strings(props)


def onnx_io_shapes(path: str | os.PathLike[str]) -> dict[str, list[int | str]]:
    """Input/output name -> shape (ints, or the symbolic name of a dynamic axis)."""
    proto = onnx.load(str(path), load_external_data=False)
    out: dict[str, list[int | str]] = {}
    for value in list(proto.graph.input) + list(proto.graph.output):
        dims = value.type.tensor_type.shape.dim
        out[value.name] = [d.dim_param if d.dim_param else d.dim_value for d in dims]
    return out


def _fix_static_dims(
    proto: onnx.ModelProto, model: torch.nn.Module, dummy: torch.Tensor, dynamic: bool
) -> None:
    """Write the traced output's non-dynamic dims (channels) as numbers instead of symbols."""
    import torch

    with torch.no_grad():
        shape = model(dummy).shape
    for k, dim in enumerate(proto.graph.output[0].type.tensor_type.shape.dim):
        if not (dynamic and k in (0, 2, 3)):
            dim.Clear()
            dim.dim_value = int(shape[k])


def export_onnx(
    model: torch.nn.Module,
    meta: ModelMeta,
    out: str | os.PathLike[str],
    imgsz: tuple[int, int] = (256, 256),
    batch: int = 1,
    dynamic: bool = True,
    opset: int = MIN_OPSET,
) -> Path:
    """Export `model` (eval mode, probabilities out) to `out` with `meta` embedded.

    Args:
        model: network taking a normalized (N,1,H,W) batch, returning sigmoid probabilities.
        meta: metadata to embed; versions and io names are filled in here.
        out: target .onnx path, written atomically.
        imgsz: (H, W) of the tracing input and of the static shape when `dynamic` is False.
        batch: batch of the tracing input / static shape.
        dynamic: batch, height and width dynamic.
        opset: ONNX opset, >= 17.

    Raises:
        ExportError: opset too low, size not a multiple of the pad multiple, or the checker fails.
    """
    if opset < MIN_OPSET:
        raise ExportError(f"opset {opset} is too old; use --opset {MIN_OPSET} or newer")
    mult = meta.pad_multiple
    if any(s <= 0 or s % mult for s in imgsz):
        raise ExportError(
            f"--imgsz {imgsz[0]} {imgsz[1]} must be positive multiples of {mult} (the runtime pads frames)"
        )
    import torch

    meta = _stamp(meta)
    model = model.eval()
    dummy = torch.zeros(batch, 1, *imgsz, dtype=torch.float32)
    axes = {0: "batch", 2: "height", 3: "width"}
    dynamic_axes = {meta.input_name: axes, meta.output_name: axes} if dynamic else None
    with atomic_path(out) as tmp:
        with warnings.catch_warnings(), torch.no_grad():
            # The TorchScript exporter warns that it is deprecated, and about traced shape arithmetic
            # that is exact here (sizes are multiples of 32, checked above).
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model, (dummy,), str(tmp), dynamo=False, opset_version=opset,
                input_names=[meta.input_name], output_names=[meta.output_name],
                dynamic_axes=dynamic_axes, do_constant_folding=True,
            )  # fmt: skip
        proto = onnx.load(str(tmp))
        _fix_static_dims(proto, model, dummy, dynamic)
        write_onnx_meta(proto, meta)
        try:
            onnx.checker.check_model(proto, full_check=True)
        except onnx.checker.ValidationError as err:
            raise ExportError(
                f"{out}: exported graph fails onnx.checker: {str(err).splitlines()[0]}"
            ) from err
        onnx.save(proto, str(tmp))
    logger.info(
        "wrote %s (opset %d, %s)", out, opset, "dynamic batch/H/W" if dynamic else f"static {batch}x1x{imgsz}"
    )
    return Path(out)


def simplify_onnx(path: str | os.PathLike[str]) -> Path:
    """Simplify an ONNX file in place with onnxslim, keeping its metadata.

    Raises:
        MissingDependencyError: onnxslim is not installed (extra 'simplify').
    """
    try:
        import onnxslim
    except ImportError as err:
        raise MissingDependencyError("onnxslim", "simplify", "--simplify") from err
    proto = onnx.load(str(path))
    props = {p.key: p.value for p in proto.metadata_props}
    slim = onnxslim.slim(proto)
    if not slim.metadata_props:
        onnx.helper.set_model_props(slim, props)
    onnx.checker.check_model(slim)
    with atomic_path(path) as tmp:
        onnx.save(slim, str(tmp))
    return Path(path)
