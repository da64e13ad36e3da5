"""Options several commands take about weights and inference, declared once: the same word means
the same thing everywhere (`metrics.rules` declares the metric options).

Each function returns a config field (`lesps_deploy.options.option`) with the option's help and
domain; a config takes it as `norm: str | None = norm_option()`.
"""

from __future__ import annotations

from typing import Any

from lesps_deploy.data.bit_depth import FRAME_MAPPINGS
from lesps_deploy.options import Role, option
from lesps_deploy.runtime.processing import DEFAULT_PATCH_SIZE

__all__ = [
    "weights_option", "data_option", "model_option", "norm_option", "device_option", "threshold_option",
    "trust_pickle_option", "frame_mapping_option",
    "tile_size_option", "batch_option", "check_device", "check_device_or_auto", "check_norm",
]  # fmt: skip


def check_device(device: str) -> None:
    """cpu, cuda or cuda:N."""
    kind, _, index = device.partition(":")
    if kind not in ("cpu", "cuda") or (index and (kind != "cuda" or not index.isdigit())):
        raise ValueError("use cpu, cuda or cuda:N")


def check_device_or_auto(device: str) -> None:
    """auto (CUDA when there is one), cpu, cuda or cuda:N."""
    if device != "auto":
        try:
            check_device(device)
        except ValueError:
            raise ValueError("use auto, cpu, cuda or cuda:N") from None


def check_norm(text: str) -> None:
    """A preset name, 'auto' or 'MEAN,STD' (parsed only: a preset's bit depth is checked on load)."""
    from lesps_deploy.data.norm import resolve_norm
    from lesps_deploy.errors import ConfigError

    if text.strip().lower() != "auto":
        try:
            resolve_norm(text)
        except ConfigError as err:
            raise ValueError(str(err).split(": ", 1)[-1]) from None


def weights_option(
    help: str = "Weights: .pth/.pth.tar/.pt checkpoint, .onnx or .engine file.", **kw: Any
) -> Any:
    return option(help=help, **{"role": Role.INPUT_FILE, "noun": "weights file", **kw})


def data_option(default: Any = None, help: str = "Dataset folder (images/, masks/, img_idx/).") -> Any:
    return option(default, help, flag="--data", role=Role.INPUT_DIR, noun="dataset folder")


def model_option(default: str | None = None) -> Any:
    return option(default, "Model name (ACM, ALCNet, DNANet); detected from the weights when omitted.")


NORM_HELP = (
    "Normalization: a preset (NUAA-SIRST, NUDT-SIRST, IRSTD-1K, SIRST3, NUDT-SIRST-Sea), 'auto', or MEAN,STD."
)


def norm_option(default: str | None = None, help: str = NORM_HELP) -> Any:
    return option(default, help, check=check_norm, invalid="bogus")


def device_option(default: str | None = "cpu", help: str = "cpu, cuda or cuda:N.", auto: bool = False) -> Any:
    return option(default, help, check=check_device_or_auto if auto else check_device, invalid="gpu")


def threshold_option(
    default: float | None = None, help: str = "Probability threshold (default: from the artifact, else 0.5)."
) -> Any:
    return option(default, help, gt=0.0, lt=1.0)


def trust_pickle_option() -> Any:
    return option(
        False,
        "Fully unpickle a checkpoint that safe loading refuses (this can run code from the file; "
        "only for files you trust). Known LESPS releases and our own checkpoints never need it.",
    )


def frame_mapping_option() -> Any:
    return option(
        None,
        "Frames of another bit depth than the model's (14/16-bit thermal for an 8-bit model): "
        "'agc' (per-frame percentile stretch, the default), 'scale' (divide by 257) or 'raw' "
        "(for models trained on 16-bit data).",
        choices=FRAME_MAPPINGS,
    )


def tile_size_option() -> Any:
    """Inference tiling: frames whose both sides exceed it run as tiles (a multiple of the model's input)."""
    return option(
        DEFAULT_PATCH_SIZE,
        "Tile frames whose both sides exceed this (a multiple of the model's input multiple: 32 for the releases).",
        flag="--tile-size", renamed=("--patch-size",), ge=1,
    )  # fmt: skip


def batch_option(default: int | None = 1, help: str = "Frames per inference call.", **kw: Any) -> Any:
    return option(default, help, flag="--batch", ge=1, **kw)
