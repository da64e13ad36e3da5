"""`lesps train`: LESPS (or full-mask) training, resumable, under torchrun for DDP."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lesps_deploy.commands.common import (
    TRAIN,
    FaRuleOpt,
    FrameMappingOpt,
    NormOpt,
    StrictMasksOpt,
    ThreadsOpt,
    csv_default,
    make_console,
)
from lesps_deploy.training.config import TrainConfig

__all__ = ["train"]


def train(
    model: Annotated[str | None, typer.Option("--model", help="ACM, ALCNet or DNANet.")] = None,
    data: Annotated[
        Path | None, typer.Option("--data", help="Dataset folder (images/, masks*/, img_idx/).")
    ] = None,
    labels: Annotated[
        str,
        typer.Option(
            "--labels",
            help="Supervision: centroid, coarse (LESPS), full masks, or tophat / mpcm LCM pseudo-masks "
            "(fixed; make them with lesps labels --type lcm-<method>).",
        ),
    ] = TRAIN.labels,
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = TRAIN.epochs,
    batch_size: Annotated[
        int, typer.Option(help="Batch size (split over torchrun processes).")
    ] = TRAIN.batch_size,
    patch_size: Annotated[int, typer.Option(help="Random crop size.")] = TRAIN.patch_size,
    lr: Annotated[float, typer.Option(help="Adam learning rate.")] = TRAIN.lr,
    milestones: Annotated[str, typer.Option(help="MultiStepLR epochs, comma separated.")] = csv_default(
        TRAIN.milestones
    ),
    gamma: Annotated[float, typer.Option(help="MultiStepLR factor.")] = TRAIN.gamma,
    start_rule: Annotated[
        str,
        typer.Option(
            help="When evolution starts: hits (the network ranks --start-hits of the labelled pixels above the "
            "background's top 0.1 %, works at any dataset size; or loss < --tloss) or tloss (the paper: loss only)."
        ),
    ] = TRAIN.start_rule,
    tloss: Annotated[
        float,
        typer.Option(help="The paper's rule: evolution starts after an epoch with mean loss below this."),
    ] = TRAIN.tloss,
    start_hits: Annotated[
        float, typer.Option(help="hits rule: share of labelled pixels the network must hit.")
    ] = TRAIN.start_hits,
    init_labels: Annotated[
        str,
        typer.Option(
            help="What evolution starts from: points (the paper), or the tophat / mpcm LCM pseudo-mask "
            "grown around each point."
        ),
    ] = TRAIN.init_labels,
    tb: Annotated[float, typer.Option(help="Evolution threshold Tb.")] = TRAIN.tb,
    k: Annotated[float, typer.Option(help="Evolution threshold k.")] = TRAIN.k,
    evolve_every: Annotated[int, typer.Option(help="Evolution period in epochs.")] = TRAIN.evolve_every,
    norm: NormOpt = None,
    device: Annotated[str, typer.Option("--device", help="auto, cpu, cuda or cuda:N.")] = TRAIN.device,
    amp: Annotated[bool, typer.Option("--amp", help="Mixed precision.")] = TRAIN.amp,
    seed: Annotated[int, typer.Option(help="Seed of initialisation, shuffling and crops.")] = TRAIN.seed,
    out: Annotated[
        Path | None, typer.Option(help="Run folder (default runs/<model>_<labels>_<time>).")
    ] = TRAIN.out,
    resume: Annotated[Path | None, typer.Option(help="Continue the run in this folder.")] = None,
    eval_every: Annotated[
        int, typer.Option(help="Test metrics every N epochs (0: at the end only).")
    ] = TRAIN.eval_every,
    num_workers: Annotated[int, typer.Option(help="DataLoader workers.")] = TRAIN.num_workers,
    limit: Annotated[int | None, typer.Option(help="Train on the first N train images only.")] = TRAIN.limit,
    prior: Annotated[
        float | None,
        typer.Option(
            help="Init output biases to logit(P) (not in the paper: 0 for its init; faster starts)."
        ),
    ] = TRAIN.prior,
    fa_rule: FaRuleOpt = TRAIN.fa_rule,
    strict_masks: StrictMasksOpt = TRAIN.strict_masks,
    frame_mapping: FrameMappingOpt = TRAIN.frame_mapping,
    threshold: Annotated[
        float,
        typer.Option(help="Probability threshold of the test metrics and label IoU (kept in checkpoints)."),
    ] = TRAIN.threshold,
    threads: ThreadsOpt = None,
) -> None:
    """Train with LESPS point supervision (or full masks); resumable, runs under torchrun for DDP."""
    from lesps_deploy.apis.evaluation import results_table
    from lesps_deploy.errors import ConfigError
    from lesps_deploy.threads import use_threads
    from lesps_deploy.training.trainer import train as run_training

    if resume is None and (model is None or data is None):
        raise ConfigError("--model and --data are required", hint="or continue a run with --resume RUN_DIR")
    try:
        steps = tuple(int(m) for m in milestones.split(",") if m.strip())
    except ValueError:
        raise ConfigError(f"--milestones {milestones!r}: expected epochs like 200,300") from None
    cfg = TrainConfig(
        model=model or TRAIN.model, data=data, labels=labels, epochs=epochs, batch_size=batch_size,
        patch_size=patch_size, lr=lr, milestones=steps, gamma=gamma, start_rule=start_rule, tloss=tloss,
        start_hits=start_hits, init_labels=init_labels, tb=tb, k=k,
        evolve_every=evolve_every, norm=norm or TRAIN.norm, device=device, amp=amp, seed=seed, out=out,
        resume=resume, eval_every=eval_every, num_workers=num_workers, limit=limit, prior=prior,
        fa_rule=fa_rule, strict_masks=strict_masks, frame_mapping=frame_mapping, threshold=threshold,
    )  # fmt: skip
    use_threads(threads)
    result = run_training(cfg, progress=True)
    for r in result.rounds:
        iou = "not available (no full masks)" if r.label_iou is None else f"{100 * r.label_iou:.2f}"
        make_console(stderr=True).print(
            f"evolution round {r.index} (epoch {r.epoch}): label IoU {iou}", highlight=False
        )
    if result.metrics:
        make_console().print(
            results_table(
                [{**result.metrics.to_dict(), "weights": str(result.checkpoint)}], title="Test split"
            )
        )
    make_console().print(f"checkpoint: {result.checkpoint}")
