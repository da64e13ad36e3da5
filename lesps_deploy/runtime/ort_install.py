"""Which ONNX Runtime is installed: its distributions, read from package metadata without importing it.

onnxruntime, onnxruntime-gpu and the other flavours all ship the same `onnxruntime` package, so two of
them in one environment overwrite each other's files (whichever was installed last wins, and uninstalling
one breaks the other). `lesps` installs exactly one through its `[cpu]` or `[gpu]` extra; a mix the user
made is named in one line when ONNX Runtime is first used, and by `lesps doctor`.
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging
import re
import sys
from collections.abc import Iterable

__all__ = [
    "INT8_FLOOR",
    "is_onnxruntime",
    "release",
    "onnxruntime_distributions",
    "mix_problem",
    "floor_problem",
    "warn_once",
]

logger = logging.getLogger(__name__)

# INT8 export needs quantize_static's calibration_cache_path, which came in 1.27.
INT8_FLOOR = (1, 27)
# Distribution names that ship the `onnxruntime` package (normalized: lower case, '-' only).
_FLAVOUR = re.compile(r"^(onnxruntime|ort-nightly)(-[a-z0-9-]+)?$")
# Companions named alike that ship their own packages, not `onnxruntime`.
_COMPANIONS = ("onnxruntime-extensions", "onnxruntime-genai", "onnxruntime-tools")


def is_onnxruntime(name: str) -> bool:
    """Whether the distribution `name` ships the `onnxruntime` package (onnxruntime, onnxruntime-gpu, ...)."""
    normalized = re.sub(r"[-_.]+", "-", name).lower()
    return bool(_FLAVOUR.match(normalized)) and not normalized.startswith(_COMPANIONS)


def onnxruntime_distributions(path: Iterable[str] | None = None) -> dict[str, str]:
    """Installed distributions that ship the `onnxruntime` package: name -> version, sorted by name.

    Args:
        path: folders to search (site-packages); default `sys.path`.
    """
    found: dict[str, str] = {}
    dists = importlib.metadata.distributions(path=list(path) if path is not None else sys.path)
    for dist in dists:
        name = re.sub(r"[-_.]+", "-", dist.metadata["Name"] or "").lower()
        if is_onnxruntime(name):
            found.setdefault(name, dist.version)  # the first on the path is the one Python sees
    return dict(sorted(found.items()))


def mix_problem(dists: dict[str, str]) -> str | None:
    """One line naming a broken mix (more than one ONNX Runtime distribution), else None."""
    if len(dists) < 2:
        return None
    names = ", ".join(f"{name} {version}" for name, version in dists.items())
    keep = "onnxruntime-gpu" if "onnxruntime-gpu" in dists else "onnxruntime"
    return (
        f"{len(dists)} ONNX Runtime distributions are installed ({names}); they ship the same onnxruntime "
        f"package, so the last one installed owns its files: keep one "
        f"(pip uninstall -y {' '.join(dists)} && pip install '{keep}>=1.27')"
    )


def release(version: str) -> tuple[int, ...]:
    """(major, minor) of a version string ('1.23.0+jetson' -> (1, 23))."""
    return tuple(int(p) for p in re.findall(r"\d+", version.split("+")[0])[:2])


def floor_problem(dists: dict[str, str]) -> str | None:
    """One line when an installed ONNX Runtime is older than the INT8 floor, else None."""
    old = [f"{name} {version}" for name, version in dists.items() if release(version) < INT8_FLOOR]
    if not old:
        return None
    floor = ".".join(map(str, INT8_FLOOR))
    return f"{', '.join(old)} is older than {floor}: INT8 export needs {floor} or newer (FP32/FP16 run)"


@functools.cache
def warn_once() -> None:
    """Log the broken-mix line once per process (called where ONNX Runtime is first used)."""
    problem = mix_problem(onnxruntime_distributions())
    if problem:
        logger.warning(problem)
