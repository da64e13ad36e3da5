"""Tracking small targets across frames: stable IDs, velocities, temporal confirmation.

    config.py       TrackerConfig (options, validated), parse_confirm ("3/5")
    kalman.py       constant-velocity Kalman filter, vectorised over tracks
    association.py  gated optimal assignment (scipy.optimize.linear_sum_assignment)
    track.py        life cycle tentative -> confirmed (M of N) -> coasting -> lost; TrackedTarget
    gmc.py          global camera-motion compensation by phase correlation (OpenCV)
    tracker.py      Tracker: fed by any iterator of per-frame results, or `Detector.stream(track=...)`
    mot.py          MOTChallenge rows (tracks.csv)

Sits downstream of the runtime: depends on numpy, SciPy, OpenCV and `lesps_deploy.runtime.results`,
and a `Tracker` is the `ResultStep` that `Detector.stream` and the streams pipeline take. Names load
on first use, so reading `TrackerConfig` (the CLI's defaults) does not import numpy, SciPy or OpenCV.
"""

from lesps_deploy._lazy import lazy_face

_LAZY = """
    .config:  TrackerConfig format_confirm parse_confirm
    .gmc:     GlobalMotion
    .mot:     mot_rows mot_text
    .track:   TrackState TrackedTarget
    .tracker: Tracker TrackerStats low_score_targets
"""

__getattr__, __dir__, __all__ = lazy_face(__name__, _LAZY)
