"""Building blocks shared by ACM, ALCNet and DNANet, named so the released checkpoints load strictly.

Module and parameter names follow the reference code of LESPS (Ying et al., CVPR 2023,
github.com/XinyiYing/LESPS), which in turn uses torchvision's ResNet ``BasicBlock`` names and the
ACM/ALCNet ports of Dai et al. (WACV 2021 / TGRS 2021). This is our own code written to that layout.

Quirk kept on purpose: the ACM/ALCNet stem, fuse and head BatchNorms are built with ``momentum=0.9``
(an MXNet value carried over as is, so PyTorch keeps only 10 % of the old running statistics per step).
It changes the running statistics during training and hence the numbers of a retrained model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ModelError
from ..metadata import ModelMeta

__all__ = [
    "ASKC_BN_MOMENTUM",
    "IRSTDModel",
    "reject_deep_supervision",
    "BasicBlock",
    "make_res_layer",
    "make_askc_stem",
    "ASKCResNet",
    "AsymBiChaFuse",
    "FCNHead",
    "ChannelAttention",
    "SpatialAttention",
    "ResCBAMBlock",
]

ASKC_BN_MOMENTUM = 0.9


def _exporting() -> bool:
    """True while the module is traced or compiled: shape checks must not become graph branches."""
    return torch.jit.is_tracing() or torch.jit.is_scripting() or torch.compiler.is_compiling()


class IRSTDModel(nn.Module):
    """Base of every registered model: one input channel in, probabilities (N,1,H,W) out.

    Attributes:
        input_multiple: H and W must be multiples of this (the encoder halves the size that often).
        in_channels: channels of the input image.
        pad_multiple: frames are padded for this network as the reference pads them, each side to
            `(n // pad_multiple + 1) * pad_multiple` (`lesps_deploy.data.padding`); a multiple of
            `input_multiple`. Border effects, so the released numbers, depend on it. Training and export
            record it in the artifact's metadata (`ModelMeta.pad_multiple`), which every runtime reads.
        deep_supervision_training: trained with its deep-supervision heads (the loss summed over them).
    """

    input_multiple: int = 1
    in_channels: int = 1
    pad_multiple: ClassVar[int] = ModelMeta.pad_multiple
    deep_supervision_training: ClassVar[bool] = False

    def check_input_shape(self, x: torch.Tensor) -> None:
        """Raise ModelError when `x` is not (N, in_channels, H, W) with H, W multiples of `input_multiple`."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ModelError(
                f"{type(self).__name__}: expected input (N,{self.in_channels},H,W), got {tuple(x.shape)}",
                hint="add batch and channel axes, e.g. x[None, None] for one HxW image",
            )
        h, w = int(x.shape[-2]), int(x.shape[-1])
        m = self.input_multiple
        if h % m or w % m:
            ph, pw = -(-h // m) * m, -(-w // m) * m
            raise ModelError(
                f"{type(self).__name__}: input size {h}x{w} is not a multiple of {m}; pad it to {ph}x{pw}",
                hint="zero-pad bottom/right (lesps_deploy.data.pad_reference) and crop the output back",
            )

    def _check(self, x: torch.Tensor) -> None:
        if not _exporting():
            self.check_input_shape(x)


def reject_deep_supervision(name: str, deep_supervision: bool) -> None:
    """Single-head models accept the flag so `create_model(name, deep_supervision=...)` is uniform."""
    if deep_supervision:
        raise ModelError(f"{name} has a single output head; deep_supervision is only for DNANet")


def _conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    """ResNet basic block with torchvision's parameter names (conv1, bn1, conv2, bn2, downsample)."""

    expansion = 1

    def __init__(self, cin: int, cout: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = _conv3x3(cin, cout, stride)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(cout, cout)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


def make_res_layer(cin: int, cout: int, blocks: int, stride: int = 1) -> nn.Sequential:
    """`blocks` BasicBlocks; the first changes width/stride through a 1x1 conv + BN shortcut."""
    downsample = None
    if stride != 1 or cin != cout:
        downsample = nn.Sequential(
            nn.Conv2d(cin, cout, kernel_size=1, stride=stride, bias=False),
            nn.BatchNorm2d(cout, momentum=ASKC_BN_MOMENTUM),
        )
    layers = [BasicBlock(cin, cout, stride, downsample)]
    layers += [BasicBlock(cout, cout) for _ in range(1, blocks)]
    return nn.Sequential(*layers)


def make_askc_stem(in_channels: int, width: int) -> nn.Sequential:
    """Input BN, three 3x3 convs (the first strided) and a strided max-pool: output at 1/4 size.

    The Sequential indices (0 BN, 1/4/7 conv, 2/5/8 BN, 10 pool) are the checkpoint's key names.
    """
    bn = ASKC_BN_MOMENTUM
    return nn.Sequential(
        nn.BatchNorm2d(in_channels, momentum=bn),
        _conv3x3(in_channels, width, stride=2),
        nn.BatchNorm2d(width, momentum=bn),
        nn.ReLU(inplace=True),
        _conv3x3(width, width),
        nn.BatchNorm2d(width, momentum=bn),
        nn.ReLU(inplace=True),
        _conv3x3(width, width * 2),
        nn.BatchNorm2d(width * 2, momentum=bn),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
    )


class ASKCResNet(IRSTDModel):
    """What ACM and ALCNet share: a 1/4-size stem, three residual stages and the up path's transposed
    convolutions and residual layers, under the released checkpoints' key names.

    A subclass adds its decoder in `build_decoder` and says its released block counts in `blocks`.

    Args:
        in_channels: input channels (1 for infrared).
        layers: residual blocks per stage (None: the model's `blocks`, as released).
        channels: stem width, then the three stage widths.
        deep_supervision: accepted for a uniform `create_model` call; must be False.

    Input `(N, in_channels, H, W)` with H, W multiples of 16; output sigmoid probabilities `(N,1,H,W)`.
    """

    input_multiple = 16
    blocks: ClassVar[tuple[int, int, int]] = (3, 3, 3)

    def __init__(
        self,
        in_channels: int = 1,
        layers: Sequence[int] | None = None,
        channels: Sequence[int] = (8, 16, 32, 64),
        deep_supervision: bool = False,
    ) -> None:
        super().__init__()
        reject_deep_supervision(type(self).__name__, deep_supervision)
        layers = self.blocks if layers is None else tuple(layers)
        self.in_channels = in_channels
        c0, c1, c2, c3 = channels
        self.stem = make_askc_stem(in_channels, c0)
        self.layer1 = make_res_layer(c1, c1, layers[0])
        self.layer2 = make_res_layer(c1, c2, layers[1], stride=2)
        self.layer3 = make_res_layer(c2, c3, layers[2], stride=2)
        self.deconv2 = nn.ConvTranspose2d(c3, c2, kernel_size=4, stride=2, padding=1)
        self.uplayer2 = make_res_layer(c2, c2, layers[1])
        self.deconv1 = nn.ConvTranspose2d(c2, c1, kernel_size=4, stride=2, padding=1)
        self.uplayer1 = make_res_layer(c1, c1, layers[0])
        self.build_decoder(tuple(channels))

    def build_decoder(self, channels: tuple[int, ...]) -> None:
        """Add the model's own decoder modules (`channels` as given to the constructor)."""
        raise NotImplementedError

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Stage outputs at 1/4, 1/8 and 1/16 size (after the input shape check)."""
        self._check(x)
        c1 = self.layer1(self.stem(x))
        c2 = self.layer2(c1)
        return c1, c2, self.layer3(c2)


def _bottleneck_gate(channels: int, inner: int) -> list[nn.Module]:
    bn = ASKC_BN_MOMENTUM
    return [
        nn.Conv2d(channels, inner, kernel_size=1),
        nn.BatchNorm2d(inner, momentum=bn),
        nn.ReLU(inplace=True),
        nn.Conv2d(inner, channels, kernel_size=1),
        nn.BatchNorm2d(channels, momentum=bn),
        nn.Sigmoid(),
    ]


class AsymBiChaFuse(nn.Module):
    """Asymmetric bidirectional channel fusion (ACM): global top-down gate, pointwise bottom-up gate.

    `out = post(2 * xl * topdown(xh) + 2 * xh * bottomup(xl))`, `xh` the deep (upsampled) feature.
    """

    def __init__(self, channels: int, r: int = 4) -> None:
        super().__init__()
        inner = channels // r
        self.topdown = nn.Sequential(nn.AdaptiveAvgPool2d(1), *_bottleneck_gate(channels, inner))
        self.bottomup = nn.Sequential(*_bottleneck_gate(channels, inner))
        self.post = nn.Sequential(
            nn.Conv2d(channels, channels, kernel_size=3, padding=1),
            nn.BatchNorm2d(channels, momentum=ASKC_BN_MOMENTUM),
            nn.ReLU(inplace=True),
        )

    def forward(self, xh: torch.Tensor, xl: torch.Tensor) -> torch.Tensor:
        fused = 2 * torch.mul(xl, self.topdown(xh)) + 2 * torch.mul(xh, self.bottomup(xl))
        return self.post(fused)


class FCNHead(nn.Module):
    """3x3 conv to `cin // 4`, BN, ReLU, dropout 0.1, 1x1 conv to logits (names `block.0` ... `block.4`)."""

    def __init__(self, cin: int, classes: int = 1) -> None:
        super().__init__()
        inner = cin // 4
        self.block = nn.Sequential(
            _conv3x3(cin, inner),
            nn.BatchNorm2d(inner, momentum=ASKC_BN_MOMENTUM),
            nn.ReLU(inplace=True),
            nn.Dropout(0.1),
            nn.Conv2d(inner, classes, kernel_size=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class ChannelAttention(nn.Module):
    """CBAM channel gate: a shared bias-free MLP on global average and max pooling, summed, sigmoid.

    The reference fixes the reduction at 16 whatever the width (16 channels -> a 1-channel bottleneck).
    """

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(channels, channels // reduction, kernel_size=1, bias=False)
        self.fc2 = nn.Conv2d(channels // reduction, channels, kernel_size=1, bias=False)

    def _mlp(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.relu(self.fc1(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        avg = self._mlp(F.adaptive_avg_pool2d(x, 1))
        peak = self._mlp(F.adaptive_max_pool2d(x, 1))
        return torch.sigmoid(avg + peak)


class SpatialAttention(nn.Module):
    """CBAM spatial gate: 7x7 conv over the channel mean and channel max, sigmoid."""

    def __init__(self, kernel_size: int = 7) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        stats = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return torch.sigmoid(self.conv1(stats))


class ResCBAMBlock(nn.Module):
    """DNANet residual block: two 3x3 conv+BN (with bias), channel then spatial attention, residual add."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, kernel_size=3, padding=1)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, kernel_size=1, stride=stride), nn.BatchNorm2d(cout)
            )
        self.ca = ChannelAttention(cout)
        self.sa = SpatialAttention()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x if self.shortcut is None else self.shortcut(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out = self.ca(out) * out
        out = self.sa(out) * out
        return self.relu(out + residual)
