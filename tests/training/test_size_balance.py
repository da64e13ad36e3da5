"""`--size-balance`: the loss's positive term weighed by each target's label mass (training.loss)."""

from __future__ import annotations

import json

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from lesps_deploy.training.config import TrainConfig
from lesps_deploy.training.evolution import UNKNOWN
from lesps_deploy.training.loss import BALANCE_WINDOW, focal_loss_map, lesps_loss, size_weights
from lesps_deploy.training.trainer import train


def _isolated_targets(seed: int, n: int, size: int) -> tuple[torch.Tensor, list[tuple[slice, slice]]]:
    """Rectangles of 1..8 pixels a side (any window pixel of theirs sees all of them), one per grid cell
    far enough apart that no box holds two; soft values around a point of 1 (evolution keeps points at 1,
    so a label's mass is never under 1, where the weights stop growing)."""
    rng = np.random.default_rng(seed)
    cell = 2 * BALANCE_WINDOW
    target = torch.zeros(1, 1, size, size)
    boxes = []
    for k in range(n):
        r0, c0 = divmod(k, size // cell)
        h, w = (int(v) for v in rng.integers(1, BALANCE_WINDOW // 2 + 2, 2))
        box = (slice(r0 * cell, r0 * cell + h), slice(c0 * cell, c0 * cell + w))
        target[0, 0][box] = torch.from_numpy(rng.uniform(0.2, 1.0, (h, w)).astype(np.float32))
        target[0, 0, r0 * cell, c0 * cell] = 1.0
        boxes.append(box)
    return target, boxes


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 9))
def test_at_one_every_isolated_target_carries_the_same_mass(seed: int, n: int) -> None:
    target, boxes = _isolated_targets(seed, n, 3 * 2 * BALANCE_WINDOW)
    weighted = size_weights(target, 1.0) * target
    per_target = torch.stack([weighted[0, 0][box].sum() for box in boxes])
    torch.testing.assert_close(per_target, per_target.mean().expand(n), rtol=1e-4, atol=1e-4)
    # Rescaled so the batch's labelled mass is unchanged.
    torch.testing.assert_close(weighted.sum(), target.sum(), rtol=1e-5, atol=1e-5)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31 - 1), st.floats(0.0, 1.0), st.integers(5, 40), st.integers(5, 40))
def test_weights_are_the_box_mass_to_the_power_and_keep_the_mass(
    seed: int, power: float, h: int, w: int
) -> None:
    rng = np.random.default_rng(seed)
    target = torch.from_numpy((rng.random((2, 1, h, w)) < 0.1) * rng.random((2, 1, h, w))).float()
    weights = size_weights(target, power)
    # The reference box sum: a zero-padded average pool times the window's area.
    half = BALANCE_WINDOW // 2
    mass = (
        F.avg_pool2d(target, BALANCE_WINDOW, stride=1, padding=half, count_include_pad=True)
        * BALANCE_WINDOW**2
    )
    raw = mass.clamp(min=1).pow(-power)
    on = target > 0
    if on.any():
        scale = target.sum() / (raw * target).sum()
        torch.testing.assert_close(weights[on], (raw * scale)[on], rtol=1e-4, atol=1e-5)
        torch.testing.assert_close((weights * target).sum(), target.sum(), rtol=1e-5, atol=1e-5)
    assert (weights[~on] == 1).all() and torch.isfinite(weights).all()


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1), st.floats(0.0, 1.0), st.floats(0.0, 0.5))
def test_the_loss_weighs_only_the_positive_term_and_skips_unknowns(
    seed: int, power: float, share: float
) -> None:
    rng = np.random.default_rng(seed)
    pred = torch.from_numpy(rng.uniform(0.01, 0.99, (2, 1, 24, 24)).astype(np.float32))
    target = torch.from_numpy((rng.random((2, 1, 24, 24)) < 0.15) * rng.random((2, 1, 24, 24))).float()
    target[0, 0, 3, 3] = 1.0
    unknown = torch.from_numpy(rng.random((2, 1, 24, 24)) < share) & (target == 0)
    with_unknown = torch.where(unknown, torch.tensor(UNKNOWN), target)
    loss = lesps_loss(pred, with_unknown, size_balance=power)
    weights = size_weights(target, power)
    expected = (focal_loss_map(pred, target, pos_weight=weights) * ~unknown).sum() / (target == 1).sum()
    torch.testing.assert_close(loss, expected)
    if power == 0:
        assert torch.equal(loss, lesps_loss(pred, with_unknown))
    grad_pred = pred.clone().requires_grad_(True)
    lesps_loss(grad_pred, with_unknown, size_balance=power).backward()
    assert (grad_pred.grad[unknown] == 0).all() and torch.isfinite(grad_pred.grad).all()


def test_a_small_target_gains_weight_a_large_one_loses_it() -> None:
    target = torch.zeros(1, 1, 64, 64)
    target[0, 0, 5:7, 5:7] = 1  # 4 pixels
    target[0, 0, 30:36, 30:36] = 1  # 36 pixels
    weights = size_weights(target, 0.5)
    small, large = weights[0, 0, 5, 5].item(), weights[0, 0, 32, 32].item()
    assert small > 1 > large and abs(small / large - 3.0) < 1e-4  # sqrt(36 / 4)


def test_a_run_with_size_balance_trains_and_records_it(tiny_dataset, tmp_path) -> None:
    cfg = TrainConfig(
        model="ACM", data=tiny_dataset, epochs=2, batch_size=3, patch_size=64, evolve_every=1,
        start_rule="tloss", tloss=1e9, device="cpu", out=tmp_path / "run", eval_every=0, seed=3,
        size_balance=1.0,
    )  # fmt: skip
    result = train(cfg)
    assert np.isfinite(result.losses).all()
    saved = json.loads((tmp_path / "run" / "config.json").read_text(encoding="utf-8"))
    assert saved["size_balance"] == 1.0
    # A run written before the option existed continues without it.
    del saved["size_balance"]
    assert TrainConfig.from_dict(saved).size_balance == 0.0
