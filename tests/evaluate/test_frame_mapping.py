"""16-bit NUAA-SIRST frames under each --frame-mapping, against the 8-bit originals (released ACM).

The 16-bit sets are made from the first 60 test images: `wide` is 8-bit * 257 (an 8-bit frame in a
16-bit word), `core` is what a thermal core delivers (gain 0.6, offset 9000, noise of 40 counts).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lesps_deploy.apis.evaluation import evaluate
from lesps_deploy.data import NORM_PRESETS, find_image, read_image, read_split

N_IMAGES = 60


def _dataset(root: Path, nuaa: Path, widen) -> Path:
    for sub in ("images", "img_idx"):
        (root / sub).mkdir(parents=True)
    (root / "masks").symlink_to(nuaa / "masks")
    names = read_split(nuaa, "test")[:N_IMAGES]
    rng = np.random.default_rng(0)
    for name in names:
        v16 = widen(read_image(find_image(nuaa, name)).astype(np.float64), rng)
        Image.fromarray(np.clip(np.rint(v16), 0, 65535).astype(np.uint16)).save(
            root / "images" / f"{name}.png"
        )
    (root / "img_idx" / f"test_{root.name}.txt").write_text("\n".join(names) + "\n")
    return root


@pytest.fixture(scope="module")
def sets(nuaa_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("sixteen")
    originals = base / "orig"
    for sub in ("images", "img_idx"):
        (originals / sub).mkdir(parents=True)
    (originals / "masks").symlink_to(nuaa_dir / "masks")
    names = read_split(nuaa_dir, "test")[:N_IMAGES]
    for name in names:
        (originals / "images" / f"{name}.png").symlink_to(find_image(nuaa_dir, name))
    (originals / "img_idx" / "test_orig.txt").write_text("\n".join(names) + "\n")
    return {
        "orig": originals,
        "wide": _dataset(base / "wide", nuaa_dir, lambda v, rng: v * 257),
        "core": _dataset(
            base / "core", nuaa_dir, lambda v, rng: 0.6 * v * 257 + 9000 + rng.normal(0, 40, v.shape)
        ),
    }


@pytest.fixture(scope="module")
def acm16_onnx(acm_pth: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The released ACM with 16-bit statistics (SIRST3 * 257): a model trained on raw 16-bit frames."""
    from lesps_deploy.export.onnx import module_to_onnx
    from lesps_deploy.models import load_checkpoint

    ckpt = load_checkpoint(acm_pth)
    s = NORM_PRESETS["SIRST3"]
    meta = replace(ckpt.meta, mean=s.mean * 257, std=s.std * 257, input_bits=16, dataset="SIRST3-16bit")
    return module_to_onnx(ckpt.model, meta, tmp_path_factory.mktemp("onnx16") / "acm16.onnx")


def _counts(weights: Path, data: Path, mapping: str | None = None) -> dict:
    return evaluate(weights, data, frame_mapping=mapping).to_dict()


def test_each_mapping_on_16bit_nuaa(sets: dict[str, Path], acm_onnx: Path, acm16_onnx: Path) -> None:
    orig = _counts(acm_onnx, sets["orig"])
    assert orig["targets"] > 50 and orig["IoU"] > 0.3

    exact = ("intersection", "union", "targets", "detected", "false_alarm_pixels", "pixels")
    agc = _counts(acm_onnx, sets["core"])  # the default for 16-bit frames and an 8-bit model
    assert abs(agc["IoU"] - orig["IoU"]) <= 0.05 and abs(agc["Pd"] - orig["Pd"]) <= 0.05
    chosen = _counts(acm_onnx, sets["core"], "agc")
    assert {k: chosen[k] for k in exact} == {k: agc[k] for k in exact}

    scale = _counts(acm_onnx, sets["wide"], "scale")  # an 8-bit frame in a 16-bit word: undone exactly
    assert {k: scale[k] for k in exact} == {k: orig[k] for k in exact}

    raw8 = _counts(acm_onnx, sets["core"], "raw")  # 16-bit values with 8-bit statistics: what was wrong
    assert raw8["IoU"] < 0.25 * orig["IoU"]

    raw16 = _counts(acm16_onnx, sets["wide"], "raw")  # a 16-bit model on raw 16-bit frames
    assert raw16["detected"] == orig["detected"] and raw16["IoU"] == pytest.approx(orig["IoU"], abs=0.005)
