"""What a training run starts from: the output prior of the network, the device-dependent defaults
(mixed precision, memory layout), the initial labels and the contrast-prior envelopes of evolution."""

from __future__ import annotations

import logging
import math

import numpy as np
import torch

from lesps_deploy.errors import ConfigError

from .config import FIXED_LABELS, TrainConfig
from .data import TrainData, label_iou
from .pseudo_masks import prior_envelopes, pseudo_masks_for

__all__ = [
    "init_output_prior",
    "init_name",
    "envelopes_for",
    "resolved_amp",
    "resolved_channels_last",
    "initial_labels",
]

log = logging.getLogger(__name__)


def init_output_prior(net: torch.nn.Module, prior: float) -> int:
    """Set the bias of every 1-channel output convolution to logit(prior); returns how many were set."""
    if not 0.0 < prior < 1.0:
        raise ConfigError(f"--prior {prior}: expected a probability in (0, 1)")
    heads = [
        m
        for m in net.modules()
        if isinstance(m, torch.nn.Conv2d) and m.out_channels == 1 and m.bias is not None
    ]
    with torch.no_grad():
        for head in heads:
            head.bias.fill_(math.log(prior / (1.0 - prior)))
    return len(heads)


def init_name(cfg: TrainConfig) -> str:
    return cfg.labels if cfg.labels in FIXED_LABELS else cfg.init_labels


def envelopes_for(cfg: TrainConfig, data: TrainData) -> list[np.ndarray] | None:
    """The contrast prior's support around each point (`cfg.envelope`), from the frames and points.

    Deterministic, so a resumed run rebuilds the same ones; call before the labels leave the points."""
    if cfg.labels in FIXED_LABELS or cfg.envelope is None:
        return None
    method = cfg.init_labels if cfg.init_labels != "points" else "tophat"
    return prior_envelopes(data.images, data.labels, method, cfg.envelope, grow=0)


def resolved_amp(cfg: TrainConfig, device: str) -> bool:
    """`cfg.amp`, or for None (the default) mixed precision on CUDA only (the CPU stays float32)."""
    return cfg.amp if cfg.amp is not None else device.startswith("cuda")


def resolved_channels_last(cfg: TrainConfig, device: str) -> bool:
    """`cfg.channels_last`, or for None (the default) on: measured faster on CPU and CUDA alike
    (`benchmarks/train_speed.py`)."""
    return cfg.channels_last if cfg.channels_last is not None else True


def initial_labels(cfg: TrainConfig, data: TrainData) -> float | None:
    """Grow the points into LCM pseudo-masks when `init_labels` asks; returns the labels' IoU vs masks.

    Deterministic from the frames and points, so a resumed run rebuilds the same start labels.
    """
    if cfg.labels not in FIXED_LABELS and cfg.init_labels != "points":
        data.labels = pseudo_masks_for(data.images, data.labels, cfg.init_labels)
    iou = label_iou(data.labels, data.masks, cfg.threshold)
    log.info(
        "initial labels (%s): label IoU vs full masks %s",
        init_name(cfg),
        "not available" if iou is None else f"{iou:.4f}",
    )
    return iou
