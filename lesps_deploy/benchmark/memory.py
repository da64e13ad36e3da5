"""Peak memory of the benchmark process: host RSS from /proc (no psutil) and CUDA allocator peaks.

The host peak (VmHWM) is reset before each combination by writing '5' to /proc/self/clear_refs
(Linux >= 4.0), so each row shows its own peak; where that is not allowed the peak is the
process's peak so far and the row says so (`rss_peak_reset: false`).
"""

from __future__ import annotations

import logging
import resource
import sys
from pathlib import Path
from typing import Any

__all__ = ["reset_peaks", "read_peaks"]

logger = logging.getLogger(__name__)

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")
_MIB = 1024 * 1024


def _status_kib(field: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _reset_host_peak() -> bool:
    try:
        _CLEAR_REFS.write_text("5")
        return True
    except OSError:
        return False


def _cuda(device: str) -> Any | None:
    if not device.startswith("cuda"):
        return None
    import torch

    return torch.cuda if torch.cuda.is_available() else None


def reset_peaks(device: str) -> bool:
    """Reset host and CUDA peak counters; returns whether the host peak could be reset."""
    cuda = _cuda(device)
    if cuda is not None:
        cuda.reset_peak_memory_stats(device)
    return _reset_host_peak()


def read_peaks(device: str) -> dict[str, float | None]:
    """rss_mb, rss_peak_mb (host) and cuda_max_allocated_mb, cuda_max_reserved_mb, cuda_used_mb."""
    rss, hwm = _status_kib("VmRSS"), _status_kib("VmHWM")
    if hwm is None:  # no /proc: ru_maxrss is KiB on Linux, bytes on macOS
        scale = 1 if sys.platform == "darwin" else 1024
        hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale // 1024
    out: dict[str, float | None] = {
        "rss_mb": None if rss is None else round(rss / 1024, 1),
        "rss_peak_mb": round(hwm / 1024, 1),
        "cuda_max_allocated_mb": None,
        "cuda_max_reserved_mb": None,
        "cuda_used_mb": None,
    }
    cuda = _cuda(device)
    if cuda is not None:
        free, total = cuda.mem_get_info(device)
        # The torch allocator does not see ONNX Runtime's or TensorRT's own allocations;
        # device-wide use (all processes) catches them.
        out["cuda_max_allocated_mb"] = round(cuda.max_memory_allocated(device) / _MIB, 1)
        out["cuda_max_reserved_mb"] = round(cuda.max_memory_reserved(device) / _MIB, 1)
        out["cuda_used_mb"] = round((total - free) / _MIB, 1)
    return out
