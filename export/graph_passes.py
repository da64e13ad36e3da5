"""Small ONNX graph passes for strongly typed TensorRT (11+): FP16 conversion and INT8 Q/DQ insertion.

Strongly typed networks take precision from the graph itself, so FP16 means an FP16 graph (float32
input and output kept, with Cast nodes at the edges) and INT8 means explicit Quantize/Dequantize
pairs. NVIDIA's model optimizer does this more thoroughly; these passes cover the plain CNNs here.
"""

from __future__ import annotations

import logging

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .calibration import CalibrationBatches, amax_entropy, amax_minmax

__all__ = ["data_path_tensors", "convert_to_fp16", "calibrate_conv_inputs", "insert_qdq"]

logger = logging.getLogger(__name__)

# Inputs that ONNX requires in float32 whatever the data type (Resize roi/scales) or that are shapes.
_KEEP_FP32_INPUTS: dict[str, set[int]] = {"Resize": {1, 2}, "Upsample": {1}}
# Nodes whose outputs are shapes/indices, never image data.
_SHAPE_OPS = {"Shape", "Size", "NonZero"}


def data_path_tensors(graph: onnx.GraphProto) -> set[str]:
    """Names of tensors computed from the graph input through data ops (not shape arithmetic)."""
    on_path = {i.name for i in graph.input}
    for node in graph.node:  # ONNX nodes are topologically sorted
        if node.op_type in _SHAPE_OPS:
            continue
        keep = _KEEP_FP32_INPUTS.get(node.op_type, set())
        if any(name in on_path for k, name in enumerate(node.input) if k not in keep):
            on_path.update(node.output)
    return on_path


def _to_fp16(tensor: TensorProto) -> TensorProto:
    arr = numpy_helper.to_array(tensor)
    return numpy_helper.from_array(np.clip(arr, -65504, 65504).astype(np.float16), tensor.name)


def _cast(name_in: str, name_out: str, to: int) -> onnx.NodeProto:
    return helper.make_node("Cast", [name_in], [name_out], to=to, name=f"{name_out}_cast")


def _fp16_node_inputs(graph: onnx.GraphProto, path: set[str]) -> set[str]:
    """Float tensors read by data-path nodes at data positions (become FP16)."""
    names = set()
    for node in graph.node:
        if not any(o in path for o in node.output):
            continue
        keep = _KEEP_FP32_INPUTS.get(node.op_type, set())
        names.update(name for k, name in enumerate(node.input) if k not in keep and name)
    return names


