"""The Detector and evaluation share one batch/tile/crop loop: same probabilities, numpy or torch ops."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lesps_deploy.data.norm import Norm
from lesps_deploy.metadata import ModelMeta
from lesps_deploy.models import create_model
from lesps_deploy.runtime.detector import Detector
from lesps_deploy.runtime.processing import infer_probabilities, run_frames
from lesps_deploy.runtime.torch_backend import TorchBackend

NORM = Norm(80.0, 20.0)


@pytest.fixture(scope="module")
def backend(one_torch_thread) -> TorchBackend:
    torch.manual_seed(0)
    return TorchBackend.from_module(create_model("ACM"), ModelMeta(model="ACM", mean=NORM.mean, std=NORM.std))


def _frames() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    sizes = [(64, 64), (70, 50), (64, 64), (100, 90)]  # the last is tiled with patch_size=64
    return [rng.integers(40, 200, size, dtype=np.uint8) for size in sizes]


def test_detector_probabilities_are_the_evaluation_path(backend: TorchBackend) -> None:
    frames = _frames()
    expected = infer_probabilities(backend, [f.astype(np.float32) for f in frames], NORM, 32, 2, 64)
    det = Detector.from_backend(backend, norm=NORM, batch_size=2, patch_size=64)
    for got, want, frame in zip(det.predict(frames), expected, frames, strict=True):
        assert got.prob.shape == frame.shape
        np.testing.assert_array_equal(got.prob, want)


def test_torch_ops_match_numpy_ops(backend: TorchBackend) -> None:
    frames = _frames()
    numpy_det = Detector.from_backend(backend, norm=NORM, batch_size=2, patch_size=64)
    torch_det = Detector.from_backend(backend, norm=NORM, batch_size=2, patch_size=64, torch_processing=True)
    for a, b in zip(numpy_det.predict(frames), torch_det.predict(frames), strict=True):
        np.testing.assert_allclose(a.prob, b.prob, atol=1e-6)
        np.testing.assert_array_equal(a.mask, b.mask)


def test_batches_group_equal_padded_sizes(backend: TorchBackend) -> None:
    shapes: list[tuple[int, ...]] = []

    def run(batch: np.ndarray) -> np.ndarray:
        shapes.append(batch.shape)
        return backend(batch)

    out = run_frames(run, _frames(), NORM, 32, batch_size=4, patch_size=64)
    # the two 64x64 frames share one call; 70x50 alone; the 100x90 frame runs as 64x64 tiles of its 128x96 input
    assert shapes[:2] == [(2, 1, 96, 96), (1, 1, 96, 64)]
    assert sorted(shapes[2:]) == sorted([(1, 1, 64, 64), (1, 1, 64, 32), (1, 1, 64, 64), (1, 1, 64, 32)])
    assert len(out.probs) == 4 and all(ms >= 0 for ms in out.inference_ms + out.preprocess_ms)
