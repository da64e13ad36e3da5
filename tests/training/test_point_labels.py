"""Point labels: centroid labels reproduce the released masks_centroid; coarse labels are seeded and inside."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from lesps_deploy.data import read_mask, write_mask_png
from lesps_deploy.errors import ConfigError
from lesps_deploy.training import coarse_points, make_point_labels


def _linked_copy(nuaa: Path, tmp_path: Path) -> Path:
    root = tmp_path / "NUAA-SIRST"
    root.mkdir()
    for folder in ("images", "masks", "img_idx"):
        (root / folder).symlink_to(nuaa / folder)
    return root


def test_centroid_labels_match_release(nuaa_dir, tmp_path):
    root = _linked_copy(nuaa_dir, tmp_path)
    report = make_point_labels(root, "centroid")
    assert report.written == 427 and not report.errors
    different = [
        p.name
        for p in sorted((root / "masks_centroid").glob("*.png"))
        if not np.array_equal(read_mask(p), read_mask(nuaa_dir / "masks_centroid" / p.name))
    ]
    print(f"centroid labels equal to the release on {427 - len(different)}/427 images; differ: {different}")
    assert len(different) <= 1


def test_coarse_labels_seeded_and_inside(tmp_path):
    mask = np.zeros((60, 70), np.uint8)
    mask[5:15, 8:20] = 255
    mask[40:43, 50:52] = 255
    mask[30, 5] = 255
    a = coarse_points(mask, np.random.default_rng(1))
    b = coarse_points(mask, np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    assert (a > 0).sum() == 3 and (mask[a > 0] == 255).all()
    labels, n = ndimage.label(mask > 0, structure=np.ones((3, 3)))
    assert set(np.unique(labels[a > 0])) == set(range(1, n + 1))


def test_make_coarse_bad_mask_goes_on(tmp_path):
    root = tmp_path / "tiny"
    (root / "masks").mkdir(parents=True)
    (root / "images").mkdir()
    (root / "img_idx").mkdir()
    mask = np.zeros((32, 32), np.uint8)
    mask[10:14, 10:14] = 255
    for name in ("a", "b"):
        write_mask_png(root / "masks" / f"{name}.png", mask)
        write_mask_png(root / "images" / f"{name}.png", mask)
    (root / "masks" / "c.png").write_bytes(b"not a png")
    (root / "img_idx" / "train_tiny.txt").write_text("a\nb\nc\nd\n")
    report = make_point_labels(root, "coarse", seed=5)
    assert report.written == 2 and len(report.errors) == 2
    assert all("\n" not in e for e in report.errors)
    again = tmp_path / "again"
    shutil.copytree(root, again, ignore=shutil.ignore_patterns("masks_coarse"))
    make_point_labels(again, "coarse", seed=5)
    np.testing.assert_array_equal(
        read_mask(root / "masks_coarse" / "a.png"), read_mask(again / "masks_coarse" / "a.png")
    )


def test_unknown_kind():
    with pytest.raises(ConfigError, match="centroid"):
        make_point_labels(".", "full")


def test_labels_cli(nuaa_dir, tmp_path):
    from typer.testing import CliRunner

    from lesps_deploy.cli import app

    root = tmp_path / "d"
    (root / "masks").mkdir(parents=True)
    for name in ("Misc_1", "Misc_2"):
        (root / "masks" / f"{name}.png").symlink_to(nuaa_dir / "masks" / f"{name}.png")
    out = CliRunner().invoke(app, ["labels", str(root), "--type", "coarse", "--seed", "2"])
    assert out.exit_code == 0, out.output
    assert "wrote 2 coarse labels" in out.output
    assert sorted(p.name for p in (root / "masks_coarse").glob("*.png")) == ["Misc_1.png", "Misc_2.png"]
