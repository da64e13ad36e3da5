"""`lesps predict` acceptance: a 60-frame video through the released .pth and its .onnx, and a live MJPEG
stream cut mid-way (reconnect, then a clean summary)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from streams.conftest import invoke_predict

from lesps_deploy.errors import ConfigError, SourceError


def _video_frames(path: Path) -> tuple[int, float]:
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    return n, cap.get(cv2.CAP_PROP_FPS)


def _masks(folder: Path) -> dict[str, np.ndarray]:
    return {p.name: cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in sorted(folder.glob("*.png"))}


def test_predict_video_pth_and_onnx(nuaa_video: Path, acm_pth: Path, acm_onnx: Path, tmp_path: Path) -> None:
    outs = {}
    for name, weights, extra in (("pth", acm_pth, ["--norm", "SIRST3"]), ("onnx", acm_onnx, [])):
        out = tmp_path / name
        invoke_predict(nuaa_video, "--weights", weights, *extra, "--out", out, "--batch", "2",
                 "--save-masks", "--save-video", "--jsonl", "--threads", "1")  # fmt: skip
        summary = json.loads((out / "summary.json").read_text())
        assert (summary["frames"], summary["dropped"], summary["skipped"]) == (60, 0, 0)
        assert (summary["decoded"], summary["state"]) == (60, "complete")
        assert set(summary["latency_ms"]["inference"]) == {"p50", "p90", "p99"}
        assert _video_frames(out / "annotated.avi") == (60, 25.0)
        lines = (out / "detections.jsonl").read_text().splitlines()
        assert len(lines) == 60 and [json.loads(x)["frame"] for x in lines] == list(range(60))
        outs[name] = out
    pth_masks, onnx_masks = _masks(outs["pth"] / "masks"), _masks(outs["onnx"] / "masks")
    assert len(pth_masks) == 60 and pth_masks.keys() == onnx_masks.keys()
    for key, mask in pth_masks.items():
        np.testing.assert_array_equal(mask, onnx_masks[key], err_msg=key)
    found = sum(
        json.loads(x)["num_targets"] for x in (outs["onnx"] / "detections.jsonl").read_text().splitlines()
    )
    assert found >= 60  # three moving targets per frame; most must be found


def test_predict_mjpeg_cut_reconnects_then_ends_cleanly(
    acm_onnx, mjpeg_server, jpeg_frames, tmp_path
) -> None:
    server = mjpeg_server(jpeg_frames, plan=[8, 6], fps=25)
    out = tmp_path / "live"
    result = invoke_predict(
        server.url, "--weights", acm_onnx, "--out", out, "--reconnect-timeout", "1", "--json", "-"
    )
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary == json.loads((out / "summary.json").read_text())
    assert (summary["disconnects"], summary["reconnects"], summary["gave_up"]) == (2, 1, True)
    assert summary["reconnect_attempts"] >= 2 and server.refused >= 1
    assert summary["skipped"] == 2  # the corrupt JPEG of each connection
    assert summary["frames"] + summary["dropped"] == 12 and summary["frames"] >= 1
    assert len((out / "detections.jsonl").read_text().splitlines()) == summary["frames"]


def test_predict_errors(acm_pth: Path, tmp_path: Path) -> None:
    with pytest.raises(SourceError):
        invoke_predict(tmp_path / "missing.mp4", "--weights", acm_pth, "--norm", "SIRST3")
    image = tmp_path / "one.png"
    cv2.imwrite(str(image), np.zeros((32, 32), np.uint8))
    unknown = tmp_path / "unknown.pth"  # the release's weights re-saved: not in the table, no metadata
    torch.save(torch.load(acm_pth, map_location="cpu", weights_only=True)["state_dict"], unknown)
    with pytest.raises(ConfigError, match="normalization"):
        invoke_predict(image, "--weights", unknown)
    with pytest.raises(ConfigError, match="--batch"):
        invoke_predict(image, "--weights", acm_pth, "--batch", "0")


def test_predict_16bit_frames_mapped_once_said_once(tiny_onnx: Path, tmp_path: Path) -> None:
    """A folder of 16-bit PNGs (a thermal core's output) through an 8-bit model: agc by default,
    said once; the results are those of the agc-mapped 8-bit frames."""
    from PIL import Image

    from lesps_deploy.data import map_frame

    folder = tmp_path / "thermal"
    folder.mkdir()
    rng = np.random.default_rng(0)
    frames = []
    for i in range(4):
        v16 = rng.integers(8000, 8400, (64, 80)).astype(np.uint16)
        v16[20 + i : 23 + i, 30:33] = 12000  # a hot target
        Image.fromarray(v16).save(folder / f"f{i}.png")
        frames.append(v16)
    mapped = tmp_path / "mapped"
    mapped.mkdir()
    for i, v16 in enumerate(frames):
        Image.fromarray(map_frame(v16, 16, 8, "agc").astype(np.uint8)).save(mapped / f"f{i}.png")

    runs = {}
    for name, source in (("thermal", folder), ("mapped", mapped)):
        out = tmp_path / f"out-{name}"
        result = invoke_predict(
            source, "--weights", tiny_onnx, "--out", out, "--save-masks", "--threads", "1"
        )
        runs[name] = (out, " ".join(result.output.split()))
    said = runs["thermal"][1]
    assert said.count("16-bit frames") == 1 and "mapped with agc (the default" in said
    assert "16-bit frames" not in runs["mapped"][1]
    thermal, eight = _masks(runs["thermal"][0] / "masks"), _masks(runs["mapped"][0] / "masks")
    assert thermal.keys() == eight.keys() and len(thermal) == 4
    for key, mask in thermal.items():
        np.testing.assert_array_equal(mask, eight[key], err_msg=key)
    detections = (runs["thermal"][0] / "detections.jsonl").read_text().splitlines()
    assert all(json.loads(line)["num_targets"] >= 1 for line in detections)
