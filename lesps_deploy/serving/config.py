"""`ServeConfig`: the options of `lesps serve`, one to one (light: no Triton, no torch)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lesps_deploy.errors import ConfigError

__all__ = ["ServeConfig"]


@dataclass(frozen=True)
class ServeConfig:
    """Options of `lesps serve`.

    Attributes:
        source: a model repository written by `lesps export --format triton`, or weights
            (checkpoint, .onnx) exported into a cached repository first.
        model: the model to serve (default: the repository's one frames model that runs on this server,
            the Python backend with ONNX Runtime).
        host: address every endpoint listens on (127.0.0.1: this machine only; 0.0.0.0: every interface).
        http_port, grpc_port, metrics_port: the three endpoints' ports.
        norm: normalization of weights exported first (a checkpoint that is not a known release).
        instances: model instances of weights exported first.
        ready_timeout_s: seconds the server may take to load the model.
    """

    source: Path
    model: str | None = None
    host: str = "127.0.0.1"
    http_port: int = 8000
    grpc_port: int = 8001
    metrics_port: int = 8002
    norm: str | None = None
    instances: int = 1
    ready_timeout_s: float = 120.0

    def __post_init__(self) -> None:
        ports = {
            "--http-port": self.http_port,
            "--grpc-port": self.grpc_port,
            "--metrics-port": self.metrics_port,
        }
        for flag, port in ports.items():
            if not 1 <= port <= 65535:
                raise ConfigError(f"{flag} {port}: use a port in 1..65535")
        if len(set(ports.values())) < len(ports):
            raise ConfigError(
                f"{', '.join(ports)}: the three ports must differ ({', '.join(map(str, ports.values()))})"
            )
        if self.instances < 1:
            raise ConfigError(f"--instances {self.instances}: must be >= 1")
        if self.ready_timeout_s <= 0:
            raise ConfigError(f"--ready-timeout {self.ready_timeout_s}: must be > 0 seconds")
