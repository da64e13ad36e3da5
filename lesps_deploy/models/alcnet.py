"""ALCNet: attentional local contrast network as a ResNet FPN (the ``ASKCResNetFPN`` of the LESPS code).

Paper: Dai et al., "Attentional Local Contrast Networks for Infrared Small Target Detection", TGRS 2021.
A LESPS backbone (Ying et al., "Mapping Degeneration Meets Label Evolution", CVPR 2023): our own
implementation, laid out so that the released checkpoints (github.com/XinyiYing/LESPS,
``model/ACM/model_ALCNet.py``) load with ``strict=True``; it shares its stages with ACM (`ASKCResNet`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._registry import register_model
from .layers import ASKCResNet, AsymBiChaFuse, FCNHead

__all__ = ["ALCNet"]


@register_model
class ALCNet(ASKCResNet):
    """ASKC ResNet-FPN: the shared ASKC stages (`ASKCResNet`, its arguments; 4 blocks per stage) and an
    ACM-fused top-down path to 1/2 size.

    Quirk kept on purpose: `uplayer1` and `uplayer2` exist (the released checkpoints hold them) but the
    reference forward never uses them, so they get no gradient (519,889 parameters, 426,961 used).
    """

    blocks = (4, 4, 4)

    def build_decoder(self, channels: tuple[int, ...]) -> None:
        c0, c1, c2, _ = channels
        self.head = FCNHead(c0)
        self.deconv0 = nn.ConvTranspose2d(c1, c0, kernel_size=4, stride=2, padding=1)
        self.fuse23 = AsymBiChaFuse(c2)
        self.fuse12 = AsymBiChaFuse(c1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        c1, c2, out = self.encode(x)
        # The reference also resizes `out` to (H//16, W//16) and the fused 1/8 map to (H//8, W//8);
        # for the sizes it can run at all (multiples of 16) those are identity resizes, so they are left out.
        out = self.fuse23(self.deconv2(out), c2)
        out = self.fuse12(self.deconv1(out), c1)
        logits = self.head(self.deconv0(out))
        # torchvision Resize in the reference: bilinear, align_corners=False; its antialiasing has no
        # effect when upsampling, so plain bilinear gives the same numbers and exports cleanly.
        logits = F.interpolate(logits, size=(height, width), mode="bilinear", align_corners=False)
        return torch.sigmoid(logits)
