"""Pre/postprocessing shared by evaluation, prediction and benchmarks, so every backend is fed alike.

normalize -> reference padding -> (tiles for big frames) -> backend -> crop back -> threshold.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np

from lesps_deploy.data.norm import Norm, normalize
from lesps_deploy.data.padding import pad_reference

__all__ = ["preprocess", "needs_tiling", "tile_slices", "infer_probabilities", "shape_batches"]

DEFAULT_PATCH_SIZE = 1024


def preprocess(image: np.ndarray, norm: Norm, multiple: int = 32) -> np.ndarray:
    """Raw float32 HxW frame -> normalized, reference-padded (1, H', W') float32."""
    return pad_reference(normalize(image, norm), multiple)[None]


def needs_tiling(height: int, width: int, patch_size: int | None) -> bool:
    """Reference rule: frames whose both sides exceed `patch_size` run as non-overlapping tiles."""
    return bool(patch_size) and height > patch_size and width > patch_size


def tile_slices(height: int, width: int, patch: int) -> list[tuple[slice, slice]]:
    """Non-overlapping `patch` tiles covering a (padded) input, last row/column of tiles smaller."""
    return [
        (slice(r, min(r + patch, height)), slice(c, min(c + patch, width)))
        for r in range(0, height, patch)
        for c in range(0, width, patch)
    ]


def shape_batches(shapes: Sequence[tuple[int, ...]], batch_size: int) -> Iterator[list[int]]:
    """Group indices of equal shapes into batches of at most `batch_size`, keeping first-seen order."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, shape in enumerate(shapes):
        groups.setdefault(tuple(shape), []).append(i)
    for idx in groups.values():
        for start in range(0, len(idx), batch_size):
            yield idx[start : start + batch_size]


def infer_probabilities(
    run: Callable[[np.ndarray], np.ndarray],
    images: Sequence[np.ndarray],
    norm: Norm,
    multiple: int = 32,
    batch_size: int = 1,
    patch_size: int | None = DEFAULT_PATCH_SIZE,
) -> list[np.ndarray]:
    """Probability maps (HxW float32, frame size) for raw frames of any sizes.

    Args:
        run: a backend: (N,1,H,W) normalized padded batch -> probabilities of the same shape.
        images: raw float32 HxW frames.
        norm: input normalization.
        multiple: padding multiple of the model.
        batch_size: frames of the same padded size are stacked up to this many per call.
        patch_size: tile frames whose both sides exceed it (None: never tile).
    """
    inputs = [preprocess(img, norm, multiple) for img in images]
    out: list[np.ndarray | None] = [None] * len(images)
    plain = [i for i, img in enumerate(images) if not needs_tiling(*img.shape, patch_size)]
    for group in shape_batches([inputs[i].shape for i in plain], batch_size):
        ids = [plain[j] for j in group]
        probs = run(np.stack([inputs[i] for i in ids]))
        for k, i in enumerate(ids):
            out[i] = probs[k, 0]
    for i in set(range(len(images))) - set(plain):
        padded = inputs[i]
        prob = np.zeros(padded.shape[1:], np.float32)
        for rows, cols in tile_slices(*padded.shape[1:], patch_size):  # type: ignore[arg-type]
            prob[rows, cols] = run(np.ascontiguousarray(padded[None, :, rows, cols]))[0, 0]
        out[i] = prob
    return [
        np.ascontiguousarray(p[: img.shape[0], : img.shape[1]]) for p, img in zip(out, images, strict=True)
    ]
