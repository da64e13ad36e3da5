"""ONNX Runtime backend: .onnx files exported by `lesps export` (metadata read from the file).

CPU, CUDA and TensorRT execution providers. On a GPU the input and output are bound with IO
binding so the output buffer lives on the device and ONNX Runtime does not reallocate per call.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from lesps_deploy.errors import BackendError, MissingDependencyError
from lesps_deploy.metadata import ModelMeta
from lesps_deploy.runtime.base import Closeable
from lesps_deploy.threads import current_threads, ort_thread_options

__all__ = ["OnnxRuntimeBackend", "providers_for_device"]

logger = logging.getLogger(__name__)

# device kind -> providers in priority order; CPU stays last as ONNX Runtime's fallback.
_DEVICE_PROVIDERS: dict[str, tuple[str, ...]] = {
    "cpu": ("CPUExecutionProvider",),
    "cuda": ("CUDAExecutionProvider", "CPUExecutionProvider"),
    "tensorrt": ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"),
}


def _device_id(device: str) -> int:
    _, _, idx = device.partition(":")
    return int(idx) if idx else 0


def providers_for_device(device: str) -> list[str]:
    """Default provider list for "cpu", "cuda[:N]" or "tensorrt[:N]"."""
    kind = device.split(":")[0]
    if kind not in _DEVICE_PROVIDERS:
        raise BackendError(f"unknown device '{device}' for ONNX Runtime; use cpu, cuda[:N] or tensorrt[:N]")
    return list(_DEVICE_PROVIDERS[kind])


class OnnxRuntimeBackend(Closeable):
    """Runs an exported ONNX model with ONNX Runtime.

    Args:
        path: .onnx file written by `lesps export` (its metadata gives normalization and threshold).
        device: "cpu", "cuda[:N]" or "tensorrt[:N]" (the ORT TensorRT provider).
        providers: explicit ORT provider names (overrides `device`'s default list).
        provider_options: per-provider option dicts, aligned with `providers`.
        model: model name to assume when the file carries no lesps-deploy metadata.
        threads: intra-op threads on CPU (0: `lesps_deploy.threads.current_threads()`).
    """

    name = "onnxruntime"

    def __init__(
        self,
        path: str | Path,
        device: str = "cpu",
        providers: list[str] | None = None,
        provider_options: list[dict[str, Any]] | None = None,
        model: str | None = None,
        threads: int = 0,
        **opts: Any,
    ) -> None:
        import onnxruntime as ort

        from lesps_deploy.runtime.ort_install import warn_once

        warn_once()  # onnxruntime beside onnxruntime-gpu: one line, whichever owns the files now
        if opts:
            logger.debug("onnxruntime backend ignores options: %s", ", ".join(sorted(opts)))
        self.path = Path(path)
        self.device = device
        providers = list(providers) if providers else providers_for_device(device)
        if provider_options is None:
            provider_options = [self._default_options(p, device) for p in providers]
        missing = [p for p in providers if p not in ort.get_available_providers()]
        if missing:
            raise MissingDependencyError(
                "onnxruntime-gpu", "gpu", f"{', '.join(missing)} (device '{device}')",
                hint=f"installed providers: {', '.join(ort.get_available_providers())}; the CPU flavour goes "
                "first (pip uninstall -y onnxruntime): the two ship the same package",
            )  # fmt: skip
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        ort_thread_options(so, threads or current_threads())
        try:
            self.session = ort.InferenceSession(
                str(self.path), sess_options=so, providers=providers, provider_options=provider_options
            )
        except Exception as err:  # ORT raises its own Fail/InvalidGraph types; report one line
            raise BackendError(
                f"{self.path}: ONNX Runtime cannot load it: {str(err).splitlines()[0]}"
            ) from err
        self.meta = self._read_meta(model)
        self.input_name = self.session.get_inputs()[0].name
        self.output_name = self.session.get_outputs()[0].name
        self._on_gpu = providers[0] != "CPUExecutionProvider"
        self._binding = self.session.io_binding() if self._on_gpu else None

    @staticmethod
    def _default_options(provider: str, device: str) -> dict[str, Any]:
        if provider in ("CUDAExecutionProvider", "TensorrtExecutionProvider"):
            return {"device_id": _device_id(device)}
        return {}

    def _read_meta(self, model: str | None) -> ModelMeta:
        props = dict(self.session.get_modelmeta().custom_metadata_map)
        if "model" in props:
            return ModelMeta.from_strings(props)
        if model is None:
            raise BackendError(
                f"{self.path}: ONNX file carries no lesps-deploy metadata",
                hint="export it with 'lesps export', or pass --model and --norm",
            )
        return ModelMeta(model=model)

    @property
    def providers(self) -> list[str]:
        return self.session.get_providers()

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        if self._binding is None:
            return self.session.run([self.output_name], {self.input_name: batch})[0]
        binding = self._binding
        binding.bind_cpu_input(self.input_name, batch)
        binding.bind_output(self.output_name, "cuda", _device_id(self.device))
        self.session.run_with_iobinding(binding)
        return binding.copy_outputs_to_cpu()[0]

    def close(self) -> None:
        self._binding = None
        self.session = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"OnnxRuntimeBackend({self.path.name}, {self.meta.model}, device={self.device})"
