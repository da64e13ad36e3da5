"""`lesps predict` in a real process, killed: kill -9 mid-run leaves a playable video, valid JSONL and a
summary, and the next run names the killed one; Ctrl-C and SIGTERM account for every decoded frame and exit
130 and 143.

The run is waited on by a condition (lines in detections.jsonl), never by sleeps of a guessed length.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from streams.conftest import make_frames, write_video
from typer.testing import CliRunner

from lesps_deploy.cli import app

FRAMES = 300


@pytest.fixture(scope="module")
def long_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 frames of 640x512 (a common thermal core's size) at 25 fps: three moving targets, sensor noise.

    The noise matters: the encoder hands data to the file in 256 KiB chunks, and noise-free frames
    compress so well that a few seconds of video fit in one chunk (see `lesps_deploy.streams.sinks`).
    """
    frames = make_frames([np.full((512, 640), 90.0), np.full((512, 640), 60.0)], n=FRAMES, size=(512, 640))
    rng = np.random.default_rng(0)
    noisy = [cv2.add(f, rng.integers(0, 8, f.shape, dtype=np.uint8)) for f in frames]
    return write_video(tmp_path_factory.mktemp("kill") / "clip.avi", noisy, fps=25.0)


def _start(cwd: Path, *args: object) -> subprocess.Popen:
    """`lesps predict ...` as a child process with SIGINT at its default (see below)."""
    cmd = [sys.executable, "-m", "lesps_deploy.cli", "predict", *map(str, args), "--threads", "1"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # cwd outside the checkout: `-m` puts the cwd first on sys.path, and the source tree is not the install.
    # SIGINT back to its default in the child: a shell that starts the suite in the background (`&`)
    # ignores SIGINT, the child would inherit that, and Python then never raises KeyboardInterrupt.
    restore_sigint = lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)  # noqa: E731
    return subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=restore_sigint
    )


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines() if path.is_file() else []


def _wait_for(condition: Callable[[], bool], proc: subprocess.Popen, timeout: float = 300.0) -> None:
    """Poll `condition` until it holds; fail if the process ends first or the (generous) timeout passes."""
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f"predict ended before the condition held: {proc.stderr.read().decode()[-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("predict made no progress")
        time.sleep(0.02)


def _video_frames(paths: list[Path]) -> int:
    n = 0
    for path in paths:
        cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
        while cap.read()[0]:
            n += 1
        cap.release()
    return n


def _detections(path: Path, gaps: bool = False) -> list[dict]:
    """The records of a JSONL whose every line parses, in frame order (with `gaps`: frames may be missing)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    frames = [r["frame"] for r in records]
    if gaps:
        assert frames == sorted(set(frames))
    else:
        assert frames == list(range(len(records)))
    return records


@pytest.mark.parametrize(
    ("video_format", "segment"), [("avi", None), ("mkv", None), ("avi", 1.0)], ids=["avi", "mkv", "segments"]
)
def test_sigkill_mid_run_leaves_playable_video_valid_jsonl_and_summary(
    video_format: str, segment: float | None, long_video: Path, tiny_onnx: Path, tmp_path: Path
) -> None:
    extra = ["--segment-seconds", segment] if segment else []
    proc = _start(
        tmp_path, long_video, "--weights", tiny_onnx, "--save-video", "--video-format", video_format, *extra
    )
    out = tmp_path / "runs" / "predict-1"
    wanted = 150  # 6 s of video: several of the chunks FFmpeg hands to a Matroska file have reached it
    _wait_for(lambda: len(_lines(out / "detections.jsonl")) >= wanted, proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL

    records = _detections(out / "detections.jsonl")
    assert wanted <= len(records) < FRAMES, "the kill must land mid-run"
    videos = sorted(out.glob(f"annotated*.{video_format}"))
    n_video = _video_frames(videos)
    if video_format == "avi":  # the default: every frame reaches the file as it is written
        # Each frame goes to the video just before its JSONL line: the kill may fall between the two.
        assert len(records) in (n_video, n_video - 1), (n_video, len(records))
    else:  # Matroska: FFmpeg's last chunk (up to 1 MiB) is lost, but the file plays
        assert 0 < n_video <= len(records)
    if segment:  # every closed segment holds exactly 25 frames (1 s at 25 fps)
        assert len(videos) >= n_video // 25 and _video_frames(videos[:1]) == 25
    summary = json.loads((out / "summary.json").read_text())
    assert summary["state"] == "running" and summary["pid"] == proc.pid
    assert summary["frames"] <= len(records)
    assert summary["frames"] + summary["dropped"] + summary["rejected"] <= summary["decoded"]


def test_next_run_names_the_killed_one_and_removes_its_temporary_files(
    long_video: Path, tiny_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proc = _start(tmp_path, long_video, "--weights", tiny_onnx, "--save-masks")
    killed = tmp_path / "runs" / "predict-1"
    _wait_for(lambda: len(_lines(killed / "detections.jsonl")) >= 20, proc)
    proc.kill()
    proc.communicate(timeout=60)
    # What a kill during a mask's atomic write leaves behind (too short a window to hit on purpose).
    stale = killed / "masks" / ".clip_000007.png.abcd1234.tmp.png"
    stale.write_bytes(b"half a png")

    monkeypatch.chdir(tmp_path)
    image = tmp_path / "one.png"
    cv2.imwrite(str(image), np.full((64, 64), 80, np.uint8))
    result = CliRunner().invoke(app, ["predict", str(image), "--weights", str(tiny_onnx)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "runs" / "predict-2" / "summary.json").is_file()
    assert not stale.exists()
    assert json.loads((killed / "summary.json").read_text())["state"] == "killed"
    said = " ".join(result.output.split())  # the log line, unwrapped
    assert "predict-1: the run there was killed after" in said and stale.name in said


@pytest.mark.parametrize(
    "sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"]
)  # SIGTERM: what `kill`, systemd and Docker send; the files are finished as for Ctrl-C
def test_ctrl_c_and_sigterm_account_for_every_decoded_frame_and_exit_128_plus_signal(
    sig: signal.Signals, long_video: Path, tiny_onnx: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    proc = _start(tmp_path, long_video, "--weights", tiny_onnx, "--out", out, "--save-video", "--json", "-")
    _wait_for(lambda: len(_lines(out / "detections.jsonl")) >= 30, proc)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 128 + sig, stderr.decode()[-2000:]  # 130 for Ctrl-C, 143 for SIGTERM
    summary = json.loads((out / "summary.json").read_text())
    assert summary == json.loads(stdout.decode().strip().splitlines()[-1])
    assert summary["interrupted"] and summary["state"] == "interrupted" and summary["stopped_by"] == sig.name
    assert 30 <= summary["frames"] < FRAMES
    assert summary["frames"] + summary["dropped"] + summary["rejected"] == summary["decoded"]
    assert summary["rejected"] == 0 and summary["decoded"] <= FRAMES
    # With two inference workers, the batch the signal interrupted is dropped while the other one's is
    # written: a gap of a frame or two in the JSONL, counted in `dropped`.
    records = _detections(out / "detections.jsonl", gaps=True)
    assert len(records) == summary["frames"]
    assert _video_frames([out / "annotated.avi"]) == summary["frames"]  # closed cleanly: every frame
