"""`lesps train` refuses a run that cannot train, before any run folder exists: one line, exit 2."""

from __future__ import annotations

import pytest
from cli_run import run_main

from lesps_deploy.training.batch_rules import trains_on_one_crop


@pytest.mark.parametrize("case", ["batch-size-1", "split-of-one"])
def test_batch_of_one_crop_is_refused_before_the_run_folder(
    monkeypatch, capsys, nuaa_dir, tmp_path, tiny_maker, case: str
) -> None:
    data = tiny_maker(nuaa_dir, tmp_path / "tiny")
    if case == "split-of-one":
        (data / "img_idx" / "train_tiny.txt").write_text("Misc_40\n")
    out = tmp_path / "run"
    args = ["train", "--data", data, "--model", "ACM", "--epochs", "1", "--patch-size", "64", "--out", out]
    code, lines = run_main(monkeypatch, capsys, *args, "--batch-size", "1" if case == "batch-size-1" else "4")
    errors = [line for line in lines if line.startswith("error:")]
    assert code == 2 and len(errors) == 1, lines
    assert "ACM cannot train on a batch of one crop" in errors[0]
    assert ("--batch-size 1" if case == "batch-size-1" else "train split has 1 image") in errors[0]
    assert not out.exists()


def test_which_models_train_on_one_crop() -> None:
    assert (trains_on_one_crop("ACM"), trains_on_one_crop("DNANet")) == (False, True)
