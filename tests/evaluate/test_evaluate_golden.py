"""`lesps evaluate` on the released checkpoints gives the reference counts exactly, without `--norm`
(the release table supplies SIRST3) and naming the release it recognised."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lesps_deploy.cli import app
from lesps_deploy.metrics.report import SUMMARY_KEYS

COUNT_KEYS = ("intersection", "union", "targets", "detected", "false_alarm_pixels", "pixels")
CHECKPOINTS = (
    "ACM_LESPS_centroid.pth.tar",
    "ACM_LESPS_coarse.pth.tar",
    "ACM_full.pth.tar",
    "ALCNet_LESPS_centroid.pth.tar",
    "ALCNet_full.pth.tar",
)


@pytest.mark.parametrize("ckpt", CHECKPOINTS)
def test_golden_counts(
    ckpt: str, official_weights: Path, nuaa_dir: Path, golden_dir: Path, tmp_path: Path
) -> None:
    golden = json.loads((golden_dir / "reference_metrics_nuaa.json").read_text())["results"][ckpt]
    out = tmp_path / "out.json"
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            str(official_weights / ckpt),
            "--data",
            str(nuaa_dir),
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"recognised the LESPS release {ckpt.removesuffix('.pth.tar')}" in result.output
    summary = json.loads(out.read_text())
    assert tuple(summary) == SUMMARY_KEYS
    assert summary["norm"] == [95.010, 41.511]
    # Misc_111's 592x400 mask for a 325x220 image: fitted as the reference does, and said.
    assert summary["mask_size_mismatches"] == 1
    assert "Misc_111.png: mask is 592x400 but its image is 325x220; cropped top-left" in " ".join(
        result.output.split()
    )
    assert {k: summary[k] for k in COUNT_KEYS} == {k: golden[k] for k in COUNT_KEYS}
    assert summary["IoU"] == pytest.approx(golden["IoU"]) and summary["Pd"] == pytest.approx(golden["Pd"])
    assert summary["model"] == golden["model"]


def test_fa_rule_2023_option(
    official_weights: Path, nuaa_dir: Path, golden_dir: Path, tmp_path: Path
) -> None:
    """`--fa-rule 2023` is accepted and recorded; on NUAA-SIRST both rules give the golden counts."""
    ckpt = "ACM_full.pth.tar"
    golden = json.loads((golden_dir / "reference_metrics_nuaa.json").read_text())["results"][ckpt]
    out = tmp_path / "out.json"
    args = ["evaluate", str(official_weights / ckpt), "--data", str(nuaa_dir), "--norm", "SIRST3"]
    result = CliRunner().invoke(app, [*args, "--fa-rule", "2023", "--json", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads(out.read_text())
    assert summary["fa_rule"] == "2023"
    assert summary["false_alarm_pixels"] == golden["false_alarm_pixels"]
    bad = CliRunner().invoke(app, [*args, "--fa-rule", "2022"])
    assert bad.exit_code != 0 and "--fa-rule 2022" in str(bad.exception)
    assert "loaded" not in bad.output  # refused before the model is loaded
