"""The training loss's written-out gradient against autograd of the reference formula (training.loss)."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lesps_deploy.training.evolution import UNKNOWN
from lesps_deploy.training.loss import focal_loss_map, lesps_loss, size_weights


def _reference(heads: list[torch.Tensor], target: torch.Tensor, alpha: float, gamma: float, power: float):  # noqa: ANN202
    """The formula term by term, float64, differentiated by autograd."""
    known = target >= 0
    clean = target.clamp(min=0)
    weights = size_weights(clean, power) if power > 0 else None
    avg = (target == 1).sum().clamp(min=1)
    return sum((focal_loss_map(h, clean, alpha, gamma, weights) * known).sum() / avg for h in heads)


@settings(max_examples=80, deadline=None)
@given(
    st.integers(0, 2**31 - 1),
    st.sampled_from([2.0, 1.5, 3.0]),
    st.sampled_from([4.0, 2.0]),
    st.sampled_from([0.0, 0.5, 1.0]),
    st.integers(1, 4),
    st.booleans(),
)
def test_loss_and_gradient_equal_the_reference_formula(
    seed: int, alpha: float, gamma: float, power: float, n_heads: int, extremes: bool
) -> None:
    rng = np.random.default_rng(seed)
    shape = (2, 1, 20, 24)
    target = (rng.random(shape) < 0.2) * rng.random(shape)
    target[rng.random(shape) < 0.05] = 1.0
    target[rng.random(shape) < 0.1] = UNKNOWN
    target_t = torch.from_numpy(target)
    heads = []
    for _ in range(n_heads):
        p = rng.uniform(0.0, 1.0, shape)
        if extremes:  # saturated probabilities, as a sigmoid in float32 gives them
            p[rng.random(shape) < 0.2] = 0.0
            p[rng.random(shape) < 0.2] = 1.0
        heads.append(torch.from_numpy(p))
    ours = [h.float().requires_grad_(True) for h in heads]
    ref = [h.float().double().requires_grad_(True) for h in heads]  # the same float32 values
    loss = lesps_loss(ours, target_t.float(), alpha, gamma, size_balance=power)
    expected = _reference(ref, target_t.double(), alpha, gamma, power)
    loss.backward()
    expected.backward()
    torch.testing.assert_close(loss.double(), expected.detach(), rtol=2e-5, atol=1e-4)
    for mine, theirs in zip(ours, ref, strict=True):
        assert mine.grad is not None and theirs.grad is not None
        torch.testing.assert_close(
            mine.grad.double(), theirs.grad, rtol=1e-4, atol=1e-3 * float(theirs.grad.abs().max()) + 1e-6
        )
        assert (mine.grad[target_t < 0] == 0).all()


def test_labels_in_range_give_the_reference_sum_exactly() -> None:
    """On labels in [0, 1] the value is the plain formula summed in float32 (no reordering)."""
    gen = torch.Generator().manual_seed(0)
    pred = torch.rand(4, 1, 64, 64, generator=gen).clamp(1e-4, 1 - 1e-4)
    target = (torch.rand(4, 1, 64, 64, generator=gen) > 0.97).float() * torch.rand(
        4, 1, 64, 64, generator=gen
    )
    target[0, 0, 5, 5] = 1
    expected = focal_loss_map(pred, target).sum() / (target == 1).sum()
    torch.testing.assert_close(lesps_loss(pred, target), expected, rtol=1e-6, atol=0)
