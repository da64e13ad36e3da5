"""Trainer: a short CPU run that evolves labels and whose checkpoint `lesps evaluate` reads; resume after
SIGKILL; bad inputs; the LESPS schedule."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from lesps_deploy.cli import app
from lesps_deploy.data import write_mask_png
from lesps_deploy.errors import ConfigError, DataError
from lesps_deploy.models import load_checkpoint
from lesps_deploy.training import EvolutionRound, TrainConfig, TrainingError, train
from lesps_deploy.training.trainer import evolution_rounds_due


def _cfg(data: Path, out: Path, **kw) -> TrainConfig:
    base = dict(
        model="ACM",
        data=data,
        labels="centroid",
        epochs=2,
        batch_size=3,
        patch_size=64,
        tloss=1e9,
        start_rule="tloss",  # these tests exercise the paper's schedule
        evolve_every=2,
        device="cpu",
        out=out,
        eval_every=0,
        seed=3,
    )
    return TrainConfig(**{**base, **kw})


def test_two_epochs_evolve_and_checkpoint_evaluates(tiny_dataset, nuaa_dir, tmp_path):
    events = []
    result = train(_cfg(tiny_dataset, tmp_path / "run"), callback=events.append)
    # Loss < tloss after epoch 1 starts evolution; epoch 2 is a multiple of evolve_every.
    assert [(r.index, r.epoch) for r in result.rounds] == [(1, 1), (2, 2)]
    assert all(0 <= r.label_iou <= 1 for r in result.rounds)
    assert sum(isinstance(e, EvolutionRound) for e in events) == 2
    with np.load(result.rounds[-1].labels_file) as npz:
        assert sorted(npz.files) == sorted(np.loadtxt(tiny_dataset / "img_idx" / "train_tiny.txt", dtype=str))
    assert result.checkpoint.name == "ACM_LESPS_centroid.pth.tar" and result.metrics["images"] == 3

    ckpt = load_checkpoint(result.checkpoint)
    assert ckpt.meta.model == "ACM" and ckpt.meta.label_type == "centroid" and ckpt.meta.mean is not None
    assert ckpt.extra["epoch"] == 2 and ckpt.extra["seed"] == 3
    raw = torch.load(result.checkpoint, weights_only=True)
    assert all(k.startswith("model.") for k in raw["state_dict"])  # the paper's code loads it

    out = CliRunner().invoke(
        app,
        [
            "evaluate",
            str(result.checkpoint),
            "--data",
            str(tiny_dataset),
            "--json",
            str(tmp_path / "eval.json"),
        ],
    )
    assert out.exit_code == 0, out.output
    summary = json.loads((tmp_path / "eval.json").read_text())
    assert summary["images"] == 3 and summary["IoU"] == pytest.approx(result.metrics["IoU"])

    lines = [json.loads(x) for x in (result.run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [x["epoch"] for x in lines if x["event"] == "epoch"] == [1, 2]


_KILLER = """
import os, signal, sys
from lesps_deploy.training import EpochRecord, TrainConfig, train
cfg = TrainConfig.from_json(sys.argv[1])
def die(record):
    if isinstance(record, EpochRecord) and record.epoch == 2:
        os.kill(os.getpid(), signal.SIGKILL)  # like kill -9: after epoch 2 trained, before its checkpoint
