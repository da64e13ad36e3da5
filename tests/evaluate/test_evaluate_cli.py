"""`lesps evaluate` bad input handling on a small generated dataset with a tiny random model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from typer.testing import CliRunner

from lesps_deploy.app.cli import app
from lesps_deploy.metadata import ModelMeta
from lesps_deploy.models import create_model, save_checkpoint


def tiny_dataset(root: Path, n: int = 4) -> Path:
    for sub in ("images", "masks", "img_idx"):
        (root / sub).mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = [f"f{i}" for i in range(n)]
    for name in names:
        img = rng.integers(60, 90, (64, 64), dtype=np.uint8)
        mask = np.zeros((64, 64), np.uint8)
        r, c = rng.integers(8, 56, 2)
        img[r - 1 : r + 2, c - 1 : c + 2] = 250
        mask[r - 1 : r + 2, c - 1 : c + 2] = 255
        Image.fromarray(img).save(root / "images" / f"{name}.png")
        Image.fromarray(mask).save(root / "masks" / f"{name}.png")
    (root / "img_idx" / f"test_{root.name}.txt").write_text("\n".join(names) + "\n")
    return root


def tiny_checkpoint(path: Path) -> Path:
    torch.manual_seed(0)
    return save_checkpoint(path, create_model("ACM"), ModelMeta(model="ACM", mean=75.0, std=20.0)) or path


def test_evaluate_own_checkpoint_and_bad_image(tmp_path: Path) -> None:
    data = tiny_dataset(tmp_path / "Tiny")
    ckpt = tiny_checkpoint(tmp_path / "acm.pth")
    runner = CliRunner()
    ok = runner.invoke(
        app, ["evaluate", str(ckpt), "--data", str(data), "--per-image", str(tmp_path / "p.csv")]
    )
    assert ok.exit_code == 0, ok.output
    assert len((tmp_path / "p.csv").read_text().splitlines()) == 5
    (data / "images" / "f1.png").write_bytes(b"truncated")
    bad = runner.invoke(app, ["evaluate", str(ckpt), "--data", str(data)])
    assert bad.exit_code == 1 and "f1.png" in bad.output
    assert runner.invoke(app, ["evaluate", str(ckpt), "--data", str(data), "--skip-bad"]).exit_code == 0


def test_released_checkpoint_needs_norm(tmp_path: Path) -> None:
    data = tiny_dataset(tmp_path / "Tiny")
    ckpt = tmp_path / "bare.pth"
    torch.save({"state_dict": {f"model.{k}": v for k, v in create_model("ACM").state_dict().items()}}, ckpt)
    result = CliRunner().invoke(app, ["evaluate", str(ckpt), "--data", str(data)])
    assert result.exit_code != 0
    assert "normalization" in str(result.exception)
