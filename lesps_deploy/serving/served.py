"""The served model's work, without Triton: raw frames -> probability maps and target tables.

It is the library's own evaluation path (`lesps_deploy.runtime.processing.run_frames` with the
artifact's normalization, padding multiple and bit-depth mapping, and `targets_from_mask`), so a
client of the server gets the numbers `lesps evaluate` gets in-process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from lesps_deploy.data.bit_depth import FrameMapper
from lesps_deploy.data.norm import model_norm
from lesps_deploy.metadata import ModelMeta
from lesps_deploy.runtime.processing import run_frames
from lesps_deploy.runtime.results import Target, targets_from_mask
from lesps_deploy.runtime.triton_protocol import MAX_TARGETS, TARGET_COLUMNS, ServeParams

__all__ = ["ServedModel", "targets_table", "onnxruntime_runner"]

Runner = Callable[[np.ndarray], np.ndarray]


def targets_table(targets: Sequence[Target], rows: int = MAX_TARGETS) -> tuple[np.ndarray, int]:
    """Targets as a fixed `rows` x 9 float32 table (`protocol.TARGET_COLUMNS`) and their count."""
    table = np.zeros((rows, len(TARGET_COLUMNS)), np.float32)
    for i, t in enumerate(targets[:rows]):
        table[i] = (t.x, t.y, t.area, *t.bbox, t.peak, t.mean)
    return table, len(targets)


def onnxruntime_runner(path: Path, threads: int) -> Runner:
    """The network as an ONNX Runtime CPU session (the Python-backend kind)."""
    from lesps_deploy.runtime.onnx_backend import OnnxRuntimeBackend

    return OnnxRuntimeBackend(path, device="cpu", threads=threads)


class ServedModel:
    """Frames in, (prob, targets table, count) per frame out.

    Args:
        meta: the artifact's metadata (normalization, bit depth, threshold, padding multiple).
        params: how it serves (`ServeParams`).
        run: the network: a normalized padded (N,1,H,W) float32 batch -> probabilities.
    """

    def __init__(self, meta: ModelMeta, params: ServeParams, run: Runner) -> None:
        self.meta = meta
        self.params = params
        self.run = run
        self.norm = model_norm(None, meta, source=meta.model)
        self.mapper = FrameMapper(meta.input_bits, params.frame_mapping)

    def __call__(
        self, frames: Sequence[np.ndarray], targets: bool = True
    ) -> list[tuple[np.ndarray, np.ndarray, int]]:
        """(prob, targets table, count) per frame; `targets=False` skips the components (empty table, 0)."""
        out = run_frames(
            self.run, frames, self.norm, self.meta.pad_multiple, self.params.batch_size,
            self.params.patch_size, mapper=self.mapper,
        )  # fmt: skip
        results = []
        for prob in out.probs:
            found = targets_from_mask(prob > self.meta.threshold, prob) if targets else []
            results.append((prob, *targets_table(found)))
        return results
