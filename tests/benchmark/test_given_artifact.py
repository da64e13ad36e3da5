"""`lesps benchmark` on an .onnx as it is: its own backend and precision, itself the reference, no torch.

The ONNX files are exported here from a tiny random ACM (FP32, and an FP16 conversion of it); the
no-torch test runs the CLI in a subprocess where `import torch` fails.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import onnx
import pytest
import torch
from conftest import write_tiny_dataset
from typer.testing import CliRunner

from lesps_deploy.benchmark import BenchmarkConfig, run_benchmark
from lesps_deploy.benchmark.results import Row
from lesps_deploy.cli import app
from lesps_deploy.errors import ConfigError
from lesps_deploy.export.onnx import module_to_onnx, write_onnx_meta
from lesps_deploy.export.quantize import to_fp16
from lesps_deploy.metadata import ModelMeta
from lesps_deploy.models import create_model

ROOT = Path(__file__).resolve().parents[2]
ROW_KEYS = {f.name for f in dataclasses.fields(Row)}


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("given")
    torch.manual_seed(0)
    meta = ModelMeta(model="ACM", mean=75.0, std=20.0)
    module_to_onnx(create_model("ACM").eval(), meta, root / "acm.onnx")
    half = to_fp16(onnx.load(str(root / "acm.onnx")))
    write_onnx_meta(half, dataclasses.replace(meta, precision="fp16"))
    onnx.save(half, str(root / "acm16.onnx"))
    write_tiny_dataset(root / "Tiny")
    return root


def _cfg(work: Path, name: str = "acm.onnx", **kw) -> BenchmarkConfig:
    base = dict(
        weights=work / name, batches=(1, 2), imgsz=(64,), warmup=1, runs=4, min_runs=3, max_seconds=2.0,
        threads=1, force=True,
    )  # fmt: skip
    base.update(kw)
    return BenchmarkConfig(**base)


def test_onnx_rows_json_and_reference(work: Path) -> None:
    """Rows of the artifact alone, the reference named in the JSON, accuracy with --data, Δ against itself."""
    out = work / "b.json"
    report = run_benchmark(_cfg(work, data=work / "Tiny", json_out=out, markdown_out=work / "b.md"))
    data = json.loads(out.read_text())
    assert data["reference"]["backend"] == "onnxruntime" and data["reference"]["given"] is True
    assert data["reference"]["artifact"] == str(work / "acm.onnx")
    assert [(r["backend"], r["precision"], r["batch"]) for r in data["rows"]] == [
        ("onnxruntime", "fp32", 1),
        ("onnxruntime", "fp32", 2),
    ]
    for row in data["rows"]:
        assert set(row) == ROW_KEYS and row["status"] == "ok"
        assert row["speedup"] == 1.0 and row["build_s"] is None and row["artifact"] == str(work / "acm.onnx")
        assert row["input_shape"] == [row["batch"], 1, 96, 96]
        assert {"IoU", "nIoU", "Pd", "Fa"} <= set(row["accuracy"])
        assert row["accuracy_delta"] == {"IoU": 0.0, "nIoU": 0.0, "Pd": 0.0, "Fa": 0.0}
        assert row["beyond_gate"] is False
    assert data["environment"]["torch_threads"] is None  # torch not used for the environment either
    assert "relative to onnxruntime fp32 (the given artifact)" in (work / "b.md").read_text()
    assert len(report.ok_rows) == 2


def test_precision_comes_from_the_metadata(work: Path) -> None:
    report = run_benchmark(_cfg(work, "acm16.onnx", batches=(1,)))
    [row] = report.rows
    assert (row.backend, row.precision, row.status, row.speedup) == ("onnxruntime", "fp16", "ok", 1.0)
    assert report.reference["precision"] == "fp16"
    same = run_benchmark(_cfg(work, "acm16.onnx", batches=(1,), precisions=("fp16",)))  # its own: accepted
    assert same.rows[0].precision == "fp16"


@pytest.mark.parametrize(
    ("kw", "flag"),
    [
        (dict(backends=("torch",)), "--backends torch"),
        (dict(backends=("torch", "onnxruntime", "tensorrt")), "--backends"),
        (dict(precisions=("fp32", "int8")), "--precision fp32,int8"),
        (dict(precisions=("int8",)), "--precision int8"),
        (dict(cache_dir=Path("c")), "--cache-dir"),
        (dict(trust_pickle=True), "--trust-pickle"),
    ],
)
def test_checkpoint_only_options_refused(work: Path, kw: dict, flag: str) -> None:
    with pytest.raises(ConfigError) as info:
        run_benchmark(_cfg(work, **kw))
    message = str(info.value)
    assert message.startswith(flag) and "\n" not in message


def test_cli_json_and_table(work: Path) -> None:
    args = ["benchmark", "-w", str(work / "acm.onnx"), "--batch", "1", "--imgsz", "64", "--runs", "3",
            "--warmup", "0", "--threads", "1", "--backends", "onnxruntime", "--json", str(work / "c.json")]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "the given artifact" in result.output
    rows = json.loads((work / "c.json").read_text())["rows"]
    assert [(r["backend"], r["status"]) for r in rows] == [("onnxruntime", "ok")]
    refused = CliRunner().invoke(app, [*args[:3], "--backends", "torch,onnxruntime,tensorrt"])
    assert isinstance(refused.exception, ConfigError)  # main()'s error boundary prints it in one line
    assert str(refused.exception).startswith("--backends torch,onnxruntime,tensorrt:")


def test_no_torch_imported(work: Path, tmp_path: Path) -> None:
    """With `import torch` made to fail, the CLI benchmarks the .onnx (and --data adds the accuracy)."""
    out = tmp_path / "b.json"
    argv = ["lesps", "benchmark", "-w", str(work / "acm.onnx"), "--batch", "1", "--imgsz", "64", "--runs", "3",
            "--warmup", "0", "--threads", "1", "--data", str(work / "Tiny"), "--json", str(out)]  # fmt: skip
    code = (
        "import sys\n"
        "sys.modules['torch'] = None  # any import of torch now raises ImportError\n"
        "from lesps_deploy.cli import main\n"
        f"sys.argv = {argv!r}\n"
        "try:\n"
        "    main()\n"
        "finally:\n"
        "    assert sys.modules['torch'] is None\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    [row] = json.loads(out.read_text())["rows"]
    assert row["status"] == "ok" and row["speedup"] == 1.0 and row["accuracy"]["IoU"] >= 0
