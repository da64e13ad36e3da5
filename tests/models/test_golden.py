"""Golden vectors from the authors' code (CPU): our models must agree to max abs diff <= 1e-5.

Each test prints and records (`record_property`) the max abs diff it measured.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from lesps_deploy.models import create_model, load_checkpoint

TOL = 1e-5
CHECKPOINTS = ["ACM_LESPS_centroid", "ACM_full", "ALCNet_LESPS_centroid", "ALCNet_full"]


def _report(record: Callable[[str, object], None], label: str, diff: float) -> None:
    print(f"golden {label}: max abs diff {diff:.3g}")
    record("max_abs_diff", diff)
    assert diff <= TOL, f"{label}: max abs diff {diff:.3g} > {TOL}"


@pytest.fixture(scope="module")
def official_outputs(golden_dir: Path) -> dict[str, np.ndarray]:
    with np.load(golden_dir / "official_outputs_nuaa3.npz") as data:
        return dict(data)


@pytest.fixture(scope="module")
def dnanet_golden(golden_dir: Path) -> tuple[torch.nn.Module, dict[str, np.ndarray]]:
    with np.load(golden_dir / "dnanet_seed0_state_dict.npz") as weights:
        state = {k: torch.from_numpy(weights[k]) for k in weights.files}
    model = create_model("DNANet", deep_supervision=True)
    model.load_state_dict(state, strict=True)
    with np.load(golden_dir / "dnanet_seed0.npz") as data:
        return model, dict(data)


@pytest.mark.parametrize("stem", CHECKPOINTS)
@torch.no_grad()
def test_official_outputs(
    official_weights: Path,
    official_outputs: dict[str, np.ndarray],
    stem: str,
    record_property: Callable[[str, object], None],
) -> None:
    model = load_checkpoint(official_weights / f"{stem}.pth.tar").model
    images = sorted({key.split("/")[1] for key in official_outputs if key.startswith(stem + "/")})
    assert len(images) == 3
    worst = 0.0
    for image in images:
        x = torch.from_numpy(official_outputs[f"{stem}/{image}/input"])[None, None]
        prob = model(x)[0, 0].numpy()
        diff = float(np.abs(prob - official_outputs[f"{stem}/{image}/prob"]).max())
        print(f"golden {stem}/{image}: max abs diff {diff:.3g}")
        worst = max(worst, diff)
    _report(record_property, stem, worst)


@torch.no_grad()
def test_dnanet_eval_output(
    dnanet_golden: tuple[torch.nn.Module, dict[str, np.ndarray]],
    record_property: Callable[[str, object], None],
) -> None:
    model, data = dnanet_golden
    out = model.eval()(torch.from_numpy(data["input"])).numpy()
    _report(record_property, "DNANet output_test", float(np.abs(out - data["output_test"]).max()))


@torch.no_grad()
def test_dnanet_deep_supervision_heads(
    dnanet_golden: tuple[torch.nn.Module, dict[str, np.ndarray]],
    record_property: Callable[[str, object], None],
) -> None:
    """The four heads of the reference's `mode='train'` network.

    The vectors were produced with the BatchNorms using their (fresh: 0/1) running statistics, so they
    are compared with `forward_heads` in eval mode; `output_train_3` equals `output_test` bit for bit.
    """
    model, data = dnanet_golden
    heads = model.eval().forward_heads(torch.from_numpy(data["input"]))
    diffs = [float(np.abs(h.numpy() - data[f"output_train_{i}"]).max()) for i, h in enumerate(heads)]
    for i, diff in enumerate(diffs):
        print(f"golden DNANet output_train_{i}: max abs diff {diff:.3g}")
    _report(record_property, "DNANet output_train_0..3", max(diffs))
