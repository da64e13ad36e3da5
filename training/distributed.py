"""Multi-process training under `torchrun`: process group set-up and the few collectives we need.

Without torchrun (no WORLD_SIZE in the environment) everything here is a no-op on one process.
CUDA runs use NCCL with one GPU per process (LOCAL_RANK); CPU runs use gloo.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

__all__ = [
    "DistInfo",
    "setup_distributed",
    "teardown_distributed",
    "resolve_device",
    "all_mean",
    "any_flag",
    "gather_dict",
    "broadcast_object",
    "sync_buffers",
    "barrier",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistInfo:
    """Rank of this process, number of processes, and the device it trains on."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: str = "cpu"

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def resolve_device(device: str) -> str:
    """'auto' -> 'cuda' when available, else 'cpu'."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def setup_distributed(device: str) -> DistInfo:
    """Join the torchrun process group when launched by torchrun; pick this process's device."""
    device = resolve_device(device)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo(device=device)
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    cuda = device.startswith("cuda")
    if cuda:
        device = f"cuda:{local_rank}"
        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if cuda else "gloo")
    log.info("process %d/%d on %s", rank, world, device)
    return DistInfo(rank=rank, world_size=world, local_rank=local_rank, device=device)


def teardown_distributed(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()


def _device_of(info: DistInfo) -> torch.device:
    # NCCL reduces CUDA tensors only; gloo reduces CPU tensors.
    return torch.device(info.device if info.device.startswith("cuda") else "cpu")


def all_mean(total: float, count: int, info: DistInfo) -> float:
    """Mean of values summed to `total` over `count` items on every process."""
    if not info.enabled:
        return total / max(count, 1)
    buf = torch.tensor([total, float(count)], dtype=torch.float64, device=_device_of(info))
    dist.all_reduce(buf)
    return float(buf[0] / buf[1].clamp(min=1))


def any_flag(flag: bool, info: DistInfo) -> bool:
    """True on every process when `flag` is true on any of them."""
    if not info.enabled:
        return flag
    buf = torch.tensor([1.0 if flag else 0.0], device=_device_of(info))
    dist.all_reduce(buf, op=dist.ReduceOp.MAX)
    return bool(buf.item() > 0)


def gather_dict(local: dict[int, Any], info: DistInfo) -> dict[int, Any]:
    """Merge the per-process shards of a dict on every process."""
    if not info.enabled:
        return local
    parts: list[dict[int, Any] | None] = [None] * info.world_size
    dist.all_gather_object(parts, local)
    merged: dict[int, Any] = {}
    for part in parts:
        merged.update(part or {})
    return merged


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def broadcast_object(obj: Any, info: DistInfo) -> Any:
    """Rank 0's `obj` on every process."""
    if not info.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def sync_buffers(module: torch.nn.Module, info: DistInfo) -> None:
    """Copy rank 0's buffers (BatchNorm running statistics) to every process.

    DDP broadcasts buffers at the start of each training forward, so after the last step every process
    still holds the statistics its own batch updated; predictions made outside training need rank 0's.
    """
    if not info.enabled:
        return
    for buffer in module.buffers():
        dist.broadcast(buffer.data, src=0)
