"""Device defaults of training: float32 and channels-last on the CPU, AMP and channels-last on CUDA
(the CUDA run skips without a GPU); the checkpoint of a channels-last run loads into a plain model."""

from __future__ import annotations

import pytest
import torch

from lesps_deploy.models import create_model, load_checkpoint
from lesps_deploy.training import TrainConfig, train
from lesps_deploy.training.setup import resolved_amp, resolved_channels_last


def test_defaults_per_device() -> None:
    cfg = TrainConfig(model="ACM")
    assert resolved_amp(cfg, "cpu") is False and resolved_amp(cfg, "cuda:0") is True
    assert resolved_amp(TrainConfig(amp=True), "cpu") and not resolved_amp(TrainConfig(amp=False), "cuda")
    assert resolved_channels_last(cfg, "cpu") and not resolved_channels_last(
        TrainConfig(channels_last=False), "cpu"
    )


def _run(data, out, device: str):
    cfg = TrainConfig(
        model="ACM", data=data, labels="centroid", epochs=1, batch_size=3, patch_size=64, device=device,
        out=out, eval_every=0, eval_limit=1, seed=0,
    )  # fmt: skip
    return train(cfg)


def test_channels_last_checkpoint_loads_into_a_plain_model(tiny_dataset, tmp_path) -> None:
    result = _run(tiny_dataset, tmp_path / "run", "cpu")
    ckpt = load_checkpoint(result.checkpoint)
    plain = create_model("ACM")
    plain.load_state_dict(ckpt.model.state_dict())
    x = torch.rand(1, 1, 64, 64)
    torch.testing.assert_close(plain.eval()(x), ckpt.model.eval()(x))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_trains_with_amp_and_channels_last(tiny_dataset, tmp_path) -> None:
    result = _run(tiny_dataset, tmp_path / "run", "cuda")
    saved = torch.load(tmp_path / "run" / "checkpoints" / "last.pth.tar", weights_only=False)
    assert saved["scaler"]  # the GradScaler of AMP was on
    assert result.losses and all(torch.isfinite(torch.tensor(result.losses)))
