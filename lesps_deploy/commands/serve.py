"""`lesps serve`: a Triton model repository (or weights, exported first) on a real Triton server."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Annotated

import typer

from lesps_deploy.serving.config import ServeConfig

__all__ = ["serve"]

SERVE = {f.name: f.default for f in fields(ServeConfig)}


def serve(
    source: Annotated[
        Path,
        typer.Argument(
            help="Model repository from 'lesps export --format triton', or weights (.pth/.pth.tar/.pt, .onnx) to export first."
        ),
    ],
    model: Annotated[
        str | None, typer.Option(help="Model of the repository to serve (default: its one frames model).")
    ] = SERVE["model"],
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0: every interface).")] = SERVE[
        "host"
    ],
    http_port: Annotated[int, typer.Option(help="HTTP port (KServe v2 protocol).")] = SERVE["http_port"],
    grpc_port: Annotated[int, typer.Option(help="gRPC port.")] = SERVE["grpc_port"],
    metrics_port: Annotated[int, typer.Option(help="Prometheus metrics port.")] = SERVE["metrics_port"],
    norm: Annotated[
        str | None, typer.Option(help="Normalization of weights exported first (see 'lesps export --norm').")
    ] = SERVE["norm"],
    instances: Annotated[int, typer.Option(help="Model instances of weights exported first.")] = SERVE[
        "instances"
    ],
    ready_timeout: Annotated[
        float, typer.Option(help="Seconds the server may take to load the model.")
    ] = SERVE["ready_timeout_s"],
) -> None:
    """Serve a model with Triton Inference Server (HTTP, gRPC, metrics) until Ctrl-C or SIGTERM."""
    import logging

    from lesps_deploy.serving.serve import serve as run

    log = logging.getLogger("lesps_deploy.serving")

    def ready(name: str, endpoints: dict[str, str]) -> None:
        log.info("serving %s: %s (Ctrl-C stops)", name, "  ".join(f"{k} {v}" for k, v in endpoints.items()))

    cfg = ServeConfig(
        source=source, model=model, host=host, http_port=http_port, grpc_port=grpc_port,
        metrics_port=metrics_port, norm=norm, instances=instances, ready_timeout_s=ready_timeout,
    )  # fmt: skip
    outcome = run(cfg, on_ready=ready)
    log.info("server stopped (%s, exit code %s)", outcome.signal or "exited", outcome.returncode)
    if outcome.signal is None and outcome.returncode:
        raise typer.Exit(1)
