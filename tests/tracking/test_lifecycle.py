"""Association and life cycle on hand-made sequences (acceptance 1): crossings keep IDs, a target missing
for 3 frames keeps its ID with max-age 5, a single-frame flash never confirms, gaps are coasted."""

from __future__ import annotations

import numpy as np
import pytest
from tracking.sequences import ids_per_frame, run_sequence, target

from lesps_deploy.tracking import Tracker, TrackerConfig, TrackState


def _id_of(frame: list[tuple[int, float, float]], x: float, y: float) -> int:
    """Track ID of the reported target nearest to (x, y)."""
    return min(frame, key=lambda r: (r[1] - x) ** 2 + (r[2] - y) ** 2)[0]


@pytest.mark.parametrize("merge", [False, True], ids=["apart", "merged-at-crossing"])
def test_crossing_targets_keep_their_ids(merge: bool) -> None:
    # Two targets on an X: A goes down-right, B down-left; they meet at (30, 30) in frame 10. With
    # `merge` the detector sees one blob there for frames 9-11 (their masks touch), as real ones do.
    frames = []
    for f in range(21):
        a, b = (10 + 2 * f, 10 + 2 * f), (50 - 2 * f, 10 + 2 * f)
        if merge and 9 <= f <= 11:
            frames.append([((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)])
        else:
            frames.append([a, b])
    out = run_sequence(Tracker(TrackerConfig()), frames)
    before, after = out[5], out[17]
    id_a, id_b = _id_of(before, 20, 20), _id_of(before, 40, 20)
    assert id_a != id_b
    assert _id_of(after, 44, 44) == id_a and _id_of(after, 16, 44) == id_b
    assert set().union(*ids_per_frame(out)) == {id_a, id_b}  # no track was restarted


def test_parallel_close_targets_never_swap() -> None:
    # Two targets 4 px apart moving together (less than the 10 px gate): assignment must not swap them.
    frames = [[(10 + 1.5 * f, 30), (10 + 1.5 * f, 34)] for f in range(30)]
    out = run_sequence(Tracker(TrackerConfig()), frames)
    assert all(
        _id_of(fr, 10 + 1.5 * f, 30) == 1 and _id_of(fr, 10 + 1.5 * f, 34) == 2 for f, fr in enumerate(out)
    )


def test_target_missing_three_frames_keeps_its_id_with_max_age_5() -> None:
    track = [(5 + 1.5 * f, 20 + 0.5 * f) for f in range(20)]
    frames = [[] if f in (8, 9, 10) else [p] for f, p in enumerate(track)]
    tracker = Tracker(TrackerConfig(max_age=5))
    out = []
    for f, points in enumerate(frames):
        out.append(tracker.step([target(x, y) for x, y in points], f))
        if f in (8, 9, 10):
            assert [t.state for t in tracker.tracks] == [TrackState.COASTING]
    assert {t.track_id for frame in out for t in frame} == {1}
    assert out[11][0].track_state == "confirmed"
    assert tracker.stats.started == 1 and tracker.stats.confirmed == 1


def test_missing_longer_than_max_age_starts_a_new_track() -> None:
    frames = [[] if 8 <= f <= 10 else [(5 + 1.5 * f, 20)] for f in range(20)]
    out = run_sequence(Tracker(TrackerConfig(max_age=2)), frames)
    assert ids_per_frame(out)[7] == {1} and ids_per_frame(out)[11] == {2}


def test_single_frame_flash_never_confirms() -> None:
    mover = [(5 + 1.5 * f, 20) for f in range(15)]
    frames = [[p, (50, 50)] if f == 6 else [p] for f, p in enumerate(mover)]
    confirmed = run_sequence(Tracker(TrackerConfig(confirmed_only=True)), frames)
    assert all(abs(y - 50) > 5 for frame in confirmed for _, _, y in frame)
    every = Tracker(TrackerConfig())
    out = [every.step([target(x, y) for x, y in points], f) for f, points in enumerate(frames)]
    flash = [t for t in out[6] if t.y == 50]
    assert len(flash) == 1 and flash[0].track_state == "tentative"
    assert every.stats.started == 2 and every.stats.confirmed == 1
    assert len(every.tracks) == 1  # the flash's track was dropped (it can no longer reach 3 hits in 5)


def test_confirmed_only_reports_from_the_mth_hit() -> None:
    frames = [[(5 + f, 20)] for f in range(8)]
    out = run_sequence(Tracker(TrackerConfig(confirm=(3, 5), confirmed_only=True)), frames)
    assert [len(fr) for fr in out] == [0, 0, 1, 1, 1, 1, 1, 1]
    flicker = [[(5 + f, 20)] if f % 3 == 0 else [] for f in range(12)]  # 1 hit in every 3 frames
    assert not any(run_sequence(Tracker(TrackerConfig(confirmed_only=True)), flicker))


def test_gap_in_frame_indices_is_coasted_not_teleported() -> None:
    # Frames 6-8 never arrive (a live source dropped them): the next frame is index 9, 4 frames on.
    tracker = Tracker(TrackerConfig())
    indices = [0, 1, 2, 3, 4, 5, 9, 10, 11]
    out = [tracker.step([target(10 + 2.0 * i, 30)], i) for i in indices]
    assert {t.track_id for frame in out for t in frame} == {1}
    assert out[6][0].vx == pytest.approx(2.0, abs=0.2)  # a jump of 8 px over dt=1 would read as 8 px/frame


def test_gap_longer_than_max_age_ends_the_track() -> None:
    tracker = Tracker(TrackerConfig(max_age=3))
    out = [tracker.step([target(10 + 2.0 * i, 30)], i) for i in (0, 1, 2, 3, 8, 9)]
    assert out[3][0].track_id == 1 and out[4][0].track_id == 2
    assert tracker.stats.lost == 1


def test_timestamps_measure_gaps_with_fps() -> None:
    # The frame index keeps counting 0, 1, 2... but the clock says 3 frames passed before index 4.
    tracker = Tracker(TrackerConfig(fps=10.0))
    times = [1.0, 1.1, 1.2, 1.3, 1.6, 1.7]
    out = [tracker.step([target(10 + 2.0 * round((t - 1.0) * 10), 30)], i, t) for i, t in enumerate(times)]
    assert out[4][0].vx == pytest.approx(2.0, abs=0.2) and out[4][0].track_id == 1


def test_min_speed_drops_static_clutter() -> None:
    frames = [[(10 + 1.0 * f, 20), (40, 40)] for f in range(12)]
    out = run_sequence(Tracker(TrackerConfig(confirmed_only=True, min_speed=0.3)), frames)
    assert all(abs(y - 20) < 1 for frame in out[4:] for _, _, y in frame) and all(out[4:])


def test_deterministic() -> None:
    rng = np.random.default_rng(0)
    frames = [[tuple(p) for p in rng.uniform(0, 100, (int(rng.integers(0, 12)), 2))] for _ in range(40)]
    first = run_sequence(Tracker(TrackerConfig()), frames)
    second = run_sequence(Tracker(TrackerConfig()), frames)
    assert first == second


def test_reported_targets_carry_track_fields() -> None:
    tracker = Tracker(TrackerConfig())
    for f in range(4):
        out = tracker.step([target(10 + f, 20, id=7)], f)
    d = out[0].to_dict()
    assert (d["id"], d["track_id"], d["track_state"]) == (7, 1, "confirmed")
    assert d["vx"] == pytest.approx(1.0, abs=0.2) and d["vy"] == pytest.approx(0.0, abs=0.1)
    assert "tail" not in d and len(out[0].tail) == 4


def test_stats_count_started_confirmed_lost_and_length() -> None:
    frames = [[(5 + f, 20)] if f < 10 else [] for f in range(20)]
    frames[3] = [*frames[3], (50, 50)]
    tracker = Tracker(TrackerConfig(max_age=5))
    run_sequence(tracker, frames)
    stats = tracker.stats.to_dict()
    assert stats == {"started": 2, "confirmed": 1, "lost": 1, "active": 0, "mean_length": 10.0}
