"""`lesps labels` never destroys labels it did not write: an input that yields nothing changes nothing
(one line, non-zero exit), and files lesps did not write are replaced only with --force."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cli_run import run_main
from PIL import Image


def _dataset(root: Path, released: bool = True) -> Path:
    """Three images with full masks and (`released`) point labels someone else made."""
    for sub in ("images", "masks", "masks_centroid"):
        (root / sub).mkdir(parents=True)
    for i in range(3):
        Image.fromarray(np.full((32, 32), 80, np.uint8)).save(root / "images" / f"a{i}.png")
        mask = np.zeros((32, 32), np.uint8)
        mask[10:13, 10 + i : 13 + i] = 255
        Image.fromarray(mask).save(root / "masks" / f"a{i}.png")
        if released:
            point = np.zeros((32, 32), np.uint8)
            point[0, i] = 255  # not where lesps puts them: a rewrite shows
            Image.fromarray(point).save(root / "masks_centroid" / f"a{i}.png")
    return root


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.png"))}


@pytest.mark.parametrize(
    "rows", ["image,x,y\n", "image,x,y\nzz.png,3,4\nyy.png,1,1\n"], ids=["header-only", "no-matching-image"]
)
def test_point_file_that_yields_nothing_changes_nothing(monkeypatch, capsys, tmp_path, rows: str) -> None:
    data = _dataset(tmp_path / "DS")
    before = _snapshot(data / "masks_centroid")
    points = tmp_path / "points.csv"
    points.write_text(rows)
    code, lines = run_main(monkeypatch, capsys, "labels", data, "--from-points", points, "--force")
    assert code == 2 and lines[0].startswith(f"error: {points}: ") and "nothing written" in lines[0]
    assert _snapshot(data / "masks_centroid") == before


@pytest.mark.parametrize("how", ["from-points", "from-masks"])
def test_labels_lesps_did_not_write_need_force(monkeypatch, capsys, tmp_path, how: str) -> None:
    data = _dataset(tmp_path / "DS")
    before = _snapshot(data / "masks_centroid")
    points = tmp_path / "points.csv"
    points.write_text("image,x,y\na1.png,3,4\n")
    args = ["labels", data, *(["--from-points", points] if how == "from-points" else ["--type", "centroid"])]
    code, lines = run_main(monkeypatch, capsys, *args)
    assert (
        code == 2 and "3 file(s) that lesps did not write" in lines[0] and "nothing was written" in lines[0]
    )
    assert _snapshot(data / "masks_centroid") == before
    assert run_main(monkeypatch, capsys, *args, "--force")[0] == 0
    written = _snapshot(data / "masks_centroid")
    assert written != before
    assert run_main(monkeypatch, capsys, *args)[0] == 0  # its own earlier output: written over freely
    edited = data / "masks_centroid" / "a2.png"
    Image.fromarray(np.full((32, 32), 255, np.uint8)).save(edited)  # a hand correction
    code, lines = run_main(monkeypatch, capsys, *args)
    assert code == 2 and "e.g. a2.png" in lines[0]
    assert Image.open(edited).getextrema() == (255, 255)


def test_pseudo_masks_keep_a_users_folder(monkeypatch, capsys, tmp_path) -> None:
    data = _dataset(tmp_path / "DS")
    (data / "masks_tophat").mkdir()
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(data / "masks_tophat" / "a0.png")
    before = _snapshot(data / "masks_tophat")
    code, lines = run_main(monkeypatch, capsys, "labels", data, "--type", "lcm-tophat")
    assert code == 2 and "masks_tophat: 1 file(s) that lesps did not write" in lines[0]
    assert _snapshot(data / "masks_tophat") == before
