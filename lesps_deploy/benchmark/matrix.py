"""Which backend x precision x batch x size combinations apply here, and why the others do not.

Artifacts (backend, precision) come from the export format table (`lesps_deploy.formats`):
a backend is measured on the checkpoint itself (PyTorch) or on the artifact of the format row
whose `backend` names it, and a precision other than FP32 needs the row to accept the matching
export option. Each skip rule returns a one-line reason or None; the first reason wins.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field

from lesps_deploy.formats import ArtifactFormat, format_for_backend

from .config import BenchmarkConfig

__all__ = [
    "Artifact",
    "Combo",
    "Context",
    "REFERENCE",
    "SKIP_RULES",
    "export_format_of",
    "plan",
    "precision_option",
]

REFERENCE = ("torch", "fp32")  # PyTorch eager FP32: the speed-up and accuracy reference

# precision -> ExportConfig option that produces it (None: the default FP32 export)
_PRECISION_OPTION: dict[str, str | None] = {"fp32": None, "fp16": "half", "int8": "int8"}
# backend -> (import name, install hint)
_BACKEND_PACKAGES: dict[str, tuple[str, str]] = {
    "torch": ("torch", "pip install 'lesps-deploy[train]'"),
    "onnxruntime": ("onnxruntime", "pip install 'lesps-deploy[cpu]', or 'lesps-deploy[gpu]' on CUDA"),
    "tensorrt": ("tensorrt", "pip install 'lesps-deploy[tensorrt]' (on Jetson it comes with JetPack)"),
}
_TORCH_PRECISIONS = {
    "fp32": None,
    "fp16": "cuda",
    "int8": "PyTorch eager has no INT8 path; INT8 goes through --backends onnxruntime or tensorrt",
}


def precision_option(precision: str) -> str | None:
    return _PRECISION_OPTION[precision]


def export_format_of(backend: str) -> ArtifactFormat | None:
    """The export format a backend loads; None for the checkpoint's own backend (torch)."""
    row = format_for_backend(backend)
    return row if row.exportable else None


@dataclass(frozen=True)
class Context:
    """What the machine offers: device kind, whether a dataset is given, ONNX Runtime providers."""

    device: str
    has_data: bool
    ort_providers: tuple[str, ...] = ()
    installed: dict[str, bool] = field(default_factory=dict)

    @property
    def cuda(self) -> bool:
        return self.device.startswith("cuda")

    @classmethod
    def detect(cls, cfg: BenchmarkConfig) -> Context:
        installed = {
            name: importlib.util.find_spec(mod) is not None for name, (mod, _) in _BACKEND_PACKAGES.items()
        }
        providers: tuple[str, ...] = ()
        if installed["onnxruntime"]:
            import onnxruntime as ort

            providers = tuple(ort.get_available_providers())
        return cls(cfg.device, cfg.data is not None, providers, installed)


@dataclass(frozen=True)
class Artifact:
    """One thing to load and time: a backend at a precision (`fmt` None: the checkpoint itself)."""

    backend: str
    precision: str
    fmt: ArtifactFormat | None
    skip: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.backend, self.precision


@dataclass(frozen=True)
class Combo:
    """One row of the benchmark: an artifact at one batch size and frame size."""

    artifact: Artifact
    batch: int
    imgsz: int


Rule = Callable[[str, str, Context], str | None]


def _not_installed(backend: str, precision: str, ctx: Context) -> str | None:
    if ctx.installed.get(backend, False):
        return None
    module, hint = _BACKEND_PACKAGES[backend]
    return f"{module} is not installed ({hint})"


def _device(backend: str, precision: str, ctx: Context) -> str | None:
    fmt = export_format_of(backend)
    if fmt is not None and not ctx.cuda and not fmt.cpu:
        return f"{fmt.name} artifacts ({backend}) need a CUDA GPU; use --device cuda"
    if backend == "onnxruntime" and ctx.cuda and "CUDAExecutionProvider" not in ctx.ort_providers:
        return "onnxruntime has no CUDAExecutionProvider here (pip uninstall -y onnxruntime && pip install 'lesps-deploy[gpu]')"
    return None


def _precision(backend: str, precision: str, ctx: Context) -> str | None:
    fmt = export_format_of(backend)
    if fmt is None:
        need = _TORCH_PRECISIONS[precision]
        if need == "cuda":
            return None if ctx.cuda else f"{precision} PyTorch needs a CUDA device (not supported on CPU)"
        return need
    option = precision_option(precision)
    if option is not None and not fmt.accepts(option):
        return f"--format {fmt.name} exports FP32 only; {precision} goes through --backends tensorrt"
    return None


def _calibration(backend: str, precision: str, ctx: Context) -> str | None:
    if precision == "int8" and not ctx.has_data:
        return "INT8 calibration needs images; pass --data DATASET_DIR"
    return None


SKIP_RULES: tuple[Rule, ...] = (_not_installed, _device, _precision, _calibration)


def _artifact(backend: str, precision: str, ctx: Context) -> Artifact:
    reasons = (rule(backend, precision, ctx) for rule in SKIP_RULES)
    return Artifact(backend, precision, export_format_of(backend), next((r for r in reasons if r), None))


def plan(cfg: BenchmarkConfig, ctx: Context) -> list[Combo]:
    """Every combination in measuring order, the PyTorch FP32 reference first (added when not asked)."""
    keys = [REFERENCE] + [(b, p) for b in cfg.backends for p in cfg.precisions if (b, p) != REFERENCE]
    artifacts = [_artifact(b, p, ctx) for b, p in keys]
    return [Combo(a, batch, size) for a in artifacts for batch in cfg.batches for size in cfg.imgsz]
