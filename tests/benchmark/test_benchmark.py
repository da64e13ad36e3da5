"""`lesps benchmark` end to end on a tiny random ACM (real PyTorch + ONNX Runtime, real export, real files)."""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import write_tiny_dataset
from typer.testing import CliRunner

from lesps_deploy.benchmark import BenchmarkConfig, load_report, run_benchmark
from lesps_deploy.benchmark.results import Row
from lesps_deploy.cli import app
from lesps_deploy.errors import ConfigError
from lesps_deploy.metadata import ModelMeta
from lesps_deploy.models import create_model, save_checkpoint

STAT_KEYS = ("mean", "std", "min", "p50", "p90", "p99", "max")
ROW_KEYS = {f.name for f in dataclasses.fields(Row)}


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bench")
    torch.manual_seed(0)
    save_checkpoint(root / "acm.pth", create_model("ACM"), ModelMeta(model="ACM", mean=75.0, std=20.0))
    write_tiny_dataset(root / "Tiny")
    return root


def _cfg(work: Path, **kw) -> BenchmarkConfig:
    base = dict(
        weights=work / "acm.pth", backends=("torch", "onnxruntime", "tensorrt"), precisions=("fp32", "fp16", "int8"),
        batches=(1, 2), imgsz=(64,), warmup=1, runs=6, min_runs=3, max_seconds=2.0, data=work / "Tiny", threads=1,
        cache_dir=work / "cache", json_out=work / "b.json", markdown_out=work / "b.md", force=True,
    )  # fmt: skip
    base.update(kw)
    return BenchmarkConfig(**base)


@pytest.fixture(scope="module")
def report(work: Path):
    return run_benchmark(_cfg(work))


def test_json_schema(report, work: Path) -> None:
    data = json.loads((work / "b.json").read_text())
    assert data["schema"] == 1 and data["config"]["batches"] == [1, 2]
    env = data["environment"]
    assert {"cpu", "cpu_count", "versions", "cuda", "power_mode"} <= set(env)
    assert env["versions"]["torch"] and env["versions"]["onnxruntime"]
    assert len(data["rows"]) == 3 * 3 * 2  # backends x precisions x batches x sizes
    for row in data["rows"]:
        assert set(row) == ROW_KEYS and row["status"] in ("ok", "skipped", "failed")
    ok = [r for r in data["rows"] if r["status"] == "ok"]
    measured = {(r["backend"], r["precision"]) for r in ok}
    assert measured == {("torch", "fp32")} | {("onnxruntime", p) for p in ("fp32", "fp16", "int8")}
    for row in ok:
        assert set(row["latency_ms"]) == set(STAT_KEYS) == set(row["latency_per_image_ms"])
        assert row["throughput_ips"] > 0 and row["e2e_throughput_ips"] > 0
        assert row["memory"]["rss_peak_mb"] > 0 and row["artifact_mb"] > 0
        assert row["input_shape"] == [row["batch"], 1, 96, 96]  # reference padding of a 64 frame
        assert set(row["split_ms"]) == {"preprocess", "inference", "postprocess", "total"}
        assert {"IoU", "nIoU", "Pd", "Fa"} <= set(row["accuracy"])


def test_percentiles_match_raw_timings(report, work: Path) -> None:
    for row in json.loads((work / "b.json").read_text())["rows"]:
        if row["status"] != "ok":
            assert row["latency_ms"] is None and row["timings_ms"] is None
            continue
        raw, lat = np.array(row["timings_ms"]), row["latency_ms"]
        assert len(raw) == row["runs"] >= 3
        assert lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"]
        expected = dict(zip(("p50", "p90", "p99"), np.percentile(raw, [50, 90, 99]), strict=True))
        expected.update(mean=raw.mean(), std=raw.std(), min=raw.min(), max=raw.max())
        for key, value in expected.items():
            assert lat[key] == pytest.approx(value, abs=1e-3)
            assert row["latency_per_image_ms"][key] == pytest.approx(value / row["batch"], abs=1e-3)
        assert row["throughput_ips"] == pytest.approx(1e3 * row["batch"] / lat["mean"], rel=1e-3)


def test_skipped_combinations_carry_reasons(report) -> None:
    reasons = {(r.backend, r.precision): r.reason for r in report.rows if r.status == "skipped"}
    assert "CUDA" in reasons[("torch", "fp16")] and "INT8" in reasons[("torch", "int8")]
    for precision in ("fp32", "fp16", "int8"):
        assert reasons[("tensorrt", precision)]
    assert all(r.reason for r in report.rows if r.status != "ok")


