"""Engine file layout (magic, length, JSON header, plan) and the version/GPU mismatch sentence."""

from __future__ import annotations

import pytest

from lesps_deploy.errors import BackendError
from lesps_deploy.metadata import ModelMeta
from lesps_deploy.runtime.engine_header import (
    ENGINE_MAGIC,
    EngineHeader,
    compatibility_problem,
    read_engine,
    read_header,
    update_engine_meta,
    write_engine,
)


def _header(**kw) -> EngineHeader:
    base = dict(
        meta=ModelMeta(model="ACM", mean=95.01, std=41.511, dataset="SIRST3").to_strings(),
        tensorrt_version="10.3.0", gpu_name="Orin", compute_capability="8.7", precision="fp16",
        profile={"min": [1, 1, 32, 32], "opt": [1, 1, 512, 512], "max": [4, 1, 1056, 1056]},
        extra={"build_seconds": 12.5},
    )  # fmt: skip
    return EngineHeader(**{**base, **kw})


def test_round_trip(tmp_path):
    path = tmp_path / "m.engine"
    plan = bytes(range(256)) * 10
    write_engine(path, _header(), plan)
    assert path.read_bytes().startswith(ENGINE_MAGIC)
    header, back = read_engine(path)
    assert header == _header() and back == plan
    assert read_header(path).model_meta.mean == 95.01
    assert header.model_meta.model == "ACM"
    assert [p.name for p in tmp_path.iterdir()] == ["m.engine"]  # no temporary left


def test_gate_deltas_are_written_into_the_header(tmp_path):
    """An FP16/INT8 engine records its precision gate like an ONNX artifact does; the plan is untouched."""
    path = tmp_path / "m.engine"
    plan = bytes(range(256)) * 10
    write_engine(path, _header(), plan)
    parity = {
        "frames": "NUAA-SIRST test (verify)",
        "images": 214,
        "IoU": -0.12,
        "Pd": 0.0,
        "max_abs_diff": 0.02,
    }
    meta = ModelMeta(model="ACM", mean=95.01, std=41.511, dataset="SIRST3", precision="fp16", parity=parity)
    update_engine_meta(path, meta)
    header, back = read_engine(path)
    assert header.model_meta.parity == parity and header.model_meta.precision == "fp16"
    assert back == plan and header.tensorrt_version == "10.3.0"
    assert [p.name for p in tmp_path.iterdir()] == ["m.engine"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\x00" * 64, "not a lesps-deploy engine"),
        (ENGINE_MAGIC + b"\x10\x00", "truncated"),
        (ENGINE_MAGIC + b"\x05\x00\x00\x00{bad", "truncated"),
        (ENGINE_MAGIC + b"\x04\x00\x00\x00{no}", "corrupt engine header"),
        (ENGINE_MAGIC + b"\xff\xff\xff\x7f", "corrupt engine header"),
    ],
)
def test_bad_files(tmp_path, raw, message):
    path = tmp_path / "bad.engine"
    path.write_bytes(raw)
    with pytest.raises(BackendError, match=message):
        read_engine(path)


def test_header_without_plan(tmp_path):
    path = tmp_path / "m.engine"
    write_engine(path, _header(), b"")
    with pytest.raises(BackendError, match="no TensorRT plan"):
        read_engine(path)


def test_compatibility_sentence():
    h = _header()
    assert compatibility_problem("m.engine", h, "10.3.0", "Orin", "8.7") is None
    msg = compatibility_problem("m.engine", h, "10.7.0", "NVIDIA H100", "9.0")
    assert msg.count(".") >= 1 and "\n" not in msg
    assert (
        "built with TensorRT 10.3.0 on Orin (sm 8.7)" in msg
        and "TensorRT 10.7.0 on NVIDIA H100 (sm 9.0)" in msg
    )
