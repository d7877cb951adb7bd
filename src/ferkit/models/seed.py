"""The five seed architectures, reproduced from their descriptions as named models.

Only short descriptions of the seed projects survive, so each factory documents the choices made (widths,
kernels, dropout rates) after the Kaggle / GitHub projects those descriptions match. Every model returns
logits: the softmax of the Keras originals is applied outside, and the loss is cross-entropy on logits.
Keras' "valid"/"same" padding is kept where the original is known; an adaptive pool before the flatten sizes
the first dense layer for the native input and keeps other input sizes from crashing (at the native size it
is the identity).
"""

from __future__ import annotations

from torch import nn

from ferkit.labels import LabelSpace
from ferkit.models._base import FerNet, conv_bn_act, fc_bn_act, init_weights
from ferkit.models._registry import register_model
from ferkit.models.data_config import FACE_SIZE


def _flatten_to(side: int) -> nn.Sequential:
    return nn.Sequential(nn.AdaptiveAvgPool2d(side), nn.Flatten())


def _finish(features: nn.Module, neck: nn.Module, d: int, num_classes: int) -> FerNet:
    model = FerNet(features, neck, nn.Linear(d, num_classes))
    init_weights(model)
    return model


@register_model("seed_dcnn_ck48")
def seed_dcnn_ck48(num_classes: int = 7, labels: LabelSpace | None = None, drop_rate: float = 0.5) -> FerNet:
    """Deep CNN for CK+48 (conv + BN + max-pool + dropout), FACE_SIZE grayscale input.

    Choices (after the common Kaggle "CK+48 DCNN" notebooks): three stages of two same-padded conv → ELU → BN
    (5×5 convs of width 64, then 3×3 of 128 and 256), each ending in 2×2 max-pool and dropout 0.4 / 0.4 / 0.5;
    then flatten → dense 128 → ELU → BN → dropout `drop_rate` (0.6 in the notebooks, 0.5 here) → classes.
    Intended for CK+ (CKPLUS7 labels) with subject-independent folds.
    """

    def block(c_in: int, c_out: int, k: int, p: float) -> nn.Sequential:
        layers = []
        for c in (c_in, c_out):
            layers += [nn.Conv2d(c, c_out, k, padding=k // 2), nn.ELU(inplace=True), nn.BatchNorm2d(c_out)]
        return nn.Sequential(*layers, nn.MaxPool2d(2), nn.Dropout(p))

    features = nn.Sequential(block(1, 64, 5, 0.4), block(64, 128, 3, 0.4), block(128, 256, 3, 0.5))
    side = FACE_SIZE // 8
    neck = nn.Sequential(
        _flatten_to(side),
        nn.Linear(256 * side * side, 128),
        nn.ELU(inplace=True),
        nn.BatchNorm1d(128),
        nn.Dropout(drop_rate),
    )
    return _finish(features, neck, 128, num_classes)


@register_model("seed_cnn4c2f")
def seed_cnn4c2f(num_classes: int = 7, labels: LabelSpace | None = None, drop_rate: float = 0.25) -> FerNet:
    """Four conv blocks (conv → BN → ReLU → dropout → max-pool) and two FC blocks, FACE_SIZE input.

    Choices (after the widely copied FER2013 Keras model): conv widths 64 (3×3), 128 (5×5), 512 (3×3),
    512 (3×3), same padding, dropout `drop_rate` = 0.25 everywhere; FC blocks affine → BN → ReLU → dropout of
    widths 256 and 512; then the classes.
    """
    widths, kernels = (64, 128, 512, 512), (3, 5, 3, 3)
    blocks, c_in = [], 1
    for c, k in zip(widths, kernels, strict=True):
        blocks.append(nn.Sequential(*conv_bn_act(c_in, c, k), nn.Dropout(drop_rate), nn.MaxPool2d(2)))
        c_in = c
    side = FACE_SIZE // 16
    neck = nn.Sequential(
        _flatten_to(side), fc_bn_act(512 * side * side, 256, drop_rate), fc_bn_act(256, 512, drop_rate)
    )
    return _finish(nn.Sequential(*blocks), neck, 512, num_classes)


@register_model("seed_keras_cnn")
def seed_keras_cnn(num_classes: int = 7, labels: LabelSpace | None = None, drop_rate: float = 0.5) -> FerNet:
    """Plain Keras CNN: conv + ReLU + max-pool stages, one dense ReLU layer, softmax (applied outside), Adam.

    Choices (after the popular "Emotion-detection" Keras repo): valid-padded 3×3 convs 32 → 64 → pool →
    dropout 0.25 → 128 → pool → 128 → pool → dropout 0.25; flatten → dense 1024 ReLU → dropout `drop_rate`
    → classes. The recipe trains it with Adam (lr 1e-4 in the original).
    """

    def conv(c_in: int, c_out: int) -> nn.Sequential:
        return nn.Sequential(nn.Conv2d(c_in, c_out, 3), nn.ReLU(inplace=True))

    features = nn.Sequential(
        nn.Sequential(conv(1, 32), conv(32, 64), nn.MaxPool2d(2), nn.Dropout(0.25)),
        nn.Sequential(conv(64, 128), nn.MaxPool2d(2)),
        nn.Sequential(conv(128, 128), nn.MaxPool2d(2), nn.Dropout(0.25)),
    )
    side = (((FACE_SIZE - 4) // 2 - 2) // 2 - 2) // 2  # valid convs and pools: 4 at the native size
    neck = nn.Sequential(
        _flatten_to(side), nn.Linear(128 * side * side, 1024), nn.ReLU(inplace=True), nn.Dropout(drop_rate)
    )
    return _finish(features, neck, 1024, num_classes)


@register_model("seed_cnn4c3f_28", input_size=28, image_size=28)
def seed_cnn4c3f_28(num_classes: int = 7, labels: LabelSpace | None = None, drop_rate: float = 0.3) -> FerNet:
    """28×28 grayscale CNN: four conv layers each with BN, max-pool and dropout; three FC layers with BN and
    dropout; then the classes.

    Choices: 3×3 same-padded convs of widths 64, 128, 256, 512, each conv → BN → ReLU → 2×2 max-pool
    (ceil mode: 28 → 14 → 7 → 4 → 2) → dropout `drop_rate`; FC blocks affine → BN → ReLU → dropout of widths
    512, 256, 128; then a linear layer to the classes. Faces are resized from the stored crops to 28×28.
    """
    blocks, c_in = [], 1
    for c in (64, 128, 256, 512):
        blocks.append(
            nn.Sequential(*conv_bn_act(c_in, c), nn.MaxPool2d(2, ceil_mode=True), nn.Dropout(drop_rate))
        )
        c_in = c
    neck = nn.Sequential(
        _flatten_to(2),
        fc_bn_act(512 * 4, 512, drop_rate),
        fc_bn_act(512, 256, drop_rate),
        fc_bn_act(256, 128, drop_rate),
    )
    return _finish(nn.Sequential(*blocks), neck, 128, num_classes)


@register_model("seed_cnn_wd")
def seed_cnn_wd(num_classes: int = 7, labels: LabelSpace | None = None, drop_rate: float = 0.5) -> FerNet:
    """Custom CNN with batch-norm and dropout, trained with weight decay, FACE_SIZE input.

    Choices: three stages of two 3×3 conv → BN → ReLU (widths 64, 128, 256), each ending in 2×2 max-pool and
    dropout 0.25; flatten → dense 256 → BN → ReLU → dropout `drop_rate` → classes. The recipe adds L2 weight
    decay through Adam (1e-4 in `configs/seed_cnn_wd.yaml`) and halves the LR on a validation plateau.
    """
    blocks, c_in = [], 1
    for c in (64, 128, 256):
        blocks.append(
            nn.Sequential(conv_bn_act(c_in, c), conv_bn_act(c, c), nn.MaxPool2d(2), nn.Dropout(0.25))
        )
        c_in = c
    side = FACE_SIZE // 8
    neck = nn.Sequential(_flatten_to(side), fc_bn_act(256 * side * side, 256, drop_rate))
    return _finish(nn.Sequential(*blocks), neck, 256, num_classes)
