"""Acceptance 1: every released checkpoint exported to FP32 ONNX gives the golden NUAA-SIRST counts.

One export + one ONNX Runtime evaluation (214 images) per checkpoint; the PyTorch side is the
golden file (produced by the authors' code), and probabilities are compared with PyTorch on the
first test images.
"""

from __future__ import annotations

import json

import pytest
from release_names import CHECKPOINTS

from lesps_deploy.data import NORM_PRESETS
from lesps_deploy.export import ExportConfig, check_parity, export
from lesps_deploy.export.parity import COUNT_KEYS
from lesps_deploy.models import load_checkpoint
from lesps_deploy.runtime.dataset_runner import run_dataset
from lesps_deploy.runtime.onnx_backend import OnnxRuntimeBackend
from lesps_deploy.runtime.torch_backend import TorchBackend


@pytest.mark.slow
@pytest.mark.parametrize("name", CHECKPOINTS)
def test_onnx_matches_golden_counts(tmp_path, name, official_weights, nuaa_dir, golden_dir):
    golden = json.loads((golden_dir / "reference_metrics_nuaa.json").read_text())["results"][name]
    result = export(ExportConfig(official_weights / name, "onnx", out=tmp_path / "m.onnx", norm="SIRST3"))
    assert result.ok, result.to_dict()
    with OnnxRuntimeBackend(result.path) as onnx_backend:
        assert onnx_backend.meta.mean == NORM_PRESETS["SIRST3"].mean  # norm from the file's metadata
        summary = run_dataset(onnx_backend, nuaa_dir, "test").to_dict()
        ckpt = load_checkpoint(official_weights / name)
        with TorchBackend.from_module(ckpt.model, onnx_backend.meta) as reference:
            parity = check_parity(
                reference, onnx_backend, NORM_PRESETS["SIRST3"], dataset_dir=nuaa_dir, n_images=3
            )
    print(f"{name}: max |prob diff| {parity.max_abs_diff:.3g}, counts {[summary[k] for k in COUNT_KEYS]}")
    assert parity.max_abs_diff <= 1e-4
    assert {k: summary[k] for k in COUNT_KEYS} == {k: golden[k] for k in COUNT_KEYS}
