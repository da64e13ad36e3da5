"""ONNX export of a tiny module and of a released checkpoint: metadata, checker, dynamic shapes."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch

from lesps_deploy.errors import BackendError, ExportError
from lesps_deploy.export.onnx import module_to_onnx, onnx_io_shapes, read_onnx_meta
from lesps_deploy.runtime.base import load_runtime
from lesps_deploy.runtime.onnx_backend import OnnxRuntimeBackend

SHAPES = [(1, 256, 256), (4, 256, 256), (1, 320, 256), (4, 320, 256), (1, 512, 640)]


def test_metadata_and_checker(tmp_path, tiny):
    module, meta = tiny
    path = module_to_onnx(module, meta, tmp_path / "tiny.onnx", imgsz=(64, 64))
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    assert proto.opset_import[0].version >= 17
    back = read_onnx_meta(path)
    assert (back.model, back.mean, back.std, back.pad_multiple) == ("Tiny", 95.0, 41.5, 32)
    assert back.torch_version == torch.__version__.split("+")[0] and back.lesps_deploy_version
    assert onnx_io_shapes(path) == {
        "input": ["batch", 1, "height", "width"],
        "prob": ["batch", 1, "height", "width"],
    }
    with load_runtime(path) as backend:
        assert isinstance(backend, OnnxRuntimeBackend) and backend.meta == back


@pytest.mark.parametrize(("n", "h", "w"), SHAPES)
def test_tiny_dynamic_shapes(tmp_path, tiny, n, h, w):
    module, meta = tiny
    path = module_to_onnx(module, meta, tmp_path / "tiny.onnx", imgsz=(64, 64))
    x = np.random.default_rng(0).standard_normal((n, 1, h, w)).astype(np.float32)
    with OnnxRuntimeBackend(path) as backend:
        out = backend(x)
    assert out.shape == (n, 1, h, w)
    assert np.abs(out - module(torch.from_numpy(x)).detach().numpy()).max() < 1e-5


def test_static_export(tmp_path, tiny):
    module, meta = tiny
    path = module_to_onnx(module, meta, tmp_path / "s.onnx", imgsz=(64, 96), batch=2, dynamic=False)
    assert onnx_io_shapes(path)["input"] == [2, 1, 64, 96]


def test_bad_sizes_and_no_leftovers(tmp_path, tiny):
    module, meta = tiny
    with pytest.raises(ExportError, match="multiples of 32"):
        module_to_onnx(module, meta, tmp_path / "x.onnx", imgsz=(50, 64))
    with pytest.raises(ExportError, match="opset"):
        module_to_onnx(module, meta, tmp_path / "x.onnx", opset=11)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_foreign_onnx_needs_model(tmp_path, tiny):
    module, _ = tiny
    path = tmp_path / "plain.onnx"
    torch.onnx.export(module, (torch.zeros(1, 1, 32, 32),), str(path), dynamo=False, opset_version=17)
    with pytest.raises(BackendError, match="no lesps-deploy metadata"):
        OnnxRuntimeBackend(path)
    assert OnnxRuntimeBackend(path, model="ACM").meta.model == "ACM"


def test_released_checkpoint_dynamic_shapes(tmp_path, official_weights):
    """Acceptance 2: one dynamic ONNX file at batch 1 and 4 and at 256x256, 320x256, 512x640."""
    from lesps_deploy.export import ExportConfig, export
    from lesps_deploy.models import load_checkpoint

    ckpt = official_weights / "ALCNet_full.pth.tar"
    result = export(ExportConfig(ckpt, "onnx", out=tmp_path / "alc.onnx", norm="SIRST3"))
    model = load_checkpoint(ckpt).model
    rng = np.random.default_rng(1)
    with OnnxRuntimeBackend(result.path) as backend:
        for n, h, w in SHAPES:
            x = rng.standard_normal((n, 1, h, w)).astype(np.float32)
            with torch.no_grad():  # PyTorch on the first frame only: the batch axis is checked below
                ref = model(torch.from_numpy(x[:1])).numpy()
            out = backend(x)
            assert out.shape == (n, 1, h, w)
            if n > 1:
                assert np.abs(out[:1] - backend(x[:1])).max() <= 1e-5
            out = out[:1]
            assert np.abs(out - ref).max() <= 1e-4, (n, h, w)
