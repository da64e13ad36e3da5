"""Drawing: frames to 8-bit BGR, mask tint, targets circled, track IDs and tails, an optional stats line."""

from __future__ import annotations

import cv2
import numpy as np

from lesps_deploy.runtime.results import Result

__all__ = ["to_display", "draw_result"]

MASK_BGR = (0, 0, 255)
CIRCLE_BGR = (0, 255, 0)
TEXT_BGR = (0, 255, 255)
TENTATIVE_BGR = (160, 160, 160)
TAIL_BGR = (255, 200, 0)


def to_display(image: np.ndarray) -> np.ndarray:
    """An 8-bit BGR copy of a frame for drawing.

    8-bit frames keep their values. Gray frames from `read_image` (float32 holding 0..255) too. Wider
    ranges (16-bit thermal) are stretched min..max per frame, since they have no fixed display range.
    """
    img = np.asarray(image)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.dtype != np.uint8:
        lo, hi = float(img.min(initial=0.0)), float(img.max(initial=0.0))
        if lo >= 0 and hi <= 255:
            img = np.rint(img).astype(np.uint8)
        else:
            scale = 255.0 / (hi - lo) if hi > lo else 0.0
            img = ((img.astype(np.float32) - lo) * scale).astype(np.uint8)
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    return img[..., :3].copy()  # never draw on the caller's frame


def draw_result(image: np.ndarray, result: Result, alpha: float = 0.5, text: str | None = None) -> np.ndarray:
    """Annotated BGR uint8 frame: mask pixels tinted red, each target circled and labelled.

    Tracked targets (`lesps_deploy.tracking.TrackedTarget`) are labelled `#<track id>`; confirmed
    ones get a short tail of their latest centroids, tentative ones are drawn grey.

    Args:
        image: the frame the result belongs to (any `Frame.image` form).
        result: its detection result.
        alpha: tint strength of mask pixels.
        text: optional line drawn top-left (e.g. latency).
    """
    out = to_display(image)
    if out.shape[:2] != result.mask.shape:
        out = cv2.resize(out, (result.mask.shape[1], result.mask.shape[0]), interpolation=cv2.INTER_NEAREST)
    if result.mask.any():
        tint = np.array(MASK_BGR, np.float32)
        px = out[result.mask].astype(np.float32)
        out[result.mask] = (px * (1 - alpha) + tint * alpha).astype(np.uint8)
    scale = max(0.35, min(out.shape[:2]) / 800)
    for t in result.targets:
        x0, y0, x1, y1 = t.bbox
        radius = int(max(x1 - x0, y1 - y0) / 2 + 5)
        center = (int(round(t.x)), int(round(t.y)))
        track_id = getattr(t, "track_id", 0)
        color = CIRCLE_BGR if not track_id or t.track_state == "confirmed" else TENTATIVE_BGR
        if track_id and t.track_state == "confirmed":
            _draw_tail(out, t.tail)
        cv2.circle(out, center, radius, color, 1, cv2.LINE_AA)
        label = f"#{track_id}" if track_id else f"{t.id}:{t.peak:.2f}"
        cv2.putText(
            out, label, (center[0] + radius + 2, center[1] - 2),
            cv2.FONT_HERSHEY_SIMPLEX, scale, color, 1, cv2.LINE_AA,
        )  # fmt: skip
    if text:
        cv2.putText(
            out, text, (4, int(14 * scale / 0.35)), cv2.FONT_HERSHEY_SIMPLEX, scale, TEXT_BGR, 1, cv2.LINE_AA
        )
    return out


def _draw_tail(out: np.ndarray, tail: tuple[tuple[float, float], ...]) -> None:
    """A track's latest centroids as a polyline (a tracked target carries its tail)."""
    if len(tail) < 2:
        return
    points = np.rint(np.asarray(tail, np.float64)).astype(np.int32).reshape(-1, 1, 2)
    cv2.polylines(out, [points], False, TAIL_BGR, 1, cv2.LINE_AA)
