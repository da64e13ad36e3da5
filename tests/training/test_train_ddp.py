"""`lesps train` under torchrun: 2 CPU processes (gloo), one epoch, sharded evolution gathered on all ranks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from lesps_deploy.data import NORM_PRESETS, find_image, read_image, read_mask, read_split, resolve_norm
from lesps_deploy.models import load_checkpoint
from lesps_deploy.runtime.processing import infer_probabilities
from lesps_deploy.runtime.torch_backend import TorchBackend
from lesps_deploy.training import evolve_labels


def test_two_process_gloo_epoch(tiny_dataset, tmp_path):
    lesps = shutil.which("lesps") or str(Path(sys.executable).parent / "lesps")
    run = tmp_path / "run"
    # The paper's update (--envelope 0): compared below with a one-process evolution.
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", lesps,
        "train", "--model", "ACM", "--data", str(tiny_dataset), "--labels", "centroid", "--epochs", "1",
        "--batch-size", "4", "--patch-size", "64", "--tloss", "1e9", "--device", "cpu", "--out", str(run),
        "--eval-every", "0", "--start-rule", "tloss", "--init-labels", "points", "--envelope", "0",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]

    events = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    kinds = [e["event"] for e in events]
    # written once, by rank 0
    assert kinds == ["labels", "label_quality", "epoch", "start_rule", "evolution", "label_quality", "eval"]
    assert load_checkpoint(run / "ACM_LESPS_centroid.pth.tar").extra["epoch"] == 1
    # The training network itself (the final file holds recomputed BatchNorm statistics: --precise-bn).
    ckpt = load_checkpoint(run / "checkpoints" / "last.pth.tar")
    assert ckpt.extra["epoch"] == 1

    # The round after epoch 1 used the final weights: gathered shards must equal a one-process evolution.
    train_names = read_split(tiny_dataset, "train")
    norm = resolve_norm("auto", tiny_dataset)
    assert norm != NORM_PRESETS["NUAA-SIRST"]
    images = [read_image(find_image(tiny_dataset, n)) for n in train_names]
    probs = infer_probabilities(
        TorchBackend.from_module(ckpt.model, ckpt.meta), images, norm, ckpt.meta.pad_multiple, patch_size=None
    )
    with np.load(run / "labels" / "round_001.npz") as npz:
        assert sorted(npz.files) == sorted(train_names)
        for name, prob in zip(train_names, probs, strict=True):
            start = read_mask(find_image(tiny_dataset, name, "masks_centroid")).astype(np.float32) / 255
            np.testing.assert_allclose(npz[name], evolve_labels(prob, start), atol=1e-5)
