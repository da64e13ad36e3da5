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

from lesps_deploy.data.bit_depth import FrameMapper
from lesps_deploy.data.images import to_gray
from lesps_deploy.data.norm import Norm, model_norm
from lesps_deploy.data.padding import padded_size
from lesps_deploy.errors import ConfigError, FrameShapeError, FrameTypeError
from lesps_deploy.metadata import ModelMeta
from lesps_deploy.options import check_multiple
from lesps_deploy.runtime.base import Backend, Closeable, load_runtime
from lesps_deploy.runtime.processing import DEFAULT_PATCH_SIZE, NUMPY_OPS, ArrayOps, run_frames
from lesps_deploy.runtime.results import Result, ResultStep, Timings, detect_targets
from lesps_deploy.timing import Stopwatch

__all__ = ["Detector", "FrameInfo", "check_frames", "torch_ops"]

log = logging.getLogger(__name__)

# (index, timestamp, name) of a frame, so results can name the frame they belong to.
FrameInfo = tuple[int, float, str]


def torch_ops(device: str) -> ArrayOps:
    """`run_frames` operations on torch tensors on `device`: the same float32 arithmetic as numpy's."""
    import torch
    import torch.nn.functional as F

    def prepare(frame: np.ndarray, norm: Norm, multiple: int) -> Any:
        x = _gray_tensor(np.asarray(frame), device)
        h, w = x.shape
        ph, pw = padded_size(h, w, multiple)
        mean = torch.tensor(norm.mean, dtype=torch.float32, device=device)
        std = torch.tensor(norm.std, dtype=torch.float32, device=device)
        return F.pad((x - mean) / std, (0, pw - w, 0, ph - h))[None]

    return ArrayOps(
        prepare=prepare,
        stack=torch.stack,
        zeros=lambda shape: torch.zeros(shape, dtype=torch.float32, device=device),
        contiguous=lambda t: t.contiguous(),
        to_numpy=lambda t: t.cpu().numpy(),
    )


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


