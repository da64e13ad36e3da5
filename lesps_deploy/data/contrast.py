"""Local-contrast maps of classical small-target detectors (the LCM family the LESPS paper compares with).

Each map is high where a small bright blob stands out from its surroundings and 0 elsewhere; the
pseudo-label baselines (`lesps_deploy.training.pseudo_masks`) turn the region of a map around a clicked
point into a mask. Both work on float frames of any bit depth: only ratios to a local peak are used.

* ``tophat`` — morphological white top-hat (frame minus its grey opening), the classical background
  suppression for point targets of Tom et al., "Morphology-based algorithm for point target detection
  in infrared backgrounds" (SPIE 1993); see also Bai & Zhou, Pattern Recognition 43 (2010).
* ``mpcm`` — multiscale patch-based contrast measure, Wei, You & Li, "Multiscale patch-based contrast
  measure for small infrared target detection", Pattern Recognition 58 (2016): at patch side L, with
  d_i the mean of the centre patch minus the mean of the i-th of its 8 neighbouring patches, the
  contrast is min_i d_i * d_(i+4) over the 4 pairs of opposite neighbours, kept only where both are
  positive (bright targets); the maximum over the scales is the map. The paper's 3x3 mean prefilter
  is applied first. We return the square root of the measure (the geometric mean of the opposite
  differences): grey levels, like the top-hat, so one "share of the peak" means the same for both
  (on the squared measure, half the peak is ~71 % of the target's contrast and masks come out small).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import ndimage

__all__ = ["CONTRAST_METHODS", "contrast_map", "tophat_map", "mpcm_map"]

TOPHAT_SIZE = 15  # side of the square opening element: removes structures up to this size
MPCM_SCALES = (3, 5, 7, 9)  # patch sides of the paper's experiments


def tophat_map(frame: np.ndarray, size: int = TOPHAT_SIZE) -> np.ndarray:
    """White top-hat: the frame minus its grey opening with a `size` x `size` square."""
    img = np.asarray(frame, dtype=np.float32)
    return np.maximum(img - ndimage.grey_opening(img, size=(size, size)), 0.0)


def _shifted(padded: np.ndarray, side: int, dr: int, dc: int) -> np.ndarray:
    """The patch means `dr`, `dc` patches away, from a map edge-padded by `side` on every border."""
    h, w = padded.shape[0] - 2 * side, padded.shape[1] - 2 * side
    r, c = side + dr * side, side + dc * side
    return padded[r : r + h, c : c + w]


def mpcm_map(frame: np.ndarray, scales: tuple[int, ...] = MPCM_SCALES) -> np.ndarray:
    """Square root of the multiscale patch contrast measure for bright targets (Wei et al. 2016), >= 0."""
    img = ndimage.uniform_filter(np.asarray(frame, dtype=np.float32), size=3, mode="nearest")
    out = np.zeros_like(img)
    for side in scales:
        mean = ndimage.uniform_filter(img, size=side, mode="nearest")
        padded = np.pad(mean, side, mode="edge")

        # The 4 pairs of opposite neighbours: (up, down), (left, right) and the two diagonals.
        pairs = (((-1, 0), (1, 0)), ((0, -1), (0, 1)), ((-1, -1), (1, 1)), ((-1, 1), (1, -1)))
        scale = None
        for a, b in pairs:
            da = np.maximum(mean - _shifted(padded, side, *a), 0.0)
            db = np.maximum(mean - _shifted(padded, side, *b), 0.0)
            prod = da * db
            scale = prod if scale is None else np.minimum(scale, prod)
        out = np.maximum(out, scale)
    return np.sqrt(out)


CONTRAST_METHODS: dict[str, Callable[[np.ndarray], np.ndarray]] = {"tophat": tophat_map, "mpcm": mpcm_map}


def contrast_map(frame: np.ndarray, method: str) -> np.ndarray:
    """The `method` ('tophat' or 'mpcm') contrast map of a frame (HxW, any depth)."""
    try:
        return CONTRAST_METHODS[method](frame)
    except KeyError:
        from lesps_deploy.errors import ConfigError

        raise ConfigError(
            f"unknown contrast method {method!r}", hint=f"choose one of {', '.join(CONTRAST_METHODS)}"
        ) from None
