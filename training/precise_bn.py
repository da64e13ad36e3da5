"""Population BatchNorm statistics for evaluation and the final checkpoint ("precise BN").

A network in eval mode normalizes with its BatchNorms' running statistics. The ACM and ALCNet layers
of the reference keep MXNet's `momentum=0.9` (`lesps_deploy.models.layers`; in PyTorch's convention a
step keeps 10 % of the old statistics), so after training those statistics are essentially the last
batch's: a checkpoint's test numbers then depend on which crops happened to come last (ACM, NUAA-SIRST,
400 epochs: IoU moves by up to 7 points between evaluations ten epochs apart at a learning rate of 5e-6).
Training keeps the quirk (it changes the numbers of a retrained model); evaluation and the final
checkpoint use statistics recomputed over many train crops, as in Wu & Johnson, "Rethinking 'Batch' in
BatchNorm" (2021): the mean of the batch means and the population variance (mean of the batch
variances plus the variance of the batch means), with the weights unchanged.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

import torch
from torch import nn

__all__ = ["precise_bn_copy"]


def _batch_norms(net: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [
        m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats
    ]


@torch.no_grad()
def precise_bn_copy(net: nn.Module, batches: Iterable[torch.Tensor]) -> nn.Module:
    """A copy of `net`, in eval mode, whose BatchNorm statistics are the population statistics of
    `batches` (input tensors already on the network's device); `net` itself is not changed.

    Returns the copy with the running statistics it had when `batches` is empty or `net` has no
    BatchNorm.
    """
    out = copy.deepcopy(net)
    norms = _batch_norms(out)
    if not norms:
        return out.eval()
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.momentum = 1.0  # after a forward pass, running_mean/var hold that batch's own statistics
    means = [torch.zeros_like(m.running_mean) for m in norms]  # type: ignore[arg-type]
    squares = [torch.zeros_like(m.running_var) for m in norms]  # type: ignore[arg-type]
    count = 0
    out.train()
    for batch in batches:
        out(batch)
        count += 1
        for m, mean, square in zip(norms, means, squares, strict=True):
            mean += m.running_mean  # type: ignore[operator]
            square += m.running_var + m.running_mean**2  # type: ignore[operator]
    for m, mean, square, momentum in zip(norms, means, squares, momenta, strict=True):
        m.momentum = momentum
        if count:
            mean /= count
            m.running_mean.copy_(mean)  # type: ignore[union-attr]
            m.running_var.copy_((square / count - mean**2).clamp(min=0))  # type: ignore[union-attr]
    return out.eval()
