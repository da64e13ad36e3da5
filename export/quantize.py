"""FP16 and INT8 ONNX graphs through ONNX Runtime's own tools (no hand-written graph passes).

FP16: `onnxruntime.transformers.float16.convert_float_to_float16(keep_io_types=True)`: float32 input
and output, FP16 inside (its default block list keeps Resize and the other ops without FP16
kernels in float32). On ACM_LESPS_centroid it gives 5638 of the 5640 FP32 intersection pixels on
the NUAA-SIRST test split, the same as the graph pass it replaces.

INT8: `onnxruntime.quantization.quantize_static` in the QDQ format with per-channel weights and
symmetric INT8 activations (zero point 0, which TensorRT requires of Q/DQ graphs), so the one file
runs in ONNX Runtime on CPU or ARM and feeds the TensorRT 11 builder unchanged. Calibration frames
are preprocessed exactly like inference (`FrameMapper`, normalization, reference padding, tiles
for frames larger than the patch size): one frame per calibration step, because frames differ in
size and ONNX Runtime's histogram collectors need one shape per step.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import logging
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from lesps_deploy.data import FrameMapper, Norm, read_image
from lesps_deploy.errors import ExportError
from lesps_deploy.runtime.processing import DEFAULT_PATCH_SIZE, needs_tiling, preprocess, tile_slices
from lesps_deploy.threads import quiet_onnxruntime

from .config import CALIB_METHODS

__all__ = ["CALIB_METHODS", "CalibrationSpec", "FrameReader", "inference_inputs", "to_fp16", "quantize_int8"]

logger = logging.getLogger(__name__)

_QUANTIZED_OPS = ("Conv", "ConvTranspose")


@dataclass(frozen=True)
class CalibrationSpec:
    """How INT8 ranges are found; `to_dict` is what the artifact's metadata records."""

    method: str
    percentile: float
    images: int
    split: str
    dataset: str

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "images": self.images, "split": self.split}
        if self.method == "percentile":
            out["percentile"] = self.percentile
        # The quantizer's version is part of the recipe: the ranges, and so the deltas, come from it.
        return {**out, "dataset": self.dataset, "quantizer": f"onnxruntime {_onnxruntime_version()}"}


def _onnxruntime_version() -> str:
    import onnxruntime  # the distribution may be onnxruntime-gpu: ask the module

    return onnxruntime.__version__


def inference_inputs(
    image: np.ndarray, norm: Norm, mapper: FrameMapper, multiple: int, name: str = ""
) -> Iterator[np.ndarray]:
    """The (1, 1, H, W) network inputs inference would build from one raw frame (tiles when it is big)."""
    x = preprocess(mapper(image, name), norm, multiple)[None].astype(np.float32)
    h, w = image.shape[:2]
    if not needs_tiling(h, w, DEFAULT_PATCH_SIZE):
        yield x
        return
    for rows, cols in tile_slices(x.shape[2], x.shape[3], DEFAULT_PATCH_SIZE):
        yield np.ascontiguousarray(x[:, :, rows, cols])


class FrameReader:
    """ONNX Runtime calibration reader over image files, read lazily, one input per step.

    `set_range` and `__len__` let `quantize_static` collect statistics one frame at a time
    (`CalibStridedMinMax`), which keeps memory flat and gives the histogram collectors one shape.
    """

    def __init__(
        self, files: list[Path], norm: Norm, mapper: FrameMapper, input_name: str, multiple: int
    ) -> None:
        self.inputs: list[tuple[Path, int]] = []
        self._cache: dict[Path, list[np.ndarray]] = {}
        self.norm, self.mapper, self.input_name, self.multiple = norm, mapper, input_name, multiple
        for path in files:
            h, w = read_image(path).shape[:2]
            n = len(tile_slices(h, w, DEFAULT_PATCH_SIZE)) if needs_tiling(h, w, DEFAULT_PATCH_SIZE) else 1
            self.inputs.extend((path, k) for k in range(n))
        self.set_range(0, len(self.inputs))

    def __len__(self) -> int:
        return len(self.inputs)

    def set_range(self, start_index: int, end_index: int) -> None:
        self._todo = iter(self.inputs[start_index:end_index])

    def _tile(self, path: Path, k: int) -> np.ndarray:
        if path not in self._cache:  # a big frame's tiles are consecutive: keep only the current frame
            self._cache = {
                path: list(
                    inference_inputs(read_image(path), self.norm, self.mapper, self.multiple, path.name)
                )
            }
        return self._cache[path][k]

    def first_inputs(self, n: int) -> list[np.ndarray]:
        """The first `n` network inputs (tiles of big frames count one each), as calibration sees them."""
        return [self._tile(*item) for item in self.inputs[:n]]

    def get_next(self) -> dict[str, np.ndarray] | None:
        item = next(self._todo, None)
        return None if item is None else {self.input_name: self._tile(*item)}

    def rewind(self) -> None:
        self.set_range(0, len(self.inputs))


