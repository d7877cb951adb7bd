"""`mobilefer`: an inverted-residual network (MobileNetV3-style) sized for fast CPU inference on face crops."""

from __future__ import annotations

import torch
from torch import nn

from ferkit.labels import LabelSpace
from ferkit.models._base import FerNet, conv_bn_act, init_weights
from ferkit.models._registry import register_model
from ferkit.models.attention import SE

# (kernel, expansion, out channels, squeeze-excitation, hard-swish, stride) per block.
MOBILEFER_BLOCKS: tuple[tuple[int, int, int, bool, bool, int], ...] = (
    (3, 1, 16, False, False, 1),
    (3, 4, 24, False, False, 2),
    (3, 3, 24, False, False, 1),
    (5, 3, 40, True, True, 2),
    (5, 4, 40, True, True, 1),
    (3, 4, 80, True, True, 1),
    (3, 3, 80, True, True, 1),
    (5, 4, 128, True, True, 2),
    (5, 4, 128, True, True, 1),
    (5, 4, 128, True, True, 1),
)


class InvertedResidual(nn.Module):
    """1×1 expand → k×k depthwise → optional SE → 1×1 linear projection, with a residual when shapes allow.

    Args:
        c_in: Input channels.
        c_out: Output channels.
        kernel: Depthwise kernel side.
        expand: Expansion ratio of the hidden width.
        se: Whether to gate the hidden channels with squeeze-excitation.
        hswish: Hard-swish instead of ReLU.
        stride: Depthwise stride.
    """

    def __init__(self, c_in: int, c_out: int, kernel: int, expand: int, se: bool, hswish: bool, stride: int):
        super().__init__()
        act = nn.Hardswish if hswish else nn.ReLU
        hidden = c_in * expand
        layers: list[nn.Module] = [conv_bn_act(c_in, hidden, 1, act=act)] if expand != 1 else []
        layers.append(conv_bn_act(hidden, hidden, kernel, stride, act=act, groups=hidden))
        if se:
            layers.append(SE(hidden, reduction=4, gate=nn.Hardsigmoid))
        layers += [nn.Conv2d(hidden, c_out, 1, bias=False), nn.BatchNorm2d(c_out)]
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        return x + out if self.residual else out


@register_model("mobilefer")
def mobilefer(
    num_classes: int = 7,
    labels: LabelSpace | None = None,
    drop_rate: float = 0.2,
    width_mult: float = 1.0,
    last_channels: int = 512,
) -> FerNet:
    """Inverted-residual net for CPU speed: ≤ 100 MFLOPs per FACE_SIZE face, ~1M parameters.

    A stride-1 3×3 stem (16 channels) keeps full resolution for the first block, then `MOBILEFER_BLOCKS`
    (MobileNetV3-style: ReLU early, hard-swish and squeeze-excitation later) downsample three times to 1/8;
    a 1×1 conv to `last_channels`, global average pool, dropout `drop_rate`, linear classifier.
    `width_mult` scales every block width (rounded to multiples of 8).
    """

    def width(c: int) -> int:
        return max(8, int(round(c * width_mult / 8)) * 8)

    stem_c = width(16)
    stages: list[nn.Module] = [conv_bn_act(1, stem_c, 3, act=nn.Hardswish)]
    c_in = stem_c
    for kernel, expand, c, se, hswish, stride in MOBILEFER_BLOCKS:
        stages.append(InvertedResidual(c_in, width(c), kernel, expand, se, hswish, stride))
        c_in = width(c)
    stages.append(conv_bn_act(c_in, last_channels, 1, act=nn.Hardswish))
    neck = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(drop_rate))
    model = FerNet(nn.Sequential(*stages), neck, nn.Linear(last_channels, num_classes))
    init_weights(model)
    return model
