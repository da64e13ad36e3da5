"""Serving benchmark: N concurrent clients of a Triton-served model against in-process ONNX Runtime, one run.

Both sides run the same ONNX file (the repository's) on the same frames, with the same number of
concurrent callers, each calling `Detector.predict([frame])` in a loop for a fixed time: in process,
N threads share one ONNX Runtime session (intra-op threads: the cores); served, N threads each hold a
client of the model on a `tritonserver` started here on free loopback ports. Reported per side:
frames/s and per-frame latency percentiles; for the server also its own queue and compute times per
request (Triton's statistics API, the difference over the timed window).
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lesps_deploy.benchmark.env import cpu_name
from lesps_deploy.benchmark.timing import latency_stats
from lesps_deploy.errors import ConfigError
from lesps_deploy.threads import available_cores
from lesps_deploy.urls import is_server_url, parse_server_url

__all__ = ["ServingBenchConfig", "run_serving_benchmark", "synthetic_frames", "format_serving_report", "serving_command"]  # fmt: skip

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServingBenchConfig:
    """Options of the serving benchmark.

    Attributes:
        weights: checkpoint or .onnx exported to a cached repository (`lesps serve` does the same), or
            a repository folder.
        clients: concurrent callers on each side.
        height, width: frame size (uint8 frames, as a camera sends them).
        seconds: timed window per side (after a warm-up of every caller).
        protocol: grpc or http.
        norm: normalization of weights that are not a known release.
        instances: model instances on the server.
        rounds: timed windows per side, alternating with the other side's.
    """

    weights: Path
    clients: int = 4
    height: int = 512
    width: int = 640
    seconds: float = 10.0
    protocol: str = "grpc"
    norm: str | None = None
    instances: int = 1
    rounds: int = 4

    def __post_init__(self) -> None:
        if self.clients < 1 or self.seconds <= 0 or self.height < 1 or self.width < 1 or self.rounds < 1:
            raise ConfigError("serving benchmark: --clients, the frame size and the seconds must be positive")
        if self.protocol not in ("grpc", "http"):
            raise ConfigError(f"--protocol {self.protocol}: use grpc or http")


def synthetic_frames(height: int, width: int, n: int = 8, seed: int = 0) -> list[np.ndarray]:
    """uint8 frames of sky-like noise with a few small bright targets."""
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(n):
        frame = rng.normal(90, 8, (height, width)).clip(0, 255).astype(np.uint8)
        for r, c in rng.integers(8, (height - 8, width - 8), (3, 2)):
            frame[r - 1 : r + 2, c - 1 : c + 2] = 230
        frames.append(frame)
    return frames


def _drive(
    make: Callable[[], Any], frames: list[np.ndarray], clients: int, seconds: float
) -> tuple[list[float], float]:
    """`clients` threads, each `make()`-ing a detector and predicting one frame per call for `seconds`;
    returns every call's milliseconds and the window's wall seconds."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[BaseException] = []
    ready = threading.Barrier(clients + 1)
    window: dict[str, float] = {}

    def worker(k: int) -> None:
        try:
            det = make()
            det.predict([frames[k % len(frames)]])  # warm-up: connection, first allocations
        except BaseException as err:  # noqa: BLE001 - re-raised by the caller
            errors.append(err)
        ready.wait()
        i = k
        while not errors and time.perf_counter() < window["end"]:
            start = time.perf_counter()
            try:
                det.predict([frames[i % len(frames)]])
            except BaseException as err:  # noqa: BLE001
                errors.append(err)
                break
            latencies[k].append((time.perf_counter() - start) * 1e3)
            i += 1

    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(clients)]
    for t in threads:
        t.start()
    window["end"] = float("inf")
    ready.wait()
    begin = time.perf_counter()
    window["end"] = begin + seconds
    for t in threads:
        t.join()
    wall = time.perf_counter() - begin
    if errors:
        raise errors[0]
    return [ms for per in latencies for ms in per], wall


def _side(windows: list[tuple[list[float], float]]) -> dict[str, Any]:
    """One side's windows pooled: frames, seconds, frames/s, latency percentiles, frames/s per window."""
    every = [ms for lat, _ in windows for ms in lat]
    wall = sum(w for _, w in windows)
    return {"frames": len(every), "seconds": round(wall, 3), "fps": round(len(every) / wall, 2),
            "latency_ms": latency_stats(every), "fps_per_round": [round(len(lat) / w, 2) for lat, w in windows]}  # fmt: skip


def _server_totals(stats: dict[str, Any]) -> np.ndarray:
    """Cumulative (queue, compute_input, compute_infer, compute_output) ns and successful requests."""
    model = stats["model_stats"][0]["inference_stats"]
    keys = ("queue", "compute_input", "compute_infer", "compute_output")
    return np.array(
        [float(model.get(k, {}).get("ns", 0)) for k in keys]
        + [float(model.get("success", {}).get("count", 0))]
    )


def _server_times(delta: np.ndarray) -> dict[str, float]:
    """Per-request queue and compute milliseconds from the statistics' growth over the timed windows."""
    n = max(float(delta[-1]), 1.0)
    keys = ("queue_ms", "compute_input_ms", "compute_infer_ms", "compute_output_ms")
    return {k: round(float(v) / n / 1e6, 3) for k, v in zip(keys, delta[:-1], strict=True)} | {
        "requests": int(n)
    }