def to_fp16(proto: onnx.ModelProto) -> onnx.ModelProto:
    """FP16 copy of `proto` with float32 graph input and output; metadata kept."""
    from onnxruntime.transformers.float16 import convert_float_to_float16

    props = {p.key: p.value for p in proto.metadata_props}
    copy = onnx.ModelProto.FromString(proto.SerializeToString())
    half = convert_float_to_float16(copy, keep_io_types=True)
    del half.metadata_props[:]
    onnx.helper.set_model_props(half, props)
    return half


def quantize_int8(
    src: Path,
    dst: Path,
    reader: FrameReader,
    spec: CalibrationSpec,
    cache: Path | None = None,
    float_nodes: list[str] | None = None,
) -> Path:
    """Write a QDQ INT8 copy of `src` to `dst`, calibrated on `reader`'s frames by `spec.method`.

    `cache` (optional) is ONNX Runtime's JSON of tensor ranges: read when it exists, written after
    calibration, so a second export with the same graph, frames and method skips calibration.
    `float_nodes`: Conv nodes left unquantized (see `export.mixed_precision`).
    """
    from onnxruntime.quantization import CalibrationMethod

    method = {
        "minmax": CalibrationMethod.MinMax,
        "percentile": CalibrationMethod.Percentile,
        "entropy": CalibrationMethod.Entropy,
    }[spec.method]
    options = {
        "ActivationSymmetric": True,  # zero point 0: what TensorRT accepts in Q/DQ graphs
        "WeightSymmetric": True,
        "CalibStridedMinMax": 1,  # one frame per collection step (frames differ in size)
        # Q/DQ on Conv inputs and weights only, as TensorRT places them: quantizing Conv outputs too
        # (ONNX Runtime's default) costs ACM_LESPS_centroid 9 IoU points (39.3 vs 48.9 with minmax),
        # most of it at the logits, where the threshold decides a small target's few pixels.
        "OpTypesToExcludeOutputQuantization": list(_QUANTIZED_OPS),
        "CalibPercentile": spec.percentile,
    }
    hit = cache is not None and cache.is_file()
    if hit:
        logger.debug("reusing INT8 calibration ranges %s", cache)
    # ONNX Runtime writes its augmented calibration graph to a temporary folder of its own; its
    # progress prints go to stderr (stdout carries results), its pre-processing advice is dropped
    # (symbolic shape inference adds nothing to these fully convolutional graphs).
    with contextlib.redirect_stdout(sys.stderr), _quiet_root_advice():
        _quantize_static(src, dst, None if hit else reader, method, options, cache, float_nodes or [])
    return dst


@contextlib.contextmanager
def _quiet_root_advice() -> Iterator[None]:
    def drop(record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Please consider")

    root = logging.getLogger()
    root.addFilter(drop)
    try:
        yield
    finally:
        root.removeFilter(drop)


def _quantize_static(
    src: Path,
    dst: Path,
    reader: FrameReader | None,
    method: Any,
    options: dict,
    cache: Path | None,
    float_nodes: list[str],
) -> None:
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    _require_calibration_cache(quantize_static)
    quiet_onnxruntime()
    # The calibrator print()s its progress ("Collecting tensor data ...") to stdout, which carries our
    # results (`--json -`): to stderr with LESPS_DEBUG=1, else nowhere.
    sink = sys.stderr if os.environ.get("LESPS_DEBUG") == "1" else io.StringIO()
    with contextlib.redirect_stdout(sink):
        quantize_static(
            str(src), str(dst), reader, quant_format=QuantFormat.QDQ, per_channel=True,
            op_types_to_quantize=list(_QUANTIZED_OPS),
            activation_type=QuantType.QInt8, weight_type=QuantType.QInt8, calibrate_method=method,
            extra_options=options, calibration_cache_path=cache,
            calibration_providers=["CPUExecutionProvider"], nodes_to_exclude=float_nodes,
        )  # fmt: skip


def _require_calibration_cache(quantize_static: Callable[..., Any]) -> None:
    """One line instead of a TypeError deep in the export when onnxruntime predates the ranges cache."""
    if "calibration_cache_path" not in inspect.signature(quantize_static).parameters:
        raise ExportError(
            f"INT8 export needs onnxruntime >= 1.27 (installed: {_onnxruntime_version()})",
            hint="pip install -U 'onnxruntime>=1.27' (or onnxruntime-gpu)",
        )
