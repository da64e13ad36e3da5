"""What every `lesps` command shares: option types defined once, config defaults, the output consoles.

Every option default is read from the command's config dataclass (`EVAL.split` is `EvalConfig`'s
default for `split`), never retyped. The config modules import no torch (and no cv2/scipy), so
`lesps --help` stays fast.
"""

from __future__ import annotations

import os
import sys
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Annotated, Any

import typer

from lesps_deploy.apis.evaluation import EvalConfig
from lesps_deploy.apis.prediction import PredictConfig
from lesps_deploy.benchmark.config import BenchmarkConfig
from lesps_deploy.data.synth_config import SynthConfig
from lesps_deploy.demo.config import DemoConfig
from lesps_deploy.export.config import ExportConfig
from lesps_deploy.tracking.config import TrackerConfig
from lesps_deploy.training.config import TrainConfig

__all__ = [
    "EVAL", "TRAIN", "EXPORT", "PREDICT", "TRACK", "BENCH", "SYNTH", "DEMO", "csv_default", "make_console",
    "WeightsArg", "DataOpt", "ModelOpt", "NormOpt", "DeviceOpt", "FaRuleOpt", "TrustPickleOpt", "ThresholdOpt",
    "StrictMasksOpt", "FrameMappingOpt", "ThreadsOpt", "JsonOpt", "json_to_stdout", "results_console",
    "write_json",
]  # fmt: skip


class _Defaults:
    """`D.name` is the default of field `name` of a config dataclass (an unknown name is an AttributeError)."""

    def __init__(self, config: type) -> None:
        self._fields = {f.name: f for f in fields(config)}

    def __getattr__(self, name: str) -> Any:
        if name not in self._fields:
            raise AttributeError(name)
        field = self._fields[name]
        return field.default_factory() if field.default is MISSING else field.default


def csv_default(values: tuple) -> str:
    """A tuple default as the comma list its option takes."""
    return ",".join(str(v) for v in values)


EVAL, TRAIN, EXPORT, PREDICT = (_Defaults(c) for c in (EvalConfig, TrainConfig, ExportConfig, PredictConfig))
BENCH, SYNTH, DEMO, TRACK = (_Defaults(c) for c in (BenchmarkConfig, SynthConfig, DemoConfig, TrackerConfig))


# Options shared by several commands, defined once.
WeightsArg = Annotated[
    Path, typer.Argument(help="Weights: .pth/.pth.tar/.pt checkpoint, .onnx or .engine file.")
]
DataOpt = Annotated[Path, typer.Option("--data", help="Dataset folder (images/, masks/, img_idx/).")]
ModelOpt = Annotated[
    str | None,
    typer.Option("--model", help="Model name (ACM, ALCNet, DNANet); detected from the weights when omitted."),
]
NormOpt = Annotated[
    str | None,
    typer.Option(
        "--norm",
        help="Normalization: a preset (NUAA-SIRST, NUDT-SIRST, IRSTD-1K, SIRST3, NUDT-SIRST-Sea), 'auto', or MEAN,STD.",
    ),
]
DeviceOpt = Annotated[str, typer.Option("--device", help="cpu, cuda or cuda:N.")]
FaRuleOpt = Annotated[
    str,
    typer.Option(
        "--fa-rule",
        help="False-alarm rule: 'current' (the authors' code today) or '2023' (to compare with papers "
        "evaluated with the 2023 LESPS/BasicIRSTD code).",
    ),
]
TrustPickleOpt = Annotated[
    bool,
    typer.Option(
        "--trust-pickle",
        help="Fully unpickle a checkpoint that safe loading refuses (this can run code from the file; "
        "only for files you trust). Known LESPS releases and our own checkpoints never need it.",
    ),
]
StrictMasksOpt = Annotated[
    bool,
    typer.Option(
        "--strict-masks",
        help="A mask whose size differs from its image's is an error (default: reported, then cropped / "
        "zero-padded to the image as the reference does, e.g. NUAA-SIRST Misc_111).",
    ),
]
FrameMappingOpt = Annotated[
    str | None,
    typer.Option(
        "--frame-mapping",
        help="Frames of another bit depth than the model's (14/16-bit thermal for an 8-bit model): "
        "'agc' (per-frame percentile stretch, the default), 'scale' (divide by 257) or 'raw' "
        "(for models trained on 16-bit data).",
    ),
]
ThresholdOpt = Annotated[
    float | None,
    typer.Option("--threshold", help="Probability threshold (default: from the artifact, else 0.5)."),
]


ThreadsOpt = Annotated[
    int | None,
    typer.Option(
        "--threads",
        help="CPU threads of PyTorch, ONNX Runtime and OpenCV (default: $OMP_NUM_THREADS when set, else "
        "the cores this process may use, from its CPU affinity and cgroup quota).",
    ),
]
JsonOpt = Annotated[
    Path | None,
    typer.Option("--json", help="Write the results as JSON to this file ('-': to stdout, alone)."),
]


def json_to_stdout(json_out: Path | None) -> bool:
    """`--json -`: the JSON is stdout's only content (tables and messages go to stderr)."""
    return json_out is not None and str(json_out) == "-"


def results_console(json_out: Path | None):  # noqa: ANN201 - rich is imported in make_console
    """Where tables go: stdout, or stderr when stdout carries the JSON (`--json -`)."""
    return make_console(stderr=json_to_stdout(json_out))


def write_json(json_out: Path | None, data: Any) -> None:
    """Write `data` as `--json` asks: nothing (None), one JSON document on stdout ('-'), or a file."""
    if json_out is None:
        return
    if json_to_stdout(json_out):
        from lesps_deploy.io import json_text

        sys.stdout.write(json_text(data, default=str) + "\n")
        sys.stdout.flush()
        return
    from lesps_deploy.io import atomic_write_json

    atomic_write_json(json_out, data)


def make_console(stderr: bool = False):  # noqa: ANN201 - rich is imported here, not at module level
    """The results console (stdout), or stderr's for logs and progress."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # Piped or captured output (CI logs, `| tee`) gets wide tables instead of rich's 80-column default.
    return Console(stderr=stderr, width=None if stream.isatty() or os.environ.get("COLUMNS") else 200)
