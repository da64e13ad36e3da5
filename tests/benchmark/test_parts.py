"""Benchmark building blocks: timing statistics and stopping rules, the combination matrix, environment."""

from __future__ import annotations

import numpy as np
import pytest

from lesps_deploy.benchmark.config import BenchmarkConfig, parse_list
from lesps_deploy.benchmark.env import environment, jetson_power_mode
from lesps_deploy.benchmark.matrix import Context, plan
from lesps_deploy.benchmark.memory import read_peaks, reset_peaks
from lesps_deploy.benchmark.timing import CpuTimer, Timer, time_calls
from lesps_deploy.errors import ConfigError
from lesps_deploy.timing import latency_stats


def test_latency_stats_known_values() -> None:
    raw = list(range(1, 101))  # 1..100 ms
    stats = latency_stats(raw)
    assert stats["mean"] == 50.5 and stats["min"] == 1 and stats["max"] == 100
    assert (
        stats["p50"] == 50.5 and stats["p90"] == pytest.approx(90.1) and stats["p99"] == pytest.approx(99.01)
    )
    assert stats["std"] == pytest.approx(np.std(raw), abs=1e-4)


def test_latency_stats_subset_rounding_and_empty() -> None:
    """The one statistics function serves the predict summary too: chosen keys, digits, NaN when empty."""
    assert latency_stats([1.0, 2.0, 3.0, 4.0], ("p50", "p90"), 3) == {"p50": 2.5, "p90": 3.7}
    assert all(np.isnan(v) for v in latency_stats([], ("p50", "mean")).values())


class FakeClock:
    """A clock that moves only when a timed call runs: each call takes exactly `step` seconds."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        return self.now


class FakeTimer(Timer):
    """Runs the call and advances the fake clock by one step (1/32 s: exact in binary floating point)."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock

    def time(self, fn):
        out = fn()
        self.clock.now += self.clock.step
        return self.clock.step * 1e3, out


def test_stopping_rules() -> None:
    calls = []
    run = time_calls(lambda: calls.append(1), CpuTimer(), warmup=3, runs=7)
    assert len(run.timings_ms) == 7 and run.warmup == 3 and run.stopped_by == "runs" and len(calls) == 10

    clock = FakeClock(1 / 32)
    capped = time_calls(
        lambda: None, FakeTimer(clock), warmup=0, runs=1000, min_runs=2, max_seconds=0.125, clock=clock
    )
    assert capped.stopped_by == "max_seconds" and len(capped.timings_ms) == 4 and capped.seconds == 0.125
    few = time_calls(
        lambda: None, FakeTimer(clock), warmup=0, runs=1000, min_runs=6, max_seconds=0.125, clock=clock
    )
    assert few.stopped_by == "max_seconds" and len(few.timings_ms) == 6  # min_runs outlasts the cap
    timed = time_calls(
        lambda: None, FakeTimer(clock), warmup=0, runs=1, min_runs=1, min_seconds=0.125, clock=clock
    )
    assert timed.stopped_by == "min_seconds" and timed.timings_ms == (31.25,) * 4
    warm = time_calls(
        lambda: None, FakeTimer(clock), warmup=10, max_warmup_seconds=0.0625, runs=1, clock=clock
    )
    assert warm.warmup == 2  # the warm-up time cap stops it before 10 calls


def _ctx(device: str, data: bool = False, providers=("CPUExecutionProvider",), trt: bool = False) -> Context:
    return Context(device, data, tuple(providers), {"torch": True, "onnxruntime": True, "tensorrt": trt})


def _reasons(cfg: BenchmarkConfig, ctx: Context) -> dict[tuple[str, str], str | None]:
    return {c.artifact.key: c.artifact.skip for c in plan(cfg, ctx)}


def test_matrix_rules(tmp_path) -> None:
    cfg = BenchmarkConfig(
        tmp_path / "w.pth", backends=("torch", "onnxruntime", "tensorrt"), precisions=("fp32", "fp16", "int8")
    )
    cpu = _reasons(cfg, _ctx("cpu", trt=True))
    assert cpu[("torch", "fp32")] is None and cpu[("onnxruntime", "fp32")] is None
    assert "CUDA" in cpu[("torch", "fp16")] and "INT8" in cpu[("torch", "int8")]
    assert "CUDA GPU" in cpu[("tensorrt", "fp32")]
    gpu = _reasons(cfg, _ctx("cuda", trt=True))
    assert gpu[("torch", "fp16")] is None and gpu[("tensorrt", "fp16")] is None
    assert "CUDAExecutionProvider" in gpu[("onnxruntime", "fp32")]
    assert "--data" in gpu[("tensorrt", "int8")]
    assert _reasons(cfg, _ctx("cuda", data=True, trt=True))[("tensorrt", "int8")] is None
    assert "not installed" in _reasons(cfg, _ctx("cuda"))[("tensorrt", "fp32")]
    ordered = plan(
        BenchmarkConfig(tmp_path / "w.pth", backends=("onnxruntime",), batches=(1, 4)), _ctx("cpu")
    )
    assert [(c.artifact.backend, c.batch) for c in ordered] == [
        ("torch", 1),
        ("torch", 4),
        ("onnxruntime", 1),
        ("onnxruntime", 4),
    ]


def test_parse_list() -> None:
    assert parse_list("1, 4,4,16", int, "--batch") == (1, 4, 16)
    with pytest.raises(ConfigError, match="--batch"):
        parse_list("1,x", int, "--batch")
    with pytest.raises(ConfigError):
        parse_list(" , ", str, "--backends")


def test_environment_and_memory() -> None:
    env = environment("cpu")
    assert env["cpu_count"] >= 1 and env["versions"]["numpy"] and env["cuda_available"] in (True, False)
    assert jetson_power_mode() is None or isinstance(jetson_power_mode(), str)
    reset_peaks("cpu")
    peaks = read_peaks("cpu")
    assert peaks["rss_peak_mb"] >= peaks["rss_mb"] > 0 and peaks["cuda_max_allocated_mb"] is None


def test_jetson_power_mode_from_files(tmp_path) -> None:
    from lesps_deploy.benchmark.env import _parse_nvpmodel_query

    conf = tmp_path / "nvpmodel.conf"
    conf.write_text("< POWER_MODEL ID=0 NAME=MAXN >\nCPU_ONLINE CORE_0 1\n< POWER_MODEL ID=2 NAME=15W >\n")
    status = tmp_path / "status"
    status.write_text("pmode:0002 fmode:quiet\n")
    assert jetson_power_mode(status, conf, query=False) == "15W (2)"
    assert jetson_power_mode(tmp_path / "missing", conf, query=False) is None
    assert _parse_nvpmodel_query("NV Fan Mode:quiet\nNV Power Mode: MAXN\n0\n") == "MAXN (0)"


def test_busy_warning() -> None:
    from lesps_deploy.benchmark.env import busy_warning

    assert busy_warning({"load_average": [0.5, 0.4, 0.3], "cpu_count": 2}) is None
    assert "--threads 1" in busy_warning({"load_average": [6.0, 5.0, 4.0], "cpu_count": 2})
    assert busy_warning({"load_average": None, "cpu_count": 2}) is None
