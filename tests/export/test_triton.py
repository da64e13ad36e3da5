"""Triton model repository layout; config.pbtxt parsed with protobuf text format and a small schema."""

from __future__ import annotations

import onnx
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format

from lesps_deploy.errors import ExportError
from lesps_deploy.export import ExportConfig, export
from lesps_deploy.export.onnx import module_to_onnx, read_onnx_meta
from lesps_deploy.export.triton import TritonModel, config_pbtxt, model_name, write_model_repository
from lesps_deploy.metadata import ModelMeta

F = descriptor_pb2.FieldDescriptorProto


def _schema():
    """The subset of Triton's ModelConfig (model_config.proto field numbers) that we write."""
    fd = descriptor_pb2.FileDescriptorProto(name="mini_model_config.proto", package="mini", syntax="proto3")
    dtype = fd.enum_type.add(name="DataType")
    for name, num in [("TYPE_INVALID", 0), ("TYPE_FP16", 10), ("TYPE_FP32", 11)]:
        dtype.value.add(name=name, number=num)

    def msg(name, fields, enums=()):
        m = fd.message_type.add(name=name)
        for fname, num, ftype, label, tname in fields:
            f = m.field.add(name=fname, number=num, type=ftype, label=label)
            if tname:
                f.type_name = tname
        for ename, values in enums:
            e = m.enum_type.add(name=ename)
            for vname, vnum in values:
                e.value.add(name=vname, number=vnum)
        return m

    opt, rep = F.LABEL_OPTIONAL, F.LABEL_REPEATED
    tensor = [("name", 1, F.TYPE_STRING, opt, ""), ("data_type", 2, F.TYPE_ENUM, opt, ".mini.DataType"),
              ("dims", 4, F.TYPE_INT64, rep, "")]  # fmt: skip
    msg("ModelInput", tensor)
    msg("ModelOutput", tensor)
    msg("ModelDynamicBatching", [("max_queue_delay_microseconds", 2, F.TYPE_UINT64, opt, "")])
    msg("ModelInstanceGroup", [("count", 2, F.TYPE_INT32, opt, ""), ("kind", 4, F.TYPE_ENUM, opt, ".mini.ModelInstanceGroup.Kind")],
        enums=[("Kind", [("KIND_AUTO", 0), ("KIND_GPU", 1), ("KIND_CPU", 2), ("KIND_MODEL", 3)])])  # fmt: skip
    msg("ModelParameter", [("string_value", 1, F.TYPE_STRING, opt, "")])
    entry = msg(
        "ParametersEntry",
        [("key", 1, F.TYPE_STRING, opt, ""), ("value", 2, F.TYPE_MESSAGE, opt, ".mini.ModelParameter")],
    )
    entry.options.map_entry = True
    cfg = msg("ModelConfig", [
        ("name", 1, F.TYPE_STRING, opt, ""), ("platform", 2, F.TYPE_STRING, opt, ""),
        ("max_batch_size", 4, F.TYPE_INT32, opt, ""), ("input", 5, F.TYPE_MESSAGE, rep, ".mini.ModelInput"),
        ("output", 6, F.TYPE_MESSAGE, rep, ".mini.ModelOutput"),
        ("instance_group", 7, F.TYPE_MESSAGE, rep, ".mini.ModelInstanceGroup"),
        ("dynamic_batching", 11, F.TYPE_MESSAGE, opt, ".mini.ModelDynamicBatching"),
        ("parameters", 14, F.TYPE_MESSAGE, rep, ".mini.ModelConfig.ParametersEntry"),
    ])  # fmt: skip
    cfg.nested_type.add().CopyFrom(entry)
    fd.message_type.remove(entry)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fd)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("mini.ModelConfig"))


ModelConfig = _schema()


def parse(text: str):
    return text_format.Parse(text, ModelConfig())  # unknown fields or bad syntax raise


def test_repository_from_onnx(tmp_path, tiny):
    module, meta = tiny
    onnx_path = module_to_onnx(module, meta, tmp_path / "src" / "Tiny_full.onnx", imgsz=(64, 64))
    from lesps_deploy.export.onnx import onnx_io_shapes
    from lesps_deploy.export.pipelines import Job, _triton_model
    from lesps_deploy.export.triton import meta_parameters

    meta = read_onnx_meta(onnx_path)
    job = Job(ExportConfig(onnx_path, "triton"), None, tmp_path / "repo", "cpu", (64, 64), 8, True, meta=meta)
    shape = onnx_io_shapes(onnx_path)["input"]
    model = _triton_model(job, "onnxruntime_onnx", shape, meta_parameters(meta))
    folder = write_model_repository(tmp_path / "repo", model, onnx_path.read_bytes())
    _check_folder(folder, "Tiny_full", onnx_path.read_bytes(), kind=2)
    with pytest.raises(ExportError, match="already exists"):
        write_model_repository(tmp_path / "repo", model, b"x")
    write_model_repository(tmp_path / "repo", model, onnx_path.read_bytes(), force=True)
    assert sorted(p.name for p in (tmp_path / "repo").iterdir()) == ["Tiny_full"]


def _check_folder(folder, name, payload, kind):
    assert folder.name == name and (folder / "1" / "model.onnx").read_bytes() == payload
    cfg = parse((folder / "config.pbtxt").read_text())
    proto = onnx.load(str(folder / "1" / "model.onnx"))
    assert cfg.name == name and cfg.platform == "onnxruntime_onnx"
    assert cfg.max_batch_size == 8 and cfg.dynamic_batching.max_queue_delay_microseconds == 100
    (inp,), (out,) = cfg.input, cfg.output
    assert inp.name == proto.graph.input[0].name and out.name == proto.graph.output[0].name
    onnx_dims = [d.dim_value or -1 for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert [-1, *inp.dims] == onnx_dims and list(out.dims) == [1, -1, -1] and inp.data_type == 11
    assert cfg.instance_group[0].count == 1 and cfg.instance_group[0].kind == kind
    meta = ModelMeta.from_strings(
        {k.removeprefix("lesps."): v.string_value for k, v in cfg.parameters.items()}
    )
    props = ModelMeta.from_strings({p.key: p.value for p in proto.metadata_props})
    assert meta == props


def test_plan_config_and_quoting():
    model = TritonModel("m", "tensorrt_plan", "input", "prob", (1, 1, 512, 512), 0,
                        parameters={"lesps.note": 'say "hi" \\ bye'})  # fmt: skip
    cfg = parse(config_pbtxt(model))
    assert (
        cfg.platform == "tensorrt_plan" and cfg.max_batch_size == 0 and not cfg.HasField("dynamic_batching")
    )
    assert list(cfg.input[0].dims) == [1, 1, 512, 512] and cfg.instance_group[0].kind == 1
    assert cfg.parameters["lesps.note"].string_value == 'say "hi" \\ bye'


def test_model_name():
    assert model_name("w/ACM_LESPS_centroid.pth.tar") == "ACM_LESPS_centroid"
    assert model_name("a b+c.onnx") == "a_b_c"


def test_export_triton(tmp_path, official_weights):
    result = export(
        ExportConfig(official_weights / "ACM_full.pth.tar", "triton", out=tmp_path / "repo", norm="SIRST3")
    )
    assert result.ok and result.path == tmp_path / "repo" / "ACM_full"
    _check_folder(result.path, "ACM_full", (result.path / "1" / "model.onnx").read_bytes(), kind=2)
