"""Almost-right inputs: a split list naming an image twice, a LabelMe file recording another image size."""

from __future__ import annotations

import json

import numpy as np
from cli_run import run_main, strict_json
from conftest import write_tiny_dataset
from PIL import Image

from lesps_deploy.data import read_split


def test_duplicate_names_in_a_split_list_count_once(monkeypatch, capsys, acm_onnx, tmp_path) -> None:
    data = write_tiny_dataset(tmp_path / "Tiny")
    (data / "img_idx" / "test_Tiny.txt").write_text("f0\nf1\nf0\nf2.png\nf3\nf1\n")
    out = tmp_path / "e.json"
    code, lines = run_main(monkeypatch, capsys, "evaluate", acm_onnx, "--data", data, "--json", out)
    assert code == 0 and strict_json(out)["images"] == 4
    said = [line for line in lines if "duplicate name(s) kept once" in line]
    assert len(said) == 1 and "2 duplicate" in said[0] and "(first: f0)" in said[0]
    assert read_split(data, "test") == ["f0", "f1", "f2", "f3"]


def test_labelme_recording_another_image_size(monkeypatch, capsys, tmp_path) -> None:
    root = tmp_path / "DS"
    (root / "images").mkdir(parents=True)
    for name in ("a", "b"):
        Image.fromarray(np.zeros((32, 48), np.uint8)).save(root / "images" / f"{name}.png")
    clicks = tmp_path / "clicks"
    clicks.mkdir()
    for name, (w, h) in (("a", (48, 32)), ("b", (96, 64))):  # b was clicked on a 2x version
        shapes = [{"shape_type": "point", "points": [[10.5, 20.5]], "label": "t"}]
        doc = {"shapes": shapes, "imagePath": f"{name}.png", "imageWidth": w, "imageHeight": h}
        (clicks / f"{name}.json").write_text(json.dumps(doc))
    code, lines = run_main(monkeypatch, capsys, "labels", root, "--from-points", clicks)
    assert code == 1
    said = [line for line in lines if "b.json: records b as 96x64" in line]
    assert len(said) == 1 and "is 48x32; no label written (1 point skipped)" in said[0]
    assert (root / "masks_centroid" / "a.png").exists() and not (root / "masks_centroid" / "b.png").exists()
