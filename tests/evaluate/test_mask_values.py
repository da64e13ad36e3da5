"""Masks that are not 0/255: 0/1 masks read as 0/255 (one line), grey values by the reference's rule
(one line), and masks with no target give Pd "n/a" in the table and null in the JSON."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from conftest import write_tiny_dataset
from PIL import Image
from typer.testing import CliRunner

from lesps_deploy.cli import app
from lesps_deploy.data import read_mask_noted


def _rewrite_masks(data: Path, fn) -> None:
    for path in sorted((data / "masks").glob("*.png")):
        mask = np.asarray(Image.open(path))
        Image.fromarray(fn(mask).astype(np.uint8)).save(path)


def _evaluate(weights: Path, data: Path, out: Path, caplog) -> tuple[dict, str]:
    caplog.clear()
    result = CliRunner().invoke(app, ["evaluate", str(weights), "--data", str(data), "--json", str(out)])
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(out.read_text()), result.output + caplog.text


def test_zero_one_masks_score_like_0_255(acm_onnx: Path, tmp_path: Path, caplog) -> None:
    data = write_tiny_dataset(tmp_path / "Tiny")
    plain, _ = _evaluate(acm_onnx, data, tmp_path / "a.json", caplog)
    assert plain["targets"] == 4
    _rewrite_masks(data, lambda m: m // 255)
    binary, said = _evaluate(acm_onnx, data, tmp_path / "b.json", caplog)
    keys = ("targets", "detected", "intersection", "union", "IoU", "Pd", "Fa")
    assert {k: binary[k] for k in keys} == {k: plain[k] for k in keys}
    assert "4 mask(s) stored as 0/1 read as 0/255" in said


def test_grey_values_follow_the_reference_rule_and_are_said_once(acm_onnx, tmp_path, caplog) -> None:
    data = write_tiny_dataset(tmp_path / "Tiny")
    _rewrite_masks(
        data, lambda m: np.where(m == 255, 255, 0) + np.pad(np.full((1, 1), 200), ((0, 63), (0, 63)))
    )
    summary, said = _evaluate(acm_onnx, data, tmp_path / "g.json", caplog)
    assert summary["targets"] == 4  # the 200 pixel is labelled (IoU union) but is no target
    assert said.count("hold grey values besides 0 and 255") == 1
    mask, note = read_mask_noted(data / "masks" / "f0.png")
    assert mask[0, 0] == 200 and "grey values (200)" in note


def test_no_target_gives_pd_not_available(acm_onnx: Path, tmp_path: Path, caplog) -> None:
    data = write_tiny_dataset(tmp_path / "Tiny")
    _rewrite_masks(data, np.zeros_like)
    summary, said = _evaluate(acm_onnx, data, tmp_path / "n.json", caplog)
    assert summary["targets"] == 0 and summary["Pd"] is None
    assert "│ n/a │" in said  # the table's Pd column
