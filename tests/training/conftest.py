"""A tiny NUAA-SIRST copy (6 train, 3 test images, files linked) so training tests take seconds."""

from __future__ import annotations

from pathlib import Path

import pytest

TRAIN = ("Misc_40", "Misc_23", "Misc_141", "Misc_161", "Misc_258", "Misc_333")
TEST = ("Misc_371", "Misc_273", "Misc_274")
FOLDERS = ("images", "masks", "masks_centroid")


def make_tiny(nuaa: Path, root: Path, folders: tuple[str, ...] = FOLDERS) -> Path:
    """Link the chosen images of `nuaa` into `root` with split lists train_tiny/test_tiny."""
    for folder in folders:
        (root / folder).mkdir(parents=True)
        for name in TRAIN + TEST:
            (root / folder / f"{name}.png").symlink_to(nuaa / folder / f"{name}.png")
    (root / "img_idx").mkdir()
    (root / "img_idx" / f"train_{root.name}.txt").write_text("\n".join(TRAIN) + "\n")
    (root / "img_idx" / f"test_{root.name}.txt").write_text("\n".join(TEST) + "\n")
    return root


@pytest.fixture
def tiny_maker():
    """`make_tiny(nuaa, root, folders)` for tests that need their own (modifiable) copy."""
    return make_tiny


@pytest.fixture(scope="session")
def tiny_dataset(nuaa_dir, tmp_path_factory) -> Path:
    return make_tiny(nuaa_dir, tmp_path_factory.mktemp("data") / "tiny")


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    """One intra-op thread: tiny CPU models run ~10x faster than with threads fighting over shared cores."""
    import torch

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
