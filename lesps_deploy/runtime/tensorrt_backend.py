"""TensorRT backend: `.engine` files written by `lesps export --format engine` (header + plan).

Name-based tensor API and `execute_async_v3` on a torch CUDA stream, with input/output buffers
preallocated as torch device tensors (no pycuda) and reallocated only when the input shape
changes. A plan only runs on the TensorRT version and GPU kind it was built with; the header says
which, so a mismatch is one sentence instead of a deserialization failure.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from lesps_deploy.errors import BackendError, MissingDependencyError
from lesps_deploy.runtime.base import Closeable

__all__ = ["TensorRTBackend"]

logger = logging.getLogger(__name__)


def _torch_dtype(trt: Any, dtype: Any) -> Any:
    import torch

    table = {
        trt.float32: torch.float32,
        trt.float16: torch.float16,
        trt.int8: torch.int8,
        trt.int32: torch.int32,
    }
    if dtype not in table:
        raise BackendError(f"engine tensor type {dtype} is not supported by the TensorRT backend")
    return table[dtype]


class TensorRTBackend(Closeable):
    """Runs a TensorRT engine on one CUDA GPU.

    Args:
        path: .engine file with the lesps-deploy header.
        device: "cuda" or "cuda:N".
    """

    name = "tensorrt"

    def __init__(self, path: str | Path, device: str = "cuda", **opts: Any) -> None:
        import torch

        from lesps_deploy.runtime.engine_header import compatibility_problem, read_engine

        if opts:
            logger.debug("tensorrt backend ignores options: %s", ", ".join(sorted(opts)))
        self.path = Path(path)
        if not device.startswith("cuda") or not torch.cuda.is_available():
            raise BackendError(f"{self.path}: a TensorRT engine needs a CUDA GPU (device '{device}')")
        try:
            import tensorrt as trt
        except ImportError as err:
            raise MissingDependencyError(
                "tensorrt",
                "tensorrt",
                f"running {self.path.name}",
                hint="on Jetson, TensorRT comes with JetPack",
            ) from err
        self.device = device
        self._torch_device = torch.device(device)
        header, plan = read_engine(self.path)
        self.header = header
        self.meta = header.model_meta
        idx = self._torch_device.index or 0
        major, minor = torch.cuda.get_device_capability(idx)
        problem = compatibility_problem(
            self.path, header, trt.__version__, torch.cuda.get_device_name(idx), f"{major}.{minor}"
        )
        if problem:
            raise BackendError(problem, hint="engines are not portable across TensorRT versions or GPU kinds")
        self._trt = trt
        with torch.cuda.device(self._torch_device):
            self._runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
            self.engine = self._runtime.deserialize_cuda_engine(plan)
            if self.engine is None:
                raise BackendError(f"{self.path}: TensorRT could not deserialize the plan (corrupt file?)")
            self.context = self.engine.create_execution_context()
            self.stream = torch.cuda.Stream(self._torch_device)
        self._io_names()
        self._shape: tuple[int, ...] | None = None
        self._buffers: dict[str, Any] = {}

    def _io_names(self) -> None:
        trt = self._trt
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        outputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
        if len(inputs) != 1 or len(outputs) != 1:
            raise BackendError(f"{self.path}: expected one input and one output, found {inputs} -> {outputs}")
        self.input_name, self.output_name = inputs[0], outputs[0]
        self.profile = self.engine.get_tensor_profile_shape(self.input_name, 0)  # (min, opt, max)

    def _check_shape(self, shape: tuple[int, ...]) -> None:
        low, _, high = (tuple(s) for s in self.profile)
        if any(s < lo or s > hi for s, lo, hi in zip(shape, low, high, strict=True)):
            raise BackendError(
                f"{self.path}: input {shape} is outside the engine's profile {low}..{high}",
                hint="re-export with --dynamic and a larger --imgsz/--batch",
            )

    def _resize(self, shape: tuple[int, ...]) -> None:
        """Reallocate device buffers for a new input shape (no-op when unchanged)."""
        import torch

        if shape == self._shape:
            return
        self._check_shape(shape)
        self.context.set_input_shape(self.input_name, shape)
        out_shape = tuple(self.context.get_tensor_shape(self.output_name))
        for name, shp in ((self.input_name, shape), (self.output_name, out_shape)):
            dtype = _torch_dtype(self._trt, self.engine.get_tensor_dtype(name))
            self._buffers[name] = torch.empty(shp, dtype=dtype, device=self._torch_device)
            self.context.set_tensor_address(name, int(self._buffers[name].data_ptr()))
        self._shape = shape

    def run_tensor(self, batch: Any) -> Any:
        """Torch tensor (any device) in, float32 probabilities as a CUDA tensor out."""
        import torch

        self._resize(tuple(batch.shape))
        with torch.cuda.stream(self.stream):
            inp = self._buffers[self.input_name]
            inp.copy_(batch.to(self._torch_device, non_blocking=True))
            if not self.context.execute_async_v3(self.stream.cuda_stream):
                raise BackendError(f"{self.path}: TensorRT execution failed")
            # a copy: the output buffer is overwritten by the next call
            out = self._buffers[self.output_name].to(torch.float32, copy=True)
        self.stream.synchronize()
        return out

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        import torch

        x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))
        return self.run_tensor(x).cpu().numpy()

    def close(self) -> None:
        self._buffers.clear()
        self.context = None
        self.engine = None

    def __repr__(self) -> str:
        return f"TensorRTBackend({self.path.name}, {self.meta.model}, {self.header.precision}, device={self.device})"
