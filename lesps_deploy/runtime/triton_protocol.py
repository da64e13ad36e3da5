"""What a served lesps model takes and returns, shared by the repository writer, the server-side model
and the client, so the three cannot drift apart.

A client sends raw frames, batch x H x W, as uint8 (`frames`) or uint16 (`frames16`): one of the two
optional inputs per request. The model maps the bit depth, normalizes, pads, runs the network (tiles
for frames larger than the patch size), crops back, and returns:

- `prob`: float32 batch x H x W probabilities at the frame size;
- `targets`: float32 batch x MAX_TARGETS x 9, one row per 8-connected component of `prob > threshold`
  in raster order (x, y, area, x0, y0, x1, y1, peak, mean; `lesps_deploy.runtime.results.Target`),
  zero rows after the last;
- `count`: int32 batch x 1, how many components the frame has (may exceed MAX_TARGETS; rows beyond it
  are not sent).

The model's config carries the artifact's metadata as `lesps.<key>` parameters (`ModelMeta` strings) and
how it serves as `serve.<key>` parameters (`ServeParams`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lesps_deploy.metadata import ModelMeta
from lesps_deploy.urls import ServerUrl, is_server_url, parse_server_url  # noqa: F401 - one import for callers

__all__ = [
    "FRAME_INPUTS",
    "OUTPUTS",
    "MAX_TARGETS",
    "TARGET_COLUMNS",
    "ServeParams",
    "meta_from_parameters",
]

# input name -> numpy dtype of the frames it takes
FRAME_INPUTS: dict[str, type] = {"frames": np.uint8, "frames16": np.uint16}
OUTPUTS = ("prob", "targets", "count")
MAX_TARGETS = 64
TARGET_COLUMNS = ("x", "y", "area", "x0", "y0", "x1", "y1", "peak", "mean")

META_PREFIX = "lesps."
SERVE_PREFIX = "serve."


@dataclass(frozen=True)
class ServeParams:
    """How the served model runs (its config's `serve.<key>` parameters).

    Attributes:
        network: "onnxruntime" (ONNX Runtime inside the Python model, on `model.onnx` beside it) or the
            name of a Triton model that runs the network (onnxruntime/tensorrt backend), called per batch.
        patch_size: frames whose both sides exceed it run as tiles (the reference rule).
        frame_mapping: how frames of another bit depth than the model's are mapped (agc, scale, raw).
        threads: ONNX Runtime intra-op threads per model instance (0: the cores / instances).
        batch_size: most frames of one size per network call.
    """

    network: str = "onnxruntime"
    patch_size: int = 1024
    frame_mapping: str = "agc"
    threads: int = 0
    batch_size: int = 8

    def to_parameters(self) -> dict[str, str]:
        return {f"{SERVE_PREFIX}{k}": str(v) for k, v in self.__dict__.items()}

    @classmethod
    def from_parameters(cls, params: dict[str, str]) -> ServeParams:
        fields = cls.__dataclass_fields__
        values = {k[len(SERVE_PREFIX) :]: v for k, v in params.items() if k.startswith(SERVE_PREFIX)}
        typed = {k: int(v) if fields[k].type == "int" else v for k, v in values.items() if k in fields}
        return cls(**typed)  # type: ignore[arg-type]


def meta_from_parameters(params: dict[str, str]) -> ModelMeta:
    """The artifact's metadata from a model config's string parameters."""
    return ModelMeta.from_strings(
        {k[len(META_PREFIX) :]: v for k, v in params.items() if k.startswith(META_PREFIX)}
    )
