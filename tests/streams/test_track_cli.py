"""`lesps predict --track` (acceptance 2) on a generated video with a tiny real ONNX model, the tracking
options' errors, a folder of unrelated images, drawing, and `Detector.stream(track=Tracker())`."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from streams.conftest import invoke_predict

from lesps_deploy.errors import ConfigError
from lesps_deploy.metadata import ModelMeta
from lesps_deploy.runtime.detector import Detector
from lesps_deploy.streams.viz import draw_result
from lesps_deploy.tracking import TrackedTarget, Tracker, TrackerConfig

SIZE = (64, 80)  # H, W
# Two targets on straight lines (x0, y0, vx, vy), and single-frame flashes (frame, x, y).
MOVERS = ((8.0, 12.0, 1.5, 0.5), (70.0, 50.0, -1.2, -0.6))
FLASHES = ((10, 40.0, 30.0), (25, 20.0, 55.0))
FRAMES = 40


def _blob(x: float, y: float, amp: float = 120.0) -> np.ndarray:
    yy, xx = np.mgrid[0 : SIZE[0], 0 : SIZE[1]]
    return amp * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 1.6**2))


def _frames() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    out = []
    for f in range(FRAMES):
        img = np.full(SIZE, 70.0) + rng.normal(0, 2.0, SIZE)
        for x0, y0, vx, vy in MOVERS:
            img += _blob(x0 + vx * f, y0 + vy * f)
        for when, x, y in FLASHES:
            if when == f:
                img += _blob(x, y)
        out.append(cv2.cvtColor(np.clip(img, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR))
    return out


@pytest.fixture(scope="module")
def track_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from streams.conftest import write_video

    return write_video(tmp_path_factory.mktemp("track") / "video.mp4", _frames(), fps=20.0)


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The parameter-free LocalContrast network as a real .onnx file with its metadata."""
    from streams.conftest import LocalContrast

    from lesps_deploy.export.onnx import export_onnx

    meta = ModelMeta(model="LocalContrast", mean=90.0, std=40.0)
    return export_onnx(LocalContrast(), meta, tmp_path_factory.mktemp("onnx") / "tiny.onnx", imgsz=(64, 64))


