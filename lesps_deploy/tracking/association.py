"""Gated optimal assignment of detections to tracks.

The cost of a (track, detection) pair is the pixel distance between the track's predicted centroid
and the detection's centroid; pairs farther apart than the gate cannot be matched. Among the feasible
pairs, `scipy.optimize.linear_sum_assignment` first matches as many pairs as the gate allows, then
minimises their total distance: two targets passing close to each other both keep a match rather
than one taking the nearest detection and leaving the other to coast.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ["Assignment", "distance_cost", "gated_assignment"]

_EMPTY = np.zeros(0, np.intp)


@dataclass(frozen=True, slots=True)
class Assignment:
    """Result of one association pass (indices into the rows and columns of the cost matrix)."""

    rows: np.ndarray  # matched track indices
    cols: np.ndarray  # matched detection indices, same length
    unmatched_rows: np.ndarray
    unmatched_cols: np.ndarray


def distance_cost(predicted: np.ndarray, detected: np.ndarray) -> np.ndarray:
    """(n, m) Euclidean distances between predicted (n, 2) and detected (m, 2) centroids."""
    diff = np.asarray(predicted, np.float64)[:, None, :] - np.asarray(detected, np.float64)[None, :, :]
    return np.sqrt(np.einsum("nmk,nmk->nm", diff, diff))


def gated_assignment(cost: np.ndarray, gate: float) -> Assignment:
    """Optimal one-to-one matching of rows to columns using only entries with `cost <= gate`.

    Args:
        cost: (n, m) non-negative costs.
        gate: largest cost of a match.

    Returns:
        The matches (most pairs first, then least total cost) and what stayed unmatched, each in
        ascending order (deterministic for equal inputs).
    """
    n, m = cost.shape
    if n == 0 or m == 0:
        return Assignment(_EMPTY, _EMPTY, np.arange(n), np.arange(m))
    feasible = cost <= gate
    if not feasible.any():
        return Assignment(_EMPTY, _EMPTY, np.arange(n), np.arange(m))
    # An infeasible pair costs more than any set of feasible matches together, so the solver only
    # uses one when nothing feasible is left for that row or column; such pairs are dropped below.
    penalty = gate * (min(n, m) + 1) + 1.0
    rows, cols = linear_sum_assignment(np.where(feasible, cost, penalty))
    keep = feasible[rows, cols]
    rows, cols = rows[keep], cols[keep]
    return Assignment(
        rows=rows,
        cols=cols,
        unmatched_rows=np.setdiff1d(np.arange(n), rows),
        unmatched_cols=np.setdiff1d(np.arange(m), cols),
    )
