"""What a resumed run takes from its call: every overridable option given (even at its default value),
and a one-line refusal for any other option given with a value other than the run's own."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lesps_deploy.models import load_checkpoint
from lesps_deploy.training.config import TrainConfig
from lesps_deploy.training.trainer import train

_VALUES = {
    "epochs": [400, 5, 9],
    "eval_every": [10, 0, 3],
    "precise_bn": [64, 0, 8],
    "num_workers": [0, 2],
    "prefetch": [True, False],
}


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_a_resume_takes_exactly_the_options_it_was_given(data: st.DataObject) -> None:
    saved = TrainConfig(model="ACM", **{k: data.draw(st.sampled_from(v)) for k, v in _VALUES.items()})
    named = data.draw(st.sets(st.sampled_from(sorted(_VALUES))))
    new = {k: data.draw(st.sampled_from(_VALUES[k])) for k in named}
    resumed = TrainConfig(resume=None, given=frozenset(new), **new).resumed_from(saved)  # type: ignore[arg-type]
    for key in _VALUES:  # a given option wins even at its default value; the others stay the run's
        assert getattr(resumed, key) == (new[key] if key in new else getattr(saved, key))
    assert resumed.model == "ACM" and resumed.given is None


def test_cli_resume_at_a_default_value_applies_it(tiny_dataset, tmp_path) -> None:
    from typer.testing import CliRunner

    from lesps_deploy.cli import app

    run = tmp_path / "run"
    cfg = TrainConfig(
        model="ACM", data=tiny_dataset, epochs=1, batch_size=3, patch_size=64, start_rule="tloss", tloss=1e9,
        device="cpu", eval_every=0, seed=3, out=run, precise_bn=0,
    )  # fmt: skip
    first = train(cfg)
    before = load_checkpoint(first.checkpoint).model.state_dict()
    out = CliRunner().invoke(app, ["train", "--resume", str(run), "--precise-bn", "64", "--threads", "1"])
    assert out.exit_code == 0, out.output
    assert TrainConfig.from_json(run / "config.json").precise_bn == 64
    after = load_checkpoint(first.checkpoint).model.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before if k.endswith("running_var"))


_FIXED = {
    "lr": [5e-4, 1e-3],
    "batch_size": [16, 8],
    "seed": [42, 7],
    "envelope": [0.35, None],
    "tb": [0.5, 0.6],
}


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_a_resume_refuses_options_that_would_change_the_run(data: st.DataObject) -> None:
    from lesps_deploy.errors import ConfigError

    saved = TrainConfig(model="ACM", **{k: data.draw(st.sampled_from(v)) for k, v in _FIXED.items()})
    name = data.draw(st.sampled_from(sorted(_FIXED)))
    value = data.draw(st.sampled_from(_FIXED[name]))
    new = TrainConfig(given=frozenset({name, "epochs"}), epochs=9, **{name: value})  # type: ignore[arg-type]
    if value == getattr(saved, name):  # the run's own value, given again: fine
        assert new.resumed_from(saved).epochs == 9
    else:
        try:
            new.resumed_from(saved)
        except ConfigError as err:
            assert name in str(err) and "keeps the value it started with" in str(err)
        else:
            raise AssertionError(f"{name}={value!r} over {getattr(saved, name)!r} was taken silently")
