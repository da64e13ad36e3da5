"""Talking to a served lesps model over HTTP or gRPC (tritonclient), with one-line errors.

`FramesClient` checks at connection that the server is up and the model READY, reads the model's
metadata from its config, sends raw uint8/uint16 frames and returns the outputs. A client is used by
one thread at a time (tritonclient's HTTP client is not thread-safe); make one per thread.
"""

from __future__ import annotations

import contextlib
import urllib.error
import urllib.request
from typing import Any

import numpy as np

from lesps_deploy.errors import BackendError, ConfigError, MissingDependencyError
from lesps_deploy.metadata import ModelMeta

from .triton_protocol import FRAME_INPUTS, ServeParams, ServerUrl, meta_from_parameters

__all__ = ["FramesClient", "model_ready_state", "DEFAULT_TIMEOUT_S"]

DEFAULT_TIMEOUT_S = 60.0


def model_ready_state(address: str, model: str, timeout_s: float = 2.0) -> bool:
    """True when `model` is READY on the HTTP endpoint `host:port` (plain HTTP, no tritonclient)."""
    try:
        with urllib.request.urlopen(f"http://{address}/v2/models/{model}/ready", timeout=timeout_s) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _module(protocol: str) -> Any:
    try:
        if protocol == "grpc":
            import tritonclient.grpc as module  # type: ignore[import-untyped]
        else:
            import tritonclient.http as module  # type: ignore[import-untyped]
    except ImportError as err:
        raise MissingDependencyError(
            "tritonclient", "serve", f"a model served at a {protocol}:// URL ({err.name} missing)"
        ) from None
    return module


def _first_line(err: BaseException) -> str:
    text = getattr(err, "message", None)
    text = text() if callable(text) else text or str(err) or type(err).__name__
    return str(text).strip().splitlines()[0] if str(text).strip() else type(err).__name__


class FramesClient:
    """One connection to a served model.

    Args:
        url: where the model is served.
        timeout_s: seconds a connection or a request may take.

    Raises:
        BackendError: the server is down, the model unknown or not ready, or not a lesps model.
        MissingDependencyError: tritonclient is not installed.
    """

    def __init__(self, url: ServerUrl, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.url = url
        self.timeout_s = float(timeout_s)
        self._tc = _module(url.protocol)
        self._grpc = url.protocol == "grpc"
        try:
            if self._grpc:
                self.client = self._tc.InferenceServerClient(url.address)
            else:
                self.client = self._tc.InferenceServerClient(
                    url.address, connection_timeout=self.timeout_s, network_timeout=self.timeout_s
                )
        except Exception as err:  # noqa: BLE001 - tritonclient raises several types for a bad address
            raise BackendError(f"{url}: cannot connect: {_first_line(err)}") from None
        self._check_ready()
        config = self._config()
        params = {k: v["string_value"] for k, v in config.get("parameters", {}).items()}
        if "lesps.model" not in params:
            raise BackendError(
                f"{url}: not a model written by 'lesps export --format triton' (no lesps metadata in its config)"
            )
        self.meta: ModelMeta = meta_from_parameters(params)
        self.params = ServeParams.from_parameters(params)
        names = {t["name"] for t in config.get("input", [])}
        if not set(FRAME_INPUTS) <= names:
            raise BackendError(
                f"{url}: takes {', '.join(sorted(names))}, not raw frames",
                hint=f"use the frames model ({url.model.removesuffix('_net')}) instead of the bare network",
            )
        self.max_batch_size = int(config.get("max_batch_size", 0)) or 1

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as err:  # noqa: BLE001 - one line for the connection, HTTP and gRPC errors alike
            text = _first_line(err)
            if any(
                s in text.lower() for s in ("refused", "unavailable", "failed to connect", "connect call")
            ):
                raise BackendError(
                    f"{self.url}: server down or unreachable ({text})",
                    hint="start it with 'lesps serve REPOSITORY' or check the host and port",
                ) from None
            if "deadline" in text.lower() or "timed out" in text.lower() or isinstance(err, TimeoutError):
                raise BackendError(f"{self.url}: no answer to {what} within {self.timeout_s:g} s") from None
            raise BackendError(f"{self.url}: {what} failed: {text}") from None

    def _check_ready(self) -> None:
        kwargs = {"client_timeout": self.timeout_s} if self._grpc else {}
        if not self._call("the liveness check", self.client.is_server_live, **kwargs):
            raise BackendError(f"{self.url}: server is not live")
        if not self._call("the readiness check", self.client.is_model_ready, self.url.model, **kwargs):
            raise BackendError(
                f"{self.url}: model '{self.url.model}' is not ready on the server (unknown, loading or failed)",
                hint="check the server's log and model repository (GET /v2/repository/index lists them)",
            )

    def _config(self) -> dict[str, Any]:
        if self._grpc:
            reply = self._call(
                "reading the model config", self.client.get_model_config, self.url.model, as_json=True
            )
            return reply.get("config", reply)
        return self._call("reading the model config", self.client.get_model_config, self.url.model)

    def infer(self, frames: np.ndarray, outputs: tuple[str, ...] = ("prob",)) -> dict[str, np.ndarray]:
        """Run one request of `frames` (N x H x W uint8 or uint16); returns the named outputs.

        Raises:
            ConfigError: frames of another type or shape.
            BackendError: the server refused or failed the request, or did not answer in time.
        """
        names = {np.dtype(v): k for k, v in FRAME_INPUTS.items()}
        if frames.ndim != 3 or frames.dtype not in names:
            raise ConfigError(
                f"{self.url}: frames must be N x H x W uint8 or uint16, got {frames.dtype} {frames.shape}"
            )
        dtype = "UINT8" if frames.dtype == np.uint8 else "UINT16"
        tensor = self._tc.InferInput(names[frames.dtype], list(frames.shape), dtype)
        tensor.set_data_from_numpy(
            np.ascontiguousarray(frames), **({} if self._grpc else {"binary_data": True})
        )
        requested = [
            self._tc.InferRequestedOutput(name, **({} if self._grpc else {"binary_data": True}))
            for name in outputs
        ]
        kwargs = {"client_timeout": self.timeout_s} if self._grpc else {}
        reply = self._call(
            f"inference on {frames.shape[0]} frame(s) of {frames.shape[1]}x{frames.shape[2]}",
            self.client.infer, self.url.model, [tensor], outputs=requested, **kwargs,
        )  # fmt: skip
        return {name: reply.as_numpy(name) for name in outputs}

    def statistics(self) -> dict[str, Any]:
        """Triton's inference statistics of the model (counts and cumulative queue/compute ns)."""
        if self._grpc:
            return self._call(
                "reading statistics", self.client.get_inference_statistics, self.url.model, as_json=True
            )
        return self._call("reading statistics", self.client.get_inference_statistics, self.url.model)

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a dead connection has nothing to report
            self.client.close()
