"""Batches a model can train on: BatchNorm after global pooling (ACM, ALCNet) needs two crops a step.

In training mode BatchNorm normalises with the batch's own statistics, so it needs more than one value
per channel. After a global pooling layer there is one value per channel and crop: a batch of a single
crop cannot train there (PyTorch raises "Expected more than 1 value per channel"). The trainer drops a
last batch of one when there are others; this module refuses, before any run folder exists, a run
whose every step would be such a batch (`--batch-size 1`, or a train split of one image).
"""

from __future__ import annotations

import torch

from lesps_deploy.errors import ConfigError
from lesps_deploy.models import create_model

__all__ = ["trains_on_one_crop", "check_batches"]


def trains_on_one_crop(model: str, size: int = 64) -> bool:
    """Whether a freshly made `model` trains on a batch of one crop (probed on a throwaway copy)."""
    net = create_model(model)
    net.train()
    try:
        with torch.no_grad():
            net(torch.zeros(1, 1, size, size))
    except ValueError as err:
        if "more than 1 value per channel" in str(err):
            return False
        raise
    return True


def check_batches(model: str, images: int, per_step: int, data: str) -> None:
    """Raises ConfigError, naming the option or the split, when every step would be a batch of one
    crop and `model` cannot train on one.

    Args:
        model: the model's name.
        images: images in the train split (of this process).
        per_step: crops per step (of this process).
        data: the dataset, named in the message.
    """
    if min(images, per_step) >= 2 or trains_on_one_crop(model):
        return
    why = f"--batch-size {per_step}" if per_step < 2 else f"{data}: the train split has {images} image"
    raise ConfigError(
        f"{why}: {model} cannot train on a batch of one crop (its BatchNorm after global pooling needs "
        "two or more)",
        hint="use --batch-size 2 or more and a train split of two or more images (DNANet trains on one)",
    )
