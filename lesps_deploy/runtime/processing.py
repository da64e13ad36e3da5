"""Pre/postprocessing shared by evaluation, the `Detector`, parity and benchmarks: every backend is fed alike.

bit depth mapping (`FrameMapper`) -> luma -> normalize -> reference padding -> (tiles for big frames) ->
backend -> crop back. One loop,
`run_frames`, groups frames of one padded size into batches, tiles the big ones and crops back; it runs
on numpy arrays, or on torch tensors on the backend's device when given `TorchOps` (the Detector on CUDA).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lesps_deploy.data.bit_depth import FrameMapper
from lesps_deploy.data.images import to_gray
from lesps_deploy.data.norm import Norm, normalize
from lesps_deploy.data.padding import pad_reference
from lesps_deploy.timing import Stopwatch

__all__ = [
    "DEFAULT_PATCH_SIZE",
    "ArrayOps",
    "NUMPY_OPS",
    "FrameOutputs",
    "preprocess",
    "needs_tiling",
    "tile_slices",
    "shape_batches",
    "run_frames",
    "infer_probabilities",
]

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


@dataclass(frozen=True)
class ArrayOps:
    """The array operations `run_frames` needs, for numpy (`NUMPY_OPS`) or torch tensors on a device.

    Attributes:
        prepare: raw frame (HxW, or HxWx3/4 BGR) -> normalized, reference-padded (1, H', W') input.
        stack: list of (1, H', W') inputs -> (N, 1, H', W') batch.
        zeros: (H', W') -> float32 zeros (the canvas of a tiled frame).
        contiguous: a strided tile view -> a contiguous batch.
        to_numpy: a cropped probability map -> float32 numpy HxW.
    """

    prepare: Callable[[Any, Norm, int], Any]
    stack: Callable[[list[Any]], Any]
    zeros: Callable[[tuple[int, int]], Any]
    contiguous: Callable[[Any], Any]
    to_numpy: Callable[[Any], np.ndarray]


def _prepare_numpy(frame: np.ndarray, norm: Norm, multiple: int) -> np.ndarray:
    return preprocess(to_gray(np.asarray(frame)), norm, multiple)


NUMPY_OPS = ArrayOps(
    prepare=_prepare_numpy,
    stack=np.stack,
    zeros=lambda shape: np.zeros(shape, np.float32),
    contiguous=np.ascontiguousarray,
    to_numpy=np.ascontiguousarray,
)


@dataclass(frozen=True)
class FrameOutputs:
    """Probability maps (float32 HxW, frame size) and per-frame preprocess / inference milliseconds.

    A batch's inference time is shared evenly by its frames.
    """

    probs: list[np.ndarray]
    preprocess_ms: list[float]
    inference_ms: list[float]


def run_frames(
    run: Callable[[Any], Any],
    frames: Sequence[Any],
    norm: Norm,
    multiple: int = 32,
    batch_size: int = 1,
    patch_size: int | None = DEFAULT_PATCH_SIZE,
    ops: ArrayOps = NUMPY_OPS,
    mapper: FrameMapper | None = None,
) -> FrameOutputs:
    """Probability maps for raw frames of any sizes: the one batch/tile/crop loop.

    Args:
        run: a backend: (N,1,H,W) normalized padded batch -> probabilities of the same shape.
        frames: raw frames (HxW gray of any dtype, or HxWx3/4 BGR(A) like OpenCV gives them).
        norm: input normalization.
        multiple: padding multiple of the model.
        batch_size: frames of the same padded size are stacked up to this many per call.
        patch_size: tile frames whose both sides exceed it (None: never tile).
        ops: numpy (default) or torch array operations (see `ArrayOps`).
        mapper: brings frames of another bit depth to the model's (None: frames are used as they are).
    """
    served = getattr(run, "run_frames", None)
    if served is not None:  # a served model (`FrameBackend`): the server does all of this, with its own code
        return served(frames, norm, batch_size, patch_size, mapper)
    n = len(frames)
    pre_ms, inf_ms = [0.0] * n, [0.0] * n
    inputs, sizes = [], []
    for i, frame in enumerate(frames):
        with Stopwatch() as sw:
            inputs.append(ops.prepare(frame if mapper is None else mapper(frame), norm, multiple))
        sizes.append(tuple(np.shape(frame)[:2]))
        pre_ms[i] = sw.ms
    probs: list[np.ndarray | None] = [None] * n
    plain = [i for i in range(n) if not needs_tiling(*sizes[i], patch_size)]
    for group in shape_batches([tuple(inputs[i].shape) for i in plain], batch_size):
        ids = [plain[j] for j in group]
        with Stopwatch() as sw:
            out = run(ops.stack([inputs[i] for i in ids]))
            for k, i in enumerate(ids):
                probs[i] = ops.to_numpy(out[k, 0, : sizes[i][0], : sizes[i][1]])
        for i in ids:
            inf_ms[i] = sw.ms / len(ids)
    for i in sorted(set(range(n)) - set(plain)):
        with Stopwatch() as sw:
            padded = inputs[i]
            prob = ops.zeros(tuple(padded.shape[1:]))
            for rows, cols in tile_slices(*padded.shape[1:], patch_size):  # type: ignore[arg-type]
                prob[rows, cols] = run(ops.contiguous(padded[None, :, rows, cols]))[0, 0]
            probs[i] = ops.to_numpy(prob[: sizes[i][0], : sizes[i][1]])
        inf_ms[i] = sw.ms
    return FrameOutputs(probs, pre_ms, inf_ms)  # type: ignore[arg-type]


def infer_probabilities(
    run: Callable[[np.ndarray], np.ndarray],
    images: Sequence[np.ndarray],
    norm: Norm,
    multiple: int = 32,
    batch_size: int = 1,
    patch_size: int | None = DEFAULT_PATCH_SIZE,
    mapper: FrameMapper | None = None,
) -> list[np.ndarray]:
    """Probability maps (HxW float32, frame size) for raw frames of any sizes (`run_frames` on numpy)."""
    return run_frames(run, images, norm, multiple, batch_size, patch_size, mapper=mapper).probs
