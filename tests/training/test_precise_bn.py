"""Precise BatchNorm statistics: population statistics of the batches, weights and the training network
untouched, and a run whose final checkpoint carries them (evaluated as saved)."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from lesps_deploy.models import load_checkpoint
from lesps_deploy.training.config import TrainConfig
from lesps_deploy.training.precise_bn import precise_bn_copy
from lesps_deploy.training.trainer import train


def _net(momentum: float) -> nn.Module:
    return nn.Sequential(
        nn.BatchNorm2d(2, momentum=momentum),
        nn.Conv2d(2, 3, 3),
        nn.BatchNorm2d(3, momentum=momentum),
        nn.ReLU(),
    )


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 2**31 - 1),
    st.sampled_from([0.9, 0.1, None]),
    st.integers(1, 6),
    st.integers(2, 5),
    st.integers(4, 9),
)
def test_statistics_are_the_batches_population_statistics(
    seed: int, momentum: float | None, count: int, batch: int, side: int
) -> None:
    torch.manual_seed(seed)
    net = _net(momentum)  # type: ignore[arg-type]
    before = {k: v.clone() for k, v in net.state_dict().items()}
    gen = torch.Generator().manual_seed(seed)
    batches = [torch.randn(batch, 2, side, side, generator=gen) * 3 + 1 for _ in range(count)]
    out = precise_bn_copy(net, batches)
    assert not out.training and all(torch.equal(v, net.state_dict()[k]) for k, v in before.items())
    assert all(torch.equal(p, q) for p, q in zip(net.parameters(), out.parameters(), strict=True))
    # The first BatchNorm sees the data itself: mean of batch means, mean of (unbiased) batch variances
    # plus the spread of the batch means.
    per_mean = torch.stack([b.mean(dim=(0, 2, 3)) for b in batches])
    per_var = torch.stack([b.transpose(0, 1).reshape(2, -1).var(dim=1) for b in batches])
    mean = per_mean.mean(0)
    var = (per_var + per_mean**2).mean(0) - mean**2
    torch.testing.assert_close(out[0].running_mean, mean, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out[0].running_var, var, atol=1e-4, rtol=1e-4)
    assert out[0].momentum == net[0].momentum  # the copy trains on as the original would


def test_no_batches_or_no_batchnorm_keep_the_running_statistics() -> None:
    net = _net(0.9)
    net[0].running_mean.fill_(2.0)
    assert torch.equal(precise_bn_copy(net, []).state_dict()["0.running_mean"], net[0].running_mean)
    plain = nn.Conv2d(1, 1, 3)
    assert torch.equal(precise_bn_copy(plain, [torch.ones(1, 1, 5, 5)]).weight, plain.weight)


def test_final_checkpoint_holds_the_statistics_it_was_evaluated_with(tiny_dataset, tmp_path) -> None:
    base = dict(
        model="ACM", data=tiny_dataset, epochs=1, batch_size=3, patch_size=64, evolve_every=1, start_rule="tloss",
        tloss=1e9, device="cpu", eval_every=0, seed=3,
    )  # fmt: skip
    precise = train(TrainConfig(**base, out=tmp_path / "precise", precise_bn=4))
    running = train(TrainConfig(**base, out=tmp_path / "running", precise_bn=0))
    p_final = load_checkpoint(precise.checkpoint).model.state_dict()
    r_final = load_checkpoint(running.checkpoint).model.state_dict()
    p_last = load_checkpoint(precise.run_dir / "checkpoints" / "last.pth.tar").model.state_dict()
    weights = [k for k in p_final if "running" not in k and "num_batches" not in k]
    stats = [k for k in p_final if k.endswith("running_mean")]
    # Same training (the weights and the resumable checkpoint agree), other statistics in the final file.
    assert all(torch.equal(p_final[k], r_final[k]) for k in weights)
    assert all(torch.equal(p_last[k], r_final[k]) for k in stats)
    assert any(not torch.equal(p_final[k], r_final[k]) for k in stats)
    assert precise.losses == running.losses and np.isfinite(precise.metrics.iou)


def test_evaluations_during_training_take_at_most_an_epoch_of_batches(
    tiny_dataset, tmp_path, monkeypatch
) -> None:
    import lesps_deploy.training.trainer as trainer

    counts: list[int] = []
    real = trainer.precise_bn_copy

    def counting(net: nn.Module, batches):  # the real computation, counting its batches
        batches = list(batches)
        counts.append(len(batches))
        return real(net, batches)

    monkeypatch.setattr(trainer, "precise_bn_copy", counting)
    cfg = TrainConfig(
        model="ACM", data=tiny_dataset, epochs=2, batch_size=3, patch_size=64, start_rule="tloss", tloss=1e9,
        device="cpu", eval_every=1, seed=3, out=tmp_path / "run", precise_bn=5,
    )  # fmt: skip
    train(cfg)
    assert counts == [2, 5]  # epoch 1's evaluation: one epoch (6 images / 3); the final: all 5
