"""PyTorch backend: checkpoints (.pth/.pth.tar/.pt) or an in-memory module."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from lesps_deploy.errors import BackendError
from lesps_deploy.metadata import ModelMeta
from lesps_deploy.runtime.base import Closeable

__all__ = ["TorchBackend"]

logger = logging.getLogger(__name__)


class TorchBackend(Closeable):
    """Runs a model with PyTorch on CPU or CUDA.

    Args:
        path: checkpoint file (released LESPS checkpoint or our own).
        device: "cpu", "cuda" or "cuda:N".
        model: model name override (else from the checkpoint's metadata or its keys).
        half: run in float16 (CUDA only).
        channels_last: use the channels_last memory format (faster convolutions on recent GPUs).
        trust_pickle: allow full unpickling of a file that safe loading refuses (see `load_checkpoint`).
    """

    name = "torch"

    def __init__(
        self,
        path: str | Path,
        device: str = "cpu",
        model: str | None = None,
        half: bool = False,
        channels_last: bool = False,
        trust_pickle: bool = False,
        **_: Any,
    ) -> None:
        from lesps_deploy.models import load_checkpoint

        ckpt = load_checkpoint(path, model=model, trust_pickle=trust_pickle)
        self.path = Path(path)
        self._setup(ckpt.model, ckpt.meta, device, half, channels_last)

    @classmethod
    def from_module(
        cls,
        module: nn.Module,
        meta: ModelMeta,
        device: str = "cpu",
        half: bool = False,
        channels_last: bool = False,
    ) -> TorchBackend:
        """Wrap a module already in memory (e.g. during training); the module is put in eval mode."""
        self = cls.__new__(cls)
        self.path = None
        self._setup(module, meta, device, half, channels_last)
        return self

    def _setup(
        self, module: nn.Module, meta: ModelMeta, device: str, half: bool, channels_last: bool
    ) -> None:
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise BackendError(
                f"device '{device}' requested but CUDA is not available", hint="use --device cpu"
            )
        if half and not device.startswith("cuda"):
            raise BackendError("half precision needs a CUDA device", hint="drop --half or use --device cuda")
        self.device = device
        self.meta = meta
        self.half = half
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.module = module.to(device).eval()
        if half:
            self.module = self.module.half()
        if channels_last:
            self.module = self.module.to(memory_format=torch.channels_last)

    @torch.inference_mode()
    def run_tensor(self, batch: torch.Tensor) -> torch.Tensor:
        """Tensor in, tensor out on the backend's device (no host round trip)."""
        x = batch.to(self.device, non_blocking=True)
        x = x.half() if self.half else x.float()
        out = self.module(x.contiguous(memory_format=self.memory_format))
        if isinstance(out, list | tuple):  # deep-supervision models in train mode: keep the last head
            out = out[-1]
        return out.float()

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        out = self.run_tensor(torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)))
        return out.cpu().numpy()

    def close(self) -> None:
        self.module = None  # type: ignore[assignment]
        if self.device.startswith("cuda"):
            torch.cuda.empty_cache()

    def __repr__(self) -> str:
        return f"TorchBackend({self.meta.model}, device={self.device}, half={self.half})"
