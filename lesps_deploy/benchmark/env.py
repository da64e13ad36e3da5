"""The environment block of a benchmark report: machine, accelerator and library versions.

Everything is read without importing heavy optional packages where a version string is enough
(`importlib.metadata`), and every probe that can fail yields None instead of an error: a report
from a machine without a GPU or without TensorRT is still a report.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
import os
import platform
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

__all__ = [
    "environment",
    "busy_warning",
    "package_version",
    "jetson_power_mode",
    "cpu_name",
    "gpu_block",
    "onnxruntime_providers",
    "torch_module",
]

logger = logging.getLogger(__name__)

# distribution names to report; tensorrt wheels come under several names
_PACKAGES: dict[str, tuple[str, ...]] = {
    "torch": ("torch",),
    "onnxruntime": ("onnxruntime", "onnxruntime-gpu"),
    "onnx": ("onnx",),
    "tensorrt": ("tensorrt", "tensorrt-cu12", "tensorrt-cu11", "tensorrt-libs"),
    "numpy": ("numpy",),
    "opencv": ("opencv-python-headless", "opencv-python"),
    "lesps_deploy": ("lesps-deploy",),
}
_NVPMODEL_CONF = Path("/etc/nvpmodel.conf")
_NVPMODEL_STATUS = Path("/var/lib/nvpmodel/status")


def package_version(*dists: str) -> str | None:
    """Installed version of the first of `dists` found, else None."""
    for dist in dists:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def _run(cmd: list[str], timeout: float = 5.0) -> str | None:
    if shutil.which(cmd[0]) is None:
        return None
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def cpu_name() -> str:
    """CPU model from /proc/cpuinfo (x86 'model name', ARM 'Hardware'/'Model'), else platform's guess."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        text = ""
    for key in ("model name", "Hardware", "Model"):
        match = re.search(rf"^{key}\s*:\s*(.+)$", text, re.MULTILINE)
        if match:
            return match.group(1).strip()
    return platform.processor() or platform.machine()


def _parse_nvpmodel_query(out: str) -> str | None:
    match = re.search(r"NV Power Mode:\s*(\S+)", out)
    if not match:
        return None
    mode_id = out.strip().splitlines()[-1].strip()
    return f"{match.group(1)} ({mode_id})" if mode_id.isdigit() else match.group(1)


def jetson_power_mode(
    status: Path = _NVPMODEL_STATUS, conf: Path = _NVPMODEL_CONF, query: bool = True
) -> str | None:
    """Current nvpmodel power mode on Jetson, e.g. 'MAXN (0)'.

    From `nvpmodel -q` when `query` and the tool exists, else from the status file
    ('pmode:0002') named through the POWER_MODEL table of /etc/nvpmodel.conf.
    """
    out = _run(["nvpmodel", "-q"]) if query else None
    if out and (mode := _parse_nvpmodel_query(out)):
        return mode
    try:
        found = re.search(r"pmode:(\d+)", status.read_text())
    except OSError:
        return None
    if not found:
        return None
    mode_id = int(found.group(1))
    try:
        table = conf.read_text()
    except OSError:
        return str(mode_id)
    for conf_id, name in re.findall(r"<\s*POWER_MODEL\s+ID=(\d+)\s+NAME=(\S+?)\s*>", table):
        if int(conf_id) == mode_id:
            return f"{name} ({mode_id})"
    return str(mode_id)


def torch_module() -> Any | None:
    """torch when installed (imported), else None: a runtime install has no torch."""
    if importlib.util.find_spec("torch") is None:
        return None
    import torch

    return torch


def _nvidia_smi_block() -> dict[str, Any]:
    """GPU name and driver from nvidia-smi, for an install without torch."""
    out = _run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"])
    name, _, driver = out.splitlines()[0].partition(", ") if out else ("", "", "")
    return {"cuda_available": None, "cuda": None, "gpu": name or None, "driver": driver or None}


def gpu_block(device: str) -> dict[str, Any]:
    """CUDA and GPU facts: through torch when installed, else what nvidia-smi says."""
    torch = torch_module()
    if torch is None:
        return _nvidia_smi_block()
    block: dict[str, Any] = {"cuda_available": torch.cuda.is_available(), "cuda": torch.version.cuda}
    if not torch.cuda.is_available():
        return block
    index = (torch.device(device).index or 0) if device.startswith("cuda") else 0
    props = torch.cuda.get_device_properties(index)
    block.update(
        gpu=props.name,
        gpu_memory_mb=round(props.total_memory / 2**20),
        compute_capability=f"{props.major}.{props.minor}",
        cudnn=torch.backends.cudnn.version(),
        driver=_run(["nvidia-smi", f"--id={index}", "--query-gpu=driver_version", "--format=csv,noheader"]),
    )
    return block


def onnxruntime_providers() -> list[str] | None:
    """ONNX Runtime's available execution providers, None when it is not installed."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    return list(ort.get_available_providers())


def _load_average() -> list[float] | None:
    """1/5/15-minute load averages: a busy machine makes every timing in the report slower and noisier."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def busy_warning(env: dict[str, Any]) -> str | None:
    """A sentence when the machine was busier than its cores when the run started, else None."""
    load, cores = env.get("load_average"), env.get("cpu_count")
    if not load or not cores or load[0] <= cores:
        return None
    return (
        f"machine busy at start (load {load[0]:g} on {cores} cores): timings are slower and noisier than on an "
        "idle machine; multi-threaded PyTorch suffers most (try --threads 1)"
    )


def environment(device: str = "cpu") -> dict[str, Any]:
    """The report's environment block (JSON-ready)."""
    torch = torch_module()
    jetson = Path("/etc/nv_tegra_release").exists()
    return {
        "host": platform.node(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "load_average": _load_average(),
        "torch_threads": torch.get_num_threads() if torch is not None else None,
        "device": device,
        **gpu_block(device),
        "versions": {name: package_version(*dists) for name, dists in _PACKAGES.items()},
        "onnxruntime_providers": onnxruntime_providers(),
        "jetson": jetson,
        "power_mode": jetson_power_mode() if jetson or _NVPMODEL_CONF.exists() else None,
    }
