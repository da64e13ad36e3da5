"""TensorRT 10 INT8 calibrator: a thin wrapper feeding `CalibrationBatches` through torch CUDA memory.

Only the TensorRT 10 path uses it (TensorRT 11 removed implicit INT8 calibration). The batches
themselves are produced on the CPU by `CalibrationBatches`, which is tested without a GPU.
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import ModuleType
from typing import Any

from lesps_deploy.io import atomic_write_bytes

from .calibration import CalibrationBatches

__all__ = ["make_calibrator"]

logger = logging.getLogger(__name__)


def make_calibrator(
    trt: ModuleType, method: str, batches: CalibrationBatches, cache: Path, device: str
) -> Any:
    """An IInt8MinMaxCalibrator ("minmax", the default: entropy clips the rare high activations that
    small targets make) or IInt8EntropyCalibrator2 ("entropy") over `batches`.

    The calibration cache at `cache` is read when present (TensorRT then skips calibration)
    and written atomically after calibration.
    """
    import torch

    base = {"entropy": trt.IInt8EntropyCalibrator2, "minmax": trt.IInt8MinMaxCalibrator}[method]

    class _Calibrator(base):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            base.__init__(self)
            self._batches = iter(batches)
            # One device buffer reused for every batch; TensorRT reads it during get_batch's return.
            self._buffer = torch.empty((batches.batch, 1, *batches.imgsz), dtype=torch.float32, device=device)

        def get_batch_size(self) -> int:
            return batches.batch

        def get_batch(self, names: list[str]) -> list[int] | None:
            try:
                arr = next(self._batches)
            except StopIteration:
                return None
            self._buffer.copy_(torch.from_numpy(arr))
            torch.cuda.synchronize(self._buffer.device)
            return [int(self._buffer.data_ptr())]

        def read_calibration_cache(self) -> bytes | None:
            if cache.exists():
                logger.info("reusing INT8 calibration cache %s", cache)
                return cache.read_bytes()
            return None

        def write_calibration_cache(self, data: Any) -> None:
            atomic_write_bytes(cache, bytes(data))

    return _Calibrator()
