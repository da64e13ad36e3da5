"""Benchmark: LESPS label evolution, ours (windowed, batched) vs a straightforward per-target version.

Two evolution rounds over the NUAA-SIRST train split, starting from `masks_centroid/`, with the
predictions of the released ACM_LESPS_centroid checkpoint (SIRST3 normalization, reference padding,
cropped back). The baseline is written here the way the authors' `update_gt` works: for every target
a full-image point map is convolved with a 33x33 and a 3x3 box, and candidate components are removed
one by one. Both must give identical labels; the script prints seconds per image per round and ratios.

    python benchmarks/label_evolution.py [--data ../shared/datasets/NUAA-SIRST] [--baseline-limit N]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from lesps_deploy.data import NORM_PRESETS, IRSTDDataset, fit_mask, read_image, read_mask
from lesps_deploy.models import load_checkpoint
from lesps_deploy.runtime.processing import infer_probabilities
from lesps_deploy.runtime.torch_backend import TorchBackend
from lesps_deploy.training import evolve_labels

SHARED = Path(__file__).resolve().parents[2] / "shared"
AUTHORS_SECONDS = 0.47  # the authors' code, per image per round, same machine kind (shared/README.md)
_EIGHT = np.ones((3, 3), dtype=bool)


def evolve_per_target(
    pred: torch.Tensor, label: torch.Tensor, tb: float = 0.5, k: float = 0.5
) -> torch.Tensor:
    """One evolution step the straightforward way: full-image convolutions per target (HxW tensors)."""
    h, w = label.shape
    pred4, label4 = pred[None, None], label[None, None]
    updated = label4.clone()
    regions, count = ndimage.label((label > 0.5).numpy(), structure=_EIGHT)
    limit = torch.tensor([h]) * torch.tensor([w]) * 0.0015
    for index in range(1, count + 1):
        rows, cols = np.nonzero(regions == index)
        point = torch.zeros_like(pred4)
        point[0, 0, int(rows.mean()), int(cols.mean())] = 1
        window = (F.conv2d(point, torch.ones(1, 1, 33, 33), padding=16) > 0).float()
        core = (F.conv2d(point, torch.ones(1, 1, 3, 3), padding=1) > 0).float()
        peak = (pred4 * window).max()
        start = peak * tb
        thresh = start + k * (peak - start) * (len(rows) / limit)
        cand = (pred4 * window > thresh).float()
        parts, n_parts = ndimage.label(cand[0, 0].numpy() > 0, structure=_EIGHT)
        if n_parts > 1:
            for part in range(1, n_parts + 1):
                piece = cand * torch.from_numpy(parts == part).float()
                if (piece * core).sum() == 0:
                    cand = cand - piece
        updated = updated * (1 - cand) + (updated * cand + pred4 * cand) / 2
    return torch.max(updated, (label4 == 1).float())[0, 0]


def load_inputs(data: Path, weights: Path) -> tuple[list[str], list[np.ndarray], list[np.ndarray]]:
    """Train names, ACM_LESPS_centroid probabilities and centroid labels (float, image size)."""
    dataset = IRSTDDataset(data, "train", mask_folder=None)
    images = [read_image(dataset.image_path(n)) for n in dataset.names]
    ckpt = load_checkpoint(weights)
    backend = TorchBackend.from_module(ckpt.model, ckpt.meta, "cpu")
    probs = infer_probabilities(
        backend, images, NORM_PRESETS["SIRST3"], backend.meta.pad_multiple, batch_size=8
    )
    labels = [
        fit_mask(read_mask(data / "masks_centroid" / f"{n}.png"), *img.shape).astype(np.float32) / 255.0
        for n, img in zip(dataset.names, images, strict=True)
    ]
    return dataset.names, probs, labels


def run_rounds(fn, probs, labels, rounds: int = 2) -> tuple[list[np.ndarray], list[float]]:
    """Apply `fn` `rounds` times to every image; returns final labels and seconds per round."""
    current, seconds = list(labels), []
    for _ in range(rounds):
        start = time.perf_counter()
        current = [fn(p, lab) for p, lab in zip(probs, current, strict=True)]
        seconds.append(time.perf_counter() - start)
    return current, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED / "datasets" / "NUAA-SIRST")
    parser.add_argument(
        "--weights", type=Path, default=SHARED / "weights" / "lesps-official" / "ACM_LESPS_centroid.pth.tar"
    )
    parser.add_argument(
        "--baseline-limit", type=int, default=None, help="time the baseline on the first N images only"
    )
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))

    names, probs, labels = load_inputs(args.data, args.weights)
    ours, ours_s = run_rounds(evolve_labels, probs, labels)
    n_base = len(names) if args.baseline_limit is None else min(args.baseline_limit, len(names))
    base_probs = [torch.from_numpy(p) for p in probs[:n_base]]
    base_labels = [torch.from_numpy(lab) for lab in labels[:n_base]]
    base, base_s = run_rounds(evolve_per_target, base_probs, base_labels)
    diff = max(float(np.abs(o - b.numpy()).max()) for o, b in zip(ours[:n_base], base, strict=False))

    ours_per = sum(ours_s) / (2 * len(names))
    base_per = sum(base_s) / (2 * n_base)
    targets = sum(int(ndimage.label(lab > 0.5, structure=_EIGHT)[1]) for lab in labels)
    print(f"images: {len(names)} train ({targets} targets), 2 rounds; baseline on {n_base} images")
    print(f"{'implementation':<34}{'s/img/round':>14}{'x vs baseline':>15}{'x vs authors':>14}")
    print(
        f"{'per-target full-image (here)':<34}{base_per:>14.5f}{1.0:>15.1f}{AUTHORS_SECONDS / base_per:>14.1f}"
    )
    print(
        f"{'evolve_labels (windowed, batched)':<34}{ours_per:>14.5f}{base_per / ours_per:>15.1f}{AUTHORS_SECONDS / ours_per:>14.1f}"
    )
    print(
        f"max |ours - baseline| over {n_base} images after 2 rounds: {diff:.3g} ({'identical' if diff == 0 else 'DIFFERENT'})"
    )


if __name__ == "__main__":
    main()
