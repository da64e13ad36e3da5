"""`benchmarks/gpu_check.py --device cpu`: the prepared GPU check runs end to end on the CPU (so it cannot rot)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import SHARED_DIR

ROOT = Path(__file__).resolve().parents[2]


def test_gpu_check_on_cpu(tmp_path):
    out = tmp_path / "check.json"
    env = {**os.environ, "LESPS_SHARED": str(SHARED_DIR), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--device", "cpu", "--out", str(out)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    parts = json.loads(out.read_text())["parts"]
    assert set(parts) == {"tests", "latency", "fp16_deltas", "onnxruntime_gpu", "tensorrt", "amp_training"}
    assert all(p["status"] in ("ok", "skipped") for p in parts.values())
    assert all(p["reason"] for p in parts.values() if p["status"] == "skipped")
    assert parts["latency"]["status"] == "ok" and parts["latency"]["fp32_b1_ms"]["p50"] > 0
    assert parts["amp_training"]["status"] == "ok"
    if parts["fp16_deltas"]["status"] == "ok":  # with ../shared
        assert abs(parts["fp16_deltas"]["deltas"]["IoU"]) < 0.1