def check_frames(frames: Any) -> list[np.ndarray]:
    """`frames` as a list of arrays, or a TypeError / ValueError saying what `predict` expects."""
    if isinstance(frames, np.ndarray) or not isinstance(frames, Sequence) or isinstance(frames, str | bytes):
        shape = f" of shape {frames.shape}" if isinstance(frames, np.ndarray) else ""
        raise TypeError(
            f"Detector.predict takes a list of frames, got {type(frames).__name__}{shape}; "
            "for one frame, pass [frame]"
        )
    out = []
    for i, frame in enumerate(frames):
        if not isinstance(frame, np.ndarray):
            raise FrameTypeError(
                f"frame {i}: expected a numpy array (HxW or HxWx3 BGR), got {type(frame).__name__}"
            )
        if frame.dtype.kind not in "biuf":
            raise FrameTypeError(
                f"frame {i}: dtype {frame.dtype} is not a pixel type; expected integers or floats"
            )
        channels_ok = frame.ndim == 2 or (frame.ndim == 3 and frame.shape[2] in (1, 3, 4))
        if not channels_ok or frame.shape[0] < 1 or frame.shape[1] < 1:
            raise FrameShapeError(
                f"frame {i}: shape {frame.shape}; expected HxW gray or HxWx1/3/4 (BGR, BGRA) with H, W >= 1"
            )
        out.append(frame)
    return out


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
        frame_mapping: how frames of another bit depth than the model's (`meta.input_bits`) are mapped:
            agc, scale or raw (None: agc, said once; see `lesps_deploy.data.bit_depth`).
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
        frame_mapping: str | None = None,
        **backend_opts: Any,
    ) -> None:
        opts = {**backend_opts, **({"model": model} if model else {})}
        runtime = load_runtime(weights, device, backend, **opts)
        try:
            self._setup(runtime, norm, threshold, batch_size, patch_size, torch_processing, str(weights))
            self.mapper = FrameMapper.for_model(runtime.meta.input_bits, frame_mapping)
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
        frame_mapping: str | FrameMapper | None = None,
    ) -> Detector:
        """Wrap a backend already loaded (e.g. `TorchBackend.from_module` during training)."""
        self = cls.__new__(cls)
        self._setup(backend, norm, threshold, batch_size, patch_size, torch_processing, backend.name)
        self.mapper = FrameMapper.for_model(backend.meta.input_bits, frame_mapping)
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
        self.norm = model_norm(norm, meta, source=label)
        self.threshold = float(meta.threshold if threshold is None else threshold)
        if not 0.0 <= self.threshold < 1.0:
            raise ConfigError(f"threshold {self.threshold} out of range; use a probability in [0, 1)")
        if batch_size < 1:
            raise ConfigError(f"batch size {batch_size} must be >= 1")
        self.batch_size = int(batch_size)
        self.patch_size = patch_size
        self.multiple = int(meta.pad_multiple)
        check_multiple("patch_size", patch_size, self.multiple, label)  # the rest of its domain: on load
        on_cuda = str(backend.device).startswith("cuda") and hasattr(backend, "run_tensor")
        self.torch_processing = on_cuda if torch_processing is None else bool(torch_processing)
        if self.torch_processing and not hasattr(backend, "run_tensor"):
            raise ConfigError(f"{label}: torch processing needs the PyTorch backend (got {backend.name})")

    @property
    def meta(self) -> ModelMeta:
        return self.backend.meta

    @property
    def precision(self) -> str:
        """fp32, fp16 or int8, as the artifact's metadata records it."""
        return self.meta.precision

    @property
    def name(self) -> str:
        return f"{self.meta.model}/{self.backend.name}/{self.backend.device}/{self.precision}"

    def warmup(self, height: int = 256, width: int = 256) -> None:
        """Run one blank frame (allocations, kernel selection, lazy initialisation)."""
        self.predict([np.zeros((height, width), np.uint8)])

    # ------------------------------------------------------------------ inference
    def predict(self, frames: Sequence[np.ndarray], infos: Sequence[FrameInfo] | None = None) -> list[Result]:
        """Detect targets in frames of any sizes (grouped by padded size into backend batches).

        Args:
            frames: a list of HxW gray or HxWx3/4 BGR(A) frames (OpenCV's layout) of any integer or
                float dtype; float frames scaled to 0..1 are taken as such (`data.bit_depth`).
            infos: optional (index, timestamp, name) per frame for the results.

        Returns:
            One `Result` per frame, in order.

        Raises:
            TypeError: `frames` is not a list of arrays (one array alone: pass `[frame]`), or an
                array of a non-numeric dtype.
            ValueError: a frame of another shape than HxW or HxWx1/3/4, or with no pixel.
            DataError: a frame holds NaN or Infinity.
        """
        frames = check_frames(frames)
        if not frames:
            return []
        infos = infos or [(i, time.time(), "") for i in range(len(frames))]
        if self.torch_processing:
            run, ops = self.backend.run_tensor, torch_ops(self.backend.device)  # type: ignore[attr-defined]
        else:
            run, ops = self.backend, NUMPY_OPS
        out = run_frames(
            run, frames, self.norm, self.multiple, self.batch_size, self.patch_size, ops, self.mapper
        )
        return [
            self._postprocess(prob, pre, inf, info)
            for prob, pre, inf, info in zip(
                out.probs, out.preprocess_ms, out.inference_ms, infos, strict=True
            )
        ]

    def _postprocess(self, prob: np.ndarray, pre_ms: float, inf_ms: float, info: FrameInfo) -> Result:
        with Stopwatch() as sw:
            prob = prob.astype(np.float32, copy=False)
            mask, targets = detect_targets(prob, self.threshold)
        index, timestamp, name = info
        return Result(
            prob=prob, mask=mask, targets=targets, timings=Timings(pre_ms, inf_ms, sw.ms),
            frame_index=index, timestamp=timestamp, source=name, threshold=self.threshold,
        )  # fmt: skip

    def stream(
        self, source: str | Path | int | Iterable[Any], batch: int = 1, track: ResultStep | None = None
    ) -> Iterator[Result]:
        """Results for every frame of a source, in order, synchronously (no threads).

        Args:
            source: a SOURCE as `lesps predict` takes it (image, folder, glob, list file, video, camera
                index, rtsp:// or http(s):// URL; opened with `lesps_deploy.sources.open_source` and
                closed at the end), a `FrameSource`, or any iterable of frames (arrays or objects
                with `image`, `index`, `timestamp`, `name`).
            batch: frames gathered per `predict` call.
            track: a step each result passes through in source order, given its frame, e.g. a
                `lesps_deploy.tracking.Tracker` (results then carry track IDs, states, velocities);
                None: plain detections.

        Raises:
            ConfigError: `track` has no `update(result, image)`.

        Example:
            >>> from lesps_deploy.tracking import Tracker, TrackerConfig
            >>> for result in det.stream(frames, track=Tracker(TrackerConfig(confirmed_only=True))):
            ...     print([(t.track_id, t.vx, t.vy) for t in result.targets])
        """
        if track is not None and not callable(getattr(track, "update", None)):
            raise ConfigError(
                f"track={track!r}: expected an object with update(result, image), "
                "e.g. lesps_deploy.tracking.Tracker()"
            )
        if isinstance(source, str | Path | int):
            from lesps_deploy.sources import open_source

            with open_source(source) as frames:
                yield from self.stream(frames, batch, track)
            return
        for image, result in self._stream(source, batch):
            yield result if track is None else track.update(result, image)

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
