"""Datasets with point labels only: LESPS trains, label IoU is 'not available', test metrics run only
where there are masks, and `lesps evaluate` names the missing mask folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lesps_deploy.cli import app
from lesps_deploy.errors import DataError
from lesps_deploy.models import load_checkpoint
from lesps_deploy.training import TrainConfig, train


def _cfg(data: Path, out: Path) -> TrainConfig:
    return TrainConfig(
        model="ACM", data=data, labels="centroid", epochs=2, batch_size=3, patch_size=64, tloss=1e9, start_rule="tloss",
        evolve_every=2, device="cpu", out=out, eval_every=1, seed=0,
    )  # fmt: skip


def _events(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_points_only_dataset_trains(tiny_maker, nuaa_dir: Path, tmp_path: Path, caplog) -> None:
    data = tiny_maker(nuaa_dir, tmp_path / "pts", folders=("images", "masks_centroid"))
    with caplog.at_level("WARNING"):
        result = train(_cfg(data, tmp_path / "run"))
    assert result.checkpoint.is_file() and load_checkpoint(result.checkpoint).meta.label_type == "centroid"
    assert result.epochs == 2 and [r.epoch for r in result.rounds] == [1, 2]
    assert all(r.label_iou is None for r in result.rounds)  # not available: neither a crash nor 0
    assert result.metrics is None
    events = _events(result.run_dir)
    unavailable = [e for e in events if e["event"] == "label_iou"]
    assert unavailable == [
        {
            "event": "label_iou",
            "available": False,
            "reason": f"{data / 'masks'}: no full masks to compare the labels with",
        }
    ]
    assert [e["label_iou"] for e in events if e["event"] == "evolution"] == [None, None]
    skipped = [e for e in events if e["event"] == "eval_skipped"]
    assert len(skipped) == 1 and "masks: mask folder not found" in skipped[0]["reason"]  # said once
    assert not [e for e in events if e["event"] == "eval"]
    warnings = [r.getMessage() for r in caplog.records if "test metrics skipped" in r.getMessage()]
    assert len(warnings) == 1 and "\n" not in warnings[0]


def test_masks_for_the_test_split_only(tiny_maker, nuaa_dir: Path, tmp_path: Path) -> None:
    """Train images labelled by points, test images with masks: test metrics run, label IoU does not."""
    data = tiny_maker(nuaa_dir, tmp_path / "mixed", folders=("images", "masks_centroid"))
    (data / "masks").mkdir()
    test_names = (data / "img_idx" / f"test_{data.name}.txt").read_text().split()
    for name in test_names:
        (data / "masks" / f"{name}.png").symlink_to(nuaa_dir / "masks" / f"{name}.png")
    result = train(_cfg(data, tmp_path / "run"))
    assert all(r.label_iou is None for r in result.rounds)
    assert result.metrics is not None and result.metrics.images == len(test_names)
    reason = next(e["reason"] for e in _events(result.run_dir) if e["event"] == "label_iou")
    assert "masks/Misc_40.png: listed in the split but not found" in reason


def test_evaluate_names_the_missing_mask_folder(
    tiny_maker, nuaa_dir: Path, acm_pth: Path, tmp_path: Path
) -> None:
    data = tiny_maker(nuaa_dir, tmp_path / "pts", folders=("images", "masks_centroid"))
    result = CliRunner().invoke(app, ["evaluate", str(acm_pth), "--data", str(data)])
    assert isinstance(result.exception, DataError)
    assert (
        str(result.exception)
        == f"{data / 'masks'}: mask folder not found, so the 'test' split cannot be scored"
    )


@pytest.mark.parametrize("folder", ["masks_centroid", "masks_coarse"])
def test_point_labels_from_a_file_then_train(folder: str, tiny_maker, nuaa_dir: Path, tmp_path: Path) -> None:
    """The whole point-only path: clicks in a CSV -> `lesps labels --from-points` -> `lesps train`."""
    from lesps_deploy.data import read_mask

    data = tiny_maker(nuaa_dir, tmp_path / "clicks", folders=("images",))
    rows = ["image,x,y"]
    for png in sorted((nuaa_dir / "masks_centroid").glob("Misc_*.png")):
        if (data / "images" / png.name).exists():
            rows += [
                f"{png.stem},{c + 0.5},{r + 0.5}" for r, c in zip(*read_mask(png).nonzero(), strict=True)
            ]
    (tmp_path / "clicks.csv").write_text("\n".join(rows) + "\n")
    kind = folder.removeprefix("masks_")
    runner = CliRunner()
    made = runner.invoke(
        app, ["labels", str(data), "--from-points", str(tmp_path / "clicks.csv"), "--type", kind]
    )
    assert made.exit_code == 0, made.output
    args = [
        "train",
        "--model",
        "ACM",
        "--data",
        str(data),
        "--labels",
        kind,
        "--epochs",
        "1",
        "--batch-size",
        "3",
    ]
    args += ["--patch-size", "64", "--tloss", "1e9", "--device", "cpu", "--out", str(tmp_path / "run")]
    trained = runner.invoke(app, args)
    assert trained.exit_code == 0, trained.output
    assert (
        "label IoU not available" in trained.output
        and (tmp_path / "run" / f"ACM_LESPS_{kind}.pth.tar").is_file()
    )
