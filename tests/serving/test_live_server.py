"""Acceptance against a real Triton server: `lesps export --format triton`, `lesps serve`, then the
golden counts over HTTP, the in-process targets over gRPC, concurrent clients, one-line errors and a
clean SIGTERM. One server for the whole module (a start costs seconds)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import require_serve_extra  # noqa: E402

require_serve_extra()

from lesps_deploy.errors import BackendError  # noqa: E402
from lesps_deploy.runtime.triton_client import FramesClient, model_ready_state  # noqa: E402
from lesps_deploy.serving.server import free_ports  # noqa: E402
from lesps_deploy.urls import parse_server_url  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
MODEL = "ACM_LESPS_centroid"
COUNTS = ("intersection", "union", "targets", "detected", "false_alarm_pixels", "pixels")


def _lesps(*args: str, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-m", "lesps_deploy.cli", *args], capture_output=True, text=True, env=env, **kw
    )


def _processes_naming(text: str) -> list[int]:
    """Pids whose command line contains `text` (the server and its backend stubs name the repository)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if text in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


class Served:
    """A `lesps serve` subprocess on free loopback ports."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        http, grpc, metrics = free_ports(3)
        self.http = f"http://127.0.0.1:{http}/{MODEL}"
        self.grpc = f"grpc://127.0.0.1:{grpc}/{MODEL}"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        cmd = [sys.executable, "-m", "lesps_deploy.cli", "serve", str(repo), "--http-port", str(http),
               "--grpc-port", str(grpc), "--metrics-port", str(metrics)]  # fmt: skip
        self.log = repo.parent / "serve.log"
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log.open("wb"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 180
        while not model_ready_state(f"127.0.0.1:{http}", MODEL):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"lesps serve did not get ready: {self.log.read_text()[-2000:]}")
            time.sleep(0.3)

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.wait()


@pytest.fixture(scope="module")
def repo(tmp_path_factory, official_weights) -> Path:
    out = tmp_path_factory.mktemp("triton") / "repo"
    weights = official_weights / f"{MODEL}.pth.tar"
    done = _lesps("export", str(weights), "--format", "triton", "--norm", "SIRST3", "--out", str(out))
    assert done.returncode == 0, done.stderr[-2000:]
    return out


@pytest.fixture(scope="module")
def served(repo):
    server = Served(repo)
    yield server
    server.stop()


def test_golden_counts_over_http(served, nuaa_dir, golden_dir, tmp_path):
    done = _lesps("evaluate", served.http, "--data", str(nuaa_dir), "--json", "-")
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    golden = json.loads((golden_dir / "reference_metrics_nuaa.json").read_text())["results"][
        f"{MODEL}.pth.tar"
    ]
    assert {k: summary[k] for k in COUNTS} == {k: golden[k] for k in COUNTS}


def _write_video(path: Path, nuaa_dir: Path, n: int = 6) -> Path:
    import cv2

    names = (nuaa_dir / "img_idx" / "test_NUAA-SIRST.txt").read_text().split()[:n]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (320, 256))
    for name in names:
        writer.write(cv2.resize(cv2.imread(str(nuaa_dir / "images" / f"{name}.png")), (320, 256)))
    writer.release()
    return path


def _targets(run_dir: Path) -> list[list[dict]]:
    lines = (run_dir / "detections.jsonl").read_text().splitlines()
    return [json.loads(line)["targets"] for line in lines]


def test_predict_video_over_grpc_matches_in_process(served, repo, nuaa_dir, tmp_path):
    video = _write_video(tmp_path / "clip.avi", nuaa_dir)
    runs = {}
    for label, weights in (("served", served.grpc), ("local", str(repo / MODEL / "1" / "model.onnx"))):
        done = _lesps("predict", str(video), "--weights", weights, "--jsonl", "--out", str(tmp_path / label))
        assert done.returncode == 0, done.stderr[-2000:]
        runs[label] = _targets(tmp_path / label)
    assert len(runs["served"]) == 6 and any(runs["local"])
    assert runs["served"] == runs["local"]


def test_eight_concurrent_clients(served, nuaa_dir):
    from lesps_deploy.data.images import read_image
    from lesps_deploy.runtime.detector import Detector

    names = (nuaa_dir / "img_idx" / "test_NUAA-SIRST.txt").read_text().split()[:4]
    frames = [read_image(nuaa_dir / "images" / f"{n}.png") for n in names]
    with Detector(served.http) as det:
        expected = [[t.to_dict() for t in r.targets] for r in det.predict(frames)]
    errors: list[BaseException] = []
    done = [0] * 8
    stop = time.monotonic() + 4.0

    def client(k: int) -> None:
        try:
            with Detector(served.grpc if k % 2 else served.http, warmup=False) as det:
                while time.monotonic() < stop:
                    i = done[k] % len(frames)
                    got = [t.to_dict() for t in det.predict([frames[i]])[0].targets]
                    assert got == expected[i]
                    done[k] += 1
        except BaseException as err:  # noqa: BLE001 - reported by the main thread
            errors.append(err)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors[0]
    assert all(n > 0 for n in done), done


def test_one_line_errors(served):
    down = parse_server_url(f"http://127.0.0.1:{free_ports(1)[0]}/{MODEL}")
    with pytest.raises(BackendError, match="server down or unreachable") as err:
        FramesClient(down, timeout_s=5)
    assert "\n" not in str(err.value)
    unknown = parse_server_url(served.grpc.replace(MODEL, "no_such_model"))
    with pytest.raises(BackendError, match="'no_such_model' is not ready"):
        FramesClient(unknown, timeout_s=5)
    client = FramesClient(parse_server_url(served.http), timeout_s=10)
    too_many = np.zeros((client.max_batch_size + 1, 32, 32), np.uint8)
    with pytest.raises(BackendError, match="inference on 9 frame") as err:
        client.infer(too_many)
    assert "\n" not in str(err.value)
    client.close()


def test_sigterm_leaves_no_process(served, repo):
    assert _processes_naming(str(repo)), "the server and its stubs name the repository"
    start = time.monotonic()
    assert served.stop() == 0
    assert time.monotonic() - start < 20
    assert "server stopped (SIGTERM" in served.log.read_text()
    assert _processes_naming(str(repo)) == []
