"""ResNet-18 for small grayscale faces: CIFAR-style stem (3×3 conv, stride 1, no max-pool)."""

from __future__ import annotations

import torch
from torch import nn

from ferkit.labels import LabelSpace
from ferkit.models._base import FerNet, conv_bn_act, init_weights
from ferkit.models._registry import register_model
from ferkit.models.attention import make_attention


class BasicBlock(nn.Module):
    """Two 3×3 conv-BN layers with an identity (or 1×1 projection) shortcut; optional attention on the residual
    branch before the addition, as in SE-ResNet and CBAM-ResNet.

    Args:
        c_in: Input channels.
        c_out: Output channels.
        stride: Stride of the first conv (2 halves the feature map).
        attention: None, 'se' or 'cbam'.
    """

    def __init__(self, c_in: int, c_out: int, stride: int = 1, attention: str | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.attention = make_attention(attention, c_out)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.attention(self.bn2(self.conv2(out)))
        return torch.relu(out + self.shortcut(x))


def resnet_fer(
    layers: tuple[int, ...],
    num_classes: int,
    widths: tuple[int, ...] = (64, 128, 256, 512),
    drop_rate: float = 0.0,
    attention: str | None = None,
    stem: nn.Module | None = None,
) -> FerNet:
    """A ResNet of BasicBlocks: `stem` (default: a CIFAR-style 3×3 conv, stride 1, to `widths[0]` channels), then
    `layers[i]` blocks of width `widths[i]`, stride 2 from stage 2 on."""
    stages: list[nn.Module] = [stem if stem is not None else conv_bn_act(1, widths[0])]
    c_in = widths[0]
    for i, (n, c) in enumerate(zip(layers, widths, strict=True)):
        blocks = [
            BasicBlock(c_in if j == 0 else c, c, 2 if (i > 0 and j == 0) else 1, attention) for j in range(n)
        ]
        stages.append(nn.Sequential(*blocks))
        c_in = c
    neck = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(drop_rate))
    model = FerNet(nn.Sequential(*stages), neck, nn.Linear(c_in, num_classes))
    init_weights(model)
    for m in model.modules():  # zero-init the last BN of each residual branch: each block starts as identity
        if isinstance(m, BasicBlock):
            nn.init.zeros_(m.bn2.weight)
    return model


@register_model("resnet18_fer")
def resnet18_fer(
    num_classes: int = 7,
    labels: LabelSpace | None = None,
    drop_rate: float = 0.0,
    attention: str | None = None,
) -> FerNet:
    """ResNet-18 (~11.2M parameters) with a single-channel CIFAR-style stem: 3×3 conv stride 1, no max-pool, so
    FACE_SIZE input gives feature maps 1, 1/2, 1/4, 1/8 of the input in the four stages; adaptive average
    pool, dropout `drop_rate`, linear classifier. `attention` ('se' or 'cbam') goes in every residual block.
    """
    return resnet_fer((2, 2, 2, 2), num_classes, drop_rate=drop_rate, attention=attention)


@register_model("resnet18_se_fer")
def resnet18_se_fer(num_classes: int = 7, labels: LabelSpace | None = None, drop_rate: float = 0.0) -> FerNet:
    """`resnet18_fer` with squeeze-excitation in every residual block."""
    return resnet_fer((2, 2, 2, 2), num_classes, drop_rate=drop_rate, attention="se")
