"""Fixtures for export tests: a tiny CNN with the model contract, and a tiny image folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from lesps_deploy.metadata import ModelMeta


class TinyNet(torch.nn.Module):
    """Conv-BN-ReLU, a strided conv and both resize flavours (like ACM / DNANet), sigmoid out."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = torch.nn.Conv2d(1, 8, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(8)
        self.c2 = torch.nn.Conv2d(8, 1, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.c2(F.relu(self.bn(self.c1(x))))
        a = F.interpolate(y, scale_factor=2, mode="bilinear", align_corners=False)
        b = F.interpolate(y, size=x.shape[2:], mode="bilinear", align_corners=True)
        return torch.sigmoid(a + b)


@pytest.fixture
def tiny() -> tuple[torch.nn.Module, ModelMeta]:
    torch.manual_seed(0)
    return TinyNet().eval(), ModelMeta(
        model="Tiny", mean=95.0, std=41.5, dataset="synthetic", label_type="full"
    )


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """A dataset folder with 5 small 8-bit frames of mixed sizes and a train split of 5 names."""
    root = tmp_path / "calib"
    (root / "images").mkdir(parents=True)
    (root / "img_idx").mkdir()
    rng = np.random.default_rng(0)
    names = []
    for i, (h, w) in enumerate([(40, 50), (64, 64), (70, 30), (32, 32), (80, 90)]):
        Image.fromarray(rng.integers(0, 255, (h, w), dtype=np.uint8)).save(root / "images" / f"f{i}.png")
        names.append(f"f{i}")
    (root / "img_idx" / "train_calib.txt").write_text("\n".join(names) + "\n")
    return root
