"""FP16 / INT8 ONNX exports: metadata, the detection-level gate, and the released checkpoints' accuracy.

The gate test quantizes a released model with deliberately wrong ranges (calibrated on flat frames,
so every target saturates) and checks that nothing is written. The acceptance tests export every
released checkpoint the way a user would (CLI) and evaluate the artifact on NUAA-SIRST test: INT8
meets the gate and the float-fallback search's budget on its calibration frames (its test deltas,
which depend on the CPU's INT8 kernels, are recorded), FP16 within 0.1 of the FP32 golden IoU and Pd.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from PIL import Image
from release_names import CHECKPOINTS
from typer.testing import CliRunner

from lesps_deploy.cli import app
from lesps_deploy.errors import ConfigError, ExportError
from lesps_deploy.export import ExportConfig, export, read_onnx_meta
from lesps_deploy.metadata import ModelMeta
from lesps_deploy.models import create_model, save_checkpoint

runner = CliRunner()


def _checkpoint(tmp_path: Path) -> Path:
    meta = ModelMeta(model="ACM", mean=90.0, std=40.0, dataset="synthetic")
    return save_checkpoint(tmp_path / "acm.pth", create_model("ACM").eval(), meta)


def test_half_onnx_records_precision_and_gate(tmp_path):
    """No dataset: the gate runs on synthetic frames with targets; metadata records the deltas."""
    ckpt = _checkpoint(tmp_path)
    out, report = tmp_path / "out" / "h.onnx", tmp_path / "r.json"
    # an untrained model's detections are noise, so only the recording is checked here (--max-drop 100)
    args = ["export", str(ckpt), "--half", "--out", str(out), "--max-drop", "100", "--json", str(report)]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "fp16" in res.output and "ΔIoU" in res.output
    meta = read_onnx_meta(out)
    assert meta.precision == "fp16" and meta.calibration is None
    assert set(meta.parity) >= {"IoU", "nIoU", "Pd", "Fa", "max_abs_diff", "frames"}
    assert "synthetic" in meta.parity["frames"]
    proto = onnx.load(str(out))
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert onnx.TensorProto.FLOAT16 in {i.data_type for i in proto.graph.initializer}
    data = json.loads(report.read_text())
    assert data["precision"] == "fp16" and data["gate"]["passed"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["h.onnx"]


def test_calibration_split_is_not_the_verified_one(tmp_path):
    ckpt = _checkpoint(tmp_path)
    with pytest.raises(ConfigError, match="calib_split='test' is the split verify evaluates"):
        ExportConfig(ckpt, int8=True, calib_data=tmp_path, calib_split="test", verify=tmp_path)


def _flat_frames(root: Path, n: int = 4) -> Path:
    """A calibration folder of flat frames: every activation range comes out far too small."""
    (root / "images").mkdir(parents=True)
    (root / "img_idx").mkdir()
    for i in range(n):
        Image.fromarray(np.full((64, 64), 20, np.uint8)).save(root / "images" / f"flat{i}.png")
    (root / "img_idx" / "train_flat.txt").write_text("\n".join(f"flat{i}" for i in range(n)) + "\n")
    return root


def _small_split(nuaa: Path, root: Path, n: int = 24) -> Path:
    """The first `n` NUAA-SIRST test frames with their masks, as a dataset of their own (test split)."""
    names = (nuaa / "img_idx" / "test_NUAA-SIRST.txt").read_text().split()[:n]
    for folder in ("images", "masks"):
        (root / folder).mkdir(parents=True)
        for name in names:
            shutil.copy(next((nuaa / folder).glob(f"{name}.*")), root / folder)
    (root / "img_idx").mkdir()
    (root / "img_idx" / "test_small.txt").write_text("\n".join(names) + "\n")
    return root


@pytest.mark.shared
def test_gate_refuses_wrong_ranges(tmp_path, acm_pth, nuaa_dir):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    cfg = ExportConfig(
        acm_pth, int8=True, calib_data=_flat_frames(tmp_path / "flat"), out=out_dir / "q.onnx",
        norm="SIRST3", verify=_small_split(nuaa_dir, tmp_path / "small"),
    )  # fmt: skip
    with pytest.raises(ExportError) as err:
        export(cfg)
    message = str(err.value)
    print(message)
    assert "not written" in message and "ΔIoU" in message and "ΔPd" in message and "max|Δp|" in message
    assert "--calib-method" in err.value.hint
    assert list(out_dir.iterdir()) == []  # neither the artifact nor a scratch folder or temp file
    kept = export(ExportConfig(**{**cfg.__dict__, "keep_degraded": True}))
    assert kept.path.exists() and not kept.gate.passed and kept.ok
    assert read_onnx_meta(kept.path).parity["IoU"] < -2.0


def _golden(golden_dir: Path, name: str) -> dict:
    return json.loads((golden_dir / "reference_metrics_nuaa.json").read_text())["results"][name]


def _export_and_evaluate(tmp_path: Path, ckpt: Path, nuaa: Path, flags: list[str]) -> tuple[dict, ModelMeta]:
    out, summary = tmp_path / "q.onnx", tmp_path / "q.json"
    res = runner.invoke(
        app, ["export", str(ckpt), "--format", "onnx", *flags, "--norm", "SIRST3", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["evaluate", str(out), "--data", str(nuaa), "--json", str(summary)])
    assert res.exit_code == 0, res.output
    return json.loads(summary.read_text()), read_onnx_meta(out)


# What `--int8` guarantees, on any CPU: the detection-level gate passed (the artifact is no more than
# --max-drop points below FP32 on the gate's frames), and the float-fallback search met its budget on the
# calibration frames (or stopped at a quarter of the Convs). INT8 kernels round differently on other
# instruction sets (AVX-512 VNNI, AVX2, NEON), so the deltas on the *test* split are measured and
# recorded here (README, INT8 table), not asserted: ACM_full loses 1 test target more or less than the
# Intel machine's run depending on the CPU (AMD EPYC: train ΔPd -1.11 -> one Conv in float, test -1.14;
# Intel: train -0.37, no fallback, test -0.38).
@pytest.mark.shared
@pytest.mark.slow
@pytest.mark.parametrize("name", CHECKPOINTS)
def test_int8_release_meets_the_gate_and_the_budget(
    tmp_path, name, official_weights, nuaa_dir, golden_dir, record_property
):
    flags = ["--int8", "--calib-data", str(nuaa_dir)]
    got, meta = _export_and_evaluate(tmp_path, official_weights / name, nuaa_dir, flags)
    ref = _golden(golden_dir, name)
    test_delta = {k: round(100 * (got[k] - ref[k]), 2) for k in ("IoU", "Pd")}
    record_property("int8_test_delta_points", test_delta)
    assert got["precision"] == "int8" and meta.calibration["split"] == "train"
    assert meta.calibration["images"] == 213 and meta.calibration["method"] == "percentile"
    assert meta.calibration["quantizer"].startswith("onnxruntime ")
    fallback = meta.calibration["float_fallback"]
    print(
        f"{name} int8 on test: IoU {100 * got['IoU']:.2f} ({100 * ref['IoU']:.2f}) Pd {100 * got['Pd']:.2f} "
        f"({100 * ref['Pd']:.2f}), Δ {test_delta}; {len(fallback['float_nodes'])} of {fallback['convs']} "
        f"Convs in float: {fallback['steps']}"
    )
    # The search: the last try is within the budget on the calibration frames, or used all it may.
    last, cap = fallback["steps"][-1], fallback["convs"] // 4
    within = -last["IoU"] <= fallback["budget"] and -last["Pd"] <= fallback["budget"]
    assert within or len(fallback["float_nodes"]) == cap
    assert len(fallback["float_nodes"]) <= cap
    # The gate: what the export refuses to write otherwise (default --max-drop 2.0 points).
    assert -meta.parity["IoU"] <= 2.0 and -meta.parity["Pd"] <= 2.0


@pytest.mark.shared
@pytest.mark.slow
@pytest.mark.parametrize("name", CHECKPOINTS)
def test_fp16_release_within_a_tenth(tmp_path, name, official_weights, nuaa_dir, golden_dir):
    got, meta = _export_and_evaluate(tmp_path, official_weights / name, nuaa_dir, ["--half"])
    ref = _golden(golden_dir, name)
    print(
        f"{name} fp16: IoU {100 * got['IoU']:.3f} ({100 * ref['IoU']:.3f}) Pd {100 * got['Pd']:.3f} ({100 * ref['Pd']:.3f})"
    )
    assert got["precision"] == "fp16" and meta.precision == "fp16"
    assert abs(got["IoU"] - ref["IoU"]) * 100 <= 0.1 and abs(got["Pd"] - ref["Pd"]) * 100 <= 0.1
