"""Evolution start rules on synthetic loss curves and hit counts, and the late-start warning."""

from __future__ import annotations

import json
import logging

import pytest
import torch

from lesps_deploy.errors import ConfigError
from lesps_deploy.training import TrainConfig, train
from lesps_deploy.training.start_rules import HitCounts, decide_start
from lesps_deploy.training.trainer import evolution_rounds_due


def _counts(hit_rate: float, labelled: int = 1000) -> HitCounts:
    return HitCounts(hits=hit_rate * labelled, labelled=labelled, level_sum=0.1, batches=1)


def _first_start(rule: str, losses: list[float], rates: list[float]) -> int | None:
    started = False
    for epoch, (loss, rate) in enumerate(zip(losses, rates, strict=True), start=1):
        started, due = evolution_rounds_due(
            started, loss, epoch, TrainConfig(start_rule=rule, tloss=10, evolve_every=1000),
            _counts(rate),
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


def test_hit_rate_is_a_rank_against_the_background():
    gen = torch.Generator().manual_seed(0)
    label = torch.zeros(4, 1, 64, 64)
    label[:, :, 10, 10] = label[:, :, 40, 50] = 1.0
    label[:, :, 10, 11] = 0.4  # evolved, not sure: neither labelled nor background

    untrained = 0.5 + 0.01 * torch.randn(label.shape, generator=gen)  # ~0.5 everywhere
    counts = HitCounts()
    counts.add(untrained, label)
    assert counts.labelled == 8 and counts.hit_rate <= 0.125
    assert not decide_start("hits", 100.0, 10.0, counts).start

    # Points well below 0.5 (the focal loss on points) but above the background: found.
    trained = 0.01 * torch.rand(label.shape, generator=gen)
    trained[:, :, 10, 10] = 0.2
    trained[:, :, 40, 50] = 0.005
    counts = HitCounts()
    counts.add(trained, label)
    assert counts.hit_rate == 0.5 and 0 < counts.background_level < 0.01
    assert decide_start("hits", 100.0, 10.0, counts).start
    assert not decide_start("hits", 100.0, 10.0, _counts(0.49)).start


def test_bad_rule_options():
    with pytest.raises(ConfigError, match="start_rule="):
        TrainConfig(start_rule="never")
    with pytest.raises(ConfigError, match="init_labels="):
        TrainConfig(init_labels="boxes")
    with pytest.raises(ConfigError, match="start_hits="):
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