def convert_to_fp16(model: onnx.ModelProto) -> onnx.ModelProto:
    """FP16 copy of `model` with float32 graph inputs/outputs (Casts inserted at the edges)."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    path = data_path_tensors(graph)
    fp16_inputs = _fp16_node_inputs(graph, path)
    for i, init in enumerate(graph.initializer):
        if init.data_type == TensorProto.FLOAT and init.name in fp16_inputs:
            graph.initializer[i].CopyFrom(_to_fp16(init))
    for node in graph.node:
        if node.op_type == "Constant" and node.output[0] in fp16_inputs:
            attr = node.attribute[0]
            if attr.name == "value" and attr.t.data_type == TensorProto.FLOAT:
                attr.t.CopyFrom(_to_fp16(attr.t))
        if node.op_type == "Cast" and node.output[0] in path:
            for attr in node.attribute:
                if attr.name == "to" and attr.i == TensorProto.FLOAT:
                    attr.i = TensorProto.FLOAT16
    edge_nodes = []
    for inp in graph.input:
        cast_name = f"{inp.name}_fp16"
        for node in graph.node:
            node.input[:] = [cast_name if n == inp.name else n for n in node.input]
        edge_nodes.append(_cast(inp.name, cast_name, TensorProto.FLOAT16))
    tail = []
    for out in graph.output:
        inner = f"{out.name}_fp16"
        for node in graph.node:
            node.output[:] = [inner if n == out.name else n for n in node.output]
            node.input[:] = [inner if n == out.name else n for n in node.input]
        tail.append(_cast(inner, out.name, TensorProto.FLOAT))
    nodes = edge_nodes + list(graph.node) + tail
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.value_info[:]  # stale float32 annotations; shape inference rebuilds what is needed
    onnx.checker.check_model(model)
    return model


def calibrate_conv_inputs(
    model: onnx.ModelProto, batches: CalibrationBatches, method: str = "entropy", bins: int = 2048
) -> dict[str, float]:
    """Per-tensor amax of every Conv's activation input, measured with ONNX Runtime on CPU."""
    import onnxruntime as ort

    graph = model.graph
    inits = {i.name for i in graph.initializer}
    acts = sorted({n.input[0] for n in graph.node if n.op_type == "Conv" and n.input[0] not in inits})
    probe = onnx.ModelProto.FromString(model.SerializeToString())
    known = {o.name for o in probe.graph.output}
    probe.graph.output.extend(helper.make_empty_tensor_value_info(a) for a in acts if a not in known)
    session = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    in_name = session.get_inputs()[0].name
    amax = dict.fromkeys(acts, 0.0)
    hists: dict[str, np.ndarray] = {}
    for batch in batches:
        values = dict(
            zip([o.name for o in session.get_outputs()], session.run(None, {in_name: batch}), strict=True)
        )
        for a in acts:
            amax[a] = max(amax[a], amax_minmax(values[a]))
    if method == "minmax":
        return amax
    for batch in batches:  # second pass: histograms over the fixed range found above
        values = dict(
            zip([o.name for o in session.get_outputs()], session.run(None, {in_name: batch}), strict=True)
        )
        for a in acts:
            h, _ = np.histogram(np.abs(values[a]), bins=bins, range=(0, max(amax[a], 1e-8)))
            hists[a] = hists.get(a, 0) + h
    return {a: amax_entropy(hists[a], np.linspace(0, max(amax[a], 1e-8), bins + 1)) for a in acts}


def _qdq(graph_nodes: list, inits: list, tensor: str, scale: np.ndarray, axis: int | None) -> str:
    """Append Q->DQ for `tensor`; return the dequantized tensor name."""
    s_name, z_name, out = f"{tensor}_qscale", f"{tensor}_qzero", f"{tensor}_dq"
    inits.append(numpy_helper.from_array(scale.astype(np.float32), s_name))
    inits.append(numpy_helper.from_array(np.zeros(scale.shape, np.int8), z_name))
    kw = {"axis": axis} if axis is not None else {}
    graph_nodes.append(helper.make_node("QuantizeLinear", [tensor, s_name, z_name], [f"{tensor}_q"], **kw))
    graph_nodes.append(helper.make_node("DequantizeLinear", [f"{tensor}_q", s_name, z_name], [out], **kw))
    return out


def insert_qdq(model: onnx.ModelProto, amax: dict[str, float]) -> onnx.ModelProto:
    """Copy of `model` with symmetric INT8 Q/DQ on Conv activations (per tensor) and weights (per channel)."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    weights = {i.name: i for i in graph.initializer}
    new_nodes: list = []
    new_inits: list = []
    done: dict[str, str] = {}
    for node in graph.node:
        if node.op_type == "Conv":
            act = node.input[0]
            if act in amax and act not in done:
                done[act] = _qdq(new_nodes, new_inits, act, np.array(max(amax[act], 1e-8) / 127.0), None)
            if act in done:
                node.input[0] = done[act]
            w = weights.get(node.input[1])
            if w is not None:
                arr = numpy_helper.to_array(w)
                scale = np.maximum(np.abs(arr).reshape(arr.shape[0], -1).max(axis=1), 1e-8) / 127.0
                node.input[1] = _qdq(new_nodes, new_inits, w.name, scale, 0)
        new_nodes.append(node)
    del graph.node[:]
    graph.node.extend(new_nodes)
    graph.initializer.extend(new_inits)
    onnx.checker.check_model(model)
    return model
