"""Synthetic infrared data: determinism, layout, exact masks, centroid labels, 16-bit frames, video."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import read_video
from scipy import ndimage
from typer.testing import CliRunner

from lesps_deploy.data import IRSTDDataset, read_image, read_mask, read_split
from lesps_deploy.data.synth import (
    MAX_AREA,
    SynthConfig,
    make_dataset,
    make_video,
    synth_frame,
)
from lesps_deploy.data.synth_backgrounds import SCENES
from lesps_deploy.errors import ConfigError, DataError

EIGHT = np.ones((3, 3), bool)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synth") / "tiny-synth"
    make_dataset(root, SynthConfig(images=24, size=64, seed=3, bit16_fraction=0.4))
    return root


@pytest.mark.parametrize("scene", sorted(SCENES))
def test_frame_deterministic_and_binary(scene: str) -> None:
    a = synth_frame(np.random.default_rng(7), 64, scene=scene)
    b = synth_frame(np.random.default_rng(7), 64, scene=scene)
    c = synth_frame(np.random.default_rng(8), 64, scene=scene)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    image, mask = a
    assert image.dtype == np.uint8 and image.shape == mask.shape == (64, 64)
    assert set(np.unique(mask)) == {0, 255}


def test_frame_targets_are_separate_components() -> None:
    for i in range(12):
        _, mask = synth_frame(np.random.default_rng(i), 96, n_targets=4)
        labels, n = ndimage.label(mask > 0, EIGHT)
        assert 1 <= n <= 4
        assert np.bincount(labels.ravel())[1:].max() <= MAX_AREA


def test_frame_targets_raise_the_image() -> None:
    # The masked pixels must really be brighter than the frame around them (no invisible ground truth).
    for i in range(8):
        image, mask = synth_frame(np.random.default_rng(100 + i), 96, n_targets=2, hard_fraction=0.0)
        inside = image[mask > 0].astype(float).mean()
        ring = ndimage.binary_dilation(mask > 0, EIGHT, iterations=3) & (mask == 0)
        assert inside > image[ring].astype(float).mean() + 5


def test_frame_16bit() -> None:
    image, _ = synth_frame(np.random.default_rng(0), 64, bit16=True)
    assert image.dtype == np.uint16 and image.max() > 255


def test_dataset_layout(dataset: Path) -> None:
    train, test = read_split(dataset, "train"), read_split(dataset, "test")
    assert (dataset / "img_idx" / "train_tiny-synth.txt").is_file()
    assert (dataset / "img_idx" / "test_tiny-synth.txt").is_file()
    assert len(train) == len(test) == 12 and not set(train) & set(test)
    for folder in ("images", "masks", "masks_centroid"):
        assert sorted(p.stem for p in (dataset / folder).glob("*.png")) == sorted(train + test)
    manifest = json.loads((dataset / "synth.json").read_text())
    assert len(manifest["images"]) == 24 and manifest["config"]["seed"] == 3
    sample = IRSTDDataset(dataset, "test")[0]
    assert sample.image.shape == sample.mask.shape == (64, 64)


def test_dataset_masks_and_centroids(dataset: Path) -> None:
    manifest = {r["name"]: r for r in json.loads((dataset / "synth.json").read_text())["images"]}
    for name, record in manifest.items():
        mask = read_mask(dataset / "masks" / f"{name}.png")
        points = read_mask(dataset / "masks_centroid" / f"{name}.png")
        assert set(np.unique(mask)) == {0, 255}
        labels, n = ndimage.label(mask > 0, EIGHT)
        assert n == len(record["targets"]) >= 1
        centres = np.floor(ndimage.center_of_mass(mask > 0, labels, range(1, n + 1))).astype(int)
        expected = np.zeros_like(points)
        expected[centres[:, 0], centres[:, 1]] = 255
        assert np.array_equal(points, expected)


def test_dataset_16bit_readable(dataset: Path) -> None:
    manifest = json.loads((dataset / "synth.json").read_text())["images"]
    deep = [r["name"] for r in manifest if r["bit_depth"] == 16]
    assert deep and len(deep) < len(manifest)
    image = read_image(dataset / "images" / f"{deep[0]}.png")
    assert image.dtype == np.uint16 and image.max() > 255  # read as it is: its depth is known downstream
    assert cv2.imread(str(dataset / "images" / f"{deep[0]}.png"), cv2.IMREAD_UNCHANGED).dtype == np.uint16


def test_dataset_deterministic(tmp_path: Path, dataset: Path) -> None:
    # Image i depends on (seed, i) only: a shorter run reproduces the first frames byte for byte.
    again = tmp_path / "tiny-synth"
    make_dataset(again, SynthConfig(images=6, size=64, seed=3, bit16_fraction=0.4))
    for i in range(6):
        for folder in ("images", "masks"):
            name = f"synth_{i:04d}.png"
            assert np.array_equal(read_image(again / folder / name), read_image(dataset / folder / name))


def test_writes_over_its_own_output_only(tmp_path: Path) -> None:
    """Its own earlier dataset (synth.json there) is written over; anyone else's only with overwrite;
    a file where the folder goes is refused before any work."""
    own = tmp_path / "own"
    make_dataset(own, SynthConfig(images=4, size=64))
    make_dataset(own, SynthConfig(images=4, size=64, seed=1))
    theirs = tmp_path / "theirs"
    (theirs / "masks").mkdir(parents=True)
    (theirs / "masks" / "x.png").write_bytes(b"a user's mask")
    with pytest.raises(DataError, match="did not make"):
        make_dataset(theirs, SynthConfig(images=4, size=64))
    assert (theirs / "masks" / "x.png").read_bytes() == b"a user's mask" and not (theirs / "images").exists()
    (tmp_path / "file").write_text("x")
    for out in (tmp_path / "file", tmp_path / "file" / "sub"):
        with pytest.raises(DataError, match="is a file|a file is there"):
            make_dataset(out, SynthConfig(images=4, size=64))


def test_target_area_and_contrast_options(tmp_path: Path) -> None:
    cfg = SynthConfig(
        images=16, size=96, seed=5, hard_fraction=0.0, min_area=16, max_area=40, contrast=(40, 60)
    )
    make_dataset(tmp_path / "ds", cfg)
    targets = [
        t for r in json.loads((tmp_path / "ds" / "synth.json").read_text())["images"] for t in r["targets"]
    ]
    assert targets and all(16 <= t["area"] <= 40 for t in targets)
    assert min(t["peak"] for t in targets) >= 39.5  # the contrast floor (grey levels), less rounding
    for name in read_split(tmp_path / "ds", "train") + read_split(tmp_path / "ds", "test"):
        areas = np.bincount(
            ndimage.label(read_mask(tmp_path / "ds" / "masks" / f"{name}.png") > 0, EIGHT)[0].ravel()
        )
        assert all(16 <= a <= 40 for a in areas[1:])


@pytest.mark.parametrize(
    "bad",
    [
        {"images": 1}, {"train_fraction": 1.0}, {"size": 8}, {"bit16_fraction": 2.0}, {"min_area": 0},
        {"min_area": 30, "max_area": 20}, {"contrast": (30.0, 20.0)}, {"contrast": (0.0, 10.0)},
    ],
)  # fmt: skip
def test_config_rejects(bad: dict) -> None:
    with pytest.raises(ConfigError):
        SynthConfig(**bad)


def test_video_frames_and_truth(tmp_path: Path) -> None:
    summary = make_video(tmp_path / "clip.mp4", frames=12, size=64, seed=1)
    frames = read_video(summary.path)
    assert len(frames) == 12 and frames[0].shape[:2] == (64, 64)
    truth = np.load(summary.truth)
    masks, targets = truth["masks"], truth["targets"]
    assert masks.shape == (12, 64, 64) and set(np.unique(masks)) <= {0, 255}
    assert all(masks[t].any() for t in range(12))
    for t in range(12):
        labels, n = ndimage.label(masks[t] > 0, EIGHT)
        assert np.count_nonzero(targets[:, 0] == t) == n
        # The decoded (lossy) frame is brighter on the targets than just around them.
        gray = frames[t][..., 0].astype(float)
        ring = ndimage.binary_dilation(masks[t] > 0, EIGHT, iterations=3) & (masks[t] == 0)
        assert gray[masks[t] > 0].mean() > gray[ring].mean()


def test_cli_synth(tmp_path: Path) -> None:
    from lesps_deploy.cli import app

    out = tmp_path / "cli-synth"
    result = CliRunner().invoke(
        app, ["data", "synth", str(out), "--images", "6", "--size", "64", "--video", "5"]
    )
    assert result.exit_code == 0, result.output
    assert "6 images" in result.output
    assert len(read_split(out, "train")) + len(read_split(out, "test")) == 6
    assert (out / "video.mp4").is_file() and (out / "video_truth.npz").is_file()


@pytest.mark.parametrize(("fraction", "allowed"), [(0.0, {"ellipse", "blob"}), (1.0, {"point"})])
def test_point_fraction(tmp_path: Path, fraction: float, allowed: set[str]) -> None:
    out = tmp_path / "shapes"
    make_dataset(out, SynthConfig(images=6, size=64, point_fraction=fraction))
    images = json.loads((out / "synth.json").read_text())["images"]
    kinds = {t["shape"] for record in images for t in record["targets"]}
    assert kinds and kinds <= allowed
