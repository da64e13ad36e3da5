"""`--threads`: the default from affinity and cgroup quota, and one setting for PyTorch, ONNX Runtime, OpenCV."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest
import torch
from conftest import write_tiny_dataset
from typer.testing import CliRunner

from lesps_deploy import threads
from lesps_deploy.cli import app
from lesps_deploy.errors import ConfigError
from lesps_deploy.export.onnx_cache import cached_onnx
from lesps_deploy.metadata import ModelMeta
from lesps_deploy.models import create_model, save_checkpoint
from lesps_deploy.runtime.onnx_backend import OnnxRuntimeBackend


@pytest.fixture
def restore_threads():
    """Commands change process-wide thread counts: put the suite's single thread back afterwards."""
    yield
    threads.use_threads(1)


def _cgroup(root: Path, files: dict[str, str] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in (files or {}).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
    return root


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({}, None),
        ({"cpu.max": "max 100000"}, None),  # cgroup v2, no quota
        ({"cpu.max": "150000 100000"}, 1.5),
        ({"cpu/cpu.cfs_quota_us": "200000", "cpu/cpu.cfs_period_us": "100000"}, 2.0),  # cgroup v1
        ({"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000"}, None),
    ],
)
def test_cgroup_cpu_limit(tmp_path: Path, files: dict[str, str], expected: float | None) -> None:
    assert threads.cgroup_cpu_limit(_cgroup(tmp_path, files)) == expected


