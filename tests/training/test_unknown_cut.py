"""`--outside-envelope ignore`: pixels the envelope cuts from a round's candidates become unknown (left out
of the loss), the labels themselves stay those of the plain envelope, and every consumer of labels reads
an unknown pixel as unlabelled."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lesps_deploy.training.config import TrainConfig
from lesps_deploy.training.copy_paste import TargetBank
from lesps_deploy.training.data import label_iou
from lesps_deploy.training.evolution import UNKNOWN, WINDOW, evolve_labels
from lesps_deploy.training.loss import focal_loss_map, lesps_loss
from lesps_deploy.training.trainer import train


def _scene(seed: int, h: int, w: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A prediction of blobs wider than their envelopes (and noise), points at the blobs, envelopes."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w]
    pred = rng.uniform(0, 0.2, (h, w)).astype(np.float32)
    label = np.zeros((h, w), np.float32)
    envelope = np.zeros((h, w), bool)
    for _ in range(int(rng.integers(1, 5))):
        r, c = int(rng.integers(0, h)), int(rng.integers(0, w))
        r2 = (yy - r) ** 2 + (xx - c) ** 2
        pred = np.maximum(pred, rng.uniform(0.4, 1.0) * np.exp(-r2 / (2 * rng.uniform(1, 4) ** 2)))
        envelope |= r2 <= rng.uniform(0, 6) ** 2
        label[r, c] = 1.0
    return pred.astype(np.float32), label, envelope


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(8, 70), st.integers(8, 70), st.integers(1, 4))
def test_unknowns_change_nothing_but_the_cut_pixels(seed: int, h: int, w: int, rounds: int) -> None:
    pred, label, envelope = _scene(seed, h, w)
    plain = ignored = label
    for _ in range(rounds):
        unbounded = evolve_labels(pred, plain, envelope=None)  # the same round without the envelope
        plain = evolve_labels(pred, plain, envelope=envelope)
        ignored = evolve_labels(pred, ignored, envelope=envelope, unknown_cut=True)
        unknown = ignored < 0
        # The labels are exactly the plain envelope's; unknowns only where it leaves 0 and the same round
        # without it would have grown a label: what the envelope cut (off its support, or inside it but
        # cut off from the point by it).
        np.testing.assert_array_equal(np.maximum(ignored, 0), plain)
        assert (ignored[unknown] == UNKNOWN).all() and (plain[unknown] == 0).all()
        assert (unbounded[unknown] > 0).all() and (ignored[label == 1] == 1).all()
        # Only next to a label (inside some point's evolution window).
        if unknown.any():
            near = np.zeros_like(unknown)
            for r, c in np.argwhere(plain > 0.5):
                half = WINDOW // 2
                near[max(r - half, 0) : r + half + 1, max(c - half, 0) : c + half + 1] = True
            assert not (unknown & ~near).any()


def test_a_wide_prediction_leaves_its_rim_unknown() -> None:
    size = 48
    yy, xx = np.mgrid[:size, :size]
    r2 = (yy - 24) ** 2 + (xx - 24) ** 2
    pred = np.exp(-r2 / (2 * 3.5**2)).astype(np.float32)
    point = np.zeros((size, size), np.float32)
    point[24, 24] = 1
    envelope = r2 <= 4
    out = evolve_labels(pred, point, envelope=envelope, unknown_cut=True)
    assert ((out < 0) & ~envelope & (pred > 0.5)).sum() > 0  # the blob beyond the prior: unknown
    assert ((out >= 0.5) & ~envelope).sum() == 0
    # Without an envelope nothing is cut, so nothing is unknown.
    assert (evolve_labels(pred, point, unknown_cut=True) >= 0).all()


def test_the_next_round_decides_the_unknowns_anew() -> None:
    pred, label, envelope = _scene(5, 40, 40)
    first = evolve_labels(pred, label, envelope=envelope, unknown_cut=True)
    quiet = np.where(label == 1, 1.0, 0.0).astype(np.float32)  # the network now says: the points only
    again = evolve_labels(quiet, first, envelope=envelope, unknown_cut=True)
    assert (again >= 0).all()
    np.testing.assert_array_equal(again, evolve_labels(quiet, np.maximum(first, 0), envelope=envelope))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1), st.floats(0.0, 0.3))
def test_unknown_pixels_add_nothing_to_the_loss(seed: int, share: float) -> None:
    rng = np.random.default_rng(seed)
    pred = torch.from_numpy(rng.uniform(0.01, 0.99, (2, 1, 12, 12)).astype(np.float32))
    target = torch.from_numpy((rng.random((2, 1, 12, 12)) > 0.9).astype(np.float32))
    unknown = torch.from_numpy(rng.random((2, 1, 12, 12)) < share) & (target < 1)
    with_unknown = torch.where(unknown, torch.tensor(UNKNOWN), target)
    other = torch.where(unknown, torch.rand_like(pred), pred)  # any prediction there
    loss = lesps_loss(pred, with_unknown)
    assert torch.equal(loss, lesps_loss(other, with_unknown))
    expected = (focal_loss_map(pred, target) * ~unknown).sum() / (target == 1).sum().clamp(min=1)
    torch.testing.assert_close(loss, expected)
    grad_pred = pred.clone().requires_grad_(True)
    lesps_loss(grad_pred, with_unknown).backward()
    assert (grad_pred.grad[unknown] == 0).all() and torch.isfinite(grad_pred.grad).all()


def test_label_readers_see_unknown_as_unlabelled() -> None:
    image = np.full((30, 30), 50, np.float32)
    image[10:13, 10:13] = 200
    label = np.full((30, 30), UNKNOWN, np.float32)
    label[10:13, 10:13] = 1
    mask = np.zeros((30, 30), bool)
    mask[10:13, 10:13] = True
    assert label_iou([label], [mask]) == 1.0
    bank = TargetBank([image], [label])
    assert len(bank) == 1 and (bank.targets[0].label >= 0).all()


def test_a_run_with_unknowns_trains_and_logs_them(tiny_dataset, tmp_path) -> None:
    cfg = TrainConfig(
        model="ACM", data=tiny_dataset, epochs=2, batch_size=3, patch_size=64, evolve_every=1,
        start_rule="tloss", tloss=1e9, device="cpu", out=tmp_path / "run", eval_every=0, seed=3,
        outside_envelope="ignore",
    )  # fmt: skip
    result = train(cfg)
    assert np.isfinite(result.losses).all() and len(result.rounds) >= 2
    events = [
        line
        for line in (result.run_dir / "metrics.jsonl").read_text().splitlines()
        if "label_quality" in line
    ]
    assert events and all('"unknown_target"' in e and '"unknown_other"' in e for e in events)
    assert (
        TrainConfig.from_dict(
            {k: v for k, v in cfg.to_dict().items() if k != "outside_envelope"}
        ).outside_envelope
        == "background"
    )
