"""Real faults of the file system under every writing command: a full disk (a size-limited tmpfs) and a
read-only file system (a tmpfs remounted read-only). Each ends in one line naming the path and the
cause, exit 1, and leaves no temporary file. Mounting needs root (CI runs as root); elsewhere these
tests skip, saying so."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_run import run_main
from conftest import write_tiny_dataset
from PIL import Image

from lesps_deploy.io import find_temp_files
from lesps_deploy.metadata import ModelMeta
from lesps_deploy.models import create_model, save_checkpoint


@pytest.fixture
def mount(tmp_path: Path) -> Iterator[Callable[..., Path]]:
    """`mount(size, fill=None, readonly=False)`: a fresh tmpfs of `size` bytes (`fill(point)` writes
    into it first, then it is remounted read-only if asked); unmounted afterwards."""
    points: list[Path] = []

    def make(size: int, fill: Callable[[Path], None] | None = None, readonly: bool = False) -> Path:
        point = tmp_path / f"mnt{len(points)}"
        point.mkdir()
        if os.geteuid() != 0:
            pytest.skip("mounting a tmpfs needs root (CI runs as root)")
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)],
            capture_output=True,
            text=True,
        )
        if done.returncode:
            pytest.skip(f"mount is not permitted here: {done.stderr.strip()}")
        points.append(point)
        if fill is not None:
            fill(point)
        if readonly:
            subprocess.run(["mount", "-o", "remount,ro", str(point)], check=True)
        return point

    yield make
    for point in points:
        subprocess.run(["umount", "-l", str(point)], check=False)


def _one_os_line(code: int, lines: list[str], cause: str, where: Path) -> str:
    """One error line naming the path and the cause: exit 1 when the fault struck during the work, or 2
    when the output check refused the path before any work (`lesps_deploy.options`)."""
    errors = [line for line in lines if line.startswith("error:")]
    assert code in (1, 2) and len(errors) == 1, lines
    assert cause in errors[0].lower() and str(where) in errors[0], errors[0]
    return errors[0]


FULL, READ_ONLY = "no space left on the device", "read-only file system"


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("faults")
    return save_checkpoint(root / "acm.pth", create_model("ACM"), ModelMeta(model="ACM", mean=75.0, std=20.0))


@pytest.fixture(scope="module")
def frames(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("frames")
    rng = np.random.default_rng(0)
    for i in range(12):
        Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(folder / f"f{i:02d}.png")
    return folder


@pytest.mark.parametrize("fault", ["full", "read-only"])
def test_predict(monkeypatch, capsys, mount, acm_onnx, frames, fault: str) -> None:
    point = mount(48 * 1024, readonly=fault == "read-only")
    out = point / "run"
    code, lines = run_main(
        monkeypatch, capsys, "predict", frames, "--weights", acm_onnx, "--out", out, "--save-overlay"
    )
    _one_os_line(code, lines, FULL if fault == "full" else READ_ONLY, point)
    assert find_temp_files(point) == []


@pytest.mark.parametrize("fault", ["full", "read-only"])
def test_export(monkeypatch, capsys, mount, ckpt, fault: str) -> None:
    point = mount(64 * 1024, readonly=fault == "read-only")
    code, lines = run_main(monkeypatch, capsys, "export", ckpt, "--out", point / "acm.onnx")
    _one_os_line(code, lines, FULL if fault == "full" else READ_ONLY, point / "acm.onnx")
    assert list(point.iterdir()) == []  # no half-written artifact, no temporary file


def test_evaluate_json_read_only(monkeypatch, capsys, mount, ckpt, tmp_path) -> None:
    data = write_tiny_dataset(tmp_path / "Tiny")
    point = mount(64 * 1024, readonly=True)
    code, lines = run_main(monkeypatch, capsys, "evaluate", ckpt, "--data", data, "--json", point / "e.json")
    _one_os_line(code, lines, READ_ONLY, point)


@pytest.mark.parametrize("fault", ["full", "read-only"])
def test_labels(monkeypatch, capsys, mount, tmp_path, fault: str) -> None:
    def dataset(point: Path) -> None:
        write_tiny_dataset(point / "Tiny", n=4)
        if fault == "full":  # leave about no room
            (point / "filler").write_bytes(b"\0" * (shutil.disk_usage(point).free - 512))

    point = mount(256 * 1024, fill=dataset, readonly=fault == "read-only")
    code, lines = run_main(monkeypatch, capsys, "labels", point / "Tiny", "--type", "centroid")
    _one_os_line(code, lines, FULL if fault == "full" else READ_ONLY, point / "Tiny")
    assert find_temp_files(point) == []


@pytest.mark.parametrize("fault", ["full", "read-only"])
def test_data_synth(monkeypatch, capsys, mount, fault: str) -> None:
    point = mount(64 * 1024, readonly=fault == "read-only")
    code, lines = run_main(
        monkeypatch, capsys, "data", "synth", point / "S", "--images", "40", "--size", "64"
    )
    _one_os_line(code, lines, FULL if fault == "full" else READ_ONLY, point)
    assert find_temp_files(point) == []


def test_train_full_disk_says_so(monkeypatch, capsys, mount, tmp_path) -> None:
    data = write_tiny_dataset(tmp_path / "Tiny", n=4)
    (data / "img_idx" / "train_Tiny.txt").write_text("f0\nf1\nf2\nf3\n")
    point = mount(64 * 1024)  # room for the run's config and log, not for a checkpoint
    out = point / "run"
    code, lines = run_main(
        monkeypatch, capsys, "train", "--data", data, "--model", "ACM", "--labels", "full", "--epochs", "1",
        "--batch-size", "2", "--patch-size", "64", "--eval-every", "0", "--out", out,
    )  # fmt: skip
    line = _one_os_line(code, lines, FULL, out)
    assert ".pth" in line and "unexpected pos" not in line
    assert find_temp_files(point) == []


@pytest.mark.parametrize("command", ["export-triton", "export-onnx", "evaluate-json", "data-synth"])
def test_output_where_a_file_stands(monkeypatch, capsys, ckpt, tmp_path, command: str) -> None:
    """An output folder (or a folder on an output's path) that is a file: one line, no traceback."""
    taken = tmp_path / "taken"
    taken.write_text("mine")
    args = {
        "export-triton": ["export", ckpt, "--format", "triton", "--out", taken],
        "export-onnx": ["export", ckpt, "--out", taken / "a.onnx"],
        "evaluate-json": [
            "evaluate",
            ckpt,
            "--data",
            write_tiny_dataset(tmp_path / "Tiny"),
            "--json",
            taken / "e.json",
        ],
        "data-synth": ["data", "synth", taken, "--images", "4", "--size", "64"],
    }[command]
    code, lines = run_main(monkeypatch, capsys, *args)
    errors = [line for line in lines if line.startswith("error:")]
    assert code in (1, 2) and len(errors) == 1 and str(taken) in errors[0], lines
    assert taken.read_text() == "mine"
