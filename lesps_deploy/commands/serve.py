"""`lesps serve`: a Triton model repository (or weights, exported first) on a real Triton server."""

from __future__ import annotations

import logging

import typer

from lesps_deploy.options.typer_command import command
from lesps_deploy.serving.config import ServeConfig

__all__ = ["serve"]

log = logging.getLogger("lesps_deploy.serving")


def _ready(name: str, endpoints: dict[str, str]) -> None:
    log.info("serving %s: %s (Ctrl-C stops)", name, "  ".join(f"{k} {v}" for k, v in endpoints.items()))


def _serve(cfg: ServeConfig) -> None:
    """Serve a model with Triton Inference Server (HTTP, gRPC, metrics) until Ctrl-C or SIGTERM."""
    from lesps_deploy.serving.serve import serve as run

    outcome = run(cfg, on_ready=_ready)
    log.info("server stopped (%s, exit code %s)", outcome.signal or "exited", outcome.returncode)
    if outcome.signal is None and outcome.returncode:
        raise typer.Exit(1)


serve = command("serve", ServeConfig, _serve)
