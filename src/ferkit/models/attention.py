"""Channel and spatial attention blocks the strong models can insert in each stage or residual block.

- `SE`: squeeze-and-excitation (Hu et al. 2018) — global average pool, bottleneck MLP, sigmoid channel gates.
- `CBAM`: convolutional block attention module (Woo et al. 2018) — channel gates from average- and max-pooled
  descriptors through a shared MLP, then a spatial gate from a 7×7 conv over channel-wise average and max maps.
"""

from __future__ import annotations

import torch
from torch import nn

from ferkit.errors import ModelError

ATTENTION_KINDS = ("se", "cbam")


def _hidden(channels: int, reduction: int) -> int:
    return max(8, channels // reduction)


class SE(nn.Module):
    """Squeeze-and-excitation: rescale each channel by a gate computed from the global average.

    Args:
        channels: Channels of the input feature map.
        reduction: Bottleneck ratio of the gating MLP (hidden width is at least 8).
        gate: Gating nonlinearity class (sigmoid, or hard-sigmoid in mobile nets).
    """

    def __init__(self, channels: int, reduction: int = 16, gate: type[nn.Module] = nn.Sigmoid) -> None:
        super().__init__()
        hidden = _hidden(channels, reduction)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(
            nn.Conv2d(channels, hidden, 1), nn.ReLU(inplace=True), nn.Conv2d(hidden, channels, 1), gate()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.fc(self.pool(x))


class ChannelGate(nn.Module):
    """CBAM's channel attention: a shared MLP over average- and max-pooled channel descriptors."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = _hidden(channels, reduction)
        self.mlp = nn.Sequential(
            nn.Conv2d(channels, hidden, 1, bias=False),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        avg = self.mlp(x.mean(dim=(2, 3), keepdim=True))
        mx = self.mlp(x.amax(dim=(2, 3), keepdim=True))
        return x * torch.sigmoid(avg + mx)


class SpatialGate(nn.Module):
    """CBAM's spatial attention: a k×k conv over the channel-wise mean and max maps."""

    def __init__(self, kernel: int = 7) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel, padding=kernel // 2, bias=False)
        self.bn = nn.BatchNorm2d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        maps = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.bn(self.conv(maps)))


class CBAM(nn.Module):
    """Convolutional block attention module: channel gate, then spatial gate.

    Args:
        channels: Channels of the input feature map.
        reduction: Bottleneck ratio of the channel MLP.
        kernel: Side of the spatial-attention convolution.
    """

    def __init__(self, channels: int, reduction: int = 16, kernel: int = 7) -> None:
        super().__init__()
        self.channel = ChannelGate(channels, reduction)
        self.spatial = SpatialGate(kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.spatial(self.channel(x))


def make_attention(kind: str | None, channels: int) -> nn.Module:
    """The attention block for `kind` ('se', 'cbam') on `channels`, or `nn.Identity()` for None.

    Raises:
        ModelError: An unknown kind.
    """
    if kind is None or kind == "none":
        return nn.Identity()
    if kind == "se":
        return SE(channels)
    if kind == "cbam":
        return CBAM(channels)
    raise ModelError(f"unknown attention {kind!r}; choose one of {', '.join(ATTENTION_KINDS)} or None")
