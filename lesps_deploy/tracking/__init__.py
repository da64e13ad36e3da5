"""Tracking small targets across frames: stable IDs, velocities, temporal confirmation.

    config.py       TrackerConfig (options, validated), parse_confirm ("3/5")
    kalman.py       constant-velocity Kalman filter, vectorised over tracks
    association.py  gated optimal assignment (scipy.optimize.linear_sum_assignment)
    track.py        life cycle tentative -> confirmed (M of N) -> coasting -> lost; TrackedTarget
    gmc.py          global camera-motion compensation by phase correlation (OpenCV)
    tracker.py      Tracker: fed by any iterator of per-frame results
    mot.py          MOTChallenge rows (tracks.csv)

Depends only on numpy, scipy, OpenCV and `lesps_deploy.runtime.results`. Names load on first use, so
reading `TrackerConfig` (the CLI's defaults) does not import numpy, SciPy or OpenCV.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    ".config": ("TrackerConfig", "parse_confirm", "format_confirm"),
    ".gmc": ("GlobalMotion",),
    ".mot": ("mot_rows", "mot_text"),
    ".track": ("TrackState", "TrackedTarget"),
    ".tracker": ("Tracker", "TrackerStats", "low_score_targets"),
}
_WHERE = {name: module for module, names in _LAZY.items() for name in names}

__all__ = [name for names in _LAZY.values() for name in names]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
