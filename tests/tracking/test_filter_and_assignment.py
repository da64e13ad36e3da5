"""The vectorised Kalman filter against a plain 4x4 filter, gated assignment, and MOTChallenge rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tracking.sequences import target

from lesps_deploy.runtime.results import Result
from lesps_deploy.tracking import Tracker, TrackerConfig, mot_rows, mot_text
from lesps_deploy.tracking.association import distance_cost, gated_assignment
from lesps_deploy.tracking.kalman import MotionModel, initiate, predict, update


def _reference(xy: np.ndarray, dts: list[int], zs: list[np.ndarray | None], m: MotionModel) -> np.ndarray:
    """Textbook 4x4 constant-velocity filter, state (x, y, vx, vy)."""
    x = np.array([*xy, 0.0, 0.0])
    p = np.diag([m.measurement_noise**2] * 2 + [m.initial_speed_std**2] * 2)
    h = np.hstack([np.eye(2), np.zeros((2, 2))])
    for dt, z in zip(dts, zs, strict=True):
        f = np.eye(4)
        f[0, 2] = f[1, 3] = dt
        q1 = m.process_noise * np.array([[dt**3 / 3, dt**2 / 2], [dt**2 / 2, dt]])
        q = np.kron(q1, np.eye(2))
        x, p = f @ x, f @ p @ f.T + q
        if z is not None:
            s = h @ p @ h.T + m.measurement_noise**2 * np.eye(2)
            k = p @ h.T @ np.linalg.inv(s)
            x, p = x + k @ (z - h @ x), (np.eye(4) - k @ h) @ p
    return np.concatenate([x, [p[0, 0], p[0, 2], p[2, 2]]])


def test_vectorised_filter_equals_the_4x4_filter() -> None:
    model = MotionModel(process_noise=0.3, measurement_noise=0.8, initial_speed_std=3.0)
    rng = np.random.default_rng(0)
    dts = [1, 1, 3, 1, 2, 1]
    starts = rng.uniform(0, 100, (5, 2))
    zs = [
        [None if (i + k) % 4 == 0 else starts[i] + rng.normal(size=2) for k in range(len(dts))]
        for i in range(5)
    ]
    state, cov = initiate(starts, model)
    for k, dt in enumerate(dts):
        state, cov = predict(state, cov, dt, model)
        rows = [i for i in range(5) if zs[i][k] is not None]
        s, c = update(state[rows], cov[rows], np.array([zs[i][k] for i in rows]), model)
        state[rows], cov[rows] = s, c
    for i in range(5):
        ref = _reference(starts[i], dts, [zs[i][k] for k in range(len(dts))], model)
        np.testing.assert_allclose(np.concatenate([state[i], cov[i]]), ref, rtol=1e-9, atol=1e-9)


def test_one_prediction_over_a_gap_equals_consecutive_predictions() -> None:
    model = MotionModel()
    state, cov = initiate(np.array([[10.0, 20.0]]), model)
    state[:, 2:] = (1.5, -0.5)
    one = predict(state, cov, 3, model)
    three = (state, cov)
    for _ in range(3):
        three = predict(*three, 1, model)
    np.testing.assert_allclose(one[0], three[0])
    np.testing.assert_allclose(one[1], three[1])


def test_gated_assignment_prefers_more_matches_then_less_distance() -> None:
    # Track 0 is near both detections, track 1 only near detection 0: both must get one.
    cost = distance_cost(np.array([[10.0, 10.0], [4.0, 10.0]]), np.array([[9.0, 10.0], [16.0, 10.0]]))
    a = gated_assignment(cost, gate=7.0)
    assert dict(zip(a.rows.tolist(), a.cols.tolist(), strict=True)) == {0: 1, 1: 0}
    far = gated_assignment(cost, gate=0.5)
    assert (
        far.rows.size == 0 and far.unmatched_rows.tolist() == [0, 1] and far.unmatched_cols.tolist() == [0, 1]
    )
    empty = gated_assignment(np.zeros((0, 3)), gate=1.0)
    assert empty.unmatched_cols.tolist() == [0, 1, 2]


@pytest.mark.parametrize("seed", range(20))
def test_gated_assignment_is_the_full_optimum(seed: int) -> None:
    # Isolated pairs skip the solver: the result must equal one solver call on the whole gated matrix.
    from scipy.optimize import linear_sum_assignment

    rng = np.random.default_rng(seed)
    n, m = rng.integers(0, 12, 2)
    cost = distance_cost(rng.uniform(0, 60, (n, 2)), rng.uniform(0, 60, (m, 2)))
    gate = 8.0
    a = gated_assignment(cost, gate)
    assert np.all(cost[a.rows, a.cols] <= gate) and len(set(a.cols.tolist())) == len(a.cols)
    assert sorted([*a.rows.tolist(), *a.unmatched_rows.tolist()]) == list(range(n))
    assert sorted([*a.cols.tolist(), *a.unmatched_cols.tolist()]) == list(range(m))
    if n and m:
        big = gate * (min(n, m) + 1) + 1.0
        r, c = linear_sum_assignment(np.where(cost <= gate, cost, big))
        keep = cost[r, c] <= gate
        assert len(a.rows) == keep.sum()
        assert cost[a.rows, a.cols].sum() == pytest.approx(cost[r[keep], c[keep]].sum())


def _tracked(frames: int = 6) -> list[Result]:
    tracker = Tracker(TrackerConfig())
    prob = np.zeros((32, 32), np.float32)
    out = []
    for f in range(frames):
        base = Result(
            prob=prob,
            mask=prob > 0.5,
            targets=(target(5 + f, 8), target(20, 5 + 2 * f, half=0)),
            frame_index=f,
        )
        out.append(tracker.update(base))
    return out


def test_mot_rows_format() -> None:
    rows = mot_rows(_tracked()[2])
    assert rows == ["3,1,7,8,3,3,0.90000,-1,-1,-1", "3,2,21,10,1,1,0.90000,-1,-1,-1"]


def test_mot_text_reads_back_with_motmetrics(tmp_path: Path) -> None:
    mm = pytest.importorskip("motmetrics")
    path = tmp_path / "tracks.csv"
    path.write_text(mot_text(_tracked()))
    table = mm.io.loadtxt(str(path), fmt="mot15-2D")
    assert len(table) == 12 and sorted(set(table.index.get_level_values("Id"))) == [1, 2]
    assert table.index.get_level_values("FrameId").min() == 1  # 1-based frames
    first = table.loc[(1, 1)]
    assert (first["X"], first["Y"], first["Width"]) == (4, 7, 3)  # back to the 0-based box (4, 7, 7, 10)
