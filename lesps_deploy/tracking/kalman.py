"""Constant-velocity Kalman filter on target centroids, vectorised over all tracks at once.

State per track: (x, y, vx, vy) in pixels and pixels per frame. Both axes share the motion model, the
noises and the initial covariance, so their 2x2 covariances stay equal for ever: one triple
(p_pos, p_cross, p_vel) per track serves both axes, and predict and update are a few array operations
for every track together (50 tracks cost microseconds, not a Python loop of 4x4 matrix products).

Motion model: white acceleration (the continuous Wiener velocity model) with spectral density q,
    F(dt) = [[1, dt], [0, 1]],   Q(dt) = q * [[dt^3/3, dt^2/2], [dt^2/2, dt]],
so a gap of dt frames is one prediction over dt (its uncertainty grows with the gap) rather than a
jump. Measurement: the detected centroid with standard deviation r in each axis.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MotionModel", "initiate", "predict", "update", "innovation_variance"]


@dataclass(frozen=True, slots=True)
class MotionModel:
    """Noises of the constant-velocity model.

    Attributes:
        process_noise: q, white-acceleration spectral density (px^2/frame^3).
        measurement_noise: r, centroid standard deviation (px).
        initial_speed_std: prior standard deviation of a new track's velocity (px/frame).
    """

    process_noise: float = 0.5
    measurement_noise: float = 1.0
    initial_speed_std: float = 4.0


def initiate(xy: np.ndarray, model: MotionModel) -> tuple[np.ndarray, np.ndarray]:
    """States and covariances of new tracks at measured centroids `xy` (n, 2), at rest.

    Returns:
        (state (n, 4) float64, cov (n, 3) float64 as p_pos, p_cross, p_vel).
    """
    xy = np.asarray(xy, np.float64).reshape(-1, 2)
    state = np.zeros((len(xy), 4))
    state[:, :2] = xy
    cov = np.empty((len(xy), 3))
    cov[:, 0] = model.measurement_noise**2
    cov[:, 1] = 0.0
    cov[:, 2] = model.initial_speed_std**2
    return state, cov


def predict(
    state: np.ndarray, cov: np.ndarray, dt: float | np.ndarray, model: MotionModel
) -> tuple[np.ndarray, np.ndarray]:
    """Propagate every track by `dt` frames (scalar or per track). Returns new arrays."""
    dt = np.broadcast_to(np.asarray(dt, np.float64), (len(state),))
    q = model.process_noise
    out = state.copy()
    out[:, :2] += state[:, 2:] * dt[:, None]
    p, c, v = cov[:, 0], cov[:, 1], cov[:, 2]
    new = np.empty_like(cov)
    new[:, 0] = p + 2 * dt * c + dt * dt * v + q * dt**3 / 3
    new[:, 1] = c + dt * v + q * dt * dt / 2
    new[:, 2] = v + q * dt
    return out, new


def innovation_variance(cov: np.ndarray, model: MotionModel) -> np.ndarray:
    """Per-axis variance of (measurement - prediction) for each track, (n,)."""
    return cov[:, 0] + model.measurement_noise**2


def update(
    state: np.ndarray, cov: np.ndarray, xy: np.ndarray, model: MotionModel
) -> tuple[np.ndarray, np.ndarray]:
    """Correct tracks with measured centroids `xy` (n, 2), row for row. Returns new arrays."""
    s = innovation_variance(cov, model)
    k_pos, k_vel = cov[:, 0] / s, cov[:, 1] / s
    innovation = np.asarray(xy, np.float64) - state[:, :2]
    out = state.copy()
    out[:, :2] += k_pos[:, None] * innovation
    out[:, 2:] += k_vel[:, None] * innovation
    new = np.empty_like(cov)
    new[:, 0] = (1 - k_pos) * cov[:, 0]
    new[:, 1] = (1 - k_pos) * cov[:, 1]
    new[:, 2] = cov[:, 2] - k_vel * cov[:, 1]
    return out, new
