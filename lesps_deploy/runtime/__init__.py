"""Runtime: one interface over PyTorch, ONNX Runtime and TensorRT artifacts."""

from lesps_deploy.runtime.base import BACKENDS, Backend, BackendSpec, backend_for_path, load_runtime
from lesps_deploy.runtime.processing import infer_probabilities, preprocess

__all__ = [
    "BACKENDS",
    "Backend",
    "BackendSpec",
    "backend_for_path",
    "infer_probabilities",
    "load_runtime",
    "preprocess",
]
