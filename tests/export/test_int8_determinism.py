"""INT8 calibration is deterministic: the artifact depends on the graph, the frames, the method and the
quantizer version only, not on the thread count or a busy neighbour (two real exports, compared)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import torch
from PIL import Image

from lesps_deploy.export import read_onnx_meta
from lesps_deploy.metadata import ModelMeta
from lesps_deploy.models import create_model, save_checkpoint

ROOT = Path(__file__).resolve().parents[2]


def _calibration_folder(root: Path) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "img_idx").mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):
        Image.fromarray(rng.integers(0, 255, (64, 64), dtype=np.uint8)).save(root / "images" / f"f{i}.png")
    (root / "img_idx" / f"train_{root.name}.txt").write_text("".join(f"f{i}\n" for i in range(6)))
    return root


def _export(ckpt: Path, calib: Path, out: Path, threads: int, one_core: bool) -> Path:
    prefix = ["taskset", "-c", "0"] if one_core and shutil.which("taskset") else []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("OMP_NUM_THREADS", None)
    env.pop("LESPS_DEBUG", None)
    args = [
        *prefix, sys.executable, "-m", "lesps_deploy.cli", "export", str(ckpt), "--int8", "--calib-data",
        str(calib), "--out", str(out), "--max-drop", "100", "--int8-budget", "0", "--threads", str(threads),
    ]  # fmt: skip
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    # Third-party output stays off without LESPS_DEBUG=1 (the quantizer print()s its progress).
    assert "Collecting tensor data" not in done.stdout + done.stderr and "onnxruntime:" not in done.stderr
    return out


def test_int8_artifact_is_the_same_at_any_thread_count_and_load(tmp_path: Path) -> None:
    torch.manual_seed(0)
    meta = ModelMeta(model="ACM", mean=90.0, std=40.0, dataset="synthetic")
    ckpt = save_checkpoint(tmp_path / "acm.pth", create_model("ACM").eval(), meta)
    calib = _calibration_folder(tmp_path / "calib")
    one = _export(ckpt, calib, tmp_path / "one.onnx", threads=1, one_core=True)
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])  # a neighbour keeping a core busy
    try:
        two = _export(ckpt, calib, tmp_path / "two.onnx", threads=2, one_core=False)
    finally:
        busy.kill()
        busy.wait()
    graphs = [onnx.load(str(p)).graph.SerializeToString() for p in (one, two)]
    assert graphs[0] == graphs[1]
    assert read_onnx_meta(one).calibration == read_onnx_meta(two).calibration
