"""Release table: the published files are recognised by sha256 and need no flags; pickles that need
full unpickling are refused (their code never runs) unless the file is a release or trusted."""

from __future__ import annotations

import json
import logging
import os
import pickle
import shutil
from pathlib import Path

import pytest
import torch
from conftest import write_tiny_dataset
from typer.testing import CliRunner

from lesps_deploy.cli import app
from lesps_deploy.data import NORM_PRESETS
from lesps_deploy.errors import CheckpointError
from lesps_deploy.metadata import ModelMeta
from lesps_deploy.models import (
    RELEASES,
    create_model,
    find_release,
    list_models,
    list_releases,
    load_checkpoint,
    save_checkpoint,
    sha256_file,
)

IN_SHARED = ("ACM_LESPS_centroid", "ACM_LESPS_coarse", "ACM_full", "ALCNet_LESPS_centroid", "ALCNet_full")


class _Payload:
    """Unpickling this calls os.makedirs(marker): the stand-in for code a malicious file would run."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (os.makedirs, (self.marker,))


def _weights() -> dict[str, torch.Tensor]:
    return {f"model.{k}": v for k, v in create_model("ACM").state_dict().items()}


def test_table_rows_are_consistent() -> None:
    assert len(RELEASES) == 6 and len({r.sha256 for r in RELEASES}) == 6
    assert list_releases() == [r.name for r in RELEASES]
    for release in RELEASES:
        assert release.model in list_models() and release.norm in NORM_PRESETS
        assert release.name.startswith(release.model) and release.label_type in release.name.replace(
            "LESPS_", ""
        )
        assert (release.dataset, release.threshold) == ("SIRST3", 0.5)
        assert release.url.endswith(f"/log/SIRST3/{release.name}.pth.tar")
        meta = release.meta()
        assert (meta.mean, meta.std) == (NORM_PRESETS["SIRST3"].mean, NORM_PRESETS["SIRST3"].std)
    assert find_release(RELEASES[0].sha256.upper()) is RELEASES[0]
    assert find_release("0" * 64) is None


@pytest.mark.parametrize("stem", IN_SHARED)
def test_shared_files_are_recognised_by_sha256(official_weights: Path, stem: str) -> None:
    path = official_weights / f"{stem}.pth.tar"
    release = find_release(sha256_file(path))
    assert release is not None and release.name == stem


def test_recognised_by_content_not_name(official_weights: Path, tmp_path: Path, caplog) -> None:
    renamed = tmp_path / "my_weights.pth"
    shutil.copyfile(official_weights / "ALCNet_full.pth.tar", renamed)
    with caplog.at_level(logging.INFO, logger="lesps_deploy.models.checkpoint"):
        ckpt = load_checkpoint(renamed)
    assert ckpt.release.name == "ALCNet_full" and ckpt.meta.label_type == "full"
    assert ckpt.meta.mean == NORM_PRESETS["SIRST3"].mean
    assert [r.getMessage() for r in caplog.records if "recognised" in r.getMessage()] == [
        f"{renamed}: recognised the LESPS release ALCNet_full (ALCNet, full labels, trained on SIRST3; "
        "norm SIRST3, threshold 0.5)"
    ]
    # A file merely named like a release is not one: no normalization is guessed.
    fake = tmp_path / "ACM_LESPS_centroid.pth.tar"
    torch.save({"state_dict": _weights()}, fake)
    assert load_checkpoint(fake).release is None and load_checkpoint(fake).meta.mean is None


def _evil_files(tmp_path: Path, marker: Path) -> list[Path]:
    """The same payload in the zip format, torch's legacy format and a bare protocol-2 pickle."""
    obj = {"state_dict": _weights(), "extra": _Payload(marker)}
    zip_file, legacy, bare = tmp_path / "evil.pth", tmp_path / "legacy.pth", tmp_path / "bare.pkl.pth"
    torch.save(obj, zip_file)
    torch.save(obj, legacy, _use_new_zipfile_serialization=False)
    bare.write_bytes(pickle.dumps(obj, protocol=2))
    return [zip_file, legacy, bare]


