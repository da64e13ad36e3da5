"""ACM: asymmetric contextual modulation in a ResNet U-Net (the ``ASKCResUNet`` of the LESPS code).

Dai et al., "Asymmetric Contextual Modulation for Infrared Small Target Detection", WACV 2021;
used as a backbone by Ying et al., "Mapping Degeneration Meets Label Evolution", CVPR 2023.
Our own implementation, laid out so that the checkpoints released with LESPS
(github.com/XinyiYing/LESPS, ``model/ACM/model_ACM.py``) load with ``strict=True``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ._registry import register_model
from .layers import (
    AsymBiChaFuse,
    FCNHead,
    IRSTDModel,
    make_askc_stem,
    make_res_layer,
    reject_deep_supervision,
)

__all__ = ["ACM"]


@register_model
class ACM(IRSTDModel):
    """ASKC ResUNet: 1/4-size stem, three residual stages, two ACM-fused decoder stages, x4 bilinear.

    Args:
        in_channels: input channels (1 for infrared).
        layers: residual blocks per stage.
        channels: stem width, then the three stage widths.
        deep_supervision: accepted for a uniform `create_model` call; must be False.

    Input `(N, in_channels, H, W)` with H, W multiples of 16; output sigmoid probabilities `(N,1,H,W)`.
    """

    input_multiple = 16

    def __init__(
        self,
        in_channels: int = 1,
        layers: Sequence[int] = (3, 3, 3),
        channels: Sequence[int] = (8, 16, 32, 64),
        deep_supervision: bool = False,
    ) -> None:
        super().__init__()
        reject_deep_supervision(type(self).__name__, deep_supervision)
        self.in_channels = in_channels
        c0, c1, c2, c3 = channels
        self.stem = make_askc_stem(in_channels, c0)
        self.layer1 = make_res_layer(c1, c1, layers[0])
        self.layer2 = make_res_layer(c1, c2, layers[1], stride=2)
        self.layer3 = make_res_layer(c2, c3, layers[2], stride=2)
        self.deconv2 = nn.ConvTranspose2d(c3, c2, kernel_size=4, stride=2, padding=1)
        self.uplayer2 = make_res_layer(c2, c2, layers[1])
        self.fuse2 = AsymBiChaFuse(c2)
        self.deconv1 = nn.ConvTranspose2d(c2, c1, kernel_size=4, stride=2, padding=1)
        self.uplayer1 = make_res_layer(c1, c1, layers[0])
        self.fuse1 = AsymBiChaFuse(c1)
        self.head = FCNHead(c1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x)
        c1 = self.layer1(self.stem(x))
        c2 = self.layer2(c1)
        c3 = self.layer3(c2)
        up2 = self.uplayer2(self.fuse2(self.deconv2(c3), c2))
        up1 = self.uplayer1(self.fuse1(self.deconv1(up2), c1))
        logits = self.head(up1)
        # The reference resizes the 1/4-size logits by a fixed factor 4 (align_corners=False) and
        # applies the sigmoid after the resize; both orders matter for exact outputs.
        logits = F.interpolate(logits, scale_factor=4, mode="bilinear", align_corners=False)
        return torch.sigmoid(logits)
