"""LCM pseudo-masks: a synthetic frame with a known target and clutter; the CLI writes and trains on them."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from lesps_deploy.cli import app
from lesps_deploy.data import read_mask
from lesps_deploy.data.contrast import contrast_map
from lesps_deploy.training.pseudo_masks import WINDOW, pseudo_mask, pseudo_masks_for


def _frame(seed: int = 0) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """A 128x160 frame: sloped background, noise, a bright cloud edge, a 5x7 elliptic target at (40, 60)."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[:128, :160].astype(np.float32)
    frame = 60 + 0.3 * rows + rng.normal(0, 2, (128, 160)).astype(np.float32)
    frame[:, 120:] += 70  # a strong vertical edge far from the target
    target = ((rows - 40) / 2.6) ** 2 + ((cols - 60) / 3.6) ** 2 <= 1
    frame += 50 * target
    return frame, target, (40, 60)


@pytest.mark.parametrize("method", ["tophat", "mpcm"])
def test_pseudo_mask_covers_the_target_and_nothing_across_the_image(method):
    frame, target, (r, c) = _frame()
    points = np.zeros(frame.shape, np.uint8)
    points[r, c] = 255
    mask = pseudo_mask(contrast_map(frame, method), points)
    inter, union = (mask & target).sum(), (mask | target).sum()
    assert mask[r, c] and inter / target.sum() >= 0.6 and inter / union >= 0.4
    ys, xs = np.nonzero(mask)
    assert np.abs(ys - r).max() <= WINDOW // 2 and np.abs(xs - c).max() <= WINDOW // 2
    assert not mask[:, 100:].any()  # the edge's strong contrast is never reached


def test_point_without_contrast_stays_a_point():
    flat = np.full((64, 64), 100, np.float32)
    points = np.zeros((64, 64), np.uint8)
    points[10, 20] = 255
    for method in ("tophat", "mpcm"):
        assert pseudo_mask(contrast_map(flat, method), points).sum() == 1
    labels = pseudo_masks_for([flat], [points.astype(np.float32) / 255], "tophat")
    assert labels[0].dtype == np.float32 and labels[0].sum() == 1


def test_cli_writes_pseudo_masks_and_trains_on_them(tiny_maker, nuaa_dir, tmp_path):
    root = tiny_maker(nuaa_dir, tmp_path / "tiny")
    runner = CliRunner()
    res = runner.invoke(app, ["labels", str(root), "--type", "lcm-tophat"])
    assert res.exit_code == 0, res.output
    files = sorted((root / "masks_tophat").glob("*.png"))
    assert len(files) == 9 and all(read_mask(f).max() == 255 for f in files)
    res = runner.invoke(
        app,
        ["train", "--model", "ACM", "--data", str(root), "--labels", "tophat", "--epochs", "1",
         "--batch-size", "3", "--patch-size", "64", "--device", "cpu", "--eval-every", "0",
         "--out", str(tmp_path / "run")],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert (tmp_path / "run" / "ACM_LCM_tophat.pth.tar").is_file()
    missing = runner.invoke(app, ["train", "--model", "ACM", "--data", str(root), "--labels", "mpcm"])
    assert missing.exit_code != 0 and "lcm-mpcm" in (missing.exception.hint or "")
