"""ALCNet: attentional local contrast network as a ResNet FPN (the ``ASKCResNetFPN`` of the LESPS code).

Dai et al., "Attentional Local Contrast Networks for Infrared Small Target Detection", TGRS 2021;
used as a backbone by Ying et al., "Mapping Degeneration Meets Label Evolution", CVPR 2023.
Our own implementation, laid out so that the checkpoints released with LESPS
(github.com/XinyiYing/LESPS, ``model/ACM/model_ALCNet.py``) load with ``strict=True``.
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

__all__ = ["ALCNet"]


@register_model
class ALCNet(IRSTDModel):
    """ASKC ResNet-FPN: 1/4-size stem, three residual stages, ACM-fused top-down path to 1/2 size.

    Quirk kept on purpose: `uplayer1` and `uplayer2` exist (the released checkpoints hold them) but the
    reference forward never uses them, so they get no gradient (519,889 parameters, 426,961 used).

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
        layers: Sequence[int] = (4, 4, 4),
        channels: Sequence[int] = (8, 16, 32, 64),
        deep_supervision: bool = False,
    ) -> None:
        super().__init__()
        reject_deep_supervision(type(self).__name__, deep_supervision)
        self.in_channels = in_channels
        c0, c1, c2, c3 = channels
        self.stem = make_askc_stem(in_channels, c0)
        self.head = FCNHead(c0)
        self.layer1 = make_res_layer(c1, c1, layers[0])
        self.layer2 = make_res_layer(c1, c2, layers[1], stride=2)
        self.layer3 = make_res_layer(c2, c3, layers[2], stride=2)
        self.deconv2 = nn.ConvTranspose2d(c3, c2, kernel_size=4, stride=2, padding=1)
        self.uplayer2 = make_res_layer(c2, c2, layers[1])
        self.deconv1 = nn.ConvTranspose2d(c2, c1, kernel_size=4, stride=2, padding=1)
        self.deconv0 = nn.ConvTranspose2d(c1, c0, kernel_size=4, stride=2, padding=1)
        self.uplayer1 = make_res_layer(c1, c1, layers[0])
        self.fuse23 = AsymBiChaFuse(c2)
        self.fuse12 = AsymBiChaFuse(c1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x)
        height, width = x.shape[-2:]
        c1 = self.layer1(self.stem(x))
        c2 = self.layer2(c1)
        out = self.layer3(c2)
        # The reference also resizes `out` to (H//16, W//16) and the fused 1/8 map to (H//8, W//8);
        # for the sizes it can run at all (multiples of 16) those are identity resizes, so they are left out.
        out = self.fuse23(self.deconv2(out), c2)
        out = self.fuse12(self.deconv1(out), c1)
        logits = self.head(self.deconv0(out))
        # torchvision Resize in the reference: bilinear, align_corners=False; its antialiasing has no
        # effect when upsampling, so plain bilinear gives the same numbers and exports cleanly.
        logits = F.interpolate(logits, size=(height, width), mode="bilinear", align_corners=False)
        return torch.sigmoid(logits)