class _Served:
    """Timed windows of the served side, with the server's statistics around each."""

    def __init__(self, url: str, frames: list[np.ndarray], cfg: ServingBenchConfig) -> None:
        from lesps_deploy.runtime.detector import Detector

        self.url, self.frames, self.cfg = url, frames, cfg
        self.probe = Detector(url, warmup=False)
        self.windows: list[tuple[list[float], float]] = []
        self.delta = np.zeros(5)

    def window(self, seconds: float) -> None:
        from lesps_deploy.runtime.detector import Detector

        before = _server_totals(self.probe.backend.statistics())  # type: ignore[attr-defined]
        self.windows.append(
            _drive(lambda: Detector(self.url, warmup=False), self.frames, self.cfg.clients, seconds)
        )
        self.delta += _server_totals(self.probe.backend.statistics()) - before  # type: ignore[attr-defined]

    def summary(self) -> dict[str, Any]:
        self.probe.close()
        return _side(self.windows) | {"server": _server_times(self.delta)}


def run_serving_benchmark(cfg: ServingBenchConfig) -> dict[str, Any]:
    """Measure both sides in alternating windows (only the served one for a URL); a JSON-ready report.

    `cfg.rounds` windows per side of `cfg.seconds / cfg.rounds` each, in the order in-process, served,
    served, in-process, ... so load that drifts on a shared machine hits both sides alike.
    """
    from lesps_deploy.runtime.detector import Detector
    from lesps_deploy.serving.config import ServeConfig
    from lesps_deploy.serving.serve import repository_for, served_model
    from lesps_deploy.serving.server import ServerPorts, TritonServer, free_ports

    frames = synthetic_frames(cfg.height, cfg.width)
    window_s = cfg.seconds / cfg.rounds
    if is_server_url(cfg.weights):  # a server run elsewhere: its ONNX file is not here to compare with
        url = parse_server_url(cfg.weights)
        remote = _Served(str(url), frames, cfg)
        for _ in range(cfg.rounds):
            remote.window(window_s)
        return _report(cfg, url.model, None, remote.summary())
    repo = repository_for(ServeConfig(cfg.weights, norm=cfg.norm, instances=cfg.instances))
    name = served_model(repo, None)
    local_detector = Detector(repo / name / "1" / "model.onnx", threads=available_cores(), warmup=False)
    local: list[tuple[list[float], float]] = []
    http, grpc, metrics = free_ports(3)
    ports = ServerPorts("127.0.0.1", http, grpc, metrics)
    with (
        tempfile.TemporaryDirectory(prefix="lesps-bench-serve-") as tmp,
        TritonServer(repo, [name], ports, log_file=Path(tmp) / "tritonserver.log") as server,
    ):
        server.start()
        server.wait_ready()
        served = _Served(
            f"{cfg.protocol}://127.0.0.1:{grpc if cfg.protocol == 'grpc' else http}/{name}", frames, cfg
        )
        for r in range(cfg.rounds):
            steps = [lambda: local.append(_drive(lambda: local_detector, frames, cfg.clients, window_s)),
                     lambda: served.window(window_s)]  # fmt: skip
            for step in steps if r % 2 == 0 else steps[::-1]:
                step()
        served_side = served.summary()
    local_detector.close()
    return _report(cfg, name, _side(local), served_side)


def _report(
    cfg: ServingBenchConfig, name: str, local: dict[str, Any] | None, served: dict[str, Any]
) -> dict[str, Any]:
    return {
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
        "cpu": cpu_name(),
        "cores": available_cores(),
        "model": name,
        "in_process": local,
        "served": served,
        "ratio": round(served["fps"] / local["fps"], 3) if local and local["fps"] else None,
    }


def serving_command(
    weights: Path, clients: int, frame_size: str, seconds: float, protocol: str, norm: str | None
) -> tuple[str, dict[str, Any]]:
    """`lesps benchmark --clients N`: the report as text and as JSON.

    Raises:
        ConfigError: a frame size that is not WxH.
    """
    try:
        width, height = (int(v) for v in frame_size.lower().split("x"))
    except ValueError:
        raise ConfigError(f"--frame-size {frame_size}: expected WIDTHxHEIGHT, e.g. 640x512") from None
    cfg = ServingBenchConfig(weights, clients, height, width, seconds, protocol, norm)
    report = run_serving_benchmark(cfg)
    return format_serving_report(report), report


def format_serving_report(report: dict[str, Any]) -> str:
    """A few lines of text for the terminal."""
    cfg = report["config"]
    lines = [
        f"{report['model']} at {cfg['width']}x{cfg['height']} uint8, {cfg['clients']} concurrent clients, "
        f"{cfg['seconds']:g} s per side in {cfg['rounds']} alternating windows; {report['cpu']} "
        f"({report['cores']} cores usable)"
    ]
    for label, key in (("in-process ONNX Runtime", "in_process"), (f"served ({cfg['protocol']})", "served")):
        side = report[key]
        if side is None:
            lines.append(f"  {label:24s} not measured (a server elsewhere: its ONNX file is not here)")
            continue
        lat = side["latency_ms"]
        lines.append(
            f"  {label:24s} {side['fps']:8.2f} frames/s   latency p50 {lat['p50']:.1f}  p90 {lat['p90']:.1f}  "
            f"p99 {lat['p99']:.1f} ms   (per window: {', '.join(f'{v:.1f}' for v in side['fps_per_round'])})"
        )
    srv = report["served"]["server"]
    lines.append(
        f"  server per request: queue {srv['queue_ms']:.2f} ms, compute {srv['compute_infer_ms']:.2f} ms "
        f"(+ in {srv['compute_input_ms']:.2f}, out {srv['compute_output_ms']:.2f}) over {srv['requests']} requests"
    )
    if report["ratio"] is not None:
        lines.append(f"  served / in-process throughput: {report['ratio']:.2f}x")
    return "\n".join(lines)
