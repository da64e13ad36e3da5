"""`benchmarks/point_supervision.py`: a row names what it trains today, and a run folder trained otherwise
(a default changed since its run, another row's run) is never resumed or read back as that row."""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from lesps_deploy.errors import LespsError
from lesps_deploy.training.config import TrainConfig

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "point_supervision.py"
_spec = importlib.util.spec_from_file_location("point_supervision_bench", BENCH)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

EPOCHS, SEED = 400, 42
# Read only by label evolution: a fixed-label run (full masks, LCM pseudo-masks) may differ in them.
EVOLUTION = {
    "start_rule", "tloss", "start_hits", "init_labels", "tb", "k", "evolve_every", "envelope", "outside_envelope",
    "decay", "min_prob",
}  # fmt: skip


def _unused(cfg: TrainConfig) -> set[str]:
    if cfg.labels in ("full", "tophat", "mpcm"):
        return EVOLUTION
    return {"outside_envelope"} if cfg.envelope is None else set()  # no envelope: nothing is cut


def _write_run(folder: Path, cfg: TrainConfig) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(cfg.to_dict()), encoding="utf-8")
    return folder


def _other_values(name: str) -> st.SearchStrategy:
    """Values of option `name` other rows use, and nearby ones of its type."""
    values = {getattr(bench.row_config(r, EPOCHS, SEED), name) for r in bench.ROWS}
    spec = next(s for f, s in bench.declared(TrainConfig) if f.name == name)
    extra: list = list(spec.choices or ())
    for v in list(values):
        if isinstance(v, bool):
            extra.append(not v)
        elif isinstance(v, int):
            extra += [v + 1, max(v - 1, 0)]
        elif isinstance(v, float):
            extra += [v / 2, min(v * 2, 0.9), 0.25]
        elif isinstance(v, tuple):
            extra.append(tuple(x + 1 for x in v))
        elif v is None:
            extra += [0.25, 3]
    return st.sampled_from(sorted(values | set(extra), key=repr))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), row=st.sampled_from(sorted(bench.ROWS)), name=st.sampled_from(bench._COMPARED))
def test_a_folder_trained_otherwise_is_stale(
    tmp_path: Path, data: st.DataObject, row: str, name: str
) -> None:
    wanted = bench.row_config(row, EPOCHS, SEED)
    value = data.draw(_other_values(name))
    try:
        saved = dataclasses.replace(wanted, **{name: value})
    except (LespsError, ValueError, TypeError):
        assume(False)
    run = _write_run(tmp_path / f"{row}-{name}", saved)
    differs = bench.stale(row, run, EPOCHS, SEED)
    changed = getattr(saved, name) != getattr(wanted, name)
    if changed and name not in _unused(wanted):
        assert differs and differs[0].startswith(f"{name} "), (row, name, value, differs)
    else:
        assert differs == [], (row, name, value, differs)


@pytest.mark.parametrize("row", sorted(bench.ROWS))
def test_every_row_parses_and_its_own_run_is_not_stale(tmp_path: Path, row: str) -> None:
    run = _write_run(tmp_path / row, bench.row_config(row, EPOCHS, SEED))
    assert bench.stale(row, run, EPOCHS, SEED) == []
    assert bench.stale(row, tmp_path / "not-started", EPOCHS, SEED) == []


def test_default_row_is_todays_defaults() -> None:
    wanted = bench.row_config("default", EPOCHS, SEED)
    plain = TrainConfig(model="ACM", epochs=EPOCHS, milestones=(200, 300), seed=SEED, norm="auto")
    assert all(getattr(wanted, k) == getattr(plain, k) for k in bench._COMPARED)


def test_a_run_from_before_a_default_changed_is_refused_before_it_resumes(tmp_path: Path) -> None:
    # A folder trained before --size-balance became the default: its config.json lacks the option, so it
    # loads with the value it ran with (0), not today's.
    old = bench.row_config("no-size-balance", EPOCHS, SEED).to_dict()
    del old["size_balance"]
    run = tmp_path / bench.folder_of("no-envelope")
    run.mkdir()
    (run / "config.json").write_text(json.dumps({**old, "envelope": None}), encoding="utf-8")
    args = argparse.Namespace(epochs=EPOCHS, seed=SEED)
    with pytest.raises(SystemExit, match=r"no-envelope: .* size_balance 0\.0 \(row: 0\.5\)"):
        bench._run_row("no-envelope", args, tmp_path / "data", tmp_path)
    assert not (tmp_path / "no-envelope.log").exists()  # nothing started
