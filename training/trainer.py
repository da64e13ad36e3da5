"""LESPS trainer: point (or full-mask) supervision, label evolution, checkpoints, resume, DDP.

Follows the paper's `train.py` (XinyiYing/LESPS): Adam, MultiStepLR stepped per epoch, random
augmented crops, the Gaussian focal loss; evolution begins after the first epoch whose mean loss is
below Tloss and repeats every `evolve_every` epochs. Labels are kept in memory as float (the
reference's `--cache` mode; its default mode rounds them to 8-bit PNGs between rounds).
What a run reports lives in `records`, when evolution runs in `schedule`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from lesps_deploy.data import Norm, resolve_norm
from lesps_deploy.errors import ConfigError, DataError
from lesps_deploy.metadata import ModelMeta
from lesps_deploy.metrics.report import EvalReport
from lesps_deploy.models import Checkpoint, canonical_name, create_model, save_checkpoint, training_options
from lesps_deploy.progress import ProgressSpec, progress_task

from . import distributed as ddp
from .batch_rules import check_batches
from .config import FIXED_LABELS, TrainConfig
from .data import CropDataset, TrainData, label_iou, load_train_data, prefetched_batches
from .evolution import evolve_labels
from .label_quality import LabelQuality
from .loss import lesps_loss
from .precise_bn import precise_bn_copy
from .records import Callback, EpochRecord, EvalRecord, EvolutionRound, TrainingError, TrainResult
from .runlog import RunLog
from .schedule import evolution_rounds_due, start_state
from .setup import (
    envelopes_for,
    init_name,
    init_output_prior,
    initial_labels,
    resolved_amp,
    resolved_channels_last,
)
from .start_rules import HitCounts
from .state import (
    ScheduleState,
    align_optimizer_state,
    check_new_run,
    final_checkpoint_name,
    hold_run,
    last_checkpoint,
    load_round_labels,
    read_resume_state,
    resolve_run,
    save_round_labels,
    saved_parameter_names,
    write_run_config,
)

__all__ = [
    "train",
    "TrainResult",
    "EpochRecord",
    "EvolutionRound",
    "EvalRecord",
    "TrainingError",
    "evolution_rounds_due",
    "init_output_prior",
]

log = logging.getLogger(__name__)


@dataclass
class _Run:
    cfg: TrainConfig
    info: ddp.DistInfo
    run_dir: Path
    data: TrainData
    norm: Norm
    meta: ModelMeta
    net: torch.nn.Module
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler
    log: RunLog
    state: ScheduleState = field(default_factory=ScheduleState)
    callback: Callback | None = None
    no_test_split: bool = False
    evaluated: bool = False  # an evaluation has run (its notes were said)
    envelopes: list[np.ndarray] | None = None  # where evolution may grow each label (cfg.envelope)
    amp: bool = False  # cfg.amp resolved for the device
    quality: LabelQuality | None = None  # label IoU by target size/contrast (with full masks)

    def log_quality(self, epoch: int, round_: int) -> None:
        """One `label_quality` event: label IoU per target size and contrast, growth and misses."""
        if self.quality is not None and self.info.is_main and self.cfg.labels not in FIXED_LABELS:
            figures = {k: round(v, 4) for k, v in self.quality.measure(self.data.labels).items()}
            self.log.event("label_quality", epoch=epoch, round=round_, **figures)

    def emit(self, record: EpochRecord | EvolutionRound | EvalRecord) -> None:
        if self.callback is not None and self.info.is_main:
            self.callback(record)


def _build(
    cfg: TrainConfig, info: ddp.DistInfo, run_dir: Path, data: TrainData, resumed: Checkpoint | None
) -> _Run:
    name = canonical_name(cfg.model)
    torch.manual_seed(cfg.seed)
    net = create_model(name, **training_options(name))  # DNANet: its deep-supervision heads
    if cfg.prior is not None and resumed is None:
        init_output_prior(net, cfg.prior)
    net.to(info.device).train()
    if resolved_channels_last(cfg, info.device):
        net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    model = net
    if info.enabled:
        model = DistributedDataParallel(
            net, device_ids=[info.local_rank] if info.device.startswith("cuda") else None
        )
    if cfg.compile:
        model = torch.compile(model)  # type: ignore[assignment]
    optimizer = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(
        optimizer, milestones=list(cfg.milestones), gamma=cfg.gamma
    )
    amp = resolved_amp(cfg, info.device)
    scaler = torch.amp.GradScaler("cuda", enabled=amp and info.device.startswith("cuda"))
    norm = resolve_norm(cfg.norm, cfg.data, data.mapper)
    meta = ModelMeta(
        model=name,
        mean=norm.mean,
        std=norm.std,
        input_bits=data.mapper.model_bits,
        threshold=cfg.threshold,
        pad_multiple=net.pad_multiple,
        label_type=cfg.labels,
        dataset=data.root.name,
    )
    resume_epoch = None if resumed is None else int(resumed.extra["epoch"])
    runlog = RunLog(run_dir, active=info.is_main, resume_epoch=resume_epoch)
    run = _Run(cfg, info, run_dir, data, norm, meta, net, model, optimizer, scheduler, scaler, runlog)
    run.amp = amp
    return run


def _restore(run: _Run, ckpt: Checkpoint) -> None:
    """Load weights, optimizer/scheduler/scaler, schedule state and labels of `<run>/checkpoints/last`."""
    saved = ckpt.extra
    run.net.load_state_dict(ckpt.model.state_dict())
    names = [name for name, _ in run.net.named_parameters()]
    run.optimizer.load_state_dict(
        align_optimizer_state(saved["optimizer"], saved_parameter_names(ckpt, names), names, ckpt.path)
    )
    run.scheduler.load_state_dict(saved["scheduler"])
    if saved.get("scaler"):
        run.scaler.load_state_dict(saved["scaler"])
    run.state = ScheduleState(**saved["train_state"])
    if run.state.labels_file:
        run.data.labels = load_round_labels(run.run_dir, run.state.labels_file, run.data.names)
    if "rng" in saved:
        torch.set_rng_state(saved["rng"]["torch"].cpu())
    log.info(
        "resumed %s at epoch %d (%d evolution rounds)", run.run_dir, run.state.epoch, len(run.state.rounds)
    )


def _save(run: _Run, path: Path, net: torch.nn.Module | None = None) -> None:
    """Write a checkpoint of `net` (default: the training network) with the run's training state."""
    if run.info.is_main:
        save_checkpoint(
            path,
            run.net if net is None else net,
            run.meta,
            epoch=run.state.epoch,
            optimizer=run.optimizer.state_dict(),
            param_names=[name for name, _ in run.net.named_parameters()],
            scheduler=run.scheduler.state_dict(),
            scaler=run.scaler.state_dict() if run.scaler.is_enabled() else None,
            seed=run.cfg.seed,
            config=run.cfg.to_dict(),
            train_state=run.state.to_dict(),
            rng={"torch": torch.get_rng_state()},
        )
    ddp.barrier(run.info)


