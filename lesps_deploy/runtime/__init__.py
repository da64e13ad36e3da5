"""Runtime: one interface over PyTorch, ONNX Runtime and TensorRT artifacts, and the `Detector`."""

from lesps_deploy._lazy import lazy_face

_LAZY = """
    .base:       Backend Closeable backend_for_path load_runtime
    .processing: infer_probabilities preprocess run_frames
    .detector:   Detector
    .results:    Result ResultStep Target Timings detect_targets targets_from_mask
    .dataset_runner: run_dataset
"""

__getattr__, __dir__, __all__ = lazy_face(__name__, _LAZY)
