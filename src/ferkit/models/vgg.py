"""VGG-style networks: the Khaireddin & Chen (2021) FER2013 VGG, and a small global-average-pooled variant."""

from __future__ import annotations

from torch import nn

from ferkit.labels import LabelSpace
from ferkit.models._base import FerNet, conv_bn_act, init_weights
from ferkit.models._registry import register_model
from ferkit.models.attention import make_attention


def vgg_trunk(widths: tuple[int, ...], attention: str | None = None) -> nn.Sequential:
    """Stages of two 3×3 conv → BN → ReLU, optional attention, then 2×2 max-pool."""
    stages, c_in = [], 1
    for c in widths:
        stages.append(
            nn.Sequential(
                conv_bn_act(c_in, c), conv_bn_act(c, c), make_attention(attention, c), nn.MaxPool2d(2)
            )
        )
        c_in = c
    return nn.Sequential(*stages)


@register_model("vgg_fer", input_size=40)
def vgg_fer(
    num_classes: int = 7,
    labels: LabelSpace | None = None,
    drop_rate: float = 0.2,
    attention: str | None = None,
) -> FerNet:
    """Khaireddin-style VGG (73.3 % FER2013 PrivateTest in the paper, ~30M parameters).

    Four stages of two 3×3 conv (64, 128, 256, 512) + BN + ReLU + max-pool; then FC 4096 → 4096 with ReLU and
    dropout `drop_rate` (0.2); then the classes. Input is a 40×40 crop of the stored face (random crops in
    training, center crop or ten-crop at test). The trunk ends at 2×2 for 40×40 input; an adaptive average
    pool to 2×2 keeps the FC size fixed for other input sizes.
    """
    features = vgg_trunk((64, 128, 256, 512), attention)
    neck = nn.Sequential(
        nn.AdaptiveAvgPool2d(2),
        nn.Flatten(),
        nn.Linear(512 * 4, 4096),
        nn.ReLU(inplace=True),
        nn.Dropout(drop_rate),
        nn.Linear(4096, 4096),
        nn.ReLU(inplace=True),
        nn.Dropout(drop_rate),
    )
    model = FerNet(features, neck, nn.Linear(4096, num_classes))
    init_weights(model)
    return model


@register_model("vgg_fer_gap")
def vgg_fer_gap(
    num_classes: int = 7,
    labels: LabelSpace | None = None,
    drop_rate: float = 0.3,
    attention: str | None = None,
) -> FerNet:
    """Small VGG (~1.2M parameters): the `vgg_fer` trunk at half width (32, 64, 128, 256), global average
    pooling, dropout `drop_rate`, linear classifier. Trains fast on a CPU (~65 % FER2013 in 10 epochs).

    `attention` ('se' or 'cbam') inserts an attention block at the end of each stage, before the pool.
    """
    features = vgg_trunk((32, 64, 128, 256), attention)
    neck = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(drop_rate))
    model = FerNet(features, neck, nn.Linear(256, num_classes))
    init_weights(model)
    return model


@register_model("vgg_fer_gap_cbam")
def vgg_fer_gap_cbam(
    num_classes: int = 7, labels: LabelSpace | None = None, drop_rate: float = 0.3
) -> FerNet:
    """`vgg_fer_gap` with a CBAM block at the end of each stage."""
    return vgg_fer_gap(num_classes, labels, drop_rate=drop_rate, attention="cbam")
