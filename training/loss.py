"""Gaussian focal loss of LESPS (CornerNet-style focal loss on soft targets).

Reference: `FocalLoss` / `focal_loss` in XinyiYing/LESPS `utils.py`, and `Net.loss` in `net.py`.
Per pixel, with p the predicted probability and y the (possibly evolved, soft) label:

    -log(p + eps) (1 - p)^alpha y  -  log(1 - p + eps) p^alpha (1 - y)^gamma

summed over the batch and divided by max(1, number of pixels with y == 1) (the points, which
evolution keeps at exactly 1); DNANet's deep-supervision heads each add their own term. Pixels whose
label is negative (`training.evolution.UNKNOWN`, an opt-in of evolution) add nothing: they are
neither target nor background. Labels in [0, 1] give the reference's loss exactly.

`size_balance` (not in the reference; `lesps train` defaults to 0.5, this function to 0) weighs each
labelled pixel's positive term by the label mass around it to the power -size_balance, rescaled so the
batch's weighted label mass is its plain one: at 1 a small target's few pixels carry as much loss as a
large target's many (targets count, not pixels), at 0 the reference. The mass is a box sum over
`BALANCE_WINDOW` pixels, so it needs no connected components and runs on any device without a host
sync; targets closer than the window share their weight, as one detection would.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

__all__ = ["BALANCE_WINDOW", "focal_loss_map", "lesps_loss", "size_weights"]

EPS = 1e-12
# Side of the box whose label mass stands for a target's size: NUAA-SIRST/IRSTD-1k targets are mostly
# under 15x15 pixels (SPIE's "small target": under 0.15 % of a 256x256 frame, about 10x10).
BALANCE_WINDOW = 15


def focal_loss_map(
    pred: torch.Tensor,
    target: torch.Tensor,
    alpha: float = 2.0,
    gamma: float = 4.0,
    pos_weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Per-pixel Gaussian focal loss (same shape as `pred`); `pos_weight` scales the positive term."""
    pos = -(pred + EPS).log() * (1 - pred).pow(alpha) * target
    if pos_weight is not None:
        pos = pos * pos_weight
    neg = -(1 - pred + EPS).log() * pred.pow(alpha) * (1 - target).pow(gamma)
    return pos + neg


def _box_sum(x: torch.Tensor, window: int, dim: int) -> torch.Tensor:
    """Sum of `x` over `window` (odd) neighbours along `dim`, zero outside: a cumulative-sum difference,
    several times faster on the CPU than a pooling or convolution of the same size."""
    half = window // 2
    pad = [0, 0] * (x.dim() - 1 - dim) + [half + 1, half]
    total = F.pad(x, pad).cumsum(dim)
    return total.narrow(dim, window, x.shape[dim]) - total.narrow(dim, 0, x.shape[dim])


def _labelled_weights(target: torch.Tensor, power: float, window: int) -> torch.Tensor:
    """`size_weights` where `target` > 0; finite but meaningless elsewhere (the loss multiplies by the label)."""
    mass = _box_sum(_box_sum(target, window, 2), window, 3)
    weights = mass.clamp(min=1.0).pow(-power)
    return weights.mul_(target.sum() / (weights * target).sum().clamp(min=EPS))


def size_weights(target: torch.Tensor, power: float, window: int = BALANCE_WINDOW) -> torch.Tensor:
    """Positive-term weights (N,1,H,W) of `target` (labels >= 0): local label mass ** -power, scaled so
    that sum(weights * target) == sum(target). 1 where nothing is labelled."""
    return torch.where(target > 0, _labelled_weights(target, power, window), 1.0)


class _FocalSum(torch.autograd.Function):
    """sum(focal_loss_map) with the positive and negative coefficients given (y * weight, (1 - y)^gamma,
    both 0 on unknown pixels), its gradient written out: a few in-place elementwise operations each way
    instead of autograd's graph of saved intermediates (saves about 9 of 28 ms on a 16x1x256x256 batch
    at one CPU thread). The forward's sum is the reference's, term for term."""

    @staticmethod
    def forward(
        ctx: Any, pred: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor, alpha: float
    ) -> torch.Tensor:
        ctx.save_for_backward(pred, pos, neg)
        ctx.alpha = alpha
        q = 1 - pred
        pos_term = (pred + EPS).log_().mul_(q.pow(alpha)).mul_(pos)
        neg_term = (q + EPS).log_().mul_(pred.pow(alpha)).mul_(neg)
        return -pos_term.add_(neg_term).sum()

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None, None]:
        pred, pos, neg = ctx.saved_tensors
        alpha = ctx.alpha
        q = 1 - pred
        # d/dp of -log(p) q^a = a q^(a-1) log(p) - q^a / p;  of -log(q) p^a = p^a / q - a p^(a-1) log(q).
        q_a1, p_a1 = q.pow(alpha - 1), pred.pow(alpha - 1)
        d_pos = (pred + EPS).log_().mul_(alpha).sub_(q / (pred + EPS)).mul_(q_a1).mul_(pos)
        d_neg = (p_a1 * pred).div_(q + EPS).sub_((q + EPS).log_().mul_(p_a1).mul_(alpha)).mul_(neg)
        return d_pos.add_(d_neg).mul_(grad), None, None, None


def lesps_loss(
    pred: torch.Tensor | Sequence[torch.Tensor],
    target: torch.Tensor,
    alpha: float = 2.0,
    gamma: float = 4.0,
    size_balance: float = 0.0,
) -> torch.Tensor:
    """LESPS training loss: summed focal loss over heads, each divided by max(1, #(target == 1)).

    Args:
        pred: probabilities (N,1,H,W), or a list of them (DNANet deep supervision).
        target: labels (N,1,H,W) in [0, 1]; negative pixels (unknown) are left out.
        alpha, gamma: focal exponents (paper: 2 and 4).
        size_balance: exponent of the positive term's size weights (`size_weights`; 0: the reference).

    Returns:
        Scalar loss tensor.
    """
    heads = list(pred) if isinstance(pred, list | tuple) else [pred]
    # The count is taken as a tensor so no host sync happens inside the training step.
    avg = (target == 1).sum().clamp(min=1).float()
    target = target.float()
    known = target >= 0
    target = target.clamp(min=0)
    weighted = (
        target * _labelled_weights(target, size_balance, BALANCE_WINDOW) if size_balance > 0 else target
    )
    # where(), not a product: an unknown pixel's coefficients are exactly 0, so it adds 0 and no gradient.
    pos = torch.where(known, weighted, 0)
    neg = torch.where(known, (1 - target).pow(gamma), 0)
    total = heads[0].new_zeros((), dtype=torch.float32)
    for head in heads:
        total = total + _FocalSum.apply(head.float(), pos, neg, alpha) / avg
    return total
