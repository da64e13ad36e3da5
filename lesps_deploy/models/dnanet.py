"""DNANet: dense nested attention network (nested U-Net with CBAM residual blocks, deep supervision).

Li et al., "Dense Nested Attention Network for Infrared Small Target Detection", TIP 2022;
used as a backbone by Ying et al., "Mapping Degeneration Meets Label Evolution", CVPR 2023.
Our own implementation, laid out so that state_dicts of the LESPS code
(github.com/XinyiYing/LESPS, ``model/DNANet/model_DNANet.py``, deep-supervision layout) load with
``strict=True``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ModelError
from ._registry import register_model
from .layers import IRSTDModel, ResCBAMBlock

__all__ = ["DNANet"]


def _resize(x: torch.Tensor, factor: float) -> torch.Tensor:
    # The reference's nn.Upsample modules: bilinear with align_corners=True, also for its x0.5 "down".
    return F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=True)


def _stage(cin: int, cout: int, blocks: int) -> nn.Sequential:
    return nn.Sequential(ResCBAMBlock(cin, cout), *(ResCBAMBlock(cout, cout) for _ in range(blocks - 1)))


@register_model
class DNANet(IRSTDModel):
    """Nested U-Net: node `conv{i}_{j}` (level i, column j) sees every earlier node of its level, the
    upsampled node below and the downsampled node above; the last column also gathers every level.

    The state_dict always holds the four heads `final1..final4` (the released deep-supervision layout),
    so weights move freely between training with and without deep supervision.

    Args:
        in_channels: input channels (1 for infrared).
        num_blocks: residual blocks of levels 1..4 (level 0 has one).
        nb_filter: widths of levels 0..4.
        deep_supervision: in train mode return the four heads `[x0_1, x0_2, x0_3, final]` as a list.
            In eval mode, or without the flag, only the final head is returned.

    Input `(N, in_channels, H, W)` with H, W multiples of 16; output sigmoid probabilities `(N,1,H,W)`.
    """

    depth = 4  # levels below the full-resolution one; the key names (conv0_4_final...) assume 4
    input_multiple = 2**depth
    deep_supervision_training = True

    def __init__(
        self,
        in_channels: int = 1,
        num_blocks: Sequence[int] = (2, 2, 2, 2),
        nb_filter: Sequence[int] = (16, 32, 64, 128, 256),
        deep_supervision: bool = False,
    ) -> None:
        super().__init__()
        if len(nb_filter) != self.depth + 1 or len(num_blocks) != self.depth:
            raise ModelError(f"DNANet needs 5 widths and 4 block counts, got {nb_filter} and {num_blocks}")
        self.in_channels = in_channels
        self.deep_supervision = deep_supervision
        depth, nb = self.depth, list(nb_filter)
        for j in range(depth + 1):
            for i in range(depth + 1 - j):
                if j == 0:
                    cin = in_channels if i == 0 else nb[i - 1]
                else:
                    cin = j * nb[i] + nb[i + 1] + (nb[i - 1] if i > 0 else 0)
                blocks = 1 if i == 0 else num_blocks[i - 1]
                self.add_module(f"conv{i}_{j}", _stage(cin, nb[i], blocks))
        self.conv0_4_final = _stage(nb[0] * (depth + 1), nb[0], 1)
        for i in range(depth, 0, -1):
            self.add_module(f"conv0_{i}_1x1", nn.Conv2d(nb[i], nb[0], kernel_size=1))
        for k in range(1, 5):
            self.add_module(f"final{k}", nn.Conv2d(nb[0], 1, kernel_size=1))

    def _node(self, i: int, j: int) -> nn.Module:
        return getattr(self, f"conv{i}_{j}")

    def _encode(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        """Every node `grid[i][j]`, computed diagonal by diagonal in the reference order."""
        depth = self.depth
        grid: list[list[torch.Tensor]] = [[] for _ in range(depth + 1)]
        grid[0].append(self._node(0, 0)(x))
        for d in range(1, depth + 1):
            grid[d].append(self._node(d, 0)(F.max_pool2d(grid[d - 1][0], 2, 2)))
            for j in range(1, d + 1):
                i = d - j
                parts = [*grid[i][:j], _resize(grid[i + 1][j - 1], 2)]
                if i > 0:
                    parts.append(_resize(grid[i - 1][j], 0.5))
                grid[i].append(self._node(i, j)(torch.cat(parts, 1)))
        return grid

    def _features(self, x: torch.Tensor) -> tuple[list[list[torch.Tensor]], torch.Tensor]:
        self._check(x)
        grid = self._encode(x)
        depth = self.depth
        gathered = [
            _resize(getattr(self, f"conv0_{i}_1x1")(grid[i][depth - i]), 2**i) for i in range(depth, 0, -1)
        ]
        return grid, self.conv0_4_final(torch.cat([*gathered, grid[0][depth]], 1))

    def forward_heads(self, x: torch.Tensor) -> list[torch.Tensor]:
        """All four heads `[x0_1, x0_2, x0_3, final]` as probabilities, whatever the mode and flag."""
        grid, final = self._features(x)
        heads = (self.final1, self.final2, self.final3)
        return [
            *(torch.sigmoid(h(grid[0][k + 1])) for k, h in enumerate(heads)),
            torch.sigmoid(self.final4(final)),
        ]

    def forward(self, x: torch.Tensor) -> torch.Tensor | list[torch.Tensor]:
        if self.deep_supervision and self.training:
            return self.forward_heads(x)
        _, final = self._features(x)
        return torch.sigmoid(self.final4(final))