train(cfg, callback=die)
"""


def test_resume_after_kill_continues_identically(tiny_dataset, tmp_path):
    cfg = _cfg(tiny_dataset, tmp_path / "killed", epochs=3, evolve_every=2)
    (tmp_path / "cfg.json").write_text(json.dumps(cfg.to_dict()))
    proc = subprocess.run(
        [sys.executable, "-c", _KILLER, str(tmp_path / "cfg.json")],
        capture_output=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    saved = load_checkpoint(tmp_path / "killed" / "checkpoints" / "last.pth.tar")
    assert saved.extra["epoch"] == 1 and saved.extra["train_state"]["labels_file"] == "labels/round_001.npz"

    out = CliRunner().invoke(app, ["train", "--resume", str(tmp_path / "killed")])
    assert out.exit_code == 0, out.output
    resumed = load_checkpoint(tmp_path / "killed" / "ACM_LESPS_centroid.pth.tar").extra["train_state"]
    straight = train(replace(cfg, out=tmp_path / "straight"))
    assert resumed["epoch"] == 3 and [r["epoch"] for r in resumed["rounds"]] == [1, 2]
    np.testing.assert_allclose(resumed["losses"], straight.losses, rtol=1e-5)
    last = tmp_path / "killed" / resumed["labels_file"]
    with np.load(last) as a, np.load(straight.rounds[-1].labels_file) as b:
        for name in a.files:
            np.testing.assert_allclose(a[name], b[name], atol=1e-5)
    epochs = [
        json.loads(x)["epoch"]
        for x in (tmp_path / "killed" / "metrics.jsonl").read_text().splitlines()
        if json.loads(x)["event"] == "epoch"
    ]
    assert epochs == [1, 2, 3]


@pytest.mark.filterwarnings("ignore:overflow encountered")
def test_nan_loss_stops_and_keeps_last_checkpoint(tiny_dataset, tmp_path):
    run = tmp_path / "run"
    train(_cfg(tiny_dataset, run, epochs=1, tloss=0.0))
    config = json.loads((run / "config.json").read_text())
    config["norm"] = "0,1e-45"  # inputs become inf -> NaN loss in epoch 2
    (run / "config.json").write_text(json.dumps(config))
    with pytest.raises(TrainingError, match="last good checkpoint kept") as err:
        train(TrainConfig(resume=run, epochs=3))
    assert "epoch 2" in str(err.value)
    assert load_checkpoint(run / "checkpoints" / "last.pth.tar").extra["epoch"] == 1


def test_missing_labels_say_how_to_make_them(nuaa_dir, tmp_path, tiny_maker):
    root = tiny_maker(nuaa_dir, tmp_path / "nolabels", folders=("images", "masks"))
    with pytest.raises(DataError) as err:
        train(_cfg(root, tmp_path / "run", labels="coarse"))
    assert f"lesps labels {root} --type coarse" in err.value.hint


def test_wrong_size_label_and_empty_split(nuaa_dir, tmp_path, tiny_maker):
    root = tiny_maker(nuaa_dir, tmp_path / "tiny")
    bad = root / "masks_centroid" / "Misc_23.png"
    bad.unlink()
    write_mask_png(bad, np.zeros((10, 10), np.uint8))
    with pytest.raises(DataError, match="Misc_23.png: label is 10x10"):
        train(_cfg(root, tmp_path / "run"))
    (root / "img_idx" / "train_tiny.txt").write_text("\n")
    with pytest.raises(DataError, match="empty"):
        train(_cfg(root, tmp_path / "run2"))


def test_schedule_double_round_quirk_and_full_masks():
    cfg = TrainConfig(tloss=10, evolve_every=5, start_rule="tloss")
    assert evolution_rounds_due(False, 11.0, 4, cfg) == (False, 0)
    assert evolution_rounds_due(False, 9.0, 4, cfg) == (True, 1)
    assert evolution_rounds_due(False, 9.0, 5, cfg) == (True, 2)  # the reference's two rounds
    assert evolution_rounds_due(True, 20.0, 10, cfg) == (True, 1)
    assert evolution_rounds_due(False, 0.0, 5, replace(cfg, labels="full")) == (False, 0)


def test_config_round_trip_and_errors(tmp_path):
    cfg = TrainConfig(model="DNANet", data=tmp_path, milestones=(3, 4))
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="unknown training options: bogus"):
        TrainConfig.from_dict({"bogus": 1})
    with pytest.raises(ConfigError, match="labels="):
        TrainConfig(labels="boxes")
    with pytest.raises(ConfigError, match="no resumable run"):
        train(TrainConfig(resume=tmp_path))
    assert os.environ.get("WORLD_SIZE") is None


def test_prior_init_sets_output_biases():
    import math

    import pytest
    import torch

    from lesps_deploy.errors import ConfigError
    from lesps_deploy.models import create_model
    from lesps_deploy.training.trainer import init_output_prior

    net = create_model("DNANet", deep_supervision=True)
    assert init_output_prior(net, 0.01) == 4
    heads = [
        m
        for m in net.modules()
        if isinstance(m, torch.nn.Conv2d) and m.out_channels == 1 and m.bias is not None
    ]
    assert all(torch.allclose(h.bias, torch.full_like(h.bias, math.log(0.01 / 0.99))) for h in heads)
    with pytest.raises(ConfigError):
        init_output_prior(net, 1.5)


def test_label_or_mask_of_another_size_is_said_or_refused(nuaa_dir, tmp_path, tiny_maker):
    """NUAA-SIRST Misc_111 in the train split: 592x400 coarse label and mask for a 325x220 image."""
    from lesps_deploy.training.data import load_train_data

    root = tiny_maker(
        nuaa_dir, tmp_path / "tiny", folders=("images", "masks", "masks_centroid", "masks_coarse")
    )
    for folder in ("images", "masks", "masks_centroid", "masks_coarse"):
        (root / folder / "Misc_111.png").symlink_to(nuaa_dir / folder / "Misc_111.png")
    split = root / "img_idx" / "train_tiny.txt"
    split.write_text(split.read_text() + "Misc_111\n")
    size = "mask is 592x400 but its image is 325x220; cropped top-left"
    coarse = load_train_data(root, "coarse")
    assert [n.split("/")[-1] for n in coarse.notes] == [
        f"Misc_111.png: {size} to the image (the reference's rule)"
    ] * 2
    assert coarse.notes[0].startswith(str(root / "masks_coarse")) and coarse.labels[-1].shape == (220, 325)
    centroid = load_train_data(root, "centroid")  # the released centroid label has the image's size
    assert len(centroid.notes) == 1 and centroid.notes[0].startswith(str(root / "masks" / "Misc_111.png"))
    with pytest.raises(DataError, match="masks_coarse/Misc_111.png: mask is 592x400"):
        load_train_data(root, "coarse", strict_masks=True)


def test_16bit_train_frames_mapped_or_kept_raw_and_recorded(tmp_path):
    """A synthetic set of 16-bit frames (`lesps data synth`'s 16-bit option): agc maps them to 8 bits
    for an 8-bit model; raw trains a 16-bit model whose checkpoint says so, with dataset statistics."""
    from lesps_deploy.data import make_dataset, resolve_norm
    from lesps_deploy.data.synth_config import SynthConfig
    from lesps_deploy.training.data import load_train_data

    root = tmp_path / "synth16"
    make_dataset(root, SynthConfig(images=8, size=64, seed=1, bit16_fraction=1.0))
    agc = load_train_data(root, "centroid")
    assert agc.mapper.model_bits == 8 and all(img.min() >= 0 and img.max() <= 255 for img in agc.images)
    raw = load_train_data(root, "centroid", frame_mapping="raw")
    assert raw.mapper.model_bits == 16 and max(img.max() for img in raw.images) > 255
    with pytest.raises(ConfigError, match="8-bit statistics"):
        resolve_norm("SIRST3", root, raw.mapper)

    result = train(_cfg(root, tmp_path / "run", epochs=1, evolve_every=1, frame_mapping="raw"))
    meta = load_checkpoint(result.checkpoint).meta
    assert meta.input_bits == 16 and meta.mean > 255  # statistics of the raw 16-bit frames
