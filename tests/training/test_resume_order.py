"""Resuming matches optimizer state to parameters by name, so a checkpoint written while the model
declared its layers in another order (an older version of this code) resumes exactly where it stopped."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lesps_deploy.errors import CheckpointError
from lesps_deploy.training import TrainConfig, train
from lesps_deploy.training.state import align_optimizer_state


def _params(shapes: list[tuple[int, ...]]) -> list[tuple[str, torch.nn.Parameter]]:
    gen = torch.Generator().manual_seed(0)
    return [(f"p{i}", torch.nn.Parameter(torch.randn(s, generator=gen))) for i, s in enumerate(shapes)]


def _stepped_state(params: list[torch.nn.Parameter]) -> dict:
    opt = torch.optim.Adam(params, lr=1e-3)
    sum((p * (i + 1)).sum() for i, p in enumerate(params)).backward()
    opt.step()
    return opt.state_dict()


@settings(max_examples=60, deadline=None)
@given(
    shapes=st.lists(st.tuples(st.integers(1, 4), st.integers(1, 3)), min_size=1, max_size=8),
    data=st.data(),
)
def test_any_declaration_order_gets_each_moment_on_its_own_parameter(shapes, data):
    named = _params(shapes)
    saved = _stepped_state([p for _, p in named])
    by_name = {name: saved["state"][i] for i, (name, _) in enumerate(named)}
    now = data.draw(st.permutations(named))
    names_now = [name for name, _ in now]
    aligned = align_optimizer_state(saved, [n for n, _ in named], names_now, Path("ck.pth"))
    opt = torch.optim.Adam([p for _, p in now], lr=1e-3)
    opt.load_state_dict(aligned)
    for name, param in now:
        torch.testing.assert_close(opt.state[param]["exp_avg"], by_name[name]["exp_avg"])
        torch.testing.assert_close(opt.state[param]["exp_avg_sq"], by_name[name]["exp_avg_sq"])


def test_other_parameters_are_refused_in_one_line():
    named = _params([(2,), (3,)])
    saved = _stepped_state([p for _, p in named])
    with pytest.raises(
        CheckpointError, match="ck.pth: its optimizer state is for other parameters.*'other' is in only one"
    ):
        align_optimizer_state(saved, ["p0", "p1"], ["p0", "other"], Path("ck.pth"))


def _as_if_declared_in_reverse(path: Path) -> None:
    """Rewrite a resumable checkpoint as a version of the code that declared the layers in reverse would
    have: weights and optimizer state in that order, and no recorded parameter names."""
    ck = torch.load(path, weights_only=False)
    weights = ck["state_dict"]
    modules: dict[str, list[str]] = {}
    for key in weights:
        modules.setdefault(key.rsplit(".", 1)[0], []).append(key)
    ck["state_dict"] = {key: weights[key] for mod in reversed(modules) for key in modules[mod]}
    names = ck.pop("param_names")
    old = [key.removeprefix("model.") for key in ck["state_dict"] if key.removeprefix("model.") in names]
    index = {name: i for i, name in enumerate(names)}
    opt = ck["optimizer"]
    opt["state"] = {j: opt["state"][index[name]] for j, name in enumerate(old)}
    torch.save(ck, path)


def test_checkpoint_of_another_declaration_order_resumes_identically(tiny_dataset, tmp_path):
    base = TrainConfig(
        model="ACM", data=tiny_dataset, labels="centroid", epochs=2, batch_size=3, patch_size=64,
        evolve_every=2, device="cpu", eval_every=0, seed=3, out=tmp_path / "straight",
    )  # fmt: skip
    straight = train(base)
    train(replace(base, epochs=1, out=tmp_path / "old"))
    _as_if_declared_in_reverse(tmp_path / "old" / "checkpoints" / "last.pth.tar")
    resumed = train(TrainConfig(resume=tmp_path / "old", epochs=2))
    np.testing.assert_allclose(resumed.losses, straight.losses, rtol=1e-5)
