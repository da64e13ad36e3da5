"""Evolution start rules on synthetic loss curves and hit counts, and the late-start warning."""

from __future__ import annotations

import json
import logging

import pytest
import torch

from lesps_deploy.errors import ConfigError
from lesps_deploy.training import TrainConfig, train
from lesps_deploy.training.start_rules import MAX_BACKGROUND, HitCounts, decide_start
from lesps_deploy.training.trainer import evolution_rounds_due


def _counts(
    hit_rate: float, background_rate: float, labelled: int = 1000, background: int = 10**6
) -> HitCounts:
    return HitCounts(hit_rate * labelled, labelled, background_rate * background, background)


def _first_start(rule: str, losses: list[float], rates: list[float], background: float = 0.0) -> int | None:
    started = False
    for epoch, (loss, rate) in enumerate(zip(losses, rates, strict=True), start=1):
        started, due = evolution_rounds_due(
            started, loss, epoch, TrainConfig(start_rule=rule, tloss=10, evolve_every=1000),
            _counts(rate, background),
        )  # fmt: skip
        if due:
            return epoch
    return None


def test_tloss_never_starts_on_a_small_dataset_curve_while_hits_does():
    # One NUAA-SIRST epoch is 14 steps: the summed loss plateaus far above Tloss 10 (measured: 372 at
    # epoch 50, 34.5 at 228) while the network already finds the points.
    losses = [15000 / (1 + e) + 30 for e in range(200)]
    rates = [min(1.0, e / 100) for e in range(200)]
    assert _first_start("tloss", losses, rates) is None
    assert _first_start("hits", losses, rates) == 51  # first epoch at >= 50 % of the labelled pixels


def test_hits_starts_no_later_than_tloss_where_tloss_starts():
    # A large-dataset curve: the loss crosses Tloss after epoch 61, half the points are found at epoch 41.
    losses = [12 - e / 30 for e in range(120)]
    rates = [min(1.0, e / 80) for e in range(120)]
    assert _first_start("tloss", losses, rates) == 62
    assert _first_start("hits", losses, rates) == 41


def test_untrained_network_marking_the_background_is_not_ready():
    # An untrained head near 0.5 everywhere "hits" every point but marks much of the background too.
    assert not decide_start("hits", 100.0, 10.0, _counts(1.0, 0.4)).start
    assert not decide_start("hits", 100.0, 10.0, _counts(0.9, 2 * MAX_BACKGROUND)).start
    assert decide_start("hits", 100.0, 10.0, _counts(0.5, MAX_BACKGROUND / 2)).start
    assert not decide_start("hits", 100.0, 10.0, _counts(0.49, 0.0)).start


def test_hit_counts_from_a_batch():
    label = torch.zeros(1, 1, 8, 8)
    label[0, 0, 2, 2] = label[0, 0, 5, 5] = 1.0
    label[0, 0, 2, 3] = 0.4  # evolved, not sure: counted in neither
    pred = torch.zeros_like(label)
    pred[0, 0, 2, 2] = 0.9
    pred[0, 0, 7, 7] = 0.8
    counts = HitCounts()
    counts.add(pred, label, 0.5)
    assert counts.hit_rate == 0.5 and counts.background_rate == pytest.approx(1 / 61)


def test_bad_rule_options():
    with pytest.raises(ConfigError, match="start-rule"):
        TrainConfig(start_rule="never")
    with pytest.raises(ConfigError, match="init-labels"):
        TrainConfig(init_labels="boxes")
    with pytest.raises(ConfigError, match="start-hits"):
        TrainConfig(start_hits=0)
    assert TrainConfig(prior=0).prior is None


def test_late_start_warning_said_once_and_logged(tiny_dataset, tmp_path, caplog):
    cfg = TrainConfig(
        model="ACM", data=tiny_dataset, labels="centroid", epochs=4, batch_size=3, patch_size=64,
        start_rule="tloss", tloss=-1.0, init_labels="points", device="cpu", out=tmp_path / "run",
        eval_every=0, seed=3,
    )  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="lesps_deploy.training.trainer"):
        result = train(cfg)
    warnings = [r.getMessage() for r in caplog.records if "has not started" in r.getMessage()]
    assert len(warnings) == 1 and "after epoch 2 of 4" in warnings[0] and "Tloss -1" in warnings[0]
    assert "--start-rule hits" in warnings[0] and not result.rounds
    events = [json.loads(line) for line in (result.run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [e["epoch"] for e in events if e["event"] == "start_rule"] == [1, 2, 3, 4]
    assert sum(e["event"] == "late_start" for e in events) == 1
    first = next(e for e in events if e["event"] == "labels")
    assert first["init"] == "points" and first["label_iou"] < 0.1
