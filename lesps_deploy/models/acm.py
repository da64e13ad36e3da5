"""ACM: asymmetric contextual modulation in a ResNet U-Net (the ``ASKCResUNet`` of the LESPS code).

Dai et al., "Asymmetric Contextual Modulation for Infrared Small Target Detection", WACV 2021;
used as a backbone by Ying et al., "Mapping Degeneration Meets Label Evolution", CVPR 2023.
Our own implementation, laid out so that the checkpoints released with LESPS
(github.com/XinyiYing/LESPS, ``model/ACM/model_ACM.py``) load with ``strict=True``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._registry import register_model
from .layers import ASKCResNet, AsymBiChaFuse, FCNHead

__all__ = ["ACM"]


@register_model
class ACM(ASKCResNet):
    """ASKC ResUNet: the shared ASKC stages (`ASKCResNet`, its arguments; 3 blocks per stage), two
    ACM-fused decoder stages and an x4 bilinear upsampling of the 1/4-size logits."""

    blocks = (3, 3, 3)

    def build_decoder(self, channels: tuple[int, ...]) -> None:
        _, c1, c2, _ = channels
        self.fuse2 = AsymBiChaFuse(c2)
        self.fuse1 = AsymBiChaFuse(c1)
        self.head = FCNHead(c1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c1, c2, c3 = self.encode(x)
        up2 = self.uplayer2(self.fuse2(self.deconv2(c3), c2))
        up1 = self.uplayer1(self.fuse1(self.deconv1(up2), c1))
        logits = self.head(up1)
        # The reference resizes the 1/4-size logits by a fixed factor 4 (align_corners=False) and
        # applies the sigmoid after the resize; both orders matter for exact outputs.
        logits = F.interpolate(logits, scale_factor=4, mode="bilinear", align_corners=False)
        return torch.sigmoid(logits)
