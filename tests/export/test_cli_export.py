"""`lesps export` through the CLI: output, parity lines, JSON report, one-line errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from lesps_deploy.cli import app
from lesps_deploy.metadata import ModelMeta
from lesps_deploy.models import create_model, save_checkpoint

runner = CliRunner()


def _checkpoint(tmp_path, mean=None):
    meta = ModelMeta(model="ACM", mean=mean, std=40.0 if mean else None, dataset="synthetic")
    return save_checkpoint(tmp_path / "acm.pth", create_model("ACM").eval(), meta)


def test_export_onnx_cli(tmp_path):
    ckpt = _checkpoint(tmp_path, mean=90.0)
    out, report = tmp_path / "acm.onnx", tmp_path / "r.json"
    res = runner.invoke(app, ["export", str(ckpt), "--out", str(out), "--json", str(report)])
    assert res.exit_code == 0, res.output
    assert "wrote" in res.output and "parity onnx" in res.output
    data = json.loads(report.read_text())
    assert data["ok"] and data["parity"]["onnx"]["max_abs_diff"] <= 1e-4
    again = runner.invoke(app, ["export", str(ckpt), "--out", str(out)])
    assert again.exit_code != 0 and "already exists" in str(again.exception)


def test_missing_norm_is_a_config_error(tmp_path):
    ckpt = _checkpoint(tmp_path)
    res = runner.invoke(app, ["export", str(ckpt), "--out", str(tmp_path / "x.onnx")])
    assert res.exit_code != 0 and "normalization" in str(res.exception)
    assert not (tmp_path / "x.onnx").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["acm.pth"]  # no scratch folder left behind


def test_bad_combination(tmp_path):
    res = runner.invoke(app, ["export", str(tmp_path / "m.pth"), "--format", "triton", "--int8"])
    assert res.exit_code != 0 and "--int8 does not apply to --format triton" in str(res.exception)
    res = runner.invoke(app, ["export", str(tmp_path / "m.pth"), "--int8"])
    assert res.exit_code != 0 and "--calib-data" in str(res.exception.hint)


def test_threshold_is_recorded_in_the_artifact_and_checked_first(tmp_path):
    from lesps_deploy.export import read_onnx_meta

    ckpt = _checkpoint(tmp_path, mean=90.0)
    out = tmp_path / "t.onnx"
    res = runner.invoke(app, ["export", str(ckpt), "--out", str(out), "--threshold", "0.3"])
    assert res.exit_code == 0, res.output
    assert read_onnx_meta(out).threshold == 0.3  # evaluate, predict and Detector default to it
    for bad in ("2", "-1", "0"):
        res = runner.invoke(app, ["export", str(tmp_path / "missing.pth"), "--threshold", bad])
        said = f"{res.output} {res.exception}"  # checked before the (missing) weights are looked at
        assert res.exit_code != 0 and f"--threshold {bad}" in said and "missing.pth" not in said, said
