"""The format table and option validation (one-line ConfigErrors for forbidden combinations)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lesps_deploy.errors import ConfigError, ExportError, MissingDependencyError
from lesps_deploy.export import ExportConfig, export_weights, validate_config
from lesps_deploy.formats import EXPORT_FORMATS, OPTION_FLAGS, formats_help
from lesps_deploy.formats import get_export_format as get_format

CKPT = Path("model.pth.tar")


@pytest.mark.parametrize("row", EXPORT_FORMATS, ids=lambda r: r.name)
def test_rows_are_consistent(row):
    assert get_format(row.name) is row
    assert row.options <= set(OPTION_FLAGS)
    assert row.name in formats_help()
    assert row.cpu or row.gpu


def test_unknown_format_lists_names():
    with pytest.raises(ConfigError, match="onnx, engine, triton"):
        get_format("tflite")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"format": "triton", "int8": True}, "int8=True does not apply to format='triton'"),
        ({"format": "triton", "half": True}, "half=True does not apply"),
        ({"format": "onnx", "int8": True}, "needs calibration images"),
        (
            {"format": "onnx", "int8": True, "calib_data": Path("d"), "calib_percentile": 10.0},
            "calib_percentile=10.0: must be > 50",
        ),
        ({"format": "onnx", "half": True, "max_drop": -1.0}, "max_drop=-1.0"),
        ({"format": "onnx", "workspace": 2.0}, "workspace=2.0 does not apply"),
        ({"format": "engine", "int8": True}, "needs calibration images"),
        ({"format": "engine", "half": True, "int8": True, "calib_data": Path("d")}, "exclusive"),
        ({"format": "engine", "calib_data": Path("d")}, "only apply with int8=True"),
        ({"format": "engine", "half": True, "device": "cpu"}, "half=True needs a GPU"),
        ({"format": "engine", "device": "cpu"}, "built on a GPU"),
        ({"format": "onnx", "imgsz": (100, 64)}, "multiple of 32"),
        ({"format": "onnx", "opset": 13}, "must be >= 17"),
        (
            {"format": "engine", "int8": True, "calib_data": Path("d"), "calib_method": "kl"},
            "minmax, percentile, entropy",
        ),
        ({"format": "triton", "instances": 0}, "must be >= 1"),
    ],
)
def test_forbidden_combinations(kwargs, message):
    """Refused when built, naming the keywords (the CLI's flags: tests/test_options.py)."""
    with pytest.raises(ConfigError, match=message) as info:
        validate_config(ExportConfig(CKPT, **kwargs))
    assert "\n" not in str(info.value)


def test_source_kinds():
    with pytest.raises(ConfigError, match="needs a PyTorch checkpoint"):
        validate_config(ExportConfig(Path("m.onnx"), "onnx"))
    with pytest.raises(ConfigError, match="only be packaged with format='triton'"):
        validate_config(ExportConfig(Path("m.engine"), "engine"))
    assert validate_config(ExportConfig(Path("m.engine"), "triton")).name == "triton"
    assert validate_config(ExportConfig(Path("m.onnx"), "engine")).name == "engine"


def test_engine_without_tensorrt_names_the_extra(tmp_path):
    pytest.importorskip("numpy")
    try:
        import tensorrt  # noqa: F401

        pytest.skip("TensorRT is installed here")
    except ImportError:
        pass
    with pytest.raises(MissingDependencyError, match=r"lesps-deploy\[tensorrt\]") as info:
        export_weights(ExportConfig(tmp_path / "m.pth", "engine"))
    assert "JetPack" in info.value.hint


def test_existing_output_refused(tmp_path):
    out = tmp_path / "m.onnx"
    out.write_bytes(b"keep me")
    with pytest.raises(ExportError, match="already exists"):
        export_weights(ExportConfig(tmp_path / "m.pth", "onnx", out=out))
    assert out.read_bytes() == b"keep me"
