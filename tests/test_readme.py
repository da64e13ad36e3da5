"""The README's Python examples run as written, on tiny files made here under the names they use.

Each ```python block runs in a fresh folder holding `ACM_LESPS_centroid.pth.tar` (a small random ACM
checkpoint), `datasets/NUAA-SIRST` (a tiny dataset with train/test lists and centroid labels),
`video.mp4`, `frames/*.png` and, unless the block exports it itself, `acm.onnx`. The only edit is
`SHRINK`: the paper's 400-epoch CUDA training becomes one CPU epoch.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from conftest import write_tiny_dataset, write_video

from lesps_deploy.export.onnx_cache import cached_onnx
from lesps_deploy.metadata import ModelMeta
from lesps_deploy.models import create_model, save_checkpoint
from lesps_deploy.training.labels import make_point_labels

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"), flags=re.S | re.M)
SHRINK = {'epochs=400, device="cuda"': 'epochs=1, device="cpu", patch_size=64, batch_size=2, out="runs/t"'}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("readme")
    torch.manual_seed(0)
    ckpt = save_checkpoint(
        root / "ACM_LESPS_centroid.pth.tar", create_model("ACM"), ModelMeta(model="ACM", mean=75.0, std=20.0)
    )
    data = write_tiny_dataset(root / "datasets" / "NUAA-SIRST")
    shutil.copy(data / "img_idx" / "test_NUAA-SIRST.txt", data / "img_idx" / "train_NUAA-SIRST.txt")
    make_point_labels(data, "centroid")
    write_video(root / "video.mp4")
    (root / "frames").mkdir()
    for i in range(3):
        cv2.imwrite(str(root / "frames" / f"{i:03d}.png"), np.full((64, 64), 70 + i, np.uint8))
    shutil.copy(cached_onnx(ckpt, root=tmp_path_factory.mktemp("onnx")), root / "prepared.onnx")
    return root


def test_readme_has_python_examples() -> None:
    assert len(BLOCKS) >= 2
    assert any('det.stream("video.mp4"' in block for block in BLOCKS)
    assert all(any(old in block for block in BLOCKS) for old in SHRINK)  # the shrink still applies


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_python_block_runs(
    index: int, files: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    code = BLOCKS[index]
    for old, new in SHRINK.items():
        code = code.replace(old, new)
    work = tmp_path / "work"
    shutil.copytree(files, work)
    if "export_model(" not in code:
        (work / "prepared.onnx").rename(work / "acm.onnx")
    monkeypatch.chdir(work)
    exec(compile(code, f"README.md python block {index + 1}", "exec"), {"__name__": "__readme__"})  # noqa: S102
    assert capsys.readouterr().out  # every example prints what it found
