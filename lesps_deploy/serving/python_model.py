"""`TritonPythonModel`: the class Triton's Python backend runs for a served lesps model.

The repository's `model.py` is one import of this class, so the server needs lesps-deploy (and ONNX
Runtime for the Python-backend kind) installed in the Python its backend stub runs; `lesps serve`
runs the server with the interpreter it was started from.

Tensors cross the stub boundary through DLPack, not `Tensor.as_numpy()` / `Tensor(name, array)`: the
stub of nvidia-pytriton 0.7.0 (Triton 2.51) is built against NumPy 1, and under NumPy 2 those two read
the array's descriptor at old offsets (inputs arrive as zeros, outputs with 0 bytes). Requests that arrive together (dynamic
batching) are run as one list of frames, so frames of one size share network batches.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np

from lesps_deploy.runtime.triton_protocol import FRAME_INPUTS, ServeParams, meta_from_parameters

from .served import Runner, ServedModel, onnxruntime_runner

__all__ = ["TritonPythonModel", "bls_runner"]

logger = logging.getLogger(__name__)


def bls_runner(model: str, input_name: str, output_name: str) -> Runner:
    """The network as another Triton model (onnxruntime/tensorrt backend), called per batch."""
    import triton_python_backend_utils as pb_utils  # type: ignore[import-not-found]

    def run(batch: np.ndarray) -> np.ndarray:
        request = pb_utils.InferenceRequest(
            model_name=model,
            requested_output_names=[output_name],
            inputs=[_tensor(input_name, np.ascontiguousarray(batch, np.float32))],
        )
        response = request.exec()
        if response.has_error():
            raise RuntimeError(f"{model}: {response.error().message()}")
        return np.from_dlpack(pb_utils.get_output_tensor_by_name(response, output_name))

    return run


def _tensor(name: str, array: np.ndarray) -> Any:
    """A Triton tensor from a NumPy array, through DLPack (see the module docstring)."""
    import triton_python_backend_utils as pb_utils  # type: ignore[import-not-found]

    return pb_utils.Tensor.from_dlpack(name, np.ascontiguousarray(array).__dlpack__())


_CAPSULE_NOISE = "PyCapsule_GetPointer called with incorrect name"


def _quiet_capsule_hook(previous: Any) -> Any:
    """An unraisable-error hook that drops one known message and passes on every other error.

    The stub renames a DLPack capsule it consumed to "used_dlpack", not the standard "used_dltensor";
    NumPy's capsule destructor then takes it for unconsumed, fails to read it, reports that as an
    unraisable error and leaves the tensor alone (the stub releases it). Harmless, but one traceback
    per tensor would bury the server's log.
    """

    def hook(unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, ValueError) and _CAPSULE_NOISE in str(unraisable.exc_value):
            return
        previous(unraisable)

    return hook


def _threads(params: ServeParams, config: dict[str, Any]) -> int:
    if params.threads > 0:
        return params.threads
    from lesps_deploy.threads import available_cores

    instances = sum(int(group.get("count", 1)) for group in config.get("instance_group", [])) or 1
    return max(1, available_cores() // instances)


class TritonPythonModel:
    """Triton Python backend entry points: initialize, execute, finalize."""

    def initialize(self, args: dict[str, str]) -> None:
        sys.unraisablehook = _quiet_capsule_hook(sys.unraisablehook)
        config = json.loads(args["model_config"])
        params = {k: v["string_value"] for k, v in config.get("parameters", {}).items()}
        meta = meta_from_parameters(params)
        serve = ServeParams.from_parameters(params)
        if serve.network == "onnxruntime":
            folder = Path(args["model_repository"]) / args["model_version"]
            run = onnxruntime_runner(folder / "model.onnx", _threads(serve, config))
        else:
            run = bls_runner(serve.network, meta.input_name, meta.output_name)
        self.model = ServedModel(meta, serve, run)

    def execute(self, requests: list[Any]) -> list[Any]:
        import triton_python_backend_utils as pb_utils  # type: ignore[import-not-found]

        frames: list[np.ndarray] = []
        spans: list[tuple[int, int] | str] = []
        for request in requests:
            batch = None
            for name in FRAME_INPUTS:
                tensor = pb_utils.get_input_tensor_by_name(request, name)
                if tensor is not None:
                    batch = np.from_dlpack(tensor)
                    break
            if batch is None or batch.ndim != 3:
                spans.append(f"expected one input of {', '.join(FRAME_INPUTS)}, batch x H x W")
                continue
            spans.append((len(frames), len(frames) + len(batch)))
            frames.extend(batch)
        # Components only when a request asks for them (the Detector takes `prob` and finds its own).
        wanted = {name for request in requests for name in request.requested_output_names()}
        try:
            results = self.model(frames, targets=bool(wanted & {"targets", "count"}))
        except Exception as err:  # noqa: BLE001 - every request gets the error, the server goes on
            message = f"{type(err).__name__}: {err}"
            return [pb_utils.InferenceResponse(error=pb_utils.TritonError(message)) for _ in requests]
        responses = []
        for span in spans:
            if isinstance(span, str):
                responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError(span)))
                continue
            part = results[span[0] : span[1]]
            outputs = [
                _tensor("prob", np.stack([r[0] for r in part]).astype(np.float32)),
                _tensor("targets", np.stack([r[1] for r in part])),
                _tensor("count", np.array([[r[2]] for r in part], np.int32)),
            ]
            responses.append(pb_utils.InferenceResponse(output_tensors=outputs))
        return responses

    def finalize(self) -> None:
        self.model = None  # type: ignore[assignment]
