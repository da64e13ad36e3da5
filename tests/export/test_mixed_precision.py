"""The INT8 float fallback (export.mixed_precision) on a graph with a known weak spot.

The graph has the classic INT8 failure: an outlier channel (1000x the signal) that the next Conv
ignores in float, but whose range sets that Conv's per-tensor input scale, so in INT8 the useful
channel rounds to zero and the model finds nothing. The search must find that Conv, keep it (and
only the fewest Convs) in float, and come back within the budget on the calibration frames.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from conftest import write_tiny_dataset
from onnx import TensorProto, helper, numpy_helper

from lesps_deploy.data import FrameMapper, Norm
from lesps_deploy.export.calibration import calibration_files
from lesps_deploy.export.gate import gate_frames
from lesps_deploy.export.mixed_precision import int8_with_fallback
from lesps_deploy.export.onnx import write_onnx_meta
from lesps_deploy.export.quantize import CalibrationSpec, FrameReader, quantize_int8
from lesps_deploy.metadata import ModelMeta

NORM = Norm(75.0, 10.0)


def _outlier_graph(path: Path) -> Path:
    """x -> Conv A (2 channels: x and 1000 x) -> ReLU -> Conv B (1x1: channel 0 only, bias -5) -> sigmoid."""
    a = np.zeros((2, 1, 3, 3), np.float32)
    a[0, 0, 1, 1], a[1, 0, 1, 1] = 1.0, 1000.0
    b = np.array([1.0, 0.0], np.float32).reshape(1, 2, 1, 1)
    inits = [
        numpy_helper.from_array(a, "wa"), numpy_helper.from_array(np.zeros(2, np.float32), "ba"),
        numpy_helper.from_array(b, "wb"), numpy_helper.from_array(np.array([-5.0], np.float32), "bb"),
    ]  # fmt: skip
    nodes = [
        helper.make_node("Conv", ["input", "wa", "ba"], ["a"], name="conv_a", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["a"], ["r"], name="relu"),
        helper.make_node("Conv", ["r", "wb", "bb"], ["logit"], name="conv_b"),
        helper.make_node("Sigmoid", ["logit"], ["prob"], name="sigmoid"),
    ]
    shape = [1, 1, "H", "W"]
    graph = helper.make_graph(
        nodes, "outlier", [helper.make_tensor_value_info("input", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("prob", TensorProto.FLOAT, shape)], inits,
    )  # fmt: skip
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    proto.ir_version = 8
    write_onnx_meta(proto, ModelMeta(model="Outlier", mean=NORM.mean, std=NORM.std, dataset="synthetic"))
    onnx.save(proto, str(path))
    return path


def _data(root: Path) -> Path:
    """A tiny dataset whose calibration (train) split has masks: the frames the search checks on."""
    write_tiny_dataset(root, n=8)
    (root / "img_idx" / f"train_{root.name}.txt").write_text(
        (root / "img_idx" / f"test_{root.name}.txt").read_text()
    )
    return root


def _search(tmp_path: Path, budget: float) -> tuple:
    fp32 = _outlier_graph(tmp_path / "fp32.onnx")
    data = _data(tmp_path / "calib")
    files = calibration_files(data, 8, "train")
    spec = CalibrationSpec("minmax", 99.999, len(files), "train", data.name)
    mapper = FrameMapper(8, None)
    reader = FrameReader(files, NORM, mapper, "input", 32)
    ranges = tmp_path / "ranges.json"

    def quantize(dst: Path, float_nodes: list[str]) -> Path:
        return quantize_int8(fp32, dst, reader, spec, cache=ranges, float_nodes=float_nodes)

    frames = gate_frames(None, data, "train", 8, tmp_path)
    out = tmp_path / "q.onnx"
    return int8_with_fallback(fp32, out, quantize, reader, frames, NORM, mapper, budget), out


def test_search_keeps_the_weak_conv_in_float_and_meets_the_budget(tmp_path: Path) -> None:
    result, out = _search(tmp_path, budget=1.0)
    first, last = result.steps[0], result.steps[-1]
    assert first["float"] == 0 and first["Pd"] <= -50.0, "all-INT8 must lose the targets"
    assert result.float_nodes == ["conv_b"] and last == {"float": 1, "IoU": 0.0, "Pd": 0.0}
    kept = {n.name for n in onnx.load(str(out)).graph.node if n.op_type == "Conv"}
    assert kept == {"conv_a", "conv_b"}  # both Convs still there; only conv_a's input is quantized
    quantized_inputs = {n.output[0] for n in onnx.load(str(out)).graph.node if n.op_type == "QuantizeLinear"}
    assert any(name.startswith("input") for name in quantized_inputs)
    assert not any(name.startswith("r_") or name == "r" for name in quantized_inputs)
    assert result.to_dict()["float_nodes"] == ["conv_b"] and result.convs == 2


def test_budget_zero_keeps_every_conv_int8(tmp_path: Path) -> None:
    result, _ = _search(tmp_path, budget=0.0)
    assert result.float_nodes == [] and len(result.steps) == 1 and result.steps[0]["Pd"] <= -50.0
