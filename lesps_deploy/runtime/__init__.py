"""Runtime: one interface over PyTorch, ONNX Runtime and TensorRT artifacts, and the `Detector`."""

from lesps_deploy._lazy import exported_names, lazy_exports

_LAZY = {
    ".base": (
        "Backend",
        "Closeable",
        "backend_for_path",
        "load_runtime",
    ),
    ".processing": (
        "infer_probabilities",
        "preprocess",
        "run_frames",
    ),
    ".detector": (
        "Detector",
        "targets_from_mask",
    ),
    ".results": (
        "Result",
        "Target",
        "Timings",
    ),
}

__all__ = exported_names(_LAZY)
__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
