"""`fernet`: a ResNet for 48×48 faces that halves the resolution in its stem — ResNet-18's blocks at a quarter of
the cost.

`resnet18_fer` keeps the full 48×48 map through its first stage (CIFAR-style), which is where most of its
2.5 GFLOPs go. `fernet` reads the face at full resolution with one cheap 3×3 conv, then a stride-2 3×3 conv takes
it to 24×24 before the same four stages of BasicBlocks (24, 12, 6, 3): about a quarter of the FLOPs at width 1.
Plain 3×3 convolutions, not depthwise ones: on x86 CPUs (and in int8) dense convolutions run near peak while
depthwise ones are memory-bound, so FLOPs saved by depthwise layers barely show in faces/s. `width_mult` scales
every width (multiples of 8); `attention` ('se' or 'cbam') adds attention to each block as in `resnet18_fer`.
"""

from __future__ import annotations

from torch import nn

from ferkit.labels import LabelSpace
from ferkit.models._base import FerNet, conv_bn_act
from ferkit.models._registry import register_model
from ferkit.models.resnet import resnet_fer

WIDTHS = (64, 128, 256, 512)
BLOCKS = (2, 2, 2, 2)


@register_model("fernet")
def fernet(
    num_classes: int = 7,
    labels: LabelSpace | None = None,
    width_mult: float = 1.0,
    drop_rate: float = 0.0,
    attention: str | None = None,
) -> FerNet:
    """Stride-2-stem ResNet: 3×3 conv (half the first width) at full resolution, 3×3 stride-2 conv, four stages
    of two BasicBlocks (widths 64, 128, 256, 512 × `width_mult`, stride 2 from stage 2 on), average pool, dropout
    `drop_rate`, linear classifier. About 0.65 GFLOPs per 48×48 face at width 1, 0.36 at 0.75, 0.16 at 0.5 (resnet18_fer: 2.5).
    """
    if not 0.125 <= float(width_mult) <= 4:
        raise ValueError(f"width_mult must be between 0.125 and 4, got {width_mult}")
    widths = tuple(max(8, int(round(c * width_mult / 8)) * 8) for c in WIDTHS)
    half = max(8, widths[0] // 2)
    stem = nn.Sequential(conv_bn_act(1, half), conv_bn_act(half, widths[0], 3, 2))
    return resnet_fer(BLOCKS, num_classes, widths, drop_rate, attention, stem=stem)
