"""`lesps doctor` and the install checks behind it: ONNX Runtime distributions read from real dist-info
records, Jetson facts from a folder laid out like a Jetson's root, one line per problem, and the one-line
error for an optional package a command reaches without it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import write_tiny_dataset
from typer.testing import CliRunner

from lesps_deploy.apis.doctor import doctor, jetson_facts, problems
from lesps_deploy.cli import app
from lesps_deploy.errors import MissingDependencyError, missing_extra, require_optional
from lesps_deploy.export.onnx_cache import cached_onnx
from lesps_deploy.metadata import ModelMeta
from lesps_deploy.models import create_model, save_checkpoint
from lesps_deploy.runtime.ort_install import (
    floor_problem,
    is_onnxruntime,
    mix_problem,
    onnxruntime_distributions,
)

ROOT = Path(__file__).resolve().parents[1]


def _dist(site: Path, name: str, version: str) -> None:
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")


def test_distributions_and_their_problems(tmp_path: Path) -> None:
    for name, version in [
        ("onnxruntime", "1.32.0"),
        ("onnxruntime_gpu", "1.31.1"),
        ("onnxruntime_extensions", "0.14.0"),
        ("numpy", "2.1.0"),
    ]:
        _dist(tmp_path, name, version)
    dists = onnxruntime_distributions([str(tmp_path)])
    assert dists == {"onnxruntime": "1.32.0", "onnxruntime-gpu": "1.31.1"}
    line = mix_problem(dists)
    assert line is not None and "\n" not in line
    assert "onnxruntime 1.32.0, onnxruntime-gpu 1.31.1" in line and "pip uninstall -y" in line
    assert mix_problem({"onnxruntime-gpu": "1.31.1"}) is None
    assert floor_problem(dists) is None
    old = floor_problem({"onnxruntime-gpu": "1.23.0"})
    assert old is not None and "1.23.0" in old and "INT8" in old
    assert floor_problem({"onnxruntime": "1.27.0"}) is None


@pytest.mark.parametrize(
    ("name", "ships"),
    [
        ("onnxruntime", True),
        ("onnxruntime-gpu", True),
        ("onnxruntime_directml", True),
        ("ort-nightly-gpu", True),
        ("onnxruntime-extensions", False),
        ("onnxruntime_genai", False),
        ("onnx", False),
    ],
)
def test_which_distributions_ship_onnxruntime(name: str, ships: bool) -> None:
    assert is_onnxruntime(name) is ships


def _jetson_root(root: Path, mode: int = 2) -> Path:
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "nv_tegra_release").write_text(
        "# R36 (release), REVISION: 4.0, GCID: 37537400, BOARD: generic, EABI: aarch64\n"
    )
    (root / "proc" / "device-tree").mkdir(parents=True)
    (root / "proc" / "device-tree" / "model").write_bytes(b"NVIDIA Jetson AGX Orin Developer Kit\x00")
    (root / "etc" / "nvpmodel.conf").write_text(
        "< POWER_MODEL ID=0 NAME=MAXN >\n< POWER_MODEL ID=2 NAME=30W >\n"
    )
    (root / "var" / "lib" / "nvpmodel").mkdir(parents=True)
    (root / "var" / "lib" / "nvpmodel" / "status").write_text(f"pmode:{mode:04d}\n")
    return root


def test_jetson_facts(tmp_path: Path) -> None:
    assert jetson_facts(tmp_path) is None  # no nv_tegra_release: not a Jetson
    facts = jetson_facts(_jetson_root(tmp_path))
    assert facts == {
        "model": "NVIDIA Jetson AGX Orin Developer Kit",
        "l4t": "R36 (release), REVISION: 4.0, GCID: 37537400, BOARD: generic, EABI: aarch64",
        "power_mode": "30W (2)",
    }


def test_problems_on_a_broken_jetson(tmp_path: Path) -> None:
    facts = {
        "onnxruntime": {"onnxruntime": "1.32.0"},
        "onnxruntime_providers": ["CPUExecutionProvider"],
        "tensorrt": None,
        "cuda": {"cuda_available": False, "cuda": None},
        "torch": "2.13.0+cpu",
        "torch_cuda": None,
        "jetson": jetson_facts(_jetson_root(tmp_path)),
    }
    found = problems(facts)
    assert len(found) == 3 and all("\n" not in line for line in found)
    assert "ONNX Runtime runs on the CPU only" in found[0] and "Jetson build of onnxruntime-gpu" in found[0]
    assert "torch 2.13.0+cpu has no CUDA on this Jetson" in found[1]
    assert "python3-libnvinfer" in found[2]
    sound = {
        **facts,
        "onnxruntime": {"onnxruntime-gpu": "1.27.0"},
        "onnxruntime_providers": [
            "TensorrtExecutionProvider",
            "CUDAExecutionProvider",
            "CPUExecutionProvider",
        ],
        "tensorrt": "10.3.0",
        "torch": "2.5.0a0+872d972e41.nv24.08",
        "torch_cuda": "12.6",
    }
    assert problems(sound) == []
    assert "no ONNX Runtime is installed" in problems({**sound, "onnxruntime": None})[0]


def test_doctor_here() -> None:
    report = doctor()
    assert report.facts["torch"] == torch.__version__ and report.facts["jetson"] is None
    result = CliRunner().invoke(app, ["doctor", "--json", "-"])
    assert result.exit_code == (1 if report.problems else 0), result.output
    assert json.loads(result.stdout)["problems"] == report.problems


def test_missing_extra_names_the_extra() -> None:
    err = missing_extra(ModuleNotFoundError("No module named 'torch'", name="torch"))
    assert isinstance(err, MissingDependencyError) and err.extra == "train"
    assert "pip install 'lesps-deploy[train]'" in str(err) and "\n" not in str(err)
    assert missing_extra(ModuleNotFoundError("No module named 'torch.nn'", name="torch.nn")) is not None
    assert missing_extra(ModuleNotFoundError("No module named 'lesps_x'", name="lesps_x")) is None
    assert missing_extra(ImportError("cannot import name 'x' from 'torch'", name="torch")) is None
    require_optional("numpy")
    with pytest.raises(MissingDependencyError, match=r"lesps-deploy\[plot\]"):
        require_optional_absent("matplotlib")


def require_optional_absent(package: str) -> None:
    """`require_optional` with `package` hidden (None in sys.modules makes find_spec say absent)."""
    saved = sys.modules.get(package)
    sys.modules[package] = None  # type: ignore[assignment]
    try:
        require_optional(package)
    finally:
        if saved is None:
            del sys.modules[package]
        else:
            sys.modules[package] = saved


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("mix")
    torch.manual_seed(0)
    ckpt = save_checkpoint(root / "acm.pth", create_model("ACM"), ModelMeta(model="ACM", mean=75.0, std=20.0))
    return cached_onnx(ckpt, root=root / "onnx"), write_tiny_dataset(root / "Tiny")


def test_a_broken_mix_is_named_once_when_onnxruntime_is_used(
    tiny_onnx: tuple[Path, Path], tmp_path: Path
) -> None:
    onnx_path, data = tiny_onnx
    site = tmp_path / "site"
    _dist(site, "onnxruntime_gpu", "1.31.1")  # as if installed by hand beside onnxruntime
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(site)]), "OMP_NUM_THREADS": "1"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    run = [sys.executable, "-m", "lesps_deploy.cli"]
    done = subprocess.run(
        [*run, "evaluate", str(onnx_path), "--data", str(data)],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stderr.split())
    assert text.count("ONNX Runtime distributions are installed") == 1
    assert "onnxruntime-gpu 1.31.1" in text
    doctor_run = subprocess.run(
        [*run, "doctor"], capture_output=True, text=True, env=env, timeout=300, check=False
    )
    assert doctor_run.returncode == 1
    assert "problem: 2 ONNX Runtime distributions are installed" in doctor_run.stdout
