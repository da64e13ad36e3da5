"""Reference padding and cropping.

Quirk kept on purpose: the reference pads each side to `(n // m + 1) * m`, so a side that already is a
multiple of m still gets m extra zero rows/columns (a 192-row frame runs as 224). Border effects of the
network depend on it, so matching the released numbers needs it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["padded_size", "pad_reference", "crop"]


def padded_size(height: int, width: int, multiple: int, always: bool = True) -> tuple[int, int]:
    """Network input size for a frame (`multiple`: the model's `meta.pad_multiple`). `always=False`
    gives the plain round-up."""
    if always:
        return (height // multiple + 1) * multiple, (width // multiple + 1) * multiple
    return -(-height // multiple) * multiple, -(-width // multiple) * multiple


def pad_reference(arr: np.ndarray, multiple: int, always: bool = True) -> np.ndarray:
    """Zero-pad the last two dims bottom/right to `padded_size`."""
    h, w = arr.shape[-2:]
    ph, pw = padded_size(h, w, multiple, always)
    pad = [(0, 0)] * (arr.ndim - 2) + [(0, ph - h), (0, pw - w)]
    return np.pad(arr, pad, mode="constant")


def crop(arr: np.ndarray, height: int, width: int) -> np.ndarray:
    """Top-left crop of the last two dims back to the frame size."""
    return arr[..., :height, :width]
