"""Detector: PyTorch and ONNX Runtime give identical masks; preprocessing is the evaluation's."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from lesps_deploy.data import NORM_PRESETS, find_image, read_image, read_split
from lesps_deploy.errors import ConfigError
from lesps_deploy.runtime.detector import Detector
from lesps_deploy.runtime.processing import infer_probabilities

SIRST3 = "SIRST3"


@pytest.fixture(scope="module")
def nuaa_images(nuaa_dir: Path) -> list[np.ndarray]:
    return [read_image(find_image(nuaa_dir, n)) for n in read_split(nuaa_dir, "test")[:4]]


@pytest.fixture(scope="module")
def torch_det(acm_pth: Path) -> Detector:
    return Detector(acm_pth, norm=SIRST3, warmup=False)


@pytest.fixture(scope="module")
def onnx_det(acm_onnx: Path) -> Detector:
    return Detector(acm_onnx, warmup=False)


def test_torch_and_onnx_give_identical_masks(torch_det: Detector, onnx_det: Detector, nuaa_images) -> None:
    assert onnx_det.norm == NORM_PRESETS[SIRST3]  # read from the ONNX metadata, no flag needed
    pt, ox = torch_det.predict(nuaa_images), onnx_det.predict(nuaa_images)
    diffs = [float(np.abs(a.prob - b.prob).max()) for a, b in zip(pt, ox, strict=True)]
    print(f"max |p_torch - p_onnx| per image: {diffs}")
    for a, b in zip(pt, ox, strict=True):
        assert a.mask.shape == a.prob.shape
        np.testing.assert_array_equal(a.mask, b.mask)
        assert [(t.area, t.bbox) for t in a.targets] == [(t.area, t.bbox) for t in b.targets]
    assert max(diffs) < 1e-4
    assert sum(len(r.targets) for r in pt) > 0


def test_matches_evaluation_path_with_tiling(torch_det: Detector, nuaa_images) -> None:
    """Same probabilities as `processing.infer_probabilities` (what `lesps evaluate` runs), tiles included."""
    frames = [nuaa_images[0][:150, :200], nuaa_images[1][:120, :100]]
    det = Detector.from_backend(torch_det.backend, norm=SIRST3, patch_size=96)
    ref = infer_probabilities(det.backend, frames, det.norm, 32, batch_size=1, patch_size=96)
    for res, prob in zip(det.predict(frames), ref, strict=True):
        np.testing.assert_array_equal(res.prob, prob)
        np.testing.assert_array_equal(res.mask, prob > 0.5)


def test_torch_ops_processing_matches_numpy(torch_det: Detector, nuaa_images) -> None:
    """The device-side (torch) pre/postprocessing used on CUDA, run here on CPU, gives the same masks."""
    det = Detector.from_backend(torch_det.backend, norm=SIRST3, torch_processing=True)
    bgr = cv2.cvtColor(nuaa_images[2].astype(np.uint8), cv2.COLOR_GRAY2BGR)
    for a, b in zip(
        det.predict([nuaa_images[0], bgr]), torch_det.predict([nuaa_images[0], bgr]), strict=True
    ):
        np.testing.assert_array_equal(a.mask, b.mask)
        np.testing.assert_allclose(a.prob, b.prob, atol=1e-6)


def test_colour_frames_use_pil_luma(torch_det: Detector, tmp_path: Path) -> None:
    """A BGR frame from OpenCV and the same picture read like the evaluator reads it are identical inputs."""
    rng = np.random.default_rng(0)
    bgr = rng.integers(60, 140, (70, 90, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "rgb.png"), bgr)
    a, b = torch_det.predict([bgr, read_image(tmp_path / "rgb.png")])
    np.testing.assert_array_equal(a.prob, b.prob)


def test_result_fields_and_json(torch_det: Detector, nuaa_images) -> None:
    res = torch_det.predict([nuaa_images[0]], infos=[(7, 123.5, "Misc_x")])[0]
    assert (res.frame_index, res.timestamp, res.source) == (7, 123.5, "Misc_x")
    assert res.prob.dtype == np.float32 and res.mask.dtype == bool
    assert res.timings.inference > 0 and res.timings.total >= res.timings.inference
    for t in res.targets:
        x0, y0, x1, y1 = t.bbox
        assert x0 <= t.x < x1 and y0 <= t.y < y1 and t.area <= (x1 - x0) * (y1 - y0)
        assert res.prob[int(t.y), int(t.x)] <= t.peak and 0.5 < t.mean <= t.peak
    line = json.loads(json.dumps(res.to_dict()))
    assert line["frame"] == 7 and line["num_targets"] == len(res.targets)


def test_released_checkpoint_needs_no_norm(acm_pth: Path) -> None:
    with Detector(acm_pth, warmup=False) as det:
        assert (det.norm.mean, det.norm.std, det.threshold) == (95.010, 41.511, 0.5)


def test_unknown_checkpoint_needs_norm(acm_pth: Path, tmp_path: Path) -> None:
    bare = tmp_path / "renamed.pth"
    torch.save(torch.load(acm_pth, map_location="cpu", weights_only=True)["state_dict"], bare)
    with pytest.raises(ConfigError) as err:
        Detector(bare, warmup=False)
    assert "SIRST3" in (err.value.hint or "")


def test_bad_threshold(acm_onnx: Path) -> None:
    with pytest.raises(ConfigError):
        Detector(acm_onnx, threshold=1.5, warmup=False)
