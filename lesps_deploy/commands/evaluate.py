"""`lesps evaluate`: IoU, nIoU, Pd, Fa of any weights file on a dataset split."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lesps_deploy.apis.evaluation import EvalConfig
from lesps_deploy.commands.common import (
    EVAL,
    DataOpt,
    DeviceOpt,
    FaRuleOpt,
    FrameMappingOpt,
    JsonOpt,
    ModelOpt,
    NormOpt,
    StrictMasksOpt,
    ThreadsOpt,
    ThresholdOpt,
    TrustPickleOpt,
    WeightsArg,
    json_to_stdout,
    results_console,
    write_json,
)

__all__ = ["evaluate"]


def evaluate(
    weights: WeightsArg,
    data: DataOpt,
    split: Annotated[str, typer.Option(help="Split list img_idx/<split>_<name>.txt.")] = EVAL.split,
    model: ModelOpt = EVAL.model,
    norm: NormOpt = EVAL.norm,
    threshold: ThresholdOpt = EVAL.threshold,
    patch_size: Annotated[
        int, typer.Option(help="Tile frames whose both sides exceed this.")
    ] = EVAL.patch_size,
    mask_threshold: Annotated[
        int | None,
        typer.Option(
            help="Use one rule 'mask value > N' for IoU and Pd/Fa (default: the reference's mixed rule)."
        ),
    ] = EVAL.mask_threshold,
    fa_rule: FaRuleOpt = EVAL.fa_rule,
    device: DeviceOpt = EVAL.device,
    backend: Annotated[
        str | None,
        typer.Option(
            help="torch, onnxruntime or tensorrt (default: from the suffix; CPU checkpoints run via ONNX Runtime)."
        ),
    ] = EVAL.backend,
    batch_size: Annotated[
        int, typer.Option(help="Images per forward pass (grouped by padded size).")
    ] = EVAL.batch_size,
    json_out: JsonOpt = None,
    per_image: Annotated[
        Path | None, typer.Option(help="Write per-image counts as CSV here.")
    ] = EVAL.per_image,
    strict_masks: StrictMasksOpt = EVAL.strict_masks,
    frame_mapping: FrameMappingOpt = EVAL.frame_mapping,
    skip_bad: Annotated[bool, typer.Option(help="Exit 0 even when some images could not be read.")] = False,
    trust_pickle: TrustPickleOpt = EVAL.trust_pickle,
    threads: ThreadsOpt = None,
) -> None:
    """Evaluate weights on a dataset split: IoU, nIoU, Pd, Fa with the reference semantics."""
    from lesps_deploy.apis.evaluation import evaluate, results_table
    from lesps_deploy.threads import use_threads

    use_threads(threads)
    cfg = EvalConfig(
        weights=weights, data=data, split=split, model=model, norm=norm, threshold=threshold,
        patch_size=patch_size, mask_threshold=mask_threshold, device=device, backend=backend,
        batch_size=batch_size, json_out=None if json_to_stdout(json_out) else json_out, per_image=per_image,
        trust_pickle=trust_pickle, fa_rule=fa_rule, strict_masks=strict_masks, frame_mapping=frame_mapping,  # type: ignore[arg-type]
    )  # fmt: skip
    report = evaluate(cfg, progress=True)
    results_console(json_out).print(results_table([report.to_dict()]))
    if json_to_stdout(json_out):
        write_json(json_out, report.to_dict())
    # Unreadable images were each said once in the log as they were skipped.
    if report.bad and not skip_bad:
        raise typer.Exit(1)
