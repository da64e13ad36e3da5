"""What every command shares: `--json -` (stdout holds the JSON alone), thresholds refused before any
model loads, no run folder from a failed start, no blank progress lines off a terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from conftest import write_tiny_dataset
from typer.testing import CliRunner

from lesps_deploy.cli import app
from lesps_deploy.errors import ConfigError, DataError, ModelError
from lesps_deploy.export.onnx_cache import cached_onnx
from lesps_deploy.metadata import ModelMeta
from lesps_deploy.models import create_model, save_checkpoint
from lesps_deploy.progress import progress_task, track


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("consistency")
    torch.manual_seed(0)
    ckpt = save_checkpoint(root / "acm.pth", create_model("ACM"), ModelMeta(model="ACM", mean=75.0, std=20.0))
    video = root / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (64, 64))
    for i in range(5):
        writer.write(np.full((64, 64, 3), 60 + 5 * i, np.uint8))
    writer.release()
    return {
        "ckpt": Path(ckpt), "onnx": cached_onnx(ckpt, root=root / "onnx"), "data": write_tiny_dataset(root / "Tiny"),
        "video": video, "root": root,
    }  # fmt: skip


def _stdout_json(args: list[str]) -> dict:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.stdout)  # the whole of stdout is one JSON document


def test_json_dash_is_stdout_alone(files: dict[str, Path], tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # nothing may be written to a file named '-'
    onnx, data = str(files["onnx"]), str(files["data"])
    assert _stdout_json(["evaluate", onnx, "--data", data, "--json", "-"])["images"] == 4
    exported = _stdout_json(["export", str(files["ckpt"]), "--out", str(tmp_path / "a.onnx"), "--json", "-"])
    assert exported["path"] == str(tmp_path / "a.onnx")
    bench = _stdout_json([
        "benchmark", "-w", str(files["ckpt"]), "--backends", "onnxruntime", "--batch", "1", "--imgsz", "64",
        "--runs", "3", "--warmup", "0", "--cache-dir", str(tmp_path / "cache"), "--json", "-",
    ])  # fmt: skip
    assert {row["backend"] for row in bench["rows"]} == {"torch", "onnxruntime"}
    summary = _stdout_json(
        ["predict", str(files["video"]), "-w", onnx, "--out", str(tmp_path / "p"), "--json", "-"]
    )
    assert summary == json.loads((tmp_path / "p" / "summary.json").read_text())
    assert _stdout_json(["labels", data, "--json", "-"])["written"] == 4
    assert not (tmp_path / "-").exists()


def test_json_path_is_a_file(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "labels.json"
    result = CliRunner().invoke(app, ["labels", str(files["data"]), "--json", str(out)])
    assert result.exit_code == 0 and json.loads(out.read_text())["targets"] == 4
    assert "wrote 4 centroid labels" in result.stdout


@pytest.mark.parametrize("threshold", ["2", "-1"])
def test_thresholds_outside_0_1_refused_before_the_model_loads(
    files: dict[str, Path], tmp_path: Path, threshold: str
) -> None:
    missing = str(tmp_path / "missing.pth")  # never opened: the threshold is refused first
    data = str(files["data"])
    commands = [
        ["evaluate", missing, "--data", data],
        ["predict", str(files["video"]), "-w", missing, "--out", str(tmp_path / "p")],
        ["train", "--model", "ACM", "--data", data, "--out", str(tmp_path / "run")],
        ["benchmark", "-w", missing],
    ]
    for args in commands:
        result = CliRunner().invoke(app, [*args, "--threshold", threshold])
        assert isinstance(result.exception, ConfigError), (args, result.exception)
        assert f"--threshold {threshold}" in str(result.exception)
    assert not (tmp_path / "p").exists() and not (tmp_path / "run").exists()


def test_evaluate_checks_paths_and_norm_before_loading(files: dict[str, Path], tmp_path: Path) -> None:
    ckpt = str(files["ckpt"])
    with pytest.raises(DataError, match="no such dataset folder"):
        CliRunner().invoke(app, ["evaluate", ckpt, "--data", str(tmp_path / "nope")], catch_exceptions=False)
    with pytest.raises(ConfigError, match="--norm bogus"):
        args = ["evaluate", ckpt, "--data", str(files["data"]), "--norm", "bogus"]
        CliRunner().invoke(app, args, catch_exceptions=False)


def test_failed_train_start_leaves_no_run_folder(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app, ["train", "--model", "Foo", "--data", str(files["data"]), "--out", str(out)]
    )
    assert isinstance(result.exception, ModelError) and "unknown model 'Foo'" in str(result.exception)
    assert not out.exists()


def test_progress_prints_no_blank_lines_off_a_terminal(capsys: pytest.CaptureFixture) -> None:
    with progress_task(True, "transient", 3) as advance:  # stderr is captured: not a terminal
        for _ in range(3):
            advance(1)
    assert capsys.readouterr().err == ""
    for _ in track(range(3), 3, "kept"):
        pass
    err = capsys.readouterr().err
    assert "kept" in err and all(line.strip() for line in err.splitlines())


def test_options_checked_before_the_weights_are_read(files: dict[str, Path], tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pth"  # reading it would fail with a CheckpointError
    garbage.write_bytes(b"not a checkpoint")
    data, video = str(files["data"]), str(files["video"])
    cases = [
        (["evaluate", str(garbage), "--data", data, "--norm", "bogus"], ConfigError, "--norm bogus"),
        (["predict", video, "-w", str(garbage), "--norm", "bogus", "--out", str(tmp_path / "p")], ConfigError, "--norm"),
        (["export", str(garbage), "--out", str(tmp_path / "a.onnx"), "--norm", "bogus"], ConfigError, "--norm"),
        (["export", str(garbage), "--out", str(tmp_path / "a.onnx"), "--verify", str(tmp_path / "no")], DataError,
         "no such dataset folder"),
    ]  # fmt: skip
    for args, error, words in cases:
        result = CliRunner().invoke(app, args)
        assert isinstance(result.exception, error) and words in str(result.exception), (
            args,
            result.exception,
        )


def test_opencv_noise_silenced_unless_debug(files: dict[str, Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8).tobytes())
    args = [sys.executable, "-m", "lesps_deploy.cli", "predict", str(bad), "-w", str(files["onnx"])]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENCV_", "LESPS_DEBUG"))}
    quiet = subprocess.run([*args, "--out", str(tmp_path / "a")], capture_output=True, text=True, env=env)
    assert quiet.returncode == 2 and "cannot open video" in quiet.stderr
    assert "WARN" not in quiet.stderr and "VIDEOIO" not in quiet.stderr, quiet.stderr
    debug = subprocess.run(
        [*args, "--out", str(tmp_path / "b")], capture_output=True, text=True, env={**env, "LESPS_DEBUG": "1"}
    )
    assert "VIDEOIO" in debug.stderr  # the libraries' own messages are there for debugging


def test_a_skipped_image_is_said_once(files: dict[str, Path], tmp_path: Path) -> None:
    import shutil

    data = Path(shutil.copytree(files["data"], tmp_path / "Tiny"))
    (data / "images" / "f1.png").write_bytes(b"broken")
    result = CliRunner().invoke(app, ["evaluate", str(files["onnx"]), "--data", str(data), "--skip-bad"])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert said.count("unreadable image") == 1 and "skipped" in said


def test_tile_size_off_the_models_multiple_is_one_line_after_load(
    files: dict[str, Path], tmp_path: Path
) -> None:
    onnx, data, video = str(files["onnx"]), str(files["data"]), str(files["video"])
    for args in (
        ["evaluate", onnx, "--data", data],
        ["predict", video, "-w", onnx, "--out", str(tmp_path / "p")],
    ):
        result = CliRunner().invoke(app, [*args, "--tile-size", "33"])
        assert isinstance(result.exception, ConfigError), (args, result.exception)
        assert str(result.exception).startswith("--tile-size 33: must be a multiple of 32"), result.exception


def test_unwritable_json_fails_before_the_evaluation(files: dict[str, Path], tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("this user writes in read-only folders (root)")
        args = [
            "evaluate",
            str(files["ckpt"]),
            "--data",
            str(files["data"]),
            "--json",
            str(locked / "r.json"),
        ]
        result = CliRunner().invoke(app, args)
        assert isinstance(result.exception, ConfigError) and "cannot write in" in str(result.exception)
        assert "evaluating" not in result.output
    finally:
        locked.chmod(0o755)
