"""The tracker on `Result`s: the low-score second pass, camera-motion compensation, size changes, options."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from tracking.sequences import blob_result

from lesps_deploy.errors import ConfigError
from lesps_deploy.tracking import GlobalMotion, Tracker, TrackerConfig, low_score_targets, parse_confirm


def _dimming(n: int = 16, dim: range = range(7, 10), dim_peak: float = 0.35) -> list:
    """A target moving right at 1.5 px/frame, below the 0.5 threshold (peak `dim_peak`) in frames `dim`."""
    return [blob_result(f, [(8 + 1.5 * f, 30, dim_peak if f in dim else 0.9)]) for f in range(n)]


def test_low_score_pass_keeps_a_dimming_target_reported() -> None:
    results = _dimming()
    assert all(not results[f].targets for f in range(7, 10))  # the detector alone misses it there
    plain = [r.targets for r in Tracker(TrackerConfig(confirmed_only=True)).track(results)]
    assert [len(t) for t in plain[7:10]] == [0, 0, 0]
    byte = [r.targets for r in Tracker(TrackerConfig(confirmed_only=True, low_score=0.2)).track(results)]
    assert all(len(t) == 1 and t[0].track_id == 1 for t in byte[2:])
    assert [t[0].id for t in byte[7:10]] == [0, 0, 0]  # below-threshold components, not mask components


def test_low_score_components_never_start_tracks() -> None:
    results = [blob_result(f, [(8 + 1.5 * f, 30, 0.9), (50, 50, 0.3)]) for f in range(10)]
    out = list(Tracker(TrackerConfig(low_score=0.2)).track(results))
    assert all(abs(t.y - 30) < 2 for r in out for t in r.targets)
    assert len(low_score_targets(results[0], 0.2)) == 1


def test_low_score_must_be_below_the_threshold() -> None:
    with pytest.raises(ConfigError, match="below the detection threshold"):
        Tracker(TrackerConfig(low_score=0.6)).update(_dimming(1)[0])


def _textured(size: int = 96, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.uniform(0, 255, (size, size)).astype(np.float32), (0, 0), 2.0)


def test_global_motion_measures_the_shift() -> None:
    big = _textured(160)
    gmc = GlobalMotion()
    assert gmc(big[20:116, 20:116]) == (0.0, 0.0)
    dx, dy = gmc(big[18:114, 23:119])  # the window moved right 3 and up 2: content moves left 3, down 2
    # Half a pixel: well inside the gate, and what phase correlation's sub-pixel peak guarantees on a
    # non-periodic crop (its estimate is biased by a few tenths of a pixel for some shifts).
    assert dx == pytest.approx(-3.0, abs=0.5) and dy == pytest.approx(2.0, abs=0.5)
    rng = np.random.default_rng(1)
    noise_gmc = GlobalMotion()
    noise_gmc(rng.normal(size=(96, 96)).astype(np.float32))
    assert noise_gmc(rng.normal(size=(96, 96)).astype(np.float32)) == (0.0, 0.0)  # nothing to lock on


def test_gmc_makes_static_clutter_static_under_a_panning_camera() -> None:
    # The camera pans 1.5 px/frame; a clutter point fixed in the scene drifts across the image with it.
    big = _textured(200)
    frames, results = [], []
    for f in range(20):
        x0 = int(round(10 + 1.5 * f))
        frames.append(big[40:136, x0 : x0 + 96])
        results.append(blob_result(f, [(70 - (x0 - 10), 48, 0.9)], shape=(96, 96)))
    for gmc, speed in ((False, -1.5), (True, 0.0)):
        tracker = Tracker(TrackerConfig(gmc=gmc))
        last = [tracker.update(r, image) for r, image in zip(results, frames, strict=True)][-1].targets[0]
        assert last.track_id == 1 and last.vx == pytest.approx(speed, abs=0.3)
        moving = Tracker(TrackerConfig(gmc=gmc, min_speed=0.5, confirmed_only=True))
        out = [moving.update(r, image) for r, image in zip(results, frames, strict=True)]
        assert bool(out[-1].targets) is (not gmc)  # --min-speed drops it only once the pan is compensated


def test_frame_size_change_restarts_tracks() -> None:
    tracker = Tracker(TrackerConfig())
    for f in range(4):
        tracker.update(blob_result(f, [(10 + f, 20, 0.9)]))
    out = tracker.update(blob_result(4, [(14, 20, 0.9)], shape=(48, 64)))
    assert out.targets[0].track_id == 2 and tracker.stats.lost == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        # Python callers read the keyword they wrote (the CLI's flags: tests/streams/test_track_cli.py).
        ({"confirm": (6, 5)}, r"confirm=\(6, 5\): M must be <= N"),
        ({"confirm": (0, 5)}, r"confirm=\(0, 5\): must be >= 1"),
        ({"max_age": -1}, r"max_age=-1: must be >= 0"),
        ({"gate": -2.0}, r"gate=-2.0: must be > 0"),
        ({"gate": 0.0}, r"gate=0.0: must be > 0"),
        ({"low_score": 1.5}, r"low_score=1.5: must be < 1"),
        ({"min_speed": -0.1}, r"min_speed=-0.1: must be >= 0"),
    ],
)
def test_bad_options_are_one_line_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        TrackerConfig(**kwargs)
    assert "\n" not in str(err.value)


def test_parse_confirm() -> None:
    assert parse_confirm("3/5") == (3, 5) and parse_confirm(" 2 / 4 ") == (2, 4)
    for bad in ("3", "3/5/7", "a/b", ""):
        with pytest.raises(ValueError, match="expected M/N"):
            parse_confirm(bad)
