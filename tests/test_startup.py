"""Start-up: `lesps --help` and commands on an `.onnx` never import torch, and neither does a second
`lesps evaluate` of the same checkpoint (its ONNX export is cached by the file's sha256)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import write_tiny_dataset

from lesps_deploy.export.onnx_cache import cached_onnx, onnx_cache_path
from lesps_deploy.metadata import ModelMeta
from lesps_deploy.models import create_model, save_checkpoint

# Runs the CLI in a fresh interpreter, then says whether torch got imported.
_PROBE = """
import sys
from lesps_deploy.cli import app
try:
    app(sys.argv[1:], standalone_mode=False)
finally:
    print("TORCH_IMPORTED" if "torch" in sys.modules else "NO_TORCH")
"""


def _run_cli(*args: str, cache: Path) -> str:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("startup")
    torch.manual_seed(0)
    ckpt = save_checkpoint(root / "acm.pth", create_model("ACM"), ModelMeta(model="ACM", mean=75.0, std=20.0))
    return Path(ckpt), write_tiny_dataset(root / "Tiny")


def test_help_imports_no_torch(tmp_path: Path) -> None:
    out = _run_cli("--help", cache=tmp_path)
    assert "evaluate" in out and out.strip().endswith("NO_TORCH")


def test_evaluate_onnx_imports_no_torch(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    ckpt, data = tiny
    onnx_path = cached_onnx(ckpt, root=tmp_path / "onnx")
    out = _run_cli("evaluate", str(onnx_path), "--data", str(data), cache=tmp_path)
    assert "IoU" in out and out.strip().endswith("NO_TORCH")


def test_second_evaluate_of_a_checkpoint_uses_the_cache(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    ckpt, data = tiny
    first = _run_cli(
        "evaluate", str(ckpt), "--data", str(data), "--json", str(tmp_path / "1.json"), cache=tmp_path
    )
    assert first.strip().endswith("TORCH_IMPORTED")  # the first run exports
    cached = onnx_cache_path(ckpt, root=tmp_path / "lesps-deploy" / "onnx")
    assert cached.is_file()
    second = _run_cli(
        "evaluate", str(ckpt), "--data", str(data), "--json", str(tmp_path / "2.json"), cache=tmp_path
    )
    assert second.strip().endswith("NO_TORCH")
    strip = {"seconds"}
    one, two = ((tmp_path / f"{i}.json").read_text() for i in (1, 2))
    assert {k: v for k, v in json.loads(one).items() if k not in strip} == {
        k: v for k, v in json.loads(two).items() if k not in strip
    }


def test_cache_key_changes_with_the_file(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    ckpt, _ = tiny
    other = tmp_path / "other.pth"
    torch.manual_seed(1)
    save_checkpoint(other, create_model("ACM"), ModelMeta(model="ACM", mean=75.0, std=20.0))
    assert onnx_cache_path(ckpt, root=tmp_path) != onnx_cache_path(other, root=tmp_path)
    assert onnx_cache_path(ckpt, root=tmp_path) != onnx_cache_path(ckpt, opset=18, root=tmp_path)
    assert onnx_cache_path(ckpt, root=tmp_path) != onnx_cache_path(ckpt, model="ACM", root=tmp_path)
