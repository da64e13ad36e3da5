"""`lesps evaluate` bad input handling on a small generated dataset with a tiny random model."""

from __future__ import annotations

from pathlib import Path

import torch
from conftest import write_tiny_dataset
from typer.testing import CliRunner

from lesps_deploy.cli import app
from lesps_deploy.metadata import ModelMeta
from lesps_deploy.models import create_model, save_checkpoint


def tiny_checkpoint(path: Path) -> Path:
    torch.manual_seed(0)
    return save_checkpoint(path, create_model("ACM"), ModelMeta(model="ACM", mean=75.0, std=20.0)) or path


def test_evaluate_own_checkpoint_and_bad_image(tmp_path: Path) -> None:
    data = write_tiny_dataset(tmp_path / "Tiny")
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
    data = write_tiny_dataset(tmp_path / "Tiny")
    ckpt = tmp_path / "bare.pth"
    torch.save({"state_dict": {f"model.{k}": v for k, v in create_model("ACM").state_dict().items()}}, ckpt)
    result = CliRunner().invoke(app, ["evaluate", str(ckpt), "--data", str(data)])
    assert result.exit_code != 0
    assert "normalization" in str(result.exception)


def test_mask_of_another_size_is_reported_counted_or_refused(tmp_path: Path) -> None:
    """A 70x60 mask for a 64x64 image: one line naming both sizes, counted in the JSON, and fitted
    like the reference (cropped right, zero-padded bottom); with --strict-masks a bad file."""
    import json

    import numpy as np
    from PIL import Image

    data = write_tiny_dataset(tmp_path / "Tiny")
    mask = np.zeros((60, 70), np.uint8)
    mask[:64, :64] = np.asarray(Image.open(data / "masks" / "f2.png"))[:60]
    Image.fromarray(mask).save(data / "masks" / "f2.png")
    ckpt = tiny_checkpoint(tmp_path / "acm.pth")
    runner = CliRunner()
    out = tmp_path / "e.json"
    ok = runner.invoke(app, ["evaluate", str(ckpt), "--data", str(data), "--json", str(out)])
    assert ok.exit_code == 0, ok.output
    said = " ".join(ok.output.split())
    assert "f2.png: mask is 70x60 but its image is 64x64; cropped top-left and zero-padded" in said
    assert said.count("mask is 70x60") == 1  # said once
    summary = json.loads(out.read_text())
    assert (summary["images"], summary["mask_size_mismatches"]) == (4, 1)

    strict = runner.invoke(
        app, ["evaluate", str(ckpt), "--data", str(data), "--strict-masks", "--json", str(out), "--force"]
    )
    assert strict.exit_code == 1 and "f2.png: mask is 70x60 but its image is 64x64" in " ".join(
        strict.output.split()
    )
    summary = json.loads(out.read_text())
    assert (summary["images"], summary["mask_size_mismatches"]) == (3, 0)
