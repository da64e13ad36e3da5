"""16-bit frames for 8-bit models: bit depth, the three mappings, said once, used by every reader."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lesps_deploy.data import (
    FrameMapper,
    IRSTDDataset,
    dataset_norm,
    frame_bits,
    map_frame,
    read_image,
    resolve_norm,
)
from lesps_deploy.errors import ConfigError


def test_frame_bits() -> None:
    assert frame_bits(np.zeros((4, 4), np.uint8)) == 8
    assert frame_bits(np.zeros((4, 4), np.uint16)) == 16  # dark, but a 16-bit word: 16-bit
    assert frame_bits(np.full((4, 4), 255.0, np.float32)) == 8
    assert frame_bits(np.full((4, 4), 4000.0, np.float32)) == 16


def test_16bit_png_reads_as_uint16(tmp_path: Path) -> None:
    arr = np.array([[3, 16383], [40000, 65535]], np.uint16)
    Image.fromarray(arr).save(tmp_path / "t.png")
    img = read_image(tmp_path / "t.png")
    assert img.dtype == np.uint16 and img.tolist() == arr.tolist()


def test_mappings() -> None:
    v8 = np.arange(256, dtype=np.float32).reshape(16, 16)
    widened = (v8 * 257).astype(np.uint16)
    assert map_frame(widened, 16, 8, "scale").tolist() == v8.tolist()  # exact inverse of * 257
    core = (0.25 * widened + 1000).astype(np.uint16)  # gain and offset: agc undoes both
    np.testing.assert_allclose(map_frame(core, 16, 8, "agc"), v8, atol=1)
    assert map_frame(core, 16, 8, "raw").tolist() == core.astype(np.float32).tolist()
    assert map_frame(np.full((4, 4), 9000, np.uint16), 16, 8, "agc").tolist() == [[127.0] * 4] * 4
    assert map_frame(v8, 8, 16, "scale").max() == 65535


def test_mapper_passes_matching_frames_and_says_once(caplog: pytest.LogCaptureFixture) -> None:
    mapper = FrameMapper(8)
    frame8 = np.full((8, 8), 100, np.uint8)
    assert mapper(frame8) is frame8
    frame16 = (np.arange(64).reshape(8, 8) * 1000).astype(np.uint16)
    bgr16 = np.repeat(frame16[..., None], 3, axis=2)
    with caplog.at_level(logging.WARNING, logger="lesps_deploy.data.bit_depth"):
        out = [mapper(frame16, "a"), mapper(bgr16, "b"), mapper(frame16, "c")]
    assert [r.message.count("16-bit frames") for r in caplog.records] == [1]
    assert "mapped with agc (the default" in caplog.records[0].message
    assert out[0].max() == 255 and out[0].tolist() == out[1].tolist() == out[2].tolist()
    raw = FrameMapper(16, "raw")
    assert raw(frame16) is frame16 and raw(frame8) is frame8
    with pytest.raises(ConfigError, match="--frame-mapping 'gamma'"):
        FrameMapper(8, "gamma")


def _dataset16(root: Path, scale: float, offset: int) -> Path:
    for sub in ("images", "masks", "img_idx"):
        (root / sub).mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = []
    for i in range(3):
        v8 = rng.integers(20, 200, (32, 32)).astype(np.float32)
        Image.fromarray(np.rint(v8 * 257 * scale + offset).astype(np.uint16)).save(
            root / "images" / f"i{i}.png"
        )
        Image.fromarray(np.zeros((32, 32), np.uint8)).save(root / "masks" / f"i{i}.png")
        names.append(f"i{i}")
    for split in ("train", "test"):
        (root / "img_idx" / f"{split}_{root.name}.txt").write_text("\n".join(names))
    return root


def test_auto_statistics_see_mapped_frames_and_presets_refuse_16bit_models(tmp_path: Path) -> None:
    root = _dataset16(tmp_path / "D16", 1.0, 0)
    raw = dataset_norm(root)
    assert raw.mean > 1000  # raw 16-bit values
    scaled = dataset_norm(root, mapper=FrameMapper(8, "scale"))
    assert 20 < scaled.mean < 200 and scaled.mean == pytest.approx(raw.mean / 257, abs=0.5)
    assert resolve_norm("auto", root, FrameMapper(16, "raw")) == raw
    with pytest.raises(ConfigError, match="8-bit statistics, the model takes 16-bit input"):
        resolve_norm("SIRST3", root, FrameMapper(16, "raw"))
    assert IRSTDDataset(root, "test")[0].image.dtype == np.uint16  # datasets read frames as they are