def _epoch_batches(n: int, batch: int, epoch: int, seed: int, info: ddp.DistInfo) -> list[list[int]]:
    """Shuffled batches of this process; every process gets the same number of batches."""
    gen = torch.Generator().manual_seed(seed + epoch)
    order = torch.randperm(n, generator=gen).tolist()
    if info.enabled:
        order += order[: (-n) % info.world_size]  # pad like DistributedSampler
        order = order[info.rank :: info.world_size]
    batches = [order[i : i + batch] for i in range(0, len(order), batch)]
    if len(batches) > 1 and len(batches[-1]) == 1:
        batches.pop()  # BatchNorm cannot train on a single sample
    return batches


def _train_epoch(run: _Run, epoch: int, progress: ProgressSpec, counts: HitCounts) -> float:
    cfg, info = run.cfg, run.info
    dataset = CropDataset(run.data, run.norm, cfg.patch_size, cfg.seed, cfg.pos_crops, cfg.copy_paste)
    dataset.epoch = epoch
    per_process = max(1, cfg.batch_size // info.world_size)
    batches = _epoch_batches(len(dataset), per_process, epoch, cfg.seed, info)
    loader: Iterable[tuple[torch.Tensor, torch.Tensor]]
    if cfg.num_workers == 0 and cfg.prefetch:
        loader = prefetched_batches(dataset, batches)
    else:
        loader = DataLoader(
            dataset,
            batch_sampler=batches,
            num_workers=cfg.num_workers,
            pin_memory=info.device.startswith("cuda"),
        )
    device_type = "cuda" if info.device.startswith("cuda") else "cpu"
    amp_dtype = torch.float16 if device_type == "cuda" else torch.bfloat16
    # The start rule's counts (a top-k over every batch's background) matter only until evolution starts.
    counting = cfg.labels not in FIXED_LABELS and not run.state.started
    total, steps = 0.0, 0
    run.model.train()
    with progress_task(
        progress if info.is_main else None, f"epoch {epoch}/{cfg.epochs}", len(batches)
    ) as advance:
        for step, (image, label) in enumerate(loader, start=1):
            image, label = image.to(info.device, non_blocking=True), label.to(info.device, non_blocking=True)
            with torch.autocast(device_type, dtype=amp_dtype, enabled=run.amp):
                pred = run.model(image)
            loss = lesps_loss(pred, label, size_balance=cfg.size_balance)
            if counting:
                counts.add(pred[-1] if isinstance(pred, list | tuple) else pred, label)
            value = float(loss.detach())
            if ddp.any_flag(not np.isfinite(value), info):
                _diverged(run, epoch, step)
            run.optimizer.zero_grad(set_to_none=True)
            run.scaler.scale(loss).backward()
            run.scaler.step(run.optimizer)
            run.scaler.update()
            total, steps = total + value, steps + 1
            advance(1)
    if info.enabled:  # the readiness counts of every process
        summed = [ddp.all_mean(v, 1, info) * info.world_size for v in counts.as_tuple()]
        counts.hits, counts.labelled, counts.level_sum, counts.batches = summed
    return ddp.all_mean(total, steps, info)


def _diverged(run: _Run, epoch: int, step: int) -> None:
    last = last_checkpoint(run.run_dir)
    kept = (
        f"last good checkpoint kept: {last} (epoch {run.state.epoch})"
        if last.exists()
        else "no checkpoint was written yet"
    )
    run.log.event("stopped", epoch=epoch, step=step, reason="non-finite loss")
    raise TrainingError(
        f"{run.run_dir}: loss became NaN/inf at epoch {epoch}, step {step}; training stopped, {kept}",
        hint=f"lower --lr (now {run.cfg.lr}) or drop --amp, then continue with --resume {run.run_dir}",
    )


def _evolve_round(run: _Run, epoch: int) -> EvolutionRound:
    """Predict every train image at full size and evolve its label (sharded over processes)."""
    from lesps_deploy.runtime.processing import infer_probabilities
    from lesps_deploy.runtime.torch_backend import TorchBackend

    start = time.perf_counter()
    info, data = run.info, run.data
    mine = list(range(info.rank, len(data.names), info.world_size))
    ddp.sync_buffers(run.net, info)
    backend = TorchBackend.from_module(run.net, run.meta, info.device)
    probs = infer_probabilities(
        backend,
        [data.images[i] for i in mine],
        run.norm,
        run.meta.pad_multiple,
        batch_size=run.cfg.eval_batch_size,
        patch_size=None,
    )
    cfg, envelopes = run.cfg, run.envelopes
    local = {
        i: evolve_labels(
            p,
            data.labels[i],
            cfg.tb,
            cfg.k,
            decay=cfg.decay,
            min_prob=cfg.min_prob,
            envelope=None if envelopes is None else envelopes[i],
            unknown_cut=cfg.outside_envelope == "ignore",
        )
        for i, p in zip(mine, probs, strict=True)
    }
    merged = ddp.gather_dict(local, info)
    data.labels = [merged[i] for i in range(len(data.names))]
    run.net.train()
    index = len(run.state.rounds) + 1
    rel = (
        save_round_labels(run.run_dir, index, data.names, data.labels)
        if info.is_main
        else f"labels/round_{index:03d}.npz"
    )
    iou = label_iou(data.labels, data.masks, run.cfg.threshold)
    record = EvolutionRound(index, epoch, iou, time.perf_counter() - start, run.run_dir / rel)
    run.state.rounds.append({"index": index, "epoch": epoch, "label_iou": iou, "seconds": record.seconds})
    run.state.labels_file = rel
    run.log.event("evolution", epoch=epoch, round=index, label_iou=iou, seconds=round(record.seconds, 3))
    run.log_quality(epoch, index)
    log.info(
        "evolution round %d after epoch %d: label IoU %s",
        index,
        epoch,
        "not available" if iou is None else f"{iou:.4f}",
    )
    run.emit(record)
    return record


def _crop_batches(run: _Run, count: int) -> Iterable[torch.Tensor]:
    """`count` batches of train crops from epochs past the schedule (never trained on), on the device."""
    cfg, device = run.cfg, run.info.device
    dataset = CropDataset(run.data, run.norm, cfg.patch_size, cfg.seed, cfg.pos_crops, cfg.copy_paste)
    layout = torch.channels_last if resolved_channels_last(cfg, device) else torch.contiguous_format
    epoch = cfg.epochs
    while count > 0 and len(dataset):
        epoch += 1
        dataset.epoch = epoch
        for indices in _epoch_batches(len(dataset), cfg.batch_size, epoch, cfg.seed, ddp.DistInfo())[:count]:
            count -= 1
            yield dataset.batch(indices)[0].to(device, memory_format=layout)


def _eval_net(run: _Run, final: bool = False) -> torch.nn.Module:
    """The network to evaluate (and, `final`, to save): with population BatchNorm statistics over
    `cfg.precise_bn` batches of train crops (`training.precise_bn`), or the training network at 0.

    An evaluation during training takes at most one epoch's batches, so it costs at most about a third
    of an epoch (forward passes only); the final checkpoint takes all `cfg.precise_bn`."""
    count = run.cfg.precise_bn
    if not count:
        return run.net
    if not final:
        count = min(count, max(1, len(run.data.names) // run.cfg.batch_size))
    return precise_bn_copy(run.net, _crop_batches(run, count))


def _evaluate(run: _Run, epoch: int, net: torch.nn.Module | None = None) -> EvalReport | None:
    """Test-split metrics of `net` (default: `_eval_net` of the current network) on the main process
    (others wait); None when there is no test split."""
    from lesps_deploy.runtime.dataset_runner import run_dataset
    from lesps_deploy.runtime.torch_backend import TorchBackend

    report = None
    if run.info.is_main and not run.no_test_split:
        try:
            net = _eval_net(run) if net is None else net
            backend = TorchBackend.from_module(net, run.meta, run.info.device)
            report = run_dataset(
                backend,
                run.cfg.data,
                "test",
                run.norm,
                run.cfg.threshold,
                batch_size=run.cfg.eval_batch_size,
                limit=run.cfg.eval_limit,
                fa_rule=run.cfg.fa_rule,  # type: ignore[arg-type]
                strict_masks=run.cfg.strict_masks,
                log_notes=not run.evaluated,  # a mask size difference is said at the first evaluation only
                frame_mapping=run.data.mapper,  # the train frames' mapper: its one log line is said
            )
            run.evaluated = True
        except (DataError, ConfigError) as err:
            # No test split, no masks/ (a point-only dataset) or no readable test image: train on.
            run.no_test_split = True
            log.warning("test metrics skipped: %s", err)
            run.log.event("eval_skipped", epoch=epoch, reason=str(err))
        run.net.train()
    ddp.barrier(run.info)
    if report is not None:
        summary = report.to_dict()
        keys = ("IoU", "nIoU", "Pd", "Fa", "images")
        run.log.event("eval", epoch=epoch, **{k: summary[k] for k in keys})
        log.info("epoch %d test: IoU %.4f nIoU %.4f Pd %.4f Fa %.3e", epoch, *(summary[k] for k in keys[:4]))
        run.emit(EvalRecord(epoch, summary))
    return report


def _start_state(run: _Run, epoch: int, loss: float, counts: HitCounts) -> None:
    """Log the start rule's state each epoch until evolution starts (and once when it is late)."""
    decision, late = start_state(run.cfg, run.state, epoch, loss, counts)
    if decision is not None:
        run.log.event("start_rule", epoch=epoch, **decision.to_dict())
    if late and decision is not None:
        run.log.event("late_start", epoch=epoch, **decision.to_dict())


def _after_epoch(run: _Run, epoch: int, loss: float, lr: float, seconds: float, counts: HitCounts) -> None:
    cfg, state = run.cfg, run.state
    state.epoch = epoch
    state.losses.append(loss)
    run.log.event("epoch", epoch=epoch, loss=loss, lr=lr, seconds=round(seconds, 3))
    run.emit(EpochRecord(epoch, loss, lr, seconds))
    _start_state(run, epoch, loss, counts)
    state.started, due = evolution_rounds_due(state.started, loss, epoch, cfg, counts)
    rounds = [_evolve_round(run, epoch) for _ in range(due)]
    metrics = None
    if cfg.eval_every and epoch % cfg.eval_every == 0 and epoch < cfg.epochs:
        metrics = _evaluate(run, epoch)
    row = {
        "epoch": epoch,
        "loss": loss,
        "lr": lr,
        "seconds": round(seconds, 3),
        "rounds": len(state.rounds),
        "label_iou": rounds[-1].label_iou if rounds else None,
        **{k: (metrics.to_dict() if metrics else {}).get(k) for k in ("IoU", "nIoU", "Pd", "Fa")},
    }
    run.log.epoch_row(row)
    if due or epoch % cfg.save_every == 0 or epoch == cfg.epochs:
        _save(run, last_checkpoint(run.run_dir))


def train(
    model: TrainConfig | str | None = None,
    data: str | Path | None = None,
    *,
    progress: ProgressSpec = False,
    callback: Callback | None = None,
    **options: Any,
) -> TrainResult:
    """Train a model with LESPS (or full masks); resumable and DDP-aware (`lesps train` as a call).

    Args:
        model: ACM, ALCNet or DNANet; or a whole `TrainConfig` (`resume` continues a run folder after a
            stop or a kill).
        data: dataset folder (images/, masks*/, img_idx/); not with a `TrainConfig`.
        progress: True for a progress bar per epoch on stderr, or a callback `fn(description, done, total)`.
        callback: called on the main process with each EpochRecord, EvolutionRound and EvalRecord.
        **options: any other `TrainConfig` field (labels, epochs, batch_size, device, out, ...); with a
            `TrainConfig`, fields to replace.

    Returns:
        TrainResult with the final checkpoint (loadable by `lesps evaluate`, the exporter and the paper's code).

    Raises:
        DataError: missing labels (with the `lesps labels` command to make them), empty split, bad label size.
        TrainingError: the loss became NaN/inf (the last good checkpoint is kept and named).
        ConfigError: bad options, or a resume folder without a run.

    Example:
        >>> result = train("ACM", "datasets/NUAA-SIRST", labels="centroid", epochs=400, device="cuda")
        >>> result.checkpoint, result.metrics.iou
    """
    if isinstance(model, TrainConfig):
        cfg = replace(model, **options)
        if options:
            cfg = replace(cfg, given=model.given_names() | frozenset(options))
    else:
        from lesps_deploy.options import check_paths

        named: dict[str, Any] = {"model": model} if model is not None else {}
        if data is not None:
            named["data"] = Path(data)
        cfg = TrainConfig(**named, given=frozenset(named) | frozenset(options), **options)
        check_paths(cfg)  # before the data loads: the dataset folder exists, the run folder can be written
    info = ddp.setup_distributed(cfg.device)
    try:
        return _train(cfg, info, progress, callback)
    finally:
        ddp.teardown_distributed(info)


def _train(
    cfg: TrainConfig, info: ddp.DistInfo, progress: ProgressSpec, callback: Callback | None
) -> TrainResult:
    if info.is_main:
        cfg, run_dir = resolve_run(cfg)
        canonical_name(cfg.model)  # an unknown model fails here, before any run folder exists
    cfg, run_dir = ddp.broadcast_object((cfg, run_dir) if info.is_main else None, info)
    data = load_train_data(cfg.data, cfg.labels, cfg.limit, cfg.strict_masks, cfg.frame_mapping)
    envelopes = envelopes_for(cfg, data)
    start_iou = initial_labels(cfg, data)
    per_step = max(1, cfg.batch_size // info.world_size)
    check_batches(cfg.model, -(-len(data.names) // info.world_size), per_step, str(cfg.data))  # no folder yet
    if info.is_main:
        for note in data.notes:
            log.warning("%s", note)
    with hold_run(run_dir if info.is_main else None):  # one process per run folder
        if info.is_main:
            check_new_run(cfg, run_dir)  # a run that started (and checkpointed) since resolve_run
            write_run_config(cfg, run_dir)
        return _run_locked(cfg, info, run_dir, data, envelopes, start_iou, progress, callback)


def _run_locked(
    cfg: TrainConfig,
    info: ddp.DistInfo,
    run_dir: Path,
    data: TrainData,
    envelopes: list[np.ndarray] | None,
    start_iou: float | None,
    progress: ProgressSpec,
    callback: Callback | None,
) -> TrainResult:
    ddp.barrier(info)
    resumed = None if cfg.resume is None else read_resume_state(run_dir, map_location=info.device)
    run = _build(cfg, info, run_dir, data, resumed)
    run.callback = callback
    run.envelopes = envelopes
    if data.masks is not None and cfg.labels not in FIXED_LABELS:
        run.quality = LabelQuality(data.images, data.masks, cfg.threshold)
    if cfg.labels != "full" and data.no_masks is not None and info.is_main:
        log.warning("label IoU not available: %s", data.no_masks)
        run.log.event("label_iou", available=False, reason=data.no_masks)
    if resumed is None:
        run.log.event("labels", epoch=0, init=init_name(cfg), label_iou=start_iou)
        run.log_quality(0, 0)
    else:
        _restore(run, resumed)
    try:
        for epoch in range(run.state.epoch + 1, cfg.epochs + 1):
            start = time.perf_counter()
            lr = run.optimizer.param_groups[0]["lr"]
            counts = HitCounts()
            loss = _train_epoch(run, epoch, progress, counts)
            run.scheduler.step()
            _after_epoch(run, epoch, loss, lr, time.perf_counter() - start, counts)
        net = _eval_net(run, final=True) if info.is_main else run.net
        metrics = _evaluate(run, run.state.epoch, net)
        final = run_dir / final_checkpoint_name(cfg, run.meta.model)
        _save(run, final, net)
    finally:
        run.log.close()
    rounds = tuple(
        EvolutionRound(
            r["index"],
            r["epoch"],
            r["label_iou"],
            r["seconds"],
            run_dir / f"labels/round_{r['index']:03d}.npz",
        )
        for r in run.state.rounds
    )
    return TrainResult(run_dir, final, run.state.epoch, tuple(run.state.losses), rounds, metrics)
