"""TensorRT engine build and run: needs TensorRT and a CUDA GPU, skipped with the reason elsewhere."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lesps_deploy.export.tensorrt import DYNAMIC_MAX_SIDE, profile_shapes

try:
    import tensorrt as trt
except ImportError:  # the build/run tests skip with the reason below
    trt = None

needs_trt = pytest.mark.skipif(
    trt is None or not torch.cuda.is_available(),
    reason="needs TensorRT (pip install 'lesps-deploy[tensorrt]') and a CUDA GPU",
)


def test_profile_shapes():
    assert profile_shapes(2, (256, 320), dynamic=False, pad_multiple=32) == {"min": [2, 1, 256, 320]} | {
        "opt": [2, 1, 256, 320], "max": [2, 1, 256, 320]}  # fmt: skip
    dyn = profile_shapes(4, (512, 512), dynamic=True, pad_multiple=32)
    assert dyn["min"] == [1, 1, 32, 32] and dyn["max"] == [4, 1, DYNAMIC_MAX_SIDE, DYNAMIC_MAX_SIDE]


@pytest.mark.tensorrt
@needs_trt
@pytest.mark.parametrize("half", [False, True])
def test_engine_round_trip(tmp_path, official_weights, half):
    from lesps_deploy.export import ExportConfig, export, read_header
    from lesps_deploy.runtime.base import load_runtime

    cfg = ExportConfig(official_weights / "ACM_full.pth.tar", "engine", out=tmp_path / "acm.engine",
                       norm="SIRST3", half=half, imgsz=(256, 256), batch=4)  # fmt: skip
    result = export(cfg)
    assert result.ok, result.to_dict()
    header = read_header(result.path)
    assert header.tensorrt_version == trt.__version__ and header.precision == ("fp16" if half else "fp32")
    with load_runtime(result.path, device="cuda") as backend:
        for shape in [(1, 1, 256, 256), (4, 1, 320, 256), (1, 1, 512, 640)]:
            assert backend(np.zeros(shape, np.float32)).shape == shape
