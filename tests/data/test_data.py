"""Data layer: image semantics, masks, splits, normalization, padding, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lesps_deploy.data import (
    NORM_PRESETS,
    IRSTDDataset,
    Norm,
    fit_mask,
    fit_mask_checked,
    pad_reference,
    read_image,
    read_mask,
    read_split,
    resolve_norm,
    to_gray,
    write_mask_png,
)
from lesps_deploy.errors import ConfigError, DataError


def make_dataset(root: Path, names: list[str], crlf: bool = False) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    (root / "img_idx").mkdir()
    rng = np.random.default_rng(0)
    for name in names:
        Image.fromarray(rng.integers(0, 255, (40, 50, 3), dtype=np.uint8), "RGB").save(
            root / "images" / f"{name}.png"
        )
        mask = np.zeros((40, 50), np.uint8)
        mask[10:12, 20:23] = 255
        Image.fromarray(mask).save(root / "masks" / f"{name}.png")
    sep = "\r\n" if crlf else "\n"
    (root / "img_idx" / f"test_{root.name}.txt").write_bytes(sep.join(names + [""]).encode())
    return root


def test_rgb_luma_matches_pil(tmp_path: Path) -> None:
    rgb = np.random.default_rng(1).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    Image.fromarray(rgb, "RGB").save(tmp_path / "a.png")
    expected = np.asarray(Image.open(tmp_path / "a.png").convert("I"), dtype=np.float32)
    assert np.array_equal(read_image(tmp_path / "a.png"), expected)
    assert np.array_equal(to_gray(rgb[..., ::-1].copy()), expected)  # OpenCV BGR frame, same luma


def test_16bit_full_range(tmp_path: Path) -> None:
    arr = np.array([[0, 1000], [40000, 65535]], dtype=np.uint16)
    Image.fromarray(arr).save(tmp_path / "t.png")
    assert read_image(tmp_path / "t.png").tolist() == [[0, 1000], [40000, 65535]]


def test_mask_first_channel_and_fit(tmp_path: Path) -> None:
    m = np.zeros((6, 8, 3), np.uint8)
    m[1, 1] = (255, 0, 0)
    Image.fromarray(m, "RGB").save(tmp_path / "m.png")
    mask = read_mask(tmp_path / "m.png")
    assert mask.shape == (6, 8) and mask[1, 1] == 255
    assert fit_mask(mask, 4, 5).shape == (4, 5)  # larger mask: top-left crop (Misc_111 quirk)
    assert fit_mask(mask, 10, 10).shape == (10, 10)


def test_mask_size_difference_is_said_and_strict_refuses() -> None:
    mask = np.arange(6 * 8, dtype=np.uint8).reshape(6, 8)
    same, note = fit_mask_checked(mask, 6, 8, "m.png")
    assert same is mask and note is None
    cropped, note = fit_mask_checked(mask, 4, 5, "m.png")
    assert cropped.tolist() == mask[:4, :5].tolist()
    assert (
        note
        == "m.png: mask is 8x6 but its image is 5x4; cropped top-left to the image (the reference's rule)"
    )
    padded, note = fit_mask_checked(mask, 7, 9, "m.png")
    assert padded[:6, :8].tolist() == mask.tolist() and not padded[6:].any() and not padded[:, 8:].any()
    assert "zero-padded bottom/right" in note and "cropped" not in note
    _, note = fit_mask_checked(mask, 7, 5, "m.png")
    assert "cropped top-left and zero-padded bottom/right" in note
    with pytest.raises(DataError, match=r"m.png: mask is 8x6 but its image is 5x4$"):
        fit_mask_checked(mask, 4, 5, "m.png", strict=True)


def test_write_mask_atomic(tmp_path: Path) -> None:
    out = write_mask_png(tmp_path / "sub" / "x.png", np.eye(4, dtype=bool))
    assert read_mask(out).tolist() == (np.eye(4) * 255).tolist()
    assert [p.name for p in out.parent.iterdir()] == ["x.png"]


def test_bad_files(tmp_path: Path) -> None:
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(DataError, match="broken.png"):
        read_image(tmp_path / "broken.png")
    with pytest.raises(DataError, match="missing.png"):
        read_mask(tmp_path / "missing.png")


def test_dataset_crlf_and_missing(tmp_path: Path) -> None:
    root = make_dataset(tmp_path / "Tiny", ["a", "b"], crlf=True)
    assert read_split(root, "test") == ["a", "b"]
    ds = IRSTDDataset(root, "test")
    sample = ds[0]
    assert sample.image.shape == sample.mask.shape == (40, 50)
    (root / "img_idx" / "test_Tiny.txt").write_text("a\nghost\n")
    with pytest.raises(DataError, match="ghost"):
        IRSTDDataset(root, "test").load("ghost")
    (root / "img_idx" / "test_Tiny.txt").write_text("\n")
    with pytest.raises(DataError, match="empty split"):
        read_split(root, "test")


def test_norm_resolution(tmp_path: Path) -> None:
    assert resolve_norm("SIRST3") == Norm(95.010, 41.511)
    assert resolve_norm("nuaa-sirst") == NORM_PRESETS["NUAA-SIRST"]
    assert resolve_norm("10,2") == Norm(10.0, 2.0)
    root = make_dataset(tmp_path / "Tiny", ["a"])
    (root / "img_idx" / "train_Tiny.txt").write_text("a\n")
    auto = resolve_norm("auto", root)
    img = read_image(root / "images" / "a.png")
    assert auto.mean == pytest.approx(float(img.mean())) and auto.std == pytest.approx(float(img.std()))
    for bad in ("nope", "1,0", None):
        with pytest.raises(ConfigError):
            resolve_norm(bad)


def test_reference_padding_always_adds() -> None:
    assert pad_reference(np.ones((192, 276)), 32).shape == (224, 288)  # 192 is a multiple, still padded
    assert pad_reference(np.ones((1, 211, 306)), 32).shape == (1, 224, 320)
