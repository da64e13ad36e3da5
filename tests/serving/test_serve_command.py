"""`lesps serve` before any server starts: options, and the one line that says how to get the server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lesps_deploy.errors import ConfigError, DataError
from lesps_deploy.serving.config import ServeConfig
from lesps_deploy.serving.serve import served_model

ROOT = Path(__file__).resolve().parents[2]


def test_without_the_server_one_line_names_the_extra(tmp_path):
    # A `pytriton` without the bundled server, first on the path: what an install without the extra finds.
    (tmp_path / "shadow" / "pytriton").mkdir(parents=True)
    (tmp_path / "shadow" / "pytriton" / "__init__.py").write_text("")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "shadow"), str(ROOT)])}
    done = subprocess.run(
        [sys.executable, "-m", "lesps_deploy.cli", "serve", str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "pip install 'lesps-deploy[serve]'" in lines[0], done.stderr


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"http_port": 0},
            "http_port=0",
        ),  # Python names the keyword (the CLI the flag: tests/test_options.py)
        ({"grpc_port": 8000}, "must differ"),
        ({"instances": 0}, "instances=0"),
    ],
)
def test_options_refused(options, message):
    with pytest.raises(ConfigError, match=message):
        ServeConfig(Path("repo"), **options)


def test_model_choice(tmp_path):
    with pytest.raises(DataError, match="no model this server can run"):
        served_model(tmp_path, None)
    for name in ("a", "b"):
        (tmp_path / name / "1").mkdir(parents=True)
        (tmp_path / name / "config.pbtxt").write_text("")
        (tmp_path / name / "1" / "model.py").write_text("")
        (tmp_path / name / "1" / "model.onnx").write_bytes(b"")
    with pytest.raises(DataError, match="choose one with --model"):
        served_model(tmp_path, None)
    assert served_model(tmp_path, "b") == "b"
    with pytest.raises(DataError, match="no model 'c'"):
        served_model(tmp_path, "c")
