"""`lesps predict` when something goes wrong: one line, the right exit code, and a summary.json that is
strict JSON and says what happened ("failed" with the message), with the rest of a batch going on."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from cli_run import run_main, strict_json
from PIL import Image


def _frames(folder: Path, sizes: list[tuple[int, int]]) -> Path:
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i, (h, w) in enumerate(sizes):
        Image.fromarray(rng.integers(50, 90, (h, w), dtype=np.uint8)).save(folder / f"f{i}.png")
    return folder


def test_nan_frame_is_skipped_and_the_batch_goes_on(monkeypatch, capsys, acm_onnx, tmp_path) -> None:
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(3):
        image = np.random.default_rng(i).uniform(50, 90, (64, 64)).astype(np.float32)
        image[5, 5] = np.nan if i == 1 else image[5, 5]
        Image.fromarray(image, mode="F").save(frames / f"f{i}.tif")
    code, lines = run_main(
        monkeypatch, capsys, "predict", frames, "--weights", acm_onnx, "--out", tmp_path / "o"
    )
    summary = strict_json(tmp_path / "o" / "summary.json")
    assert code == 0, lines
    assert (summary["state"], summary["frames"], summary["skipped"]) == ("complete", 2, 1)
    assert "f1.tif: 1 of 4096 values are not finite" in summary["errors"][0]


def test_failure_mid_run_is_one_line_and_a_failed_summary(monkeypatch, capsys, acm_onnx, tmp_path) -> None:
    frames = _frames(tmp_path / "frames", [(64, 64)] * 3)
    out = tmp_path / "o"
    (out / "masks" / "f1.png").mkdir(parents=True)  # the mask of frame f1 cannot be written
    code, lines = run_main(
        monkeypatch, capsys, "predict", frames, "--weights", acm_onnx, "--out", out, "--save-masks"
    )
    assert code == 1 and lines[-1].startswith("error: ") and "masks/f1.png: is a directory" in lines[-1]
    summary = strict_json(out / "summary.json")
    assert summary["state"] == "failed" and "masks/f1.png: is a directory" in summary["errors"][0]


def test_empty_video_is_an_error_not_nan(monkeypatch, capsys, acm_onnx, tmp_path) -> None:
    video = tmp_path / "empty.avi"
    cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 64)).release()
    code, lines = run_main(
        monkeypatch, capsys, "predict", video, "--weights", acm_onnx, "--out", tmp_path / "o"
    )
    assert code == 2 and lines[-1] == f"error: {video}: no frame could be read (an empty video or stream?)"
    summary = strict_json(tmp_path / "o" / "summary.json")
    assert summary["state"] == "failed" and summary["latency_ms"]["total"]["p50"] is None


def test_truncated_video_is_one_line(monkeypatch, capsys, acm_onnx, tmp_path) -> None:
    whole, cut = tmp_path / "whole.mkv", tmp_path / "cut.mkv"
    writer = cv2.VideoWriter(str(whole), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 64))
    for i in range(20):
        writer.write(np.random.default_rng(i).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    writer.release()
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) * 6 // 10])
    code, lines = run_main(
        monkeypatch, capsys, "predict", cut, "--weights", acm_onnx, "--out", tmp_path / "o"
    )
    summary = strict_json(tmp_path / "o" / "summary.json")
    assert code == 0 and summary["frames"] + summary["skipped"] == 20 and summary["skipped"] > 0
    skipped = [line for line in lines if "skipped" in line and "cut.mkv" in line]
    assert len(skipped) == 1 and "truncated or damaged" in skipped[0]


def test_mixed_frame_sizes_are_letterboxed_and_said_once(monkeypatch, capsys, acm_onnx, tmp_path) -> None:
    frames = _frames(tmp_path / "frames", [(64, 64), (32, 96), (96, 32), (64, 64)])
    out = tmp_path / "o"
    code, lines = run_main(
        monkeypatch, capsys, "predict", frames, "--weights", acm_onnx, "--out", out, "--save-video"
    )
    assert code == 0
    assert sum("letterboxed" in line for line in lines) == 1
    capture = cv2.VideoCapture(str(out / "annotated.avi"))
    shot = [capture.read()[1] for _ in range(2)][1]  # the 32x96 frame: 64x21 picture, black bands
    assert shot.shape[:2] == (64, 64) and shot[:15].max() < 40 and shot[50:].max() < 40


@pytest.mark.parametrize("flag", ["--json", "--out"])
def test_output_path_that_is_a_file(monkeypatch, capsys, acm_onnx, tmp_path, flag: str) -> None:
    frames = _frames(tmp_path / "frames", [(64, 64)])
    taken = tmp_path / "taken"
    taken.write_text("mine")
    args = ["--out", taken] if flag == "--out" else ["--out", tmp_path / "o", "--json", taken / "x.json"]
    code, lines = run_main(monkeypatch, capsys, "predict", frames, "--weights", acm_onnx, *args)
    assert code in (1, 2) and len([x for x in lines if x.startswith("error:")]) == 1
    assert str(taken) in lines[-1] and taken.read_text() == "mine"
