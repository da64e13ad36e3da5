"""`Detector`: one object from a weights file to per-frame `Result`s, over any backend.

Frames go through exactly the evaluation path (`lesps_deploy.runtime.processing`): luma like PIL,
normalize, reference padding, tiles for big frames, backend, crop back, `prob > threshold`, then
8-connected components. With a PyTorch backend on CUDA the normalize/pad/crop/threshold steps run as
torch ops on the device so frames cross the bus once (uint8 up, probabilities and mask down).

Example:
    >>> det = Detector("ACM_LESPS_centroid.pth.tar")  # a known release: SIRST3 norm from the table
    >>> [r.targets for r in det.predict([frame_bgr])]
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lesps_deploy.data import Norm, padded_size, resolve_norm, to_gray
from lesps_deploy.errors import ConfigError
from lesps_deploy.metadata import ModelMeta
from lesps_deploy.runtime.base import Backend, Closeable, load_runtime
from lesps_deploy.runtime.processing import (
    DEFAULT_PATCH_SIZE,
    needs_tiling,
    preprocess,
    shape_batches,
    tile_slices,
)
from lesps_deploy.runtime.results import Result, Timings, targets_from_mask

__all__ = ["Detector", "FrameInfo", "targets_from_mask"]

log = logging.getLogger(__name__)

# (index, timestamp, name) of a frame, so results can name the frame they belong to.
FrameInfo = tuple[int, float, str]


def _gray_tensor(frame: np.ndarray, device: str) -> Any:
    """Frame -> float32 HxW torch tensor on `device`, luma computed like `to_gray`.

    8-bit colour frames go up as uint8 (a third of the float bytes) and get PIL's fixed-point luma on
    the device; anything else is converted on the host first.
    """
    import torch

    if frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] in (3, 4):
        t = (
            torch.from_numpy(np.ascontiguousarray(frame[..., :3]))
            .to(device, non_blocking=True)
            .to(torch.int32)
        )
        luma = (t[..., 2] * 19595 + t[..., 1] * 38470 + t[..., 0] * 7471 + 0x8000) >> 16
        return luma.to(torch.float32)
    return torch.from_numpy(np.ascontiguousarray(to_gray(frame), dtype=np.float32)).to(device)


class Detector(Closeable):
    """Infrared small target detector over a .pth/.onnx/.engine artifact.

    Args:
        weights: checkpoint (.pth/.pth.tar/.pt), .onnx or .engine file.
        device: "cpu", "cuda" or "cuda:N".
        backend: force a backend by name ("torch", "onnxruntime", "tensorrt"); default from the suffix.
        norm: normalization override (preset, "MEAN,STD" or `Norm`); default from the artifact.
        threshold: probability threshold override; default from the artifact.
        model: model name override (released checkpoints are detected from their keys).
        warmup: run one frame at construction so the first real frame is not slow.
        batch_size: most frames of one padded size per backend call in `predict`.
        patch_size: tile frames whose both sides exceed it (reference rule; None: never).
        torch_processing: pre/postprocess with torch ops on the backend's device (default: on when a
            PyTorch backend runs on CUDA).
        **backend_opts: passed to the backend (e.g. half, channels_last, providers, threads, trust_pickle).

    Raises:
        ConfigError: no normalization known (a file that is neither ours nor a known release needs
            `norm`), bad threshold.
        BackendError, CheckpointError: from loading the artifact.
    """

    def __init__(
        self,
        weights: str | Path,
        device: str = "cpu",
        backend: str | None = None,
        norm: str | Norm | None = None,
        threshold: float | None = None,
        model: str | None = None,
        warmup: bool = True,
        batch_size: int = 8,
        patch_size: int | None = DEFAULT_PATCH_SIZE,
        torch_processing: bool | None = None,
        **backend_opts: Any,
    ) -> None:
        opts = {**backend_opts, **({"model": model} if model else {})}
        runtime = load_runtime(weights, device, backend, **opts)
        try:
            self._setup(runtime, norm, threshold, batch_size, patch_size, torch_processing, str(weights))
        except BaseException:
            runtime.close()
            raise
        if warmup:
            self.warmup()

    @classmethod
    def from_backend(
        cls,
        backend: Backend,
        norm: str | Norm | None = None,
        threshold: float | None = None,
        batch_size: int = 8,
        patch_size: int | None = DEFAULT_PATCH_SIZE,
        torch_processing: bool | None = None,
    ) -> Detector:
        """Wrap a backend already loaded (e.g. `TorchBackend.from_module` during training)."""
        self = cls.__new__(cls)
        self._setup(backend, norm, threshold, batch_size, patch_size, torch_processing, backend.name)
        return self

    def _setup(
        self,
        backend: Backend,
        norm: str | Norm | None,
        threshold: float | None,
        batch_size: int,
        patch_size: int | None,
        torch_processing: bool | None,
        label: str,
    ) -> None:
        meta = backend.meta
        self.backend = backend
        if norm is not None:
            self.norm = resolve_norm(norm)
        elif meta.mean is not None and meta.std is not None:
            self.norm = Norm(float(meta.mean), float(meta.std))
        else:
            raise ConfigError(
                f"{label}: the weights carry no normalization",
                hint="pass --norm PRESET|MEAN,STD (the released LESPS checkpoints use --norm SIRST3)",
            )
        self.threshold = float(meta.threshold if threshold is None else threshold)
        if not 0.0 <= self.threshold < 1.0:
            raise ConfigError(f"threshold {self.threshold} out of range; use a probability in [0, 1)")
        if batch_size < 1:
            raise ConfigError(f"batch size {batch_size} must be >= 1")
        self.batch_size = int(batch_size)
        self.patch_size = patch_size
        self.multiple = int(meta.pad_multiple)
        on_cuda = str(backend.device).startswith("cuda") and hasattr(backend, "run_tensor")
        self.torch_processing = on_cuda if torch_processing is None else bool(torch_processing)
        if self.torch_processing and not hasattr(backend, "run_tensor"):
            raise ConfigError(f"{label}: torch processing needs the PyTorch backend (got {backend.name})")

    @property
    def meta(self) -> ModelMeta:
        return self.backend.meta

    @property
    def name(self) -> str:
        return f"{self.meta.model}/{self.backend.name}/{self.backend.device}"

    def warmup(self, height: int = 256, width: int = 256) -> None:
        """Run one blank frame (allocations, kernel selection, lazy initialisation)."""
        self.predict([np.zeros((height, width), np.uint8)])

    # ------------------------------------------------------------------ inference
    def predict(self, frames: Sequence[np.ndarray], infos: Sequence[FrameInfo] | None = None) -> list[Result]:
        """Detect targets in frames of any sizes (grouped by padded size into backend batches).

        Args:
            frames: HxW gray (uint8/uint16/float32) or HxWx3/4 BGR(A) OpenCV frames.
            infos: optional (index, timestamp, name) per frame for the results.

        Returns:
            One `Result` per frame, in order.
        """
        if not frames:
            return []
        infos = infos or [(i, time.time(), "") for i in range(len(frames))]
        if self.torch_processing:
            probs, pre_ms, inf_ms = self._run_torch(frames)
        else:
            probs, pre_ms, inf_ms = self._run_numpy(frames)
        return [
            self._postprocess(prob, pre, inf, info)
            for prob, pre, inf, info in zip(probs, pre_ms, inf_ms, infos, strict=True)
        ]

    def _run_numpy(self, frames: Sequence[np.ndarray]) -> tuple[list[np.ndarray], list[float], list[float]]:
        """Probability maps plus per-frame preprocess and inference ms (batch time shared evenly)."""
        n = len(frames)
        pre_ms, inf_ms = [0.0] * n, [0.0] * n
        inputs, sizes = [], []
        for i, frame in enumerate(frames):
            t0 = time.perf_counter()
            gray = to_gray(np.asarray(frame))
            inputs.append(preprocess(gray, self.norm, self.multiple))
            sizes.append(gray.shape)
            pre_ms[i] = (time.perf_counter() - t0) * 1e3
        probs: list[np.ndarray | None] = [None] * n
        plain = [i for i in range(n) if not needs_tiling(*sizes[i], self.patch_size)]
        for group in shape_batches([inputs[i].shape for i in plain], self.batch_size):
            ids = [plain[j] for j in group]
            t0 = time.perf_counter()
            out = self.backend(np.stack([inputs[i] for i in ids]))
            share = (time.perf_counter() - t0) * 1e3 / len(ids)
            for k, i in enumerate(ids):
                probs[i], inf_ms[i] = out[k, 0], share
        for i in sorted(set(range(n)) - set(plain)):
            t0 = time.perf_counter()
            probs[i] = self._run_tiled(inputs[i])
            inf_ms[i] = (time.perf_counter() - t0) * 1e3
        cropped = [np.ascontiguousarray(p[: s[0], : s[1]]) for p, s in zip(probs, sizes, strict=True)]
        return cropped, pre_ms, inf_ms

    def _run_tiled(self, padded: np.ndarray) -> np.ndarray:
        prob = np.zeros(padded.shape[1:], np.float32)
        for rows, cols in tile_slices(*padded.shape[1:], self.patch_size):  # type: ignore[arg-type]
            prob[rows, cols] = self.backend(np.ascontiguousarray(padded[None, :, rows, cols]))[0, 0]
        return prob

    def _run_torch(self, frames: Sequence[np.ndarray]) -> tuple[list[np.ndarray], list[float], list[float]]:
        """`_run_numpy` with torch ops on the backend's device (same float32 arithmetic, same masks)."""
        import torch
        import torch.nn.functional as F

        dev = self.backend.device
        n = len(frames)
        pre_ms, inf_ms = [0.0] * n, [0.0] * n
        mean, std = (
            torch.tensor(self.norm.mean, dtype=torch.float32),
            torch.tensor(self.norm.std, dtype=torch.float32),
        )
        inputs, sizes = [], []
        for i, frame in enumerate(frames):
            t0 = time.perf_counter()
            x = _gray_tensor(np.asarray(frame), dev)
            h, w = x.shape
            ph, pw = padded_size(h, w, self.multiple)
            inputs.append(F.pad((x - mean.to(dev)) / std.to(dev), (0, pw - w, 0, ph - h))[None])
            sizes.append((h, w))
            pre_ms[i] = (time.perf_counter() - t0) * 1e3
        probs: list[Any] = [None] * n
        plain = [i for i in range(n) if not needs_tiling(*sizes[i], self.patch_size)]
        for group in shape_batches([tuple(inputs[i].shape) for i in plain], self.batch_size):
            ids = [plain[j] for j in group]
            t0 = time.perf_counter()
            out = self.backend.run_tensor(torch.stack([inputs[i] for i in ids]))
            crops = [out[k, 0, : sizes[i][0], : sizes[i][1]].cpu().numpy() for k, i in enumerate(ids)]
            share = (time.perf_counter() - t0) * 1e3 / len(ids)
            for k, i in enumerate(ids):
                probs[i], inf_ms[i] = crops[k], share
        for i in sorted(set(range(n)) - set(plain)):
            t0 = time.perf_counter()
            padded = inputs[i]
            prob = torch.zeros(padded.shape[1:], dtype=torch.float32, device=dev)
            for rows, cols in tile_slices(*padded.shape[1:], self.patch_size):  # type: ignore[arg-type]
                prob[rows, cols] = self.backend.run_tensor(padded[None, :, rows, cols].contiguous())[0, 0]
            probs[i] = prob[: sizes[i][0], : sizes[i][1]].cpu().numpy()
            inf_ms[i] = (time.perf_counter() - t0) * 1e3
        return probs, pre_ms, inf_ms

    def _postprocess(self, prob: np.ndarray, pre_ms: float, inf_ms: float, info: FrameInfo) -> Result:
        t0 = time.perf_counter()
        prob = prob.astype(np.float32, copy=False)
        mask = prob > self.threshold  # the reference's rule (strictly greater)
        targets = targets_from_mask(mask, prob)
        post_ms = (time.perf_counter() - t0) * 1e3
        index, timestamp, name = info
        return Result(
            prob=prob, mask=mask, targets=targets, timings=Timings(pre_ms, inf_ms, post_ms),
            frame_index=index, timestamp=timestamp, source=name, threshold=self.threshold,
        )  # fmt: skip

    def stream(self, source: Iterable[Any], batch: int = 1, track: Any = False) -> Iterator[Result]:
        """Results for every frame of a source, in order, synchronously (no threads).

        Args:
            source: a `FrameSource`, or any iterable of frames (arrays or objects with
                `image`, `index`, `timestamp`, `name`).
            batch: frames gathered per `predict` call.
            track: True, a `TrackerConfig` or a `Tracker`: results carry tracked targets
                (`lesps_deploy.tracking`: track IDs, states, velocities); False: plain detections.
        """
        tracker = _make_tracker(track)
        for image, result in self._stream(source, batch):
            yield result if tracker is None else tracker.update(result, image)

    def _stream(self, source: Iterable[Any], batch: int) -> Iterator[tuple[np.ndarray, Result]]:
        """(frame image, result) pairs, `batch` frames per `predict` call."""
        images: list[np.ndarray] = []
        infos: list[FrameInfo] = []
        for i, item in enumerate(source):
            if isinstance(item, np.ndarray):
                images.append(item)
                infos.append((i, time.time(), ""))
            else:
                images.append(item.image)
                infos.append((item.index, item.timestamp, item.name))
            if len(images) >= batch:
                yield from zip(images, self.predict(images, infos), strict=True)
                images, infos = [], []
        if images:
            yield from zip(images, self.predict(images, infos), strict=True)

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        self.backend.close()

    def __repr__(self) -> str:
        return f"Detector({self.name}, norm={self.norm}, threshold={self.threshold})"


def _make_tracker(track: Any) -> Any:
    """`Detector.stream`'s `track` argument as a Tracker (None when off)."""
    if track is False or track is None:
        return None
    # Imported here: tracking sits downstream of the runtime (it consumes `Result`s), and the plain
    # detection path must not pay for it.
    from lesps_deploy.tracking import Tracker, TrackerConfig

    if isinstance(track, Tracker):
        return track
    if track is True or isinstance(track, TrackerConfig):
        return Tracker(None if track is True else track)
    raise ConfigError(f"track={track!r}: expected True, a TrackerConfig or a Tracker")
