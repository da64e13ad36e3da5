"""Gaussian focal loss of LESPS (CornerNet-style focal loss on soft targets).

Reference: `FocalLoss` / `focal_loss` in XinyiYing/LESPS `utils.py`, and `Net.loss` in `net.py`.
Per pixel, with p the predicted probability and y the (possibly evolved, soft) label:

    -log(p + eps) (1 - p)^alpha y  -  log(1 - p + eps) p^alpha (1 - y)^gamma

summed over the batch and divided by max(1, number of pixels with y == 1) (the points, which
evolution keeps at exactly 1); DNANet's deep-supervision heads each add their own term. Pixels whose
label is negative (`training.evolution.UNKNOWN`, an opt-in of evolution) add nothing: they are
neither target nor background. Labels in [0, 1] give the reference's loss exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["focal_loss_map", "lesps_loss"]

EPS = 1e-12


def focal_loss_map(
    pred: torch.Tensor, target: torch.Tensor, alpha: float = 2.0, gamma: float = 4.0
) -> torch.Tensor:
    """Per-pixel Gaussian focal loss (same shape as `pred`)."""
    pos = -(pred + EPS).log() * (1 - pred).pow(alpha) * target
    neg = -(1 - pred + EPS).log() * pred.pow(alpha) * (1 - target).pow(gamma)
    return pos + neg


def lesps_loss(
    pred: torch.Tensor | Sequence[torch.Tensor], target: torch.Tensor, alpha: float = 2.0, gamma: float = 4.0
) -> torch.Tensor:
    """LESPS training loss: summed focal loss over heads, each divided by max(1, #(target == 1)).

    Args:
        pred: probabilities (N,1,H,W), or a list of them (DNANet deep supervision).
        target: labels (N,1,H,W) in [0, 1]; negative pixels (unknown) are left out.
        alpha, gamma: focal exponents (paper: 2 and 4).

    Returns:
        Scalar loss tensor.
    """
    heads = list(pred) if isinstance(pred, list | tuple) else [pred]
    # The count is taken as a tensor so no host sync happens inside the training step.
    avg = (target == 1).sum().clamp(min=1).float()
    target = target.float()
    known = target >= 0
    target = target.clamp(min=0)
    total = heads[0].new_zeros((), dtype=torch.float32)
    for head in heads:
        # where(), not a product: an unknown pixel adds exactly 0 (and no gradient).
        total = total + torch.where(known, focal_loss_map(head.float(), target, alpha, gamma), 0).sum() / avg
    return total