def test_reference_relations(report) -> None:
    for row in report.ok_rows:
        if row.backend == "torch":
            assert row.speedup == 1.0 and row.build_s is None
        else:
            assert row.speedup > 0 and row.build_s > 0
            assert isinstance(row.beyond_gate, bool)  # flagged either way, never refused
        if row.precision == "fp32":
            assert row.accuracy_delta == {"IoU": 0.0, "nIoU": 0.0, "Pd": 0.0, "Fa": 0.0}  # ONNX FP32: exact
            assert row.beyond_gate is False


def test_markdown_written(report, work: Path) -> None:
    text = (work / "b.md").read_text()
    for heading in ("## Environment", "## Speed", "## Artifacts", "## Not measured"):
        assert heading in text
    assert "| onnxruntime | fp32 | 2 | 64 |" in text and "| onnxruntime | int8 | 2 | 64 |" in text
    assert "| gate |" in text


def test_cache_compare_and_cli(report, work: Path) -> None:
    out = work / "c.json"
    args = [
        "benchmark", "-w", str(work / "acm.pth"), "--backends", "onnxruntime", "--batch", "1", "--imgsz", "64",
        "--runs", "3", "--warmup", "0", "--threads", "1", "--cache-dir", str(work / "cache"), "--json", str(out),
        "--compare", str(work / "b.json"), "--plot", str(work / "p.png"),
    ]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Change against the earlier run" in result.output
    new = load_report(out)
    onnx_rows = [r for r in new["rows"] if r["backend"] == "onnxruntime"]
    assert onnx_rows[0]["cached"] is True
    assert onnx_rows[0]["artifact"] == next(r.artifact for r in report.ok_rows if r.backend == "onnxruntime")
    assert {r["backend"] for r in new["rows"]} == {"torch", "onnxruntime"}  # torch fp32 always measured


def test_compare_rows(report) -> None:
    from lesps_deploy.benchmark import compare_reports

    old = report.to_dict()
    new = json.loads(json.dumps(old))
    for row in new["rows"]:
        if row["status"] == "ok":
            row["latency_ms"]["mean"] *= 2
            row["throughput_ips"] /= 2
    diff = compare_reports(old, new)
    assert len(diff) == len(report.ok_rows) and all(d["change"] == "both" for d in diff)
    assert all(d["latency_change_pct"] == pytest.approx(100.0) for d in diff)
    assert all(d["throughput_change_pct"] == pytest.approx(-50.0) for d in diff)
    assert all(d["accuracy_change"]["IoU"] == 0 for d in diff)


def test_broken_artifact_fails_its_rows_only(report, work: Path) -> None:
    cache = work / "cache-broken"
    shutil.copytree(work / "cache", cache)
    for onnx in cache.rglob("*.onnx"):
        onnx.write_bytes(b"not an onnx file")
    rep = run_benchmark(
        _cfg(
            work,
            backends=("onnxruntime",),
            precisions=("fp32",),
            cache_dir=cache,
            data=None,
            json_out=None,
            markdown_out=None,
        )
    )
    status = {(r.backend, r.batch): (r.status, r.reason) for r in rep.rows}
    assert status[("torch", 1)][0] == "ok"
    assert status[("onnxruntime", 1)][0] == "failed" and "ONNX Runtime" in status[("onnxruntime", 1)][1]


def test_config_errors(work: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown"):
        _cfg(work, backends=("openvino",))
    with pytest.raises(ConfigError, match="fp8"):
        _cfg(work, precisions=("fp8",))
    onnx = tmp_path / "m.onnx"
    onnx.write_bytes(b"x")
    with pytest.raises(ConfigError, match="checkpoint"):
        run_benchmark(_cfg(work, weights=onnx))
    bad = tmp_path / "old.json"
    bad.write_text("{}")
    with pytest.raises(ConfigError, match="not a benchmark report"):
        run_benchmark(_cfg(work, compare=bad))


def test_plot_skipped_without_matplotlib(report, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import importlib.util

    from lesps_deploy.benchmark import write_plot

    with caplog.at_level(logging.INFO):
        out = write_plot(report, tmp_path / "p.png")
    if importlib.util.find_spec("matplotlib") is None:
        assert out is None and "matplotlib is not installed" in caplog.text
    else:
        assert out is not None and out.read_bytes()[:4] == b"\x89PNG"