def test_malicious_pickle_refused_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "payload_ran"
    for path in _evil_files(tmp_path, marker):
        with pytest.raises(CheckpointError, match=path.name) as err:
            load_checkpoint(path)
        assert not marker.exists(), path.name
        if path.name == "evil.pth":
            assert "os.makedirs" in str(err.value) and "--trust-pickle" in err.value.hint
    # The payload is live: trusting the file runs it, which is exactly what the refusal prevents.
    ckpt = load_checkpoint(tmp_path / "evil.pth", trust_pickle=True)
    assert marker.is_dir() and ckpt.meta.model == "ACM"


def test_cli_refuses_malicious_pickle_unless_trusted(tmp_path: Path) -> None:
    data = write_tiny_dataset(tmp_path / "Tiny", n=2)
    marker = tmp_path / "payload_ran"
    evil = _evil_files(tmp_path, marker)[0]
    runner = CliRunner()
    for command in (
        ["evaluate", str(evil), "--data", str(data), "--norm", "70,10"],
        ["export", str(evil), "--norm", "70,10", "--out", str(tmp_path / "x.onnx")],
        [
            "predict",
            str(data / "images"),
            "--weights",
            str(evil),
            "--norm",
            "70,10",
            "--out",
            str(tmp_path / "p"),
        ],
        ["benchmark", "--weights", str(evil), "--norm", "70,10", "--runs", "1"],
    ):
        result = runner.invoke(app, command)
        assert isinstance(result.exception, CheckpointError), (command[0], result.output)
        assert "safe loading refuses" in str(result.exception) and not marker.exists()
    out = tmp_path / "o.json"
    trusted = runner.invoke(
        app,
        ["evaluate", str(evil), "--data", str(data), "--norm", "70,10", "--trust-pickle", "--json", str(out)],
    )
    assert trusted.exit_code == 0, trusted.output
    assert marker.is_dir() and json.loads(out.read_text())["images"] == 2


def test_own_checkpoints_load_in_safe_mode(tmp_path: Path) -> None:
    net = create_model("ACM")
    optimizer = torch.optim.Adam(net.parameters())
    net(torch.zeros(2, 1, 64, 64)).mean().backward()
    optimizer.step()
    path = save_checkpoint(
        tmp_path / "ours.pth.tar",
        net,
        ModelMeta(model="ACM", mean=1.0, std=2.0, label_type="centroid"),
        epoch=3,
        optimizer=optimizer.state_dict(),
        config={"data": "x", "milestones": [1, 2]},
        rng={"torch": torch.get_rng_state()},
    )
    raw = torch.load(path, weights_only=True)  # no allow-listing needed
    assert raw["lesps_meta"]["mean"] == 1.0
    ckpt = load_checkpoint(path)
    assert ckpt.release is None and (ckpt.meta.mean, ckpt.meta.std) == (1.0, 2.0)
    assert ckpt.extra["optimizer"]["state"]


def test_released_file_needs_no_norm_in_any_command(acm_pth: Path, nuaa_dir: Path, tmp_path: Path) -> None:
    """export, predict and benchmark take the release's SIRST3 normalization and name the release."""
    runner = CliRunner()
    image = nuaa_dir / "images" / "Misc_1.png"
    commands = (
        ["export", str(acm_pth), "--out", str(tmp_path / "acm.onnx")],
        ["predict", str(image), "--weights", str(acm_pth), "--out", str(tmp_path / "pred")],
        ["benchmark", "--weights", str(acm_pth), "--backends", "torch", "--imgsz", "64", "--runs", "2",
         "--warmup", "0", "--threads", "1", "--cache-dir", str(tmp_path / "cache"), "--json", str(tmp_path / "b.json")],
    )  # fmt: skip
    for command in commands:
        result = runner.invoke(app, command)
        assert result.exit_code == 0, (command[0], result.output)
        assert "recognised the LESPS release ACM_LESPS_centroid" in result.output, command[0]
    from lesps_deploy.export.onnx import read_onnx_meta

    meta = read_onnx_meta(tmp_path / "acm.onnx")
    assert (meta.mean, meta.std, meta.dataset, meta.label_type) == (95.010, 41.511, "SIRST3", "centroid")
