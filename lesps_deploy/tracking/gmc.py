"""Global motion compensation: the frame-to-frame image shift of a panning camera, by phase correlation.

A panning camera moves every static clutter point across the image at the pan speed, so each one
looks like a mover and passes a `--min-speed` filter. Shifting the tracks by the measured global
translation before association keeps their velocities relative to the scene. Phase correlation
(`cv2.phaseCorrelate`) finds the translation from the whole frame; small targets barely weigh in it.
Frames are halved (`cv2.pyrDown`) until their longer side is at most `max_side`, for speed.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["GlobalMotion"]


class GlobalMotion:
    """Estimates, frame after frame, how far the image content moved since the previous frame.

    Args:
        max_side: frames are downscaled by powers of two until their longer side is at most this.
        min_response: phase-correlation peaks weaker than this (no texture to lock on, a scene cut)
            give no shift.

    Example:
        >>> gmc = GlobalMotion()
        >>> dx, dy = gmc(frame)  # (0, 0) for the first frame
    """

    def __init__(self, max_side: int = 512, min_response: float = 0.05) -> None:
        self.max_side = max_side
        self.min_response = min_response
        self._previous: np.ndarray | None = None
        self._window: np.ndarray | None = None
        self.last_response = 0.0

    def reset(self) -> None:
        self._previous = None

    def _prepare(self, image: np.ndarray) -> tuple[np.ndarray, float]:
        img = np.asarray(image)
        if img.ndim == 3:
            img = cv2.cvtColor(img[..., :3], cv2.COLOR_BGR2GRAY) if img.shape[2] >= 3 else img[..., 0]
        gray = img.astype(np.float32)
        scale = 1.0
        while max(gray.shape) > self.max_side:
            gray = cv2.pyrDown(gray)
            scale *= 2.0
        return gray, scale

    def __call__(self, image: np.ndarray) -> tuple[float, float]:
        """(dx, dy) in pixels: how far the content of `image` moved since the previous call's frame.

        The first frame, a frame of another size, or a weak correlation peak gives (0, 0).
        """
        gray, scale = self._prepare(image)
        previous, self._previous = self._previous, gray
        if previous is None or previous.shape != gray.shape:
            self._window = cv2.createHanningWindow(gray.shape[::-1], cv2.CV_32F)
            return 0.0, 0.0
        (dx, dy), response = cv2.phaseCorrelate(previous, gray, self._window)
        self.last_response = float(response)
        if not np.isfinite(response) or response < self.min_response:
            return 0.0, 0.0
        return float(dx) * scale, float(dy) * scale