def test_available_cores_is_the_affinity_capped_by_the_quota(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    eight = set(range(8))
    assert threads.available_cores(eight, _cgroup(tmp_path / "none")) == 8
    assert threads.available_cores(eight, _cgroup(tmp_path / "v2", {"cpu.max": "150000 100000"})) == 2
    assert threads.available_cores({3}, _cgroup(tmp_path / "big", {"cpu.max": "400000 100000"})) == 1
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")  # torchrun: the cores are shared out
    assert threads.available_cores(eight, _cgroup(tmp_path / "none")) == 2


def test_resolve_threads(monkeypatch) -> None:
    assert threads.resolve_threads(3) == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # an explicit choice in the environment is the default
    assert threads.resolve_threads(None) == threads.resolve_threads(0) == 1
    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.setattr(threads, "busy_neighbours", lambda: 0.0)
    assert threads.resolve_threads(None) == threads.resolve_threads(0) == threads.available_cores()
    with pytest.raises(ConfigError, match="--threads -1"):
        threads.resolve_threads(-1)


def test_process_env_keeps_what_the_user_set() -> None:
    env = {"OMP_WAIT_POLICY": "ACTIVE"}
    threads.process_env(env)
    assert env["OMP_WAIT_POLICY"] == "ACTIVE" and env["KMP_BLOCKTIME"] == "0"
    assert "GOMP_SPINCOUNT" not in env  # the user's wait policy decides the spin
    ours: dict[str, str] = {}
    threads.process_env(ours)
    assert ours["GOMP_SPINCOUNT"] == threads.SPIN_ROUNDS and "OMP_WAIT_POLICY" not in ours
    assert env["OPENCV_LOG_LEVEL"] == "ERROR" and env["OPENCV_FFMPEG_LOGLEVEL"] == "-8"
    debug = {"LESPS_DEBUG": "1"}
    threads.process_env(debug)
    assert "OPENCV_LOG_LEVEL" not in debug  # LESPS_DEBUG=1 shows the libraries' own logs


def test_command_threads_reach_torch_opencv_and_onnxruntime(tmp_path: Path, restore_threads) -> None:
    data = write_tiny_dataset(tmp_path / "Tiny")
    result = CliRunner().invoke(app, ["labels", str(data), "--threads", "2"])
    assert result.exit_code == 0, result.output
    assert torch.get_num_threads() == 2 and cv2.getNumThreads() == 2 and threads.current_threads() == 2
    ckpt = save_checkpoint(
        tmp_path / "acm.pth", create_model("ACM"), ModelMeta(model="ACM", mean=70.0, std=20.0)
    )
    with OnnxRuntimeBackend(cached_onnx(ckpt, root=tmp_path / "onnx")) as backend:
        options = backend.session.get_session_options()
        assert options.intra_op_num_threads == 2 and options.inter_op_num_threads == 1
        assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    result = CliRunner().invoke(app, ["labels", str(data), "--threads", "1"])
    assert result.exit_code == 0 and torch.get_num_threads() == 1 and cv2.getNumThreads() == 1


def test_every_command_takes_threads() -> None:
    for command in ("evaluate", "labels", "train", "export", "predict", "benchmark", "demo"):
        result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
        assert "--threads" in result.stdout, command
    result = CliRunner().invoke(app, ["data", "synth", "--help"], env={"COLUMNS": "200"})
    assert "--threads" in result.stdout


def _stat(path: Path, rows: list[list[int]]) -> Path:
    """A /proc/stat with an aggregate line and one line per CPU (user nice system idle ...)."""
    agg = [sum(col) for col in zip(*rows, strict=True)]
    lines = ["cpu  " + " ".join(map(str, agg))]
    lines += [f"cpu{i} " + " ".join(map(str, row)) for i, row in enumerate(rows)]
    path.write_text("\n".join(lines) + "\nintr 1 2 3\n")
    return path


def test_neighbours_are_measured_without_our_own_time(tmp_path: Path) -> None:
    before = threads.cpu_times(_stat(tmp_path / "a", [[100, 0, 10, 900, 0, 0, 0, 0]] * 2))
    # cpu0: 100 ticks busy (user), cpu1: 50 ticks of niced work, 50 idle; 100 ticks per CPU elapsed.
    after = threads.cpu_times(
        _stat(tmp_path / "b", [[200, 0, 10, 900, 0, 0, 0, 0], [100, 50, 10, 950, 0, 0, 0, 0]])
    )
    assert threads.neighbours_between(before, after, own=0) == 1.5
    assert threads.neighbours_between(before, after, own=60) == pytest.approx(0.9)  # 60 ticks were ours
    assert threads.neighbours_between(before, after, own=0, cpus={1}) == 0.5
    assert threads.neighbours_between(before, before, own=0) == 0.0  # no time elapsed
    assert threads.cpu_times(tmp_path / "missing") == {}
    (tmp_path / "self").write_text("42 (a b) c) R 1 1 1 0 -1 4194560 1 0 0 0 7 5 0 0 20 0 3 0\n")
    assert threads.own_ticks(tmp_path / "self") == 12  # utime + stime, after a name with spaces
    assert threads.own_ticks(tmp_path / "missing") == 0


def test_busy_neighbours_reads_the_machine(tmp_path: Path) -> None:
    assert threads.busy_neighbours(tmp_path / "missing") == 0.0
    # Real: a spinning process at normal priority shows as (most of) a core; nothing is asserted for
    # a quiet machine, since the test machine may be shared.
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        assert threads.busy_neighbours(seconds=0.5) >= 0.5
    finally:
        spinner.kill()
        spinner.wait()


def test_default_leaves_out_the_cores_a_neighbour_runs_on(monkeypatch) -> None:
    monkeypatch.setattr(threads, "available_cores", lambda: 4)
    monkeypatch.setattr(threads, "busy_neighbours", lambda: 0.6)  # passing tasks: no core taken
    assert threads.default_threads() == 4
    monkeypatch.setattr(threads, "busy_neighbours", lambda: 1.2)
    assert threads.default_threads() == 3
    monkeypatch.setattr(threads, "busy_neighbours", lambda: 9.0)  # never below one thread
    assert threads.default_threads() == 1
    monkeypatch.setattr(threads, "available_cores", lambda: 1)
    assert threads.default_threads() == 1
