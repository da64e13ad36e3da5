"""`lesps doctor`: what this install found (Python, ONNX Runtime, TensorRT, CUDA, torch, Jetson) and its problems.

Facts come from the benchmark's environment probes (`benchmark.env`) and the ONNX Runtime install check
(`runtime.ort_install`); `problems` turns them into one line each: a mix of ONNX Runtime flavours, one
below the INT8 floor or none at all, a GPU that ONNX Runtime cannot use, a torch without CUDA on a Jetson
(a PyPI wheel replaced JetPack's), TensorRT missing on a Jetson.

Example:
    >>> report = doctor()
    >>> print("\\n".join(report.lines()))
"""

from __future__ import annotations

import platform
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lesps_deploy.benchmark.env import (
    gpu_block,
    jetson_power_mode,
    onnxruntime_providers,
    package_version,
    torch_module,
)
from lesps_deploy.metadata import __version__
from lesps_deploy.options import force_option, json_option, validate
from lesps_deploy.runtime.ort_install import floor_problem, mix_problem, onnxruntime_distributions

_TENSORRT_DISTS = ("tensorrt", "tensorrt-cu13", "tensorrt-cu12", "tensorrt-cu11", "tensorrt-libs")

__all__ = ["DoctorConfig", "DoctorReport", "doctor", "gather", "jetson_facts", "problems"]


@dataclass(frozen=True)
class DoctorConfig:
    """Options of `lesps doctor`, declared once (`lesps_deploy.options`)."""

    json_out: Path | None = json_option()
    force: bool = force_option("Replace an existing --json file.")

    def __post_init__(self) -> None:
        validate(self)


@dataclass(frozen=True)
class DoctorReport:
    """What the runtime found (`facts`, JSON-ready) and one line per problem."""

    facts: dict[str, Any]
    problems: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """`name: value` per fact, then `problem: ...` per problem."""
        out = [f"{key}: {_show(value)}" for key, value in self.facts.items()]
        return out + [f"problem: {problem}" for problem in self.problems]

    def to_json(self) -> dict[str, Any]:
        return {**self.facts, "problems": self.problems}


def _show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_show(v)}" for k, v in value.items()) or "-"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "-"
    return str(value)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace").replace("\x00", "").strip() or None
    except OSError:
        return None


def jetson_facts(root: Path = Path("/")) -> dict[str, Any] | None:
    """Jetson model, L4T release and power mode; None off a Jetson (no /etc/nv_tegra_release).

    Args:
        root: filesystem root to read from (tests point it at a folder).
    """
    release = _read(root / "etc" / "nv_tegra_release")
    if release is None:
        return None
    return {
        "model": _read(root / "proc" / "device-tree" / "model"),
        "l4t": release.splitlines()[0].lstrip("# ").strip(),
        "power_mode": jetson_power_mode(
            status=root / "var" / "lib" / "nvpmodel" / "status",
            conf=root / "etc" / "nvpmodel.conf",
            query=root == Path("/"),
        ),
    }


def _tensorrt_version() -> str | None:
    version = package_version(*_TENSORRT_DISTS)
    if version is not None:
        return version
    try:  # JetPack's apt package (python3-libnvinfer) may carry no pip metadata
        import tensorrt

        return str(tensorrt.__version__)
    except ImportError:
        return None


def gather(root: Path = Path("/")) -> dict[str, Any]:
    """The facts: Python, lesps-deploy, ONNX Runtime (distributions, providers), TensorRT, CUDA, torch, Jetson."""
    torch = torch_module()
    gpu = gpu_block("cuda")
    return {
        "python": f"{platform.python_version()} ({sys.executable})",
        "lesps_deploy": __version__,
        "onnxruntime": onnxruntime_distributions() or None,
        "onnxruntime_providers": onnxruntime_providers(),
        "tensorrt": _tensorrt_version(),
        "cuda": {key: gpu.get(key) for key in ("cuda_available", "cuda", "gpu", "driver") if key in gpu},
        "torch": None if torch is None else torch.__version__,
        "torch_cuda": None if torch is None else torch.version.cuda,
        "jetson": jetson_facts(root),
    }


def problems(facts: dict[str, Any]) -> list[str]:
    """One line per problem the facts show (empty when the install is sound)."""
    found: list[str] = []
    dists = facts.get("onnxruntime") or {}
    if not dists:
        found.append(
            "no ONNX Runtime is installed: pip install 'lesps-deploy[cpu]' (CPU) or 'lesps-deploy[gpu]' (CUDA); "
            "on Jetson, NVIDIA's onnxruntime-gpu for your JetPack"
        )
    found += [p for p in (mix_problem(dists), floor_problem(dists)) if p]
    jetson = facts.get("jetson")
    cuda = facts.get("cuda") or {}
    has_gpu = bool(jetson) or bool(cuda.get("gpu")) or bool(cuda.get("cuda_available"))
    providers = facts.get("onnxruntime_providers") or []
    if dists and has_gpu and "CUDAExecutionProvider" not in providers:
        flavour = "NVIDIA's Jetson build of onnxruntime-gpu" if jetson else "pip install 'lesps-deploy[gpu]'"
        found.append(
            f"a GPU is here but ONNX Runtime runs on the CPU only ({', '.join(providers)}): {flavour}"
        )
    if jetson and facts.get("torch") and not facts.get("torch_cuda"):
        found.append(
            f"torch {facts['torch']} has no CUDA on this Jetson (a PyPI wheel replaced JetPack's?): "
            "reinstall NVIDIA's torch for your JetPack, or uninstall torch for inference only"
        )
    if jetson and not facts.get("tensorrt"):
        found.append(
            "TensorRT's Python bindings are not visible: they come with JetPack (python3-libnvinfer); "
            "in a venv, create it with --system-site-packages"
        )
    return found


def doctor(root: Path = Path("/")) -> DoctorReport:
    """Gather the facts and name the problems."""
    facts = gather(root)
    return DoctorReport(facts, problems(facts))
