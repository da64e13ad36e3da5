"""evolve_labels: golden parity with the authors' update, per-target baseline parity, types and edges."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from lesps_deploy.errors import DataError
from lesps_deploy.training import evolve_labels

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "label_evolution.py"


def _baseline():
    spec = importlib.util.spec_from_file_location("label_evolution_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.evolve_per_target


def _names(npz) -> list[str]:
    return sorted({key.split("/")[0] for key in npz.files})


def test_matches_golden_two_rounds(golden_dir):
    npz = np.load(golden_dir / "label_evolution_nuaa24.npz")
    names = _names(npz)
    assert len(names) == 24
    worst = 0.0
    for name in names:
        pred, label0 = npz[f"{name}/pred"], npz[f"{name}/label0"]
        label1 = evolve_labels(pred, label0)
        label2 = evolve_labels(pred, label1)
        assert label1.dtype == np.float32 and label1.shape == label0.shape
        worst = max(
            worst, np.abs(label1 - npz[f"{name}/label1"]).max(), np.abs(label2 - npz[f"{name}/label2"]).max()
        )
    print(f"max |ours - golden| over 24 images, 2 rounds: {worst:.3g}")
    assert worst <= 1e-6


def test_torch_input_gives_torch_on_same_device(golden_dir):
    npz = np.load(golden_dir / "label_evolution_nuaa24.npz")
    name = _names(npz)[1]
    pred, label0 = torch.from_numpy(npz[f"{name}/pred"]), torch.from_numpy(npz[f"{name}/label0"])
    out = evolve_labels(pred, label0)
    assert isinstance(out, torch.Tensor) and out.device == label0.device and out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), npz[f"{name}/label1"], atol=1e-6, rtol=0)


def _synthetic(seed: int, size: tuple[int, int] = (64, 80)) -> tuple[np.ndarray, np.ndarray]:
    """Blobs near borders and close to each other (overlapping windows), with noise and side peaks."""
    rng = np.random.default_rng(seed)
    h, w = size
    yy, xx = np.mgrid[:h, :w]
    pred = rng.uniform(0, 0.3, size).astype(np.float32)
    label = np.zeros(size, np.float32)
    for _ in range(rng.integers(2, 6)):
        r, c = int(rng.integers(0, h)), int(rng.integers(0, w))
        s = rng.uniform(0.8, 3.0)
        pred = np.maximum(
            pred, rng.uniform(0.5, 1.0) * np.exp(-((yy - r) ** 2 + (xx - c) ** 2) / (2 * s * s))
        )
        label[r, c] = 1.0
        if rng.random() < 0.5 and c + 1 < w:
            label[r, c + 1] = rng.uniform(0.55, 1.0)  # soft, multi-pixel regions as after evolution
    return pred.astype(np.float32), label


@pytest.mark.parametrize("seed", range(12))
def test_matches_per_target_baseline(seed):
    evolve_per_target = _baseline()
    pred, label = _synthetic(seed)
    ours = evolve_labels(pred, label)
    ref = evolve_per_target(torch.from_numpy(pred), torch.from_numpy(label)).numpy()
    assert np.abs(ours - ref).max() == 0


def test_no_points_keeps_label():
    pred = np.random.default_rng(0).random((40, 40), dtype=np.float32)
    label = np.zeros((40, 40), np.float32)
    np.testing.assert_array_equal(evolve_labels(pred, label), label)


def test_points_stay_one():
    pred, label = _synthetic(3)
    out = evolve_labels(np.zeros_like(pred), label)
    assert (out[label == 1] == 1).all()


def test_shape_mismatch_is_data_error():
    with pytest.raises(DataError, match="same size"):
        evolve_labels(np.zeros((10, 10), np.float32), np.zeros((10, 11), np.float32))


@pytest.mark.parametrize("density", [0.05, 0.3, 0.6])
def test_sparse_regions_match_full_image_labelling(density):
    from scipy import ndimage

    from lesps_deploy.training.evolution import _regions

    mask = np.random.default_rng(int(density * 100)).random((40, 50)) < density
    labels, n = ndimage.label(mask, structure=np.ones((3, 3)))
    expected = sorted(
        (int(r.mean()), int(c.mean()), r.size) for r, c in (np.nonzero(labels == i) for i in range(1, n + 1))
    )
    centers, areas = _regions(np.flatnonzero(mask), mask.shape)
    assert (
        sorted(zip(centers[:, 0].tolist(), centers[:, 1].tolist(), areas.tolist(), strict=True)) == expected
    )
