"""`serve(ServeConfig)`: a model repository (or weights, exported first) on a Triton server until a signal.

The server loads only the chosen model (explicit model control: a repository also holds the bare
network for NVIDIA's backends, which this server does not have). SIGINT and SIGTERM are forwarded
as one SIGTERM (Triton drains requests in flight for up to 5 s), and the server's whole process group
(its Python backend stubs included) is gone when `serve` returns.
"""

from __future__ import annotations

import logging
import re
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from lesps_deploy.errors import BackendError, DataError
from lesps_deploy.io import cache_dir, sha256_file

from .config import ServeConfig
from .server import ServerPorts, TritonServer, find_tritonserver

__all__ = ["ServeOutcome", "serve", "repository_for", "served_model", "models_to_load"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServeOutcome:
    """How serving ended: the server's exit code and the signal that stopped it (None: it exited)."""

    returncode: int | None
    signal: str | None


def frames_models(repo: Path) -> list[str]:
    """Models of `repo` this server runs: Python-backend frames models with their own ONNX file."""
    return sorted(
        d.name
        for d in repo.iterdir()
        if (d / "1" / "model.py").is_file() and (d / "1" / "model.onnx").is_file()
    )


def served_model(repo: Path, name: str | None) -> str:
    """`name`, checked, or the repository's one frames model.

    Raises:
        DataError: no such model folder, or no single frames model to choose.
    """
    if name is not None:
        if not (repo / name / "config.pbtxt").is_file():
            known = sorted(d.name for d in repo.iterdir() if (d / "config.pbtxt").is_file())
            raise DataError(f"{repo}: no model '{name}' (has: {', '.join(known) or 'none'})")
        return name
    found = frames_models(repo)
    if not found:
        raise DataError(
            f"{repo}: no model this server can run (a Python-backend model with 1/model.onnx)",
            hint="write one with 'lesps export WEIGHTS --format triton --out REPOSITORY'",
        )
    if len(found) > 1:
        raise DataError(f"{repo}: {len(found)} frames models ({', '.join(found)}); choose one with --model")
    return found[0]


_NETWORK = re.compile(r'key:\s*"serve\.network"\s*value:\s*\{\s*string_value:\s*"([^"]*)"')


def models_to_load(repo: Path, name: str) -> list[str]:
    """`name`, and the network model it calls when it is a pipeline (`serve.network` names a model)."""
    found = _NETWORK.search((repo / name / "config.pbtxt").read_text(encoding="utf-8"))
    network = found.group(1) if found else "onnxruntime"
    return [name] if network == "onnxruntime" else [network, name]


def repository_for(cfg: ServeConfig) -> Path:
    """`cfg.source` when it is a repository, else the cached repository exported from those weights.

    Raises:
        DataError: no such file or folder.
    """
    source = Path(cfg.source)
    if source.is_dir():
        return source
    if not source.is_file():
        raise DataError(f"{source}: no such model repository or weights file")
    from lesps_deploy.export import ExportConfig, export_weights

    key = f"{sha256_file(source)[:16]}-{(cfg.norm or 'auto').replace(',', '_')}-x{cfg.instances}"
    repo = cache_dir("triton", key)
    if repo.is_dir() and frames_models(repo):
        logger.info("%s: serving the repository exported before (%s)", source, repo)
        return repo
    logger.info("%s: exporting a Triton repository to %s", source, repo)
    export_weights(
        ExportConfig(source, "triton", out=repo, norm=cfg.norm, instances=cfg.instances, force=True)
    )
    return repo


def serve(cfg: ServeConfig, on_ready: Callable[[str, dict[str, str]], None] | None = None) -> ServeOutcome:
    """Serve until the server exits or this process gets SIGINT/SIGTERM; returns how it ended.

    Args:
        cfg: the options.
        on_ready: called once the model is READY with its name and the endpoints.

    Raises:
        MissingDependencyError: the serve extra is not installed.
        DataError, ConfigError: bad source or model.
        BackendError: the server exited or was not ready in time.
    """
    find_tritonserver()  # the missing extra in one line, before any export
    repo = repository_for(cfg)
    name = served_model(repo, cfg.model)
    ports = ServerPorts(cfg.host, cfg.http_port, cfg.grpc_port, cfg.metrics_port)
    received: list[int] = []
    with tempfile.TemporaryDirectory(prefix="lesps-serve-") as tmp:
        server = TritonServer(
            repo, models_to_load(repo, name), ports, log_file=Path(tmp) / "tritonserver.log"
        )

        def forward(signum: int, _frame: FrameType | None) -> None:
            received.append(signum)
            server.signal(signal.SIGTERM)

        previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            server.start()
            try:
                server.wait_ready(cfg.ready_timeout_s)
            except BackendError:
                if not received:  # stopped by a signal while loading: no error, just stopped
                    raise
            if on_ready is not None and not received:
                endpoints = ports.endpoints()
                on_ready(name, {k: v if k == "metrics" else f"{v}/{name}" for k, v in endpoints.items()})
            while server.returncode is None:
                time.sleep(0.2)
        finally:
            code = server.stop()
            for s, handler in previous.items():
                signal.signal(s, handler)
    return ServeOutcome(code, signal.Signals(received[0]).name if received else None)
