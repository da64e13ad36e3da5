"""`train` and `export_model`: the package face's one-call forms of `lesps train` and `lesps export`.

Each builds the command's config dataclass from keyword options and calls the library function behind
the command, so a script and the CLI take the same options with the same defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lesps_deploy.export.config import ExportResult
    from lesps_deploy.training.trainer import TrainResult

__all__ = ["export_model", "train"]


def train(model: str, data: str | Path, **options: Any) -> TrainResult:
    """Train `model` on the dataset `data` with LESPS (or full masks): `training.train(TrainConfig(...))`.

    Args:
        model: ACM, ALCNet or DNANet.
        data: dataset folder (images/, masks*/, img_idx/).
        **options: any other `TrainConfig` field (labels, epochs, batch_size, device, out, ...).

    Example:
        >>> result = train("ACM", "datasets/NUAA-SIRST", labels="centroid", epochs=400, device="cuda")
        >>> result.checkpoint, result.metrics["IoU"]
    """
    from lesps_deploy.options import check_paths
    from lesps_deploy.training.config import TrainConfig
    from lesps_deploy.training.trainer import train as run_training

    cfg = TrainConfig(model=model, data=Path(data), **options)
    check_paths(cfg)  # before the data loads: the dataset folder exists, the run folder can be written
    return run_training(cfg)


def export_model(weights: str | Path, format: str = "onnx", **options: Any) -> ExportResult:  # noqa: A002
    """Export `weights` to `format` and check parity: `export.export_weights(ExportConfig(...))`.

    Args:
        weights: PyTorch checkpoint (or an .onnx file for engines/Triton, an engine for Triton).
        format: onnx, engine or triton (see `lesps_deploy.formats`).
        **options: any other `ExportConfig` field (out, norm, imgsz, half, int8, verify, force, ...).

    Example:
        >>> result = export_model("ACM_LESPS_centroid.pth.tar", "onnx", norm="SIRST3", out="acm.onnx")
        >>> result.path, result.ok
    """
    from lesps_deploy.export.config import ExportConfig
    from lesps_deploy.export.exporter import export_weights

    return export_weights(ExportConfig(weights=Path(weights), format=format, **options))