def test_predict_track_confirmed_only(track_video: Path, tiny_onnx: Path, tmp_path: Path) -> None:
    mm = pytest.importorskip("motmetrics")
    out = tmp_path / "run"
    invoke_predict(track_video, "--weights", tiny_onnx, "--track", "--confirmed-only", "--jsonl", "--save-video",
            "--out", out, "--threads", "1")  # fmt: skip
    lines = [json.loads(x) for x in (out / "detections.jsonl").read_text().splitlines()]
    assert [line["frame"] for line in lines] == list(range(FRAMES))
    assert [line["num_targets"] for line in lines[:2]] == [0, 0]  # 3/5: reported from the third hit
    assert all(line["num_targets"] == 2 for line in lines[2:])  # the flashes never confirm
    targets = [t for line in lines for t in line["targets"]]
    assert {t["track_state"] for t in targets} == {"confirmed"}
    assert {"track_id", "vx", "vy"} <= set(targets[0])
    for tid, (x0, y0, vx, vy) in zip((1, 2), MOVERS, strict=True):  # IDs follow the targets all along
        mine = [(line["frame"], t) for line in lines for t in line["targets"] if t["track_id"] == tid]
        assert len(mine) == FRAMES - 2
        assert all(abs(t["x"] - (x0 + vx * f)) < 1.5 and abs(t["y"] - (y0 + vy * f)) < 1.5 for f, t in mine)
        assert mine[-1][1]["vx"] == pytest.approx(vx, abs=0.2) and mine[-1][1]["vy"] == pytest.approx(
            vy, abs=0.2
        )
    table = mm.io.loadtxt(str(out / "tracks.csv"), fmt="mot15-2D")
    assert len(table) == len(targets) and sorted(set(table.index.get_level_values("Id"))) == [1, 2]
    assert sorted(set(table.index.get_level_values("FrameId"))) == list(range(3, FRAMES + 1))
    cap = cv2.VideoCapture(str(out / "annotated.avi"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == FRAMES
    cap.release()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["tracks"]["confirmed"] == 2 and summary["tracks"]["started"] == 4
    assert summary["outputs"]["tracks"].endswith("tracks.csv") and "track" in summary["latency_ms"]


def test_predict_without_track_is_unchanged(track_video: Path, tiny_onnx: Path, tmp_path: Path) -> None:
    invoke_predict(
        track_video, "--weights", tiny_onnx, "--out", tmp_path, "--max-frames", "3", "--threads", "1"
    )
    first = json.loads((tmp_path / "detections.jsonl").read_text().splitlines()[0])
    assert "track_id" not in first["targets"][0] and not (tmp_path / "tracks.csv").exists()
    assert json.loads((tmp_path / "summary.json").read_text())["tracks"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--track", "--confirm", "6/5"], "--confirm 6/5: M must be <= N"),
        (["--track", "--confirm", "three"], "expected M/N"),
        (["--track", "--gate", "-3"], "--gate -3: must be > 0"),
        (["--track", "--max-age", "-1"], "--max-age -1: must be >= 0"),
        (["--confirmed-only"], "need --track"),
        (["--track", "--low-score", "0.6", "--threshold", "0.5"], "--low-score 0.6: must be below"),
    ],
)
def test_bad_tracking_options_fail_before_the_model_loads(
    tmp_path: Path, args: list[str], message: str
) -> None:
    missing = tmp_path / "not_there.onnx"  # never opened: the options fail first
    with pytest.raises(ConfigError, match=message):
        invoke_predict(tmp_path / "video.mp4", "--weights", missing, *args)


def test_track_on_a_folder_of_images_warns_and_runs_in_name_order(tiny_onnx: Path, tmp_path: Path) -> None:
    folder = tmp_path / "stills"
    folder.mkdir()
    for name, frame in zip(("b", "a", "c"), _frames()[:3], strict=True):
        cv2.imwrite(str(folder / f"{name}.png"), frame)
    result = invoke_predict(
        folder, "--weights", tiny_onnx, "--track", "--out", tmp_path / "run", "--threads", "1"
    )
    said = " ".join(result.output.split())  # the warning goes to stderr through the CLI's log handler
    assert "tracking assumes the images are one sequence" in said and "name order" in said
    lines = [json.loads(x) for x in (tmp_path / "run" / "detections.jsonl").read_text().splitlines()]
    assert [line["source"] for line in lines] == ["a", "b", "c"]


def test_detector_stream_track(tiny_detector: Detector) -> None:
    results = list(tiny_detector.stream(_frames()[:8], track=Tracker(TrackerConfig(confirmed_only=True))))
    assert [len(r.targets) for r in results] == [0, 0, 2, 2, 2, 2, 2, 2]
    assert all(isinstance(t, TrackedTarget) for r in results for t in r.targets)
    assert {t.track_id for r in results for t in r.targets} == {1, 2}
    plain = list(tiny_detector.stream(_frames()[:2]))
    assert not isinstance(plain[0].targets[0], TrackedTarget)
    for wrong in ("yes", True, TrackerConfig()):  # a step object, not a flag or its options
        with pytest.raises(ConfigError, match=r"expected an object with update\(result, image\)"):
            list(tiny_detector.stream(_frames()[:1], track=wrong))


def test_overlay_draws_ids_and_tails(tiny_detector: Detector) -> None:
    frames = _frames()[:8]
    last = list(tiny_detector.stream(frames, track=Tracker()))[-1]
    plain = draw_result(frames[-1], tiny_detector.predict([frames[-1]])[0])
    tracked = draw_result(frames[-1], last)
    tail = np.asarray(last.targets[0].tail)
    x, y = np.rint(tail[1]).astype(int)  # far behind the target, outside its circle
    assert len(tail) == 8 and (tracked[y, x] != plain[y, x]).any()
