"""Triton model repository layout; every config.pbtxt parsed with Triton's own ModelConfig schema (tritonclient)."""

from __future__ import annotations

import onnx
import pytest
from google.protobuf import text_format

from lesps_deploy.errors import ExportError
from lesps_deploy.export import ExportConfig, export_weights
from lesps_deploy.export.onnx import export_onnx
from lesps_deploy.export.triton import MODEL_PY, config_pbtxt, model_name, network_model
from lesps_deploy.metadata import ModelMeta
from lesps_deploy.runtime.triton_protocol import (
    MAX_TARGETS,
    OUTPUTS,
    TARGET_COLUMNS,
    ServeParams,
    meta_from_parameters,
)

model_config_pb2 = pytest.importorskip(
    "tritonclient.grpc.model_config_pb2",
    reason="Triton's config schema ships with the serve extra: pip install 'lesps-deploy[serve]'",
)


def parse(text: str):
    return text_format.Parse(text, model_config_pb2.ModelConfig())  # unknown fields or bad syntax raise


def test_repository_from_onnx(tmp_path, tiny):
    module, meta = tiny
    onnx_path = export_onnx(module, meta, tmp_path / "src" / "Tiny_full.onnx", imgsz=(64, 64))
    result = export_weights(ExportConfig(onnx_path, "triton", out=tmp_path / "repo", batch=8))
    repo = tmp_path / "repo"
    assert result.path == repo / "Tiny_full"
    assert sorted(p.name for p in repo.iterdir()) == ["Tiny_full", "Tiny_full_net", "Tiny_full_pipeline"]
    _check_network(repo / "Tiny_full_net", "Tiny_full_net", onnx_path.read_bytes())
    _check_frames(repo / "Tiny_full", "onnxruntime", onnx_path.read_bytes())
    _check_frames(repo / "Tiny_full_pipeline", "Tiny_full_net", None)
    with pytest.raises(ExportError, match="already exists"):
        export_weights(ExportConfig(onnx_path, "triton", out=repo))
    export_weights(ExportConfig(onnx_path, "triton", out=repo, force=True))
    assert sorted(p.name for p in repo.iterdir()) == ["Tiny_full", "Tiny_full_net", "Tiny_full_pipeline"]


def _params(cfg) -> dict[str, str]:
    return {k: v.string_value for k, v in cfg.parameters.items()}


def _check_network(folder, name, payload):
    """The bare network's config agrees with the ONNX graph: names, dims, batch axis, metadata."""
    assert (folder / "1" / "model.onnx").read_bytes() == payload
    cfg = parse((folder / "config.pbtxt").read_text())
    proto = onnx.load(str(folder / "1" / "model.onnx"))
    assert cfg.name == name and cfg.platform == "onnxruntime_onnx"
    assert cfg.max_batch_size == 8 and cfg.dynamic_batching.max_queue_delay_microseconds == 100
    (inp,), (out,) = cfg.input, cfg.output
    for tensor, value in ((inp, proto.graph.input[0]), (out, proto.graph.output[0])):
        dims = [d.dim_value or -1 for d in value.type.tensor_type.shape.dim]
        assert tensor.name == value.name and [-1, *tensor.dims] == dims
        assert tensor.data_type == model_config_pb2.TYPE_FP32
    assert (
        cfg.instance_group[0].count == 1
        and cfg.instance_group[0].kind == model_config_pb2.ModelInstanceGroup.KIND_CPU
    )
    meta = meta_from_parameters(_params(cfg))
    assert meta == ModelMeta.from_strings({p.key: p.value for p in proto.metadata_props})


def _check_frames(folder, network, payload):
    """A frames model: Python backend, uint8/uint16 frames in, the protocol's outputs, how it serves."""
    cfg = parse((folder / "config.pbtxt").read_text())
    assert cfg.backend == "python" and cfg.max_batch_size == 8 and cfg.HasField("dynamic_batching")
    assert (folder / "1" / "model.py").read_text() == MODEL_PY
    if payload is not None:
        assert (folder / "1" / "model.onnx").read_bytes() == payload
    assert {t.name: (t.data_type, list(t.dims), t.optional) for t in cfg.input} == {
        "frames": (model_config_pb2.TYPE_UINT8, [-1, -1], True),
        "frames16": (model_config_pb2.TYPE_UINT16, [-1, -1], True),
    }
    assert [t.name for t in cfg.output] == list(OUTPUTS)
    assert list(cfg.output[1].dims) == [MAX_TARGETS, len(TARGET_COLUMNS)]
    params = _params(cfg)
    assert ServeParams.from_parameters(params).network == network
    assert meta_from_parameters(params).model == "Tiny"


def test_plan_config_and_quoting():
    meta = ModelMeta(model="m")
    model = network_model(
        "m", "tensorrt_plan", meta, (1, 1, 512, 512), 0, 1, "KIND_GPU", {"lesps.note": 'say "hi" \\ bye'}
    )
    cfg = parse(config_pbtxt(model))
    assert (
        cfg.platform == "tensorrt_plan" and cfg.max_batch_size == 0 and not cfg.HasField("dynamic_batching")
    )
    assert list(cfg.input[0].dims) == [1, 1, 512, 512] and cfg.instance_group[0].kind == 1
    assert cfg.parameters["lesps.note"].string_value == 'say "hi" \\ bye'


def test_serve_params_round_trip():
    params = ServeParams(network="x_net", patch_size=512, frame_mapping="scale", threads=2, batch_size=4)
    assert ServeParams.from_parameters(params.to_parameters()) == params


def test_model_name():
    assert model_name("w/ACM_LESPS_centroid.pth.tar") == "ACM_LESPS_centroid"
    assert model_name("a b+c.onnx") == "a_b_c"


def test_export_weights_triton(tmp_path, official_weights):
    result = export_weights(
        ExportConfig(official_weights / "ACM_full.pth.tar", "triton", out=tmp_path / "repo", norm="SIRST3")
    )
    assert result.ok and result.path == tmp_path / "repo" / "ACM_full"
    payload = (result.path / "1" / "model.onnx").read_bytes()
    _check_network(tmp_path / "repo" / "ACM_full_net", "ACM_full_net", payload)
