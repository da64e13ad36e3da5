"""`ServeConfig`: the options of `lesps serve`, declared once (light: no Triton, no torch)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lesps_deploy.errors import ConfigError
from lesps_deploy.options import Role, name_of, option, validate
from lesps_deploy.runtime import options as shared

__all__ = ["ServeConfig"]

PORT = {"ge": 1, "le": 65535}


@dataclass(frozen=True)
class ServeConfig:
    """Options of `lesps serve`: each field declares its flag, help and domain (`lesps_deploy.options`).

    `source` is a model repository written by `lesps export --format triton`, or weights (checkpoint,
    .onnx) exported into a cached repository first; `model` defaults to the repository's one frames
    model that runs on this server (the Python backend with ONNX Runtime).
    """

    source: Path = option(
        help="Model repository from 'lesps export --format triton', or weights (.pth/.pth.tar/.pt, .onnx) to export first.",
        argument=True, role=Role.INPUT, noun="model repository or weights file",
    )  # fmt: skip
    model: str | None = option(None, "Model of the repository to serve (default: its one frames model).")
    host: str = option("127.0.0.1", "Address to listen on (0.0.0.0: every interface).")
    http_port: int = option(8000, "HTTP port (KServe v2 protocol).", **PORT)
    grpc_port: int = option(8001, "gRPC port.", **PORT)
    metrics_port: int = option(8002, "Prometheus metrics port.", **PORT)
    norm: str | None = shared.norm_option(
        help="Normalization of weights exported first (see 'lesps export --norm')."
    )
    instances: int = option(1, "Model instances of weights exported first.", ge=1)
    ready_timeout_s: float = option(
        120.0, "Seconds the server may take to load the model.", flag="--ready-timeout", gt=0
    )

    def __post_init__(self) -> None:
        validate(self)
        ports = {"http_port": self.http_port, "grpc_port": self.grpc_port, "metrics_port": self.metrics_port}
        if len(set(ports.values())) < len(ports):
            names = ", ".join(name_of(p) for p in ports)
            raise ConfigError(f"{names}: the three ports must differ ({', '.join(map(str, ports.values()))})")
