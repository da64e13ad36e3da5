"""MOTChallenge text rows for tracked results (`tracks.csv`), readable by standard MOT tools.

One row per reported target: `frame,id,bb_left,bb_top,bb_width,bb_height,conf,-1,-1,-1`. Frames are
1-based (frame index + 1), and so are box corners, as in MOTChallenge files (its tools subtract one on
reading: `bb_left` is the mask's first column + 1, a 1-pixel target is a 1x1 box). The confidence is
the target's peak probability. Rows of one frame follow the frame's target order; frames follow the
source.
"""

from __future__ import annotations

from collections.abc import Iterable

from lesps_deploy.runtime.results import Result

__all__ = ["MOT_FIELDS", "mot_rows", "mot_text"]

MOT_FIELDS = ("frame", "id", "bb_left", "bb_top", "bb_width", "bb_height", "conf", "x", "y", "z")


def mot_rows(result: Result) -> list[str]:
    """MOTChallenge rows (no newline) of a tracked result's targets; untracked targets are skipped."""
    rows = []
    frame = result.frame_index + 1
    for t in result.targets:
        track_id = getattr(t, "track_id", 0)
        if not track_id:
            continue
        x0, y0, x1, y1 = t.bbox
        rows.append(f"{frame},{track_id},{x0 + 1},{y0 + 1},{x1 - x0},{y1 - y0},{t.peak:.5f},-1,-1,-1")
    return rows


def mot_text(results: Iterable[Result]) -> str:
    """A whole MOTChallenge file for tracked results."""
    return "".join(f"{row}\n" for result in results for row in mot_rows(result))
