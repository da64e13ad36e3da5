"""The package face: one name per verb, real types for a type checker, and the `export` verb kept
when the `lesps_deploy.export` subpackage is imported."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import lesps_deploy

ROOT = Path(__file__).resolve().parents[1]
VERBS = ("Detector", "evaluate", "export", "predict", "train")
USER_SCRIPT = """
from lesps_deploy import Detector, evaluate, export, predict, train

reveal_type(Detector)
reveal_type(Detector("a.onnx").predict)
reveal_type(evaluate)
reveal_type(export)
reveal_type(predict)
reveal_type(train)
"""


def test_face_offers_one_name_per_verb() -> None:
    names = set(lesps_deploy.__all__)
    assert set(VERBS) <= names
    old = {
        "export_model",
        "export_weights",
        "export_onnx",
        "evaluate_weights",
        "evaluate_backend",
        "run_predict",
    }
    assert not old & names


def test_export_is_the_verb_after_the_subpackage_loads() -> None:
    from lesps_deploy.export.config import ExportConfig  # loads the subpackage and a module under it

    assert callable(lesps_deploy.export) and lesps_deploy.export.__name__ == "export"
    assert "ExportConfig" in lesps_deploy.export.__annotations__["weights"]
    assert ExportConfig.__module__ == "lesps_deploy.export.config"


def _installed_layout(root: Path) -> Path:
    """The package as an install lays it out (training/ and export/ inside lesps_deploy/, as pyproject's
    package-dir maps them), made of links to this checkout: what a type checker reads in site-packages."""
    pkg = root / "site" / "lesps_deploy"
    pkg.mkdir(parents=True)
    for entry in (ROOT / "lesps_deploy").iterdir():
        if entry.name != "__pycache__":
            (pkg / entry.name).symlink_to(entry)
    for sub in ("export", "training"):
        (pkg / sub).symlink_to(ROOT / sub)
    return pkg.parent


def test_mypy_sees_real_types(tmp_path: Path) -> None:
    script = tmp_path / "user.py"
    script.write_text(USER_SCRIPT)
    site = _installed_layout(tmp_path)
    env = {**os.environ, "MYPYPATH": str(site), "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary", "--follow-imports=silent",
         "--ignore-missing-imports", "--cache-dir", str(tmp_path / "cache"), str(script)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600,
    )  # fmt: skip
    revealed = re.findall(r'Revealed type is "(.*)"', done.stdout)
    assert len(revealed) == 6, done.stdout + done.stderr
    assert not [t for t in revealed if t == "Any"], revealed
    detector, predict_method, evaluate, export, predict, train = revealed
    assert "lesps_deploy.runtime.detector.Detector" in detector
    assert (
        predict_method.startswith("def (") and "list[lesps_deploy.runtime.results.Result]" in predict_method
    )
    assert evaluate.endswith("-> lesps_deploy.metrics.report.EvalReport")
    assert export.endswith("-> lesps_deploy.export.config.ExportResult")
    assert predict.endswith("-> lesps_deploy.apis.prediction.PredictSummary")
    assert train.endswith("-> lesps_deploy.training.records.TrainResult")
