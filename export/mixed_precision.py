"""INT8 with float fallback: keep the Convs whose quantization hurts most in float, chosen on calibration frames.

Small-target models have no single weak layer: on ALCNet_full, leaving any one Conv in float gives
back at most 1 of the 2.9 IoU points INT8 loses on NUAA-SIRST test, and the int8-weights/int16-activations
experiment (weights 8 bit: -0.25 points; activations 8 bit: -2.0) shows the loss is the rounding of
activations, spread over the whole network. So the fallback is a search, on the calibration split only:

1. Calibrate once (the ranges are cached, so every re-quantization below skips calibration) and check
   the INT8 graph's IoU and Pd against the FP32 graph's on the calibration frames (`GateFrames`).
2. Within `budget` points: done, every Conv stays INT8 (four of the five releases).
3. Otherwise rank the Convs by sensitivity: the drop in mean squared probability error against FP32,
   on the first `SENSITIVITY_INPUTS` calibration inputs, when that Conv alone is left in float.
4. Leave the top 1, 2, 3, ... in float until the calibration frames are within `budget`, at most
   `MAX_FLOAT_SHARE` of the Convs. The graph stays a standard QDQ graph: ONNX Runtime and TensorRT run
   the unquantized Convs in floating point.

The test split never takes part in the choice; `--verify` and the gate judge the result afterwards.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from lesps_deploy.data import FrameMapper, Norm

from .gate import GateFrames, frame_metrics
from .quantize import FrameReader

__all__ = ["FloatFallback", "MAX_FLOAT_SHARE", "SENSITIVITY_INPUTS", "int8_with_fallback"]

logger = logging.getLogger(__name__)

SENSITIVITY_INPUTS = 64  # calibration inputs the per-Conv sensitivity is measured on
MAX_FLOAT_SHARE = 0.25  # at most this share of the Convs is left in float

Quantize = Callable[[Path, list[str]], Path]  # (destination, Conv names kept in float) -> written graph


@dataclass
class FloatFallback:
    """What the search did; `to_dict` is recorded in the artifact's calibration metadata."""

    budget: float
    convs: int
    float_nodes: list[str] = field(default_factory=list)
    steps: list[dict[str, float]] = field(default_factory=list)  # per try: float Convs, ΔIoU, ΔPd

    def to_dict(self) -> dict[str, Any]:
        return {
            "budget": self.budget,
            "convs": self.convs,
            "float_nodes": self.float_nodes,
            "steps": self.steps,
        }


def conv_names(path: Path) -> list[str]:
    """Names of the graph's Conv and ConvTranspose nodes, in graph order."""
    return [n.name for n in onnx.load(str(path)).graph.node if n.op_type in ("Conv", "ConvTranspose")]


def _deltas(reference: dict[str, float], artifact: dict[str, float]) -> dict[str, float]:
    # Pd is None on frames without targets: nothing to lose there, so no change.
    return {k: round(100.0 * ((artifact[k] or 0.0) - (reference[k] or 0.0)), 2) for k in ("IoU", "Pd")}


def _within(deltas: dict[str, float], budget: float) -> bool:
    return -deltas["IoU"] <= budget and -deltas["Pd"] <= budget


class _Checker:
    """IoU/Pd of candidate graphs on the calibration frames, against the FP32 graph's (computed once)."""

    def __init__(self, fp32: Path, frames: GateFrames, norm: Norm, mapper: FrameMapper) -> None:
        from lesps_deploy.runtime.base import load_runtime

        self.frames, self.norm, self.mapper, self._load = frames, norm, mapper, load_runtime
        with load_runtime(fp32) as reference:
            self.reference, _ = frame_metrics(reference, frames, norm, mapper)

    def __call__(self, path: Path) -> dict[str, float]:
        with self._load(path) as artifact:
            metrics, _ = frame_metrics(artifact, self.frames, self.norm, self.mapper)
        return _deltas(self.reference, metrics)


def _sensitivity_order(
    fp32: Path, all_int8: Path, convs: list[str], quantize: Quantize, reader: FrameReader, scratch: Path
) -> list[str]:
    """Convs sorted by how much leaving each alone in float lowers the probability MSE against FP32."""
    import onnxruntime as ort

    from lesps_deploy.threads import current_threads, ort_thread_options

    inputs = reader.first_inputs(SENSITIVITY_INPUTS)
    options = ort.SessionOptions()
    ort_thread_options(options, current_threads())

    def outputs(path: Path) -> list[np.ndarray]:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        return [session.run(None, {reader.input_name: x})[0] for x in inputs]

    reference = outputs(fp32)

    def mse(path: Path) -> float:
        return float(np.mean([np.mean((a - b) ** 2) for a, b in zip(outputs(path), reference, strict=True)]))

    base = mse(all_int8)
    gain = {conv: base - mse(quantize(scratch / "fallback-one.onnx", [conv])) for conv in convs}
    return sorted(convs, key=lambda conv: -gain[conv])


def int8_with_fallback(
    fp32: Path,
    dst: Path,
    quantize: Quantize,
    reader: FrameReader,
    frames: GateFrames,
    norm: Norm,
    mapper: FrameMapper,
    budget: float,
) -> FloatFallback:
    """Write the INT8 graph to `dst`, with the fewest Convs in float that keep `frames` within `budget`.

    `quantize(dst, float_nodes)` writes a QDQ graph (calibrating on its first call, reusing the ranges
    after). Returns what was kept in float and the deltas of every try.
    """
    convs = conv_names(fp32)
    result = FloatFallback(budget, len(convs))
    check = _Checker(fp32, frames, norm, mapper)
    deltas = check(quantize(dst, []))
    result.steps.append({"float": 0, **deltas})
    if budget <= 0 or _within(deltas, budget):
        return result
    logger.info(
        "INT8 on %s: ΔIoU %+.2f, ΔPd %+.2f points, beyond %.1f: ranking the %d Convs to keep the most "
        "sensitive in float", frames.label, deltas["IoU"], deltas["Pd"], budget, len(convs),
    )  # fmt: skip
    order = _sensitivity_order(fp32, dst, convs, quantize, reader, dst.parent)  # dst: the all-INT8 graph
    for k in range(1, max(1, int(MAX_FLOAT_SHARE * len(convs))) + 1):
        deltas = check(quantize(dst, order[:k]))
        result.steps.append({"float": k, **deltas})
        if _within(deltas, budget):
            break
    result.float_nodes = order[: result.steps[-1]["float"]]
    logger.info(
        "INT8: %d of %d Convs kept in float (%s): ΔIoU %+.2f, ΔPd %+.2f points on %s",
        len(result.float_nodes), len(convs), ", ".join(result.float_nodes), deltas["IoU"], deltas["Pd"],
        frames.label,
    )  # fmt: skip
    return result
