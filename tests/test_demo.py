"""`lesps demo --quick`: every step runs, every artifact exists, and the report names them."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from lesps_deploy.cli import app
from lesps_deploy.demo.config import DemoConfig, DemoSummary
from lesps_deploy.demo.report import render_html, render_markdown
from lesps_deploy.demo.run import run_demo, video_hits
from lesps_deploy.errors import ConfigError

FIGURES = ("figure_samples", "figure_evolution", "figure_overlays", "figure_video")


@pytest.fixture(scope="module")
def quick_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("demo") / "demo"
    result = CliRunner().invoke(app, ["demo", "--quick", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, result.output


def test_quick_demo_writes_every_artifact(quick_demo: tuple[Path, str]) -> None:
    out, output = quick_demo
    summary = json.loads((out / "demo.json").read_text())
    artifacts = {k: Path(v) for k, v in summary["artifacts"].items()}
    expected = {
        "dataset", "images", "masks", "point_labels", "train_list", "test_list", "video", "video_truth",
        "checkpoint", "train_metrics", "evolved_labels", "eval_json", "onnx", "export_json", "benchmark_json",
        "benchmark_md", "annotated_video", "detections", "report_md", "report_html", "summary", *FIGURES,
    }  # fmt: skip
    assert expected <= set(artifacts)
    missing = [f"{k}: {p}" for k, p in artifacts.items() if not p.exists()]
    assert not missing
    report = (out / "report.md").read_text()
    unnamed = [k for k, p in artifacts.items() if p.relative_to(out).as_posix() not in report]
    assert not unnamed
    assert str(artifacts["report_md"]) in output and "IoU" in output


def test_quick_demo_steps_and_metrics(quick_demo: tuple[Path, str]) -> None:
    out, _ = quick_demo
    summary = json.loads((out / "demo.json").read_text())
    assert list(summary["step_seconds"]) == [
        "data", "labels", "train", "evaluate", "export", "benchmark", "predict", "report",
    ]  # fmt: skip
    assert set(summary["metrics"]) >= {"IoU", "nIoU", "Pd", "Fa"}
    assert summary["rounds"] and all(
        Path(out, "train", "labels", f"round_{r[0]:03d}.npz").exists() for r in summary["rounds"]
    )
    assert summary["parity_ok"] and summary["parity_max_abs_diff"] < 1e-4
    assert {r["backend"] for r in summary["benchmark"]} == {"torch", "onnxruntime"}
    assert summary["video"]["frames"] == 8


def test_quick_demo_figures_and_html(quick_demo: tuple[Path, str]) -> None:
    out, _ = quick_demo
    html = (out / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>")
    for name in ("samples", "evolution", "overlays", "video"):
        image = cv2.imread(str(out / "figures" / f"{name}.png"))
        assert image is not None and image.shape[0] > 32 and image.std() > 0
    assert html.count("data:image/png;base64,") == 4
    assert 'src="figures/' not in html  # images inline, not linked


def test_demo_refuses_a_foreign_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty"):
        run_demo(DemoConfig(out=tmp_path, quick=True))
    with pytest.raises(ConfigError, match="not a demo output folder"):
        run_demo(DemoConfig(out=tmp_path, quick=True, force=True))
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_video_hits_counts_matches(tmp_path: Path) -> None:
    truth = tmp_path / "v_truth.npz"
    np.savez(truth, targets=np.array([[0, 10, 20], [0, 40, 40], [1, 11, 21]], np.float32))
    frames = [
        {"frame": 0, "targets": [{"x": 21.0, "y": 11.0}, {"x": 5.0, "y": 5.0}]},
        {"frame": 1, "targets": [{"x": 21.0, "y": 12.0}]},
    ]
    detections = tmp_path / "d.jsonl"
    detections.write_text("".join(json.dumps(f) + "\n" for f in frames))
    assert video_hits(detections, truth) == {"truth": 3, "found": 2, "extra": 1}


def test_report_renderers_agree(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "a.png"), np.full((4, 4, 3), 128, np.uint8))
    blocks = [
        ("h1", "Title"),
        ("p", "see `a.png` <b>"),
        ("table", ["x", "y|z"], [["1", "`p`"]]),
        ("img", "a.png", "caption"),
        ("ul", ["one"]),
    ]
    md = render_markdown(blocks)
    assert "# Title" in md and "| x | y\\|z |" in md and "![caption](a.png)" in md and "- one" in md
    page = render_html(blocks, tmp_path)
    assert "<code>a.png</code>" in page and "&lt;b&gt;" in page and "data:image/png;base64," in page


def test_summary_json_when_the_bar_is_met(tmp_path: Path) -> None:
    # A demo that detects must still write demo.json (numpy scalars in the metrics once broke it).
    summary = DemoSummary(
        out_dir=tmp_path, quick=False, seconds=1.0,
        metrics={"IoU": np.float64(0.6), "nIoU": np.float64(0.6), "Pd": 0.95, "Fa": 1e-5},
        initial_label_iou=0.05, rounds=((1, 60, 0.5),), parity_max_abs_diff=1e-7, parity_ok=True, benchmark=(),
        video={}, artifacts={}, step_seconds={}, report_md=tmp_path / "r.md", report_html=tmp_path / "r.html",
    )  # fmt: skip
    data = json.loads(json.dumps(summary.to_dict()))
    assert data["detects"] is True
